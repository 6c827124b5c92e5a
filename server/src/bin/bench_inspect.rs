//! `bty-bench-inspect FILE`: inspects FILE through `server::inspect` (the
//! decompress-and-hash pass an image's inspection job runs) and prints the
//! time it took, the uncompressed size and SHA-256.
//! `scripts/bench-inspect.sh` puts it beside `zstd -dc FILE | openssl dgst
//! -sha256` (and gzip, xz) on the same file.

use std::{path::PathBuf, sync::atomic::AtomicBool, time::Instant};

use anyhow::{bail, Context};
use server::inspect::{self, State};

fn main() -> anyhow::Result<()> {
    let file: PathBuf = std::env::args_os()
        .nth(1)
        .context("usage: bty-bench-inspect FILE")?
        .into();
    let cancel = AtomicBool::new(false);
    let started = Instant::now();
    let inspection = inspect::inspect(
        &file,
        None,
        inspect::DEFAULT_MAX_UNCOMPRESSED_SIZE,
        &|_| {},
        &cancel,
    )
    .with_context(|| format!("cannot read {}", file.display()))?
    .context("cancelled")?;
    let seconds = started.elapsed().as_secs_f64();
    if inspection.state != State::Ok {
        bail!("{}: {:?}", file.display(), inspection.state);
    }
    let size = inspection.uncompressed_size.unwrap_or_default();
    println!(
        "bty-web inspect {}: {:.0} MB/s uncompressed ({seconds:.3} s, {size} bytes, sha256 {})",
        inspection.format.label(),
        size as f64 / 1e6 / seconds.max(1e-9),
        inspection.uncompressed_sha256.unwrap_or_default()
    );
    Ok(())
}

//! `bty-bench-hash FILE`: hashes FILE through the real hash worker (the
//! file appears in a fresh image root, the reconciler queues it, a worker
//! hashes it) and prints the worker's throughput. `scripts/bench-hash.sh`
//! puts it beside `openssl dgst -sha256` on the same file.

use std::{path::PathBuf, time::Duration};

use anyhow::{bail, Context};
use app::model::{JobKind, JobStatus};
use server::{settings::Settings, startup::Application, workers::jobs};

const NAME: &str = "bench.img";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let file: PathBuf = std::env::args_os()
        .nth(1)
        .context("usage: bty-bench-hash FILE")?
        .into();
    let parent = file
        .canonicalize()
        .context("cannot read FILE")?
        .parent()
        .map(PathBuf::from)
        .unwrap_or_default();
    // Beside FILE, so a hard link (no copy) can put it in the image root.
    let work = tempfile::Builder::new()
        .prefix(".bty-bench-")
        .tempdir_in(&parent)?;
    let mut settings = Settings::for_state_dir(work.path().join("state"));
    settings.image_root = Some(work.path().join("images"));
    settings.web_host = [127, 0, 0, 1].into();
    settings.web_port = 0;
    settings.admin_password = Some("bench".into());
    let application = Application::build(settings).await?;
    let state = application.state().clone();

    let target = work.path().join("images").join(NAME);
    if std::fs::hard_link(&file, &target).is_err() {
        std::fs::copy(&file, &target).context("cannot place FILE in the image root")?;
    }
    let job = loop {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let Some(job) = jobs::latest_for(&state.db, JobKind::Hash, NAME).await? else {
            continue;
        };
        match job.status {
            JobStatus::Completed => break job,
            JobStatus::Failed | JobStatus::Cancelled => {
                bail!("hash job ended {}: {:?}", job.status.as_str(), job.error)
            }
            _ => {}
        }
    };
    state.shutdown.cancel();
    let seconds = job.finished_at.unwrap_or_default() - job.started_at.unwrap_or_default();
    let megabytes = job.bytes_done as f64 / 1e6;
    println!(
        "bty-web hash worker: {:.0} MB/s ({seconds:.3} s, sha256 {})",
        megabytes / seconds.max(1e-9),
        job.sha256.unwrap_or_default()
    );
    Ok(())
}

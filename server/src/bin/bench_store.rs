//! `bty-bench-store upload FILE KEY` | `bty-bench-store read KEY`: the
//! object-store layer alone (`server::storage`), against the S3 server the
//! `BTY_TEST_S3_*` variables of `scripts/garage.sh start` name. `upload`
//! streams FILE in 1 MiB chunks (as an HTTP body arrives) into a multipart
//! upload under KEY, hashed as it goes, and prints `SECONDS SHA256`; `read`
//! reads the whole object KEY and prints `SECONDS BYTES`.
//! `scripts/bench-store.sh` puts both beside curl on the same object.

use std::time::Instant;

use anyhow::{bail, Context};
use futures::TryStreamExt;
use server::{settings::S3Settings, storage::ObjectStorage};
use tokio::io::AsyncReadExt;

fn var(name: &str) -> anyhow::Result<String> {
    std::env::var(name)
        .with_context(|| format!("{name} is not set (scripts/garage.sh start DIR prints it)"))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let settings = S3Settings {
        bucket: var("BTY_TEST_S3_BUCKET")?,
        prefix: String::new(),
        endpoint: Some(var("BTY_TEST_S3_ENDPOINT")?),
        region: var("BTY_TEST_S3_REGION")?,
        access_key_id: Some(var("BTY_TEST_S3_ACCESS_KEY_ID")?),
        secret_access_key: Some(var("BTY_TEST_S3_SECRET_ACCESS_KEY")?),
    };
    // The uploads' records only: a database of its own, in memory.
    let db = server::db::connect("sqlite::memory:").await?;
    let storage = ObjectStorage::connect(&settings, db, "bench")?;
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["upload", file, key] => {
            let mut file = tokio::fs::File::open(file)
                .await
                .with_context(|| format!("cannot read {file}"))?;
            let mut chunk = vec![0u8; 1 << 20];
            let started = Instant::now();
            let mut upload = storage.start_upload(key).await?;
            loop {
                let read = file.read(&mut chunk).await?;
                if read == 0 {
                    break;
                }
                upload.write(&chunk[..read]).await?;
            }
            let stored = upload.finish().await?;
            println!("{:.3} {}", started.elapsed().as_secs_f64(), stored.sha256);
        }
        ["read", key] => {
            let started = Instant::now();
            let bytes = storage
                .read(key, None)
                .await?
                .try_fold(0u64, |total, chunk| async move {
                    Ok(total + chunk.len() as u64)
                })
                .await?;
            println!("{:.3} {bytes}", started.elapsed().as_secs_f64());
        }
        _ => bail!("usage: bty-bench-store upload FILE KEY | bty-bench-store read KEY"),
    }
    Ok(())
}

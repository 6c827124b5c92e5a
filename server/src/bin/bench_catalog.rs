//! `bty-bench-catalog [ENTRIES]`: loads a catalog of ENTRIES (default
//! 10,000) remote images into a fresh server on 127.0.0.1, then times
//! `GET /images`, `GET /catalog.toml` and `/ui/images` (logged in), the
//! median of 20 requests each after one warm-up, and prints the page size.
//! Goals: under 20 ms for the JSON routes, under 50 ms and 1 MB for the page.

use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use server::{
    audit::Actor,
    catalog::{
        import,
        manifest::{Manifest, ManifestEntry},
    },
    settings::Settings,
    startup::Application,
};

const RUNS: usize = 20;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let entries: usize = match std::env::args().nth(1) {
        Some(n) => n.parse().context("ENTRIES must be a number")?,
        None => 10_000,
    };
    let work = tempfile::tempdir()?;
    let mut settings = Settings::for_state_dir(work.path());
    settings.web_host = [127, 0, 0, 1].into();
    settings.web_port = 0;
    settings.admin_password = Some("bench".into());
    let application = Application::build(settings).await?;
    let state = application.state().clone();
    let base = format!("http://127.0.0.1:{}", application.port());
    tokio::spawn(application.run_until(std::future::pending()));

    let manifest = Manifest {
        entries: (0..entries)
            .map(|i| ManifestEntry {
                name: format!("image-{i:05}.img.gz"),
                src: format!("https://images.example/{i:05}/image.img.gz"),
                sha256: Some(format!("{i:064x}")),
                format: Some("img.gz".into()),
                size_bytes: Some(1 << 30),
                description: Some(format!("benchmark image {i}")),
                ..Default::default()
            })
            .collect(),
    };
    let started = Instant::now();
    let report = import::import(&state.catalog, &manifest, "<bench>", &Actor::system()).await?;
    println!(
        "imported {} entries in {:.2} s",
        report.imported,
        started.elapsed().as_secs_f64()
    );

    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let login = client
        .post(format!("{base}/ui/login"))
        .form(&[("username", "admin"), ("password", "bench")])
        .send()
        .await?;
    let cookie = login
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix("bty-token="))
        .and_then(|v| v.split(';').next())
        .map(str::to_owned)
        .context("login gave no cookie")?;

    println!(
        "{:<16} {:>10} {:>12} {:>8}",
        "route", "median ms", "bytes", "goal ms"
    );
    for (path, goal, with_cookie) in [
        ("/images", 20.0, false),
        ("/catalog.toml", 20.0, false),
        ("/ui/images", 50.0, true),
    ] {
        let mut times = Vec::with_capacity(RUNS);
        let mut bytes = 0;
        for run in 0..=RUNS {
            let mut request = client.get(format!("{base}{path}"));
            if with_cookie {
                request = request.header("cookie", format!("bty-token={cookie}"));
            }
            let started = Instant::now();
            let response = request.send().await?;
            if !response.status().is_success() {
                bail!("{path} answered {}", response.status());
            }
            let body = response.bytes().await?;
            let elapsed = started.elapsed();
            bytes = body.len();
            if run > 0 {
                times.push(elapsed);
            }
        }
        times.sort();
        let median: Duration = times[times.len() / 2];
        println!(
            "{path:<16} {:>10.2} {bytes:>12} {goal:>8.0}",
            median.as_secs_f64() * 1000.0
        );
    }
    state.shutdown.cancel();
    Ok(())
}

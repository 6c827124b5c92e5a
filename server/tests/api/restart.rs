//! Nothing is lost on a stop: jobs a crash left running run again, and
//! temporary files a crash left are swept.

use app::model::{JobKind, JobStatus};
use sea_orm::{ActiveModelTrait, Set};
use server::db::entity::job;

use crate::helpers::{restart, sha256_hex, spawn_app};

#[tokio::test]
async fn a_job_left_running_by_a_crash_runs_again_at_start_up() {
    let app = spawn_app().await;
    let data = b"hash me after the crash";
    app.write_image("crash.img", data);
    app.eventually(30, "the first hash", || async {
        server::workers::jobs::latest_for(&app.state.db, JobKind::Hash, "crash.img")
            .await
            .ok()
            .flatten()
            .filter(|j| j.status == JobStatus::Completed)
    })
    .await;
    let db = app.state.db.clone();
    let stopped = app.stop().await;
    let state_dir = stopped.state_dir.path().to_owned();

    // What a crash mid-hash leaves: a `running` row and a temporary file.
    std::fs::remove_file(state_dir.join("images/crash.img.sha256")).expect("sidecar");
    job::ActiveModel {
        kind: Set(JobKind::Hash),
        name: Set("crash.img".into()),
        path: Set(None),
        src: Set(None),
        status: Set(JobStatus::Running),
        bytes_done: Set(5),
        bytes_total: Set(Some(data.len() as i64)),
        sha256: Set(None),
        error: Set(None),
        created_at: Set(server::clock::now_epoch()),
        started_at: Set(Some(server::clock::now_epoch())),
        finished_at: Set(None),
        ..Default::default()
    }
    .insert(&db)
    .await
    .expect("insert running job");
    let leftover = state_dir.join("images/.crash.img.0123456789abcdef.bty-partial");
    std::fs::write(&leftover, b"partial").expect("leftover");
    drop(db);

    let mut app = restart(stopped).await;
    app.login().await;
    assert!(!leftover.exists(), "temporary files are swept at start-up");
    let state = app
        .eventually(30, "the interrupted job to finish", || async {
            app.hash_state("crash.img")
                .await
                .filter(|s| s.status == JobStatus::Completed)
        })
        .await;
    assert_eq!(state.sha256, Some(sha256_hex(data)));
    assert!(app.image_root.join("crash.img.sha256").is_file());
}

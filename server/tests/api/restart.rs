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
    // Written an hour ago: on PostgreSQL, where other replicas may share
    // the directory, a start leaves temporary files written just now.
    let hour_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    std::fs::File::options()
        .write(true)
        .open(&leftover)
        .and_then(|file| file.set_modified(hour_ago))
        .expect("leftover's time");
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

#[tokio::test]
async fn an_upgrade_over_two_active_downloads_of_one_entry_keeps_the_newest() {
    use migration::MigratorTrait;
    use sea_orm::{ConnectionTrait, EntityTrait, QueryOrder};

    let app = spawn_app().await;
    let db = app.state.db.clone();
    let stopped = app.stop().await;
    // The schema before job leases, with what a race could leave there:
    // two queued downloads of one entry.
    let names: Vec<String> = migration::Migrator::migrations()
        .iter()
        .map(|m| m.name().to_owned())
        .collect();
    let leases = names
        .iter()
        .position(|name| name == "m20261204_000020_cluster_leases")
        .expect("the leases migration");
    let since_leases = u32::try_from(names.len() - leases).expect("a count");
    migration::Migrator::down(&db, Some(since_leases))
        .await
        .expect("back to the schema before leases");
    for _ in 0..2 {
        db.execute_unprepared(
            "INSERT INTO jobs (kind, name, src, status, bytes_done, created_at) \
             VALUES ('download', 'twice.img', 'https://127.0.0.1:9/twice.img', 'queued', 0, 1.0)",
        )
        .await
        .expect("an active download");
    }
    drop(db);

    let app = restart(stopped).await;
    let rows = job::Entity::find()
        .order_by_asc(job::Column::Id)
        .all(&app.state.db)
        .await
        .expect("job rows");
    assert_eq!(rows.len(), 2, "{rows:?}");
    let (older, newer) = (&rows[0], &rows[1]);
    assert!(older.id < newer.id);
    assert_eq!(older.status, JobStatus::Cancelled);
    assert_eq!(
        older.error.as_deref(),
        Some("a second download of the entry, cancelled by an upgrade")
    );
    assert_eq!(older.finished_at, Some(1.0));
    assert_ne!(newer.status, JobStatus::Cancelled, "{newer:?}");
}

//! The download cache's quota holds across replicas sharing the cache: a
//! download on one counts the room a download on the other reserved.

use std::time::Duration;

use app::model::{JobKind, JobStatus};
use reqwest::StatusCode;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;
use server::db::entity::job::{self, Entity as Jobs};

use crate::{
    replicas::{eventually, Cluster},
    upstream_files::{content, FileUpstream},
};

const MIB: usize = 1024 * 1024;

/// The download job of the entry `name`, once it satisfies `accept`.
async fn download_of(
    cluster: &Cluster,
    name: &str,
    what: &str,
    accept: impl Fn(&job::Model) -> bool,
) -> job::Model {
    eventually(60, what, || async {
        Jobs::find()
            .filter(job::Column::Kind.eq(JobKind::Download))
            .filter(job::Column::Name.eq(name))
            .one(&cluster.db)
            .await
            .ok()?
            .filter(|row| accept(row))
    })
    .await
}

#[tokio::test]
async fn a_download_on_one_replica_counts_the_room_the_other_reserved() {
    let cluster = Cluster::new().await;
    let quota = (10 * MIB).to_string();
    let settings = [("BTY_CACHE_MAX_BYTES", quota.as_str())];
    let mut a = cluster.start_with("replica-a", &settings).await;
    let mut b = cluster.start_with("replica-b", &settings).await;
    b.cookie = Some(a.login().await);
    // 6 MiB each: one fits under the 10 MiB quota, two do not.
    let upstream = FileUpstream::start(content(6 * MIB, 31)).await;
    upstream.throttle(Some(Duration::from_millis(40)));
    let first = a.add_url(&upstream.url("/first.img")).await;
    let second = b.add_url(&upstream.url("/second.img")).await;

    let response = a
        .post_json("/catalog/downloads", &json!({"name": first}))
        .await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    download_of(
        &cluster,
        &first,
        "the first download under way on replica-a",
        |row| row.status == JobStatus::Running && row.bytes_done > 0,
    )
    .await;

    let response = b
        .post_json("/catalog/downloads", &json!({"name": second}))
        .await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let refused = download_of(&cluster, &second, "the second download to end", |row| {
        !row.status.is_active()
    })
    .await;
    assert_eq!(refused.status, JobStatus::Failed, "{refused:?}");
    let error = refused.error.unwrap_or_default();
    assert!(
        error.contains("not enough room in the download cache for 'second.img'"),
        "{error}"
    );
    let done = download_of(&cluster, &first, "the first download to end", |row| {
        !row.status.is_active()
    })
    .await;
    assert_eq!(done.status, JobStatus::Completed, "{done:?}");
}

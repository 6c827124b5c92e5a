//! Live everywhere: what one replica changes reaches the live streams of
//! the other within a second; after the link between them broke, streams
//! get a fresh snapshot and changes flow again.

use std::time::{Duration, Instant};

use sea_orm::ConnectionTrait;
use serde_json::{json, Value};

use crate::{
    helpers::LiveStream,
    replicas::Cluster,
    upstream_files::{content, FileUpstream},
};

/// Reads `live` until it has shown both the `catalog.entry.added` event of
/// `name` and a catalog page listing it.
async fn wait_for_added_entry(live: &mut LiveStream, name: &str) {
    let (mut event_seen, mut row_seen) = (false, false);
    while !(event_seen && row_seen) {
        let (event, data) = live.next_event().await.expect("the stream goes on");
        let data: Value = serde_json::from_str(&data).expect("JSON data");
        match event.as_str() {
            "event" if data["kind"] == "catalog.entry.added" => {
                event_seen |= data["details"]["name"] == name;
            }
            "catalog" => {
                row_seen |= data["rows"].as_array().expect("rows").iter().any(|row| {
                    row["names"]
                        .as_array()
                        .is_some_and(|n| n.contains(&json!(name)))
                });
            }
            _ => {}
        }
    }
}

#[tokio::test]
async fn an_entry_added_on_one_replica_is_live_on_the_other_within_a_second() {
    let cluster = Cluster::new().await;
    let (a, b) = cluster.logged_in_pair().await;
    let upstream = FileUpstream::start(content(1000, 3)).await;
    let mut live_b = b.live().await;

    let name = a.add_url(&upstream.url("/added-on-a.img")).await;
    let added = Instant::now();
    tokio::time::timeout(
        Duration::from_secs(1),
        wait_for_added_entry(&mut live_b, &name),
    )
    .await
    .unwrap_or_else(|_| panic!("replica-b's stream did not show the entry within 1 s"));
    assert!(added.elapsed() < Duration::from_secs(1));
}

#[tokio::test]
async fn when_the_link_between_replicas_breaks_streams_get_a_fresh_snapshot() {
    let cluster = Cluster::new().await;
    let (a, b) = cluster.logged_in_pair().await;
    let upstream = FileUpstream::start(content(1000, 4)).await;
    let mut live_b = b.live().await;

    // Ends every listener's session, as a database restart would.
    let ended = cluster
        .db
        .execute_unprepared(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = current_database() AND query LIKE 'LISTEN%'",
        )
        .await
        .expect("terminate the listeners");
    assert!(ended.rows_affected() >= 2, "both replicas listen");
    let snapshot = tokio::time::timeout(
        Duration::from_secs(15),
        live_b.wait_for("a fresh snapshot", |event, _| {
            (event == "snapshot").then_some(())
        }),
    )
    .await;
    assert!(
        snapshot.is_ok(),
        "no fresh snapshot after the listener was cut"
    );

    // Listening again: changes on one replica reach the other.
    let name = a.add_url(&upstream.url("/after-the-cut.img")).await;
    tokio::time::timeout(
        Duration::from_secs(5),
        wait_for_added_entry(&mut live_b, &name),
    )
    .await
    .expect("changes flow again");
}

#[tokio::test]
async fn an_audit_event_is_announced_to_the_replicas_with_its_row_and_its_writer() {
    let cluster = Cluster::new().await;
    let (a, _b) = cluster.logged_in_pair().await;
    let upstream = FileUpstream::start(content(1000, 5)).await;
    let mut listener = sea_orm::sqlx::postgres::PgListener::connect(&cluster.database_url)
        .await
        .expect("listen");
    listener.listen("bty_changes").await.expect("LISTEN");

    let name = a.add_url(&upstream.url("/announced.img")).await;
    let added = a.events_of_kind("catalog.entry.added").await;
    let id = added
        .iter()
        .find(|e| e["details"]["name"] == name)
        .and_then(|e| e["id"].as_i64())
        .expect("the event's id");
    // Its notification comes alone, from replica-a, naming that row; the
    // row is there by the time it arrives.
    let found = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            let notification = listener.recv().await.expect("a notification");
            let batch: Value = serde_json::from_str(notification.payload()).expect("JSON");
            if batch["events"] == json!([id]) {
                return batch;
            }
        }
    })
    .await
    .expect("the event's notification");
    assert_eq!(found["node"], "replica-a");
    let row = cluster
        .db
        .query_one_raw(sea_orm::Statement::from_string(
            sea_orm::DbBackend::Postgres,
            format!("SELECT kind FROM events WHERE id = {id}"),
        ))
        .await
        .expect("query");
    assert!(row.is_some(), "the announced event is in the table");
}

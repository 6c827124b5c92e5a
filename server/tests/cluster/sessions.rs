//! Sessions and the login throttle hold across replicas: a login on one
//! works on the other, a logout on either ends it on both, and failed
//! logins on one count on the other.

use reqwest::StatusCode;

use crate::replicas::Cluster;

#[tokio::test]
async fn a_session_started_on_one_replica_works_on_the_other_until_logged_out_on_either() {
    let cluster = Cluster::new().await;
    let mut a = cluster.start("replica-a").await;
    let mut b = cluster.start("replica-b").await;
    assert_eq!(
        b.get("/catalog/entries").await.status(),
        StatusCode::UNAUTHORIZED
    );
    b.cookie = Some(a.login().await);
    assert_eq!(b.get("/catalog/entries").await.status(), StatusCode::OK);
    assert_eq!(b.get("/ui/images").await.status(), StatusCode::OK);
    assert_eq!(a.get("/catalog/entries").await.status(), StatusCode::OK);

    let logout = b.post("/ui/logout").await;
    assert_eq!(logout.status(), StatusCode::SEE_OTHER);
    for replica in [&a, &b] {
        let response = replica.get("/catalog/entries").await;
        assert_eq!(
            response.status(),
            StatusCode::UNAUTHORIZED,
            "{}",
            replica.node
        );
        let page = replica.get("/ui/images").await;
        assert_eq!(page.status(), StatusCode::SEE_OTHER, "{}", replica.node);
    }
}

#[tokio::test]
async fn failed_logins_on_one_replica_slow_down_logins_on_the_other() {
    let cluster = Cluster::new().await;
    let a = cluster.start("replica-a").await;
    let b = cluster.start("replica-b").await;
    for _ in 0..5 {
        let response = a.post_login("not the password").await;
        assert_eq!(
            response.status(),
            StatusCode::OK,
            "the form again, with an error"
        );
    }
    for replica in [&b, &a] {
        let refused = replica.post_login(crate::helpers::PASSWORD).await;
        assert_eq!(
            refused.status(),
            StatusCode::TOO_MANY_REQUESTS,
            "{}",
            replica.node
        );
        let wait: u64 = refused.headers()["retry-after"]
            .to_str()
            .expect("text")
            .parse()
            .expect("seconds");
        assert!((1..=10).contains(&wait), "{wait}");
    }
}

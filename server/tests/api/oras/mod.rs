//! `oras://` resolution against a real registry (Debian's docker-registry)
//! here, and in `fakes` against small axum servers on 127.0.0.1 for what it
//! does not play: auth challenges, busy answers, slow or lying registries.

mod fakes;

use server::{
    oras::{OrasClient, OrasError, OrasRef, ResolvedLayer},
    outbound::{Outbound, Policy},
    settings::Settings,
};

use crate::registry::{start_registry, Blob, ORAS_LAYER};

pub(super) fn client(insecure: &str) -> OrasClient {
    client_with(insecure, |_| {})
}

pub(super) fn client_with(insecure: &str, adjust: impl FnOnce(&mut Settings)) -> OrasClient {
    let mut settings = Settings::for_state_dir(std::env::temp_dir());
    settings.oras_insecure_registries = vec![insecure.to_owned()];
    adjust(&mut settings);
    OrasClient::new(
        &settings,
        Outbound::new(Policy::default()).expect("a client"),
    )
}

pub(super) fn oras(reference: &str) -> OrasRef {
    let rest = reference.strip_prefix("oras://").expect("oras://");
    OrasRef::parse(rest).expect("a valid reference")
}

#[tokio::test]
async fn a_tag_resolves_to_the_disk_layer_not_its_checksum_file() {
    let registry = start_registry().await;
    let pushed = registry.push_disk_image("safl/nosi/debian", "latest").await;
    let layer = client(&registry.host)
        .resolve(&oras(&registry.oras("safl/nosi/debian:latest")), None)
        .await
        .expect("resolves");
    assert_eq!(layer.digest_hex, pushed.disk.hex());
    assert_eq!(layer.size, pushed.disk.size);
    assert_eq!(layer.title.as_deref(), Some("debian.img.gz"));
    assert_eq!(layer.media_type, ORAS_LAYER);
    assert_eq!(
        layer.blob_url,
        format!(
            "{}/v2/safl/nosi/debian/blobs/{}",
            registry.url(),
            pushed.disk.digest
        )
    );
    assert_eq!(layer.authorization, None);
}

#[tokio::test]
async fn a_manifest_digest_resolves_to_the_same_layer() {
    let registry = start_registry().await;
    let pushed = registry.push_disk_image("a/debian", "1").await;
    let reference = registry.oras(&format!("a/debian@{}", pushed.manifest.digest));
    let layer = client(&registry.host)
        .resolve(&oras(&reference), None)
        .await
        .expect("resolves");
    assert_eq!(layer.digest_hex, pushed.disk.hex());
    assert_eq!(layer.title.as_deref(), Some("debian.img.gz"));
}

#[tokio::test]
async fn a_layer_digest_resolves_to_that_blob_as_the_reference_read_it() {
    let registry = start_registry().await;
    let pushed = registry.push_disk_image("a/debian", "1").await;
    let reference = registry.oras(&format!("a/debian@{}", pushed.disk.digest));
    let layer = client(&registry.host)
        .resolve(&oras(&reference), None)
        .await
        .expect("resolves");
    assert_eq!(layer.digest_hex, pushed.disk.hex());
    assert_eq!(layer.size, pushed.disk.size);
    assert_eq!(layer.title, None);
}

#[tokio::test]
async fn an_image_index_resolves_to_the_asked_platform_or_the_servers_own() {
    let registry = start_registry().await;
    let pushed = registry.push_two_platform_index("a/multi", "latest").await;
    let client = client(&registry.host);
    let reference = oras(&registry.oras("a/multi:latest"));
    let arm = client
        .resolve(&reference, Some("linux/arm64"))
        .await
        .expect("resolves");
    assert_eq!(arm.digest_hex, pushed.arm64.hex());
    assert_eq!(arm.title.as_deref(), Some("debian-arm64.img.gz"));
    if cfg!(all(target_os = "linux", target_arch = "x86_64")) {
        let own = client.resolve(&reference, None).await.expect("resolves");
        assert_eq!(own.digest_hex, pushed.amd64.hex());
    }
}

#[tokio::test]
async fn an_image_index_without_the_platform_lists_the_platforms_it_has() {
    let registry = start_registry().await;
    registry.push_two_platform_index("a/multi", "latest").await;
    let error = client(&registry.host)
        .resolve(
            &oras(&registry.oras("a/multi:latest")),
            Some("linux/riscv64"),
        )
        .await
        .expect_err("no riscv64");
    assert!(matches!(error, OrasError::NoPlatform { .. }), "{error:?}");
    let text = error.to_string();
    assert!(text.contains("without platform linux/riscv64"), "{text}");
    assert!(text.contains("it has: linux/amd64, linux/arm64"), "{text}");
}

#[tokio::test]
async fn a_missing_tag_or_digest_is_reported_as_not_found() {
    let registry = start_registry().await;
    registry.push_disk_image("a/debian", "1").await;
    let reference = registry.oras("a/debian:nope");
    let error = client(&registry.host)
        .resolve(&oras(&reference), None)
        .await
        .expect_err("no such tag");
    assert!(matches!(error, OrasError::NotFound { .. }), "{error:?}");
    assert_eq!(
        error.to_string(),
        format!("{reference} not found: manifest unknown")
    );
    let unknown = registry.oras(&format!("a/debian@{}", Blob::of(b"never pushed").digest));
    let error = client(&registry.host)
        .resolve(&oras(&unknown), None)
        .await
        .expect_err("no such digest");
    assert!(matches!(error, OrasError::NotFound { .. }), "{error:?}");
}

#[tokio::test]
async fn plain_http_is_refused_for_a_registry_not_listed_as_insecure() {
    let registry = start_registry().await;
    registry.push_disk_image("a/debian", "1").await;
    let error = client("127.0.0.1:1")
        .resolve(&oras(&registry.oras("a/debian:1")), None)
        .await
        .expect_err("https to a plain-http registry fails");
    let text = error.to_string();
    assert!(matches!(error, OrasError::Unreachable { .. }), "{error:?}");
    assert!(
        text.contains(&format!("https://{}/v2/", registry.host)),
        "{text}"
    );
    assert!(text.contains("BTY_ORAS_INSECURE_REGISTRIES"), "{text}");
}

#[tokio::test]
async fn fetch_blob_returns_a_small_blob_and_refuses_one_over_the_cap() {
    let registry = start_registry().await;
    let catalog = b"[[images]]\nname = \"debian.img.gz\"\nsrc = \"https://h/debian.img.gz\"\n";
    let blob = registry.push_blob("a/catalog", catalog).await;
    registry
        .push_artifact(
            "a/catalog",
            "v1",
            vec![blob.layer("application/toml", Some("catalog.toml"))],
        )
        .await;
    let client = client(&registry.host);
    let layer = client
        .resolve(&oras(&registry.oras("a/catalog:v1")), None)
        .await
        .expect("resolves");
    let body = client
        .fetch_blob(&layer, 1024 * 1024)
        .await
        .expect("fetches");
    assert_eq!(&body[..], &catalog[..]);
    let error = client
        .fetch_blob(&layer, 10)
        .await
        .expect_err("over the cap");
    assert!(matches!(error, OrasError::TooLarge { .. }), "{error:?}");
    assert!(
        error.to_string().contains("larger than the 10-byte limit"),
        "{error}"
    );
    // A manifest that understates the size is caught while reading.
    let understated = ResolvedLayer { size: 5, ..layer };
    let error = client
        .fetch_blob(&understated, 10)
        .await
        .expect_err("over the cap");
    assert!(matches!(error, OrasError::TooLarge { .. }), "{error:?}");
}

#[tokio::test]
async fn fetch_blob_refuses_bytes_that_do_not_match_the_digest() {
    let registry = start_registry().await;
    let pushed = registry.push_disk_image("a/debian", "1").await;
    let client = client(&registry.host);
    let mut layer = client
        .resolve(&oras(&registry.oras("a/debian:1")), None)
        .await
        .expect("resolves");
    layer.digest_hex = Blob::of(b"something else").hex().to_owned();
    let error = client
        .fetch_blob(&layer, 1 << 20)
        .await
        .expect_err("mismatch");
    assert!(
        matches!(error, OrasError::DigestMismatch { .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains(pushed.disk.hex()), "{error}");
}

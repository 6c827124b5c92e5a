use super::*;

fn layer(title: Option<&str>, media_type: &str, size: u64) -> Descriptor {
    Descriptor {
        media_type: media_type.to_owned(),
        digest: format!("sha256:{}", "0".repeat(64)),
        size,
        annotations: title
            .map(|t| HashMap::from([(TITLE.to_owned(), t.to_owned())]))
            .unwrap_or_default(),
        platform: None,
    }
}

fn for_platform(platform: &str) -> Descriptor {
    Descriptor {
        platform: Platform::parse(platform),
        ..layer(None, OCI_MANIFEST, 500)
    }
}

#[test]
fn the_largest_disk_layer_wins_over_checksums_signatures_and_sboms() {
    let layers = [
        layer(Some("debian.img.gz.sha256"), "text/plain", 10_000_000),
        layer(
            Some("debian.img.gz.sig"),
            "application/octet-stream",
            9_000_000,
        ),
        layer(Some("sbom"), "application/spdx+json", 8_000_000),
        layer(
            Some("x"),
            "application/vnd.dev.cosign.simplesigning.v1",
            7_000_000,
        ),
        layer(
            Some("small.img"),
            "application/vnd.oci.image.layer.v1.tar",
            5,
        ),
        layer(
            Some("debian.img.gz"),
            "application/vnd.oci.image.layer.v1.tar",
            6_000_000,
        ),
    ];
    assert_eq!(
        choose_disk_layer(&layers).expect("a disk layer").title(),
        Some("debian.img.gz")
    );
}

#[test]
fn titles_and_media_types_are_compared_without_case() {
    let layers = [layer(Some("IMAGE.SHA256"), "application/octet-stream", 1)];
    assert!(choose_disk_layer(&layers).is_err());
    let layers = [layer(None, "Application/Vnd.In-Toto+JSON", 1)];
    assert!(choose_disk_layer(&layers).is_err());
}

#[test]
fn a_manifest_without_a_disk_layer_lists_its_layers() {
    let layers = [
        layer(Some("a.sha256"), "text/plain", 65),
        layer(None, "application/json", 2),
    ];
    let listing = choose_disk_layer(&layers).expect_err("nothing to pick");
    assert!(listing.contains("a.sha256 (text/plain, 65 B)"), "{listing}");
    assert!(listing.contains("sha256:000"), "{listing}");
    assert_eq!(choose_disk_layer(&[]).expect_err("empty"), "none");
}

#[test]
fn platforms_parse_with_an_optional_variant_and_default_to_linux() {
    let p = Platform::parse("linux/arm64/v8").expect("parses");
    assert_eq!(
        (p.os.as_str(), p.architecture.as_str(), p.variant.as_deref()),
        ("linux", "arm64", Some("v8"))
    );
    assert_eq!(
        Platform::parse("AMD64").expect("parses").to_string(),
        "linux/amd64"
    );
    for bad in ["", "linux/", "a/b/c/d", "linux amd64"] {
        assert!(Platform::parse(bad).is_none(), "{bad:?}");
    }
}

#[test]
fn the_host_platform_uses_oci_names() {
    let host = Platform::host();
    assert!(!host.architecture.contains("x86_64") && !host.architecture.contains("aarch64"));
}

#[test]
fn an_index_entry_is_chosen_by_platform_and_variant() {
    let manifests = [
        for_platform("linux/amd64"),
        for_platform("linux/arm/v7"),
        for_platform("linux/arm64/v8"),
    ];
    let pick = |p: &str| {
        choose_platform(&manifests, &Platform::parse(p).expect("parses"))
            .map(|d| d.platform.as_ref().expect("platform").to_string())
    };
    assert_eq!(pick("linux/arm64").as_deref(), Ok("linux/arm64/v8"));
    assert_eq!(pick("linux/arm/v7").as_deref(), Ok("linux/arm/v7"));
    assert_eq!(
        pick("linux/arm/v6").expect_err("no v6"),
        "linux/amd64, linux/arm/v7, linux/arm64/v8"
    );
}

#[test]
fn an_index_of_one_entry_without_a_platform_is_that_entry() {
    let manifests = [layer(None, OCI_MANIFEST, 1)];
    assert!(choose_platform(&manifests, &Platform::host()).is_ok());
}

#[test]
fn documents_are_told_apart_by_media_type_then_shape() {
    let parse = |json: &str| serde_json::from_str::<Document>(json).expect("json");
    let index = parse(r#"{"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}"#);
    assert!(matches!(index.kind(None), Ok(Kind::Index(_))));
    let bare = parse(r#"{"layers":[]}"#);
    assert!(matches!(
        bare.kind(Some("application/json")),
        Ok(Kind::Manifest(_))
    ));
    let artifact = parse(
        r#"{"mediaType":"application/vnd.oci.artifact.manifest.v1+json","blobs":[{"digest":"sha256:00","size":1}]}"#,
    );
    assert!(matches!(artifact.kind(None), Ok(Kind::Manifest(blobs)) if blobs.len() == 1));
    let schema1 = parse(r#"{"mediaType":"application/vnd.docker.distribution.manifest.v1+json"}"#);
    assert_eq!(
        schema1.kind(Some(OCI_MANIFEST)).err().as_deref(),
        Some("application/vnd.docker.distribution.manifest.v1+json")
    );
}

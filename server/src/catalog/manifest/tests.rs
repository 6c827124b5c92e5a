//! Unit tests of `catalog.toml` parsing and writing.

use super::*;

const SHA: &str = "a8eb701c6f56a8eb701c6f56a8eb701c6f56a8eb701c6f56a8eb701c6f56abcd";

fn parse_str(text: &str) -> Result<Manifest, ManifestError> {
    parse(text.as_bytes(), "<test>")
}

fn message(text: &str) -> String {
    parse_str(text).expect_err("refused").to_string()
}

fn entry(name: &str, src: &str) -> ManifestEntry {
    ManifestEntry {
        name: name.into(),
        src: src.into(),
        sha256: Some(SHA.into()),
        format: Some("img".into()),
        size_bytes: Some(10),
        description: None,
        ..Default::default()
    }
}

#[test]
fn a_version_alone_is_an_empty_catalog() {
    assert_eq!(parse_str("version = 1\n").unwrap(), Manifest::default());
    assert_eq!(parse_str("version = 1\nimages = []").unwrap().entries, []);
}

#[test]
fn a_full_entry_is_read_with_its_sha_trimmed_and_lower_cased() {
    let src = "https://example.test/u.img.zst";
    let text = format!(
        "version = 1\nextra = true\n[[images]]\nname = \"u.img.zst\"\nsrc = \"{src}\"\n\
         sha256 = \" {} \"\nsize_bytes = 1234\ndescription = \"Ubuntu\"\nref = \"{}\"\n\
         unknown = [1]\n",
        SHA.to_uppercase(),
        identity::image_ref_for_src(src).unwrap().to_uppercase()
    );
    let manifest = parse_str(&text).unwrap();
    assert_eq!(
        manifest.entries,
        [ManifestEntry {
            name: "u.img.zst".into(),
            src: src.into(),
            sha256: Some(SHA.into()),
            format: Some("img.zst".into()),
            size_bytes: Some(1234),
            description: Some("Ubuntu".into()),
            ..Default::default()
        }]
    );
}

#[test]
fn sha_format_size_and_description_are_optional() {
    let text = "version = 1\n[[images]]\nname = \"nosi debian (x86_64, rolling)\"\n\
                src = \"oras://ghcr.io/safl/nosi/debian:latest\"\n";
    let entry = &parse_str(text).unwrap().entries[0];
    assert_eq!(entry.sha256, None);
    assert_eq!(entry.format, None);
    assert_eq!(entry.size_bytes, None);
    assert_eq!(entry.description, None);
    let text = "version = 1\n[[images]]\nname = \"vm.qcow2\"\nsrc = \"https://h/x\"\n\
                format = \"img.gz\"\n";
    assert_eq!(
        parse_str(text).unwrap().entries[0].format.as_deref(),
        Some("img.gz")
    );
}

#[test]
fn bytes_that_are_not_utf8_or_not_toml_are_not_valid_toml() {
    let error = parse(b"version = 1\n\xff", "/x/catalog.toml").unwrap_err();
    assert!(error
        .to_string()
        .starts_with("catalog manifest at /x/catalog.toml is not valid TOML: "));
    let text = message("version = 1\n[[images]\n");
    assert!(
        text.starts_with("catalog manifest at <test> is not valid TOML: line 2, column"),
        "{text}"
    );
    assert!(!text.contains('\n'), "{text}");
}

#[test]
fn a_missing_or_other_version_is_refused() {
    assert_eq!(
        message("[[images]]\nname = \"a\"\nsrc = \"https://h/a\""),
        "catalog manifest at <test>: version=None, this bty understands version=1"
    );
    assert_eq!(
        message("version = 2"),
        "catalog manifest at <test>: version=2, this bty understands version=1"
    );
    assert_eq!(
        message("version = \"1\""),
        "catalog manifest at <test>: version=\"1\", this bty understands version=1"
    );
    assert!(message("version = 1.0").contains("version=1.0,"));
}

#[test]
fn images_must_be_an_array_of_tables() {
    assert_eq!(
        message("version = 1\nimages = \"x\""),
        "catalog manifest at <test>: ``images`` must be an array of tables, got string"
    );
    assert_eq!(
        message("version = 1\nimages = [1]"),
        "catalog manifest at <test>: ``images`` entry must be a table, got integer"
    );
}

#[test]
fn an_entry_without_name_or_src_is_refused() {
    assert_eq!(
        message("version = 1\n[[images]]\nname = \"a.img\"\n"),
        "manifest entry missing required field: 'src' (entry: { name = \"a.img\" })"
    );
    assert!(message("version = 1\n[[images]]\nsrc = \"https://h/a\"\n")
        .starts_with("manifest entry missing required field: 'name'"));
    assert!(
        message("version = 1\n[[images]]\nname = 5\nsrc = \"https://h/a\"\n")
            .starts_with("manifest entry field 'name' must be a string, got 5")
    );
}

#[test]
fn a_sha_that_is_not_64_hex_is_refused() {
    assert_eq!(
        message("version = 1\n[[images]]\nname = \"a\"\nsrc = \"https://h/a\"\nsha256 = \"XYZ\""),
        "manifest entry 'a': sha256 must be a 64-char lower-case hex string, got \"xyz\""
    );
}

#[test]
fn a_ref_must_match_the_src() {
    let other = identity::image_ref_for_src("https://h/b").unwrap();
    let text = message(&format!(
        "version = 1\n[[images]]\nname = \"a\"\nsrc = \"https://h/a\"\nref = \"{other}\""
    ));
    assert!(
        text.starts_with(&format!(
            "manifest entry 'a': ``ref`` mismatch: supplied '{other}'"
        )),
        "{text}"
    );
    let text = message(&format!(
        "version = 1\n[[images]]\nname = \"a\"\nsrc = \"ftp://h/a\"\nref = \"{other}\""
    ));
    assert!(
        text.starts_with("manifest entry 'a': cannot verify ``ref``"),
        "{text}"
    );
}

#[test]
fn a_negative_or_non_integer_size_is_refused() {
    for size in ["-1", "\"10\"", "1.5"] {
        let text = message(&format!(
            "version = 1\n[[images]]\nname = \"a\"\nsrc = \"https://h/a\"\nsize_bytes = {size}"
        ));
        assert!(
            text.starts_with("manifest entry field 'size_bytes'"),
            "{text}"
        );
    }
}

#[test]
fn a_name_used_twice_is_refused() {
    let text = "version = 1\n[[images]]\nname = \"a\"\nsrc = \"https://h/1\"\n\
                [[images]]\nname = \"a\"\nsrc = \"https://h/2\"\n";
    assert_eq!(
        message(text),
        "catalog manifest at <test>: duplicate image name 'a'"
    );
}

#[test]
fn an_empty_catalog_is_written_as_the_version_alone() {
    let text = write(&[]).unwrap();
    assert_eq!(text, "version = 1\n");
    assert_eq!(parse_str(&text).unwrap(), Manifest::default());
}

#[test]
fn written_entries_have_the_reference_shape() {
    let mut bare = entry("bare.img", "oras://ghcr.io/a/b:latest");
    bare.sha256 = None;
    bare.format = None;
    bare.size_bytes = None;
    let text = write(&[entry("demo.qcow2", "https://h/demo.qcow2"), bare]).unwrap();
    assert_eq!(
        text,
        format!(
            "version = 1\n\n[[images]]\nname = \"demo.qcow2\"\nsrc = \"https://h/demo.qcow2\"\n\
             sha256 = \"{SHA}\"\nformat = \"img\"\nsize_bytes = 10\n\n\
             [[images]]\nname = \"bare.img\"\nsrc = \"oras://ghcr.io/a/b:latest\"\n"
        )
    );
}

#[test]
fn awkward_names_survive_a_write_and_parse_round_trip() {
    let names = [
        "with space.img",
        "say \"hi\".img",
        r"back\slash\.img",
        "ünïcødé 日本 🚀.img.zst",
        "a/b/c.qcow2",
        "two\nlines\r\n.img",
        "# not a comment = [x].img",
        "'single' and ''' triple \"\"\" quotes.img",
        "tab\there and \u{7f} del \u{1} ctl.img",
    ];
    let entries: Vec<ManifestEntry> = names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let mut entry = entry(name, &format!("https://h/{i}?q=\"x\"#frag"));
            entry.description = Some(format!("about {name}"));
            entry
        })
        .collect();
    let text = write(&entries).unwrap();
    assert_eq!(parse_str(&text).unwrap().entries, entries);
}

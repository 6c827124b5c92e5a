//! `catalog.toml`, schema version 1 (reference section 2.1): parsing an
//! uploaded or fetched catalog into entries, and writing entries back out.
//! Pure functions over bytes and strings; importing rows and serving
//! `GET /catalog.toml` happen elsewhere.

use std::collections::HashSet;

use serde::Serialize;
use toml::{Table, Value};

use crate::catalog::{format::detect_format, identity};

/// The only schema version this module reads and writes.
pub const SCHEMA_VERSION: i64 = 1;

/// A parsed `catalog.toml`: its entries in file order, names unique.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Manifest {
    pub entries: Vec<ManifestEntry>,
}

/// One `[[images]]` table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ManifestEntry {
    /// The image's name, unique within the manifest.
    pub name: String,
    /// Where the bytes come from: `http(s)://`, `oras://` or `file://`
    /// (not validated here; an import skips a src it cannot canonicalise).
    pub src: String,
    /// The content SHA-256, 64 lower-case hex, when the producer knew it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// The image format; on parse, defaults to what the name's suffix says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size_bytes: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

impl ManifestEntry {
    /// The entry's `bty_image_ref`: the SHA-256 of its canonical `src`.
    pub fn image_ref(&self) -> Result<String, identity::IdentityError> {
        identity::image_ref_for_src(&self.src)
    }
}

/// Why a `catalog.toml` was refused, in the reference's words. `manifest`
/// is the label the caller gave for where the bytes came from.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum ManifestError {
    #[error("catalog manifest at {manifest} is not valid TOML: {reason}")]
    InvalidToml { manifest: String, reason: String },
    #[error("catalog manifest at {manifest}: version={version}, this bty understands version=1")]
    Version { manifest: String, version: String },
    #[error("catalog manifest at {manifest}: ``images`` must be an array of tables, got {found}")]
    ImagesNotArray { manifest: String, found: String },
    #[error("catalog manifest at {manifest}: ``images`` entry must be a table, got {found}")]
    EntryNotTable { manifest: String, found: String },
    #[error("manifest entry missing required field: '{field}' (entry: {entry})")]
    MissingField { field: &'static str, entry: String },
    #[error("manifest entry field '{field}' must be {expected}, got {found} (entry: {entry})")]
    FieldType {
        field: &'static str,
        expected: &'static str,
        found: String,
        entry: String,
    },
    #[error(
        "manifest entry '{name}': sha256 must be a 64-char lower-case hex string, got {found}"
    )]
    Sha256 { name: String, found: String },
    #[error(
        "manifest entry '{name}': cannot verify ``ref`` because ``src`` is malformed: {reason}"
    )]
    RefUnverifiable { name: String, reason: String },
    #[error(
        "manifest entry '{name}': ``ref`` mismatch: supplied '{supplied}' but \
         image_ref_for_src(src) = '{expected}'"
    )]
    RefMismatch {
        name: String,
        supplied: String,
        expected: String,
    },
    #[error("catalog manifest at {manifest}: duplicate image name '{name}'")]
    DuplicateName { manifest: String, name: String },
    /// Writing failed; the entries' plain strings and integers cannot make
    /// the serializer fail, so this is never expected.
    #[error("catalog manifest could not be written: {0}")]
    Write(#[from] toml::ser::Error),
}

/// Parses a `catalog.toml`. `manifest` names where the bytes came from (a
/// path, a URL, `<upload>`), for messages. Unknown keys are ignored;
/// `version = 1` alone is a valid, empty catalog.
pub fn parse(bytes: &[u8], manifest: &str) -> Result<Manifest, ManifestError> {
    let invalid = |reason: String| ManifestError::InvalidToml {
        manifest: manifest.to_owned(),
        reason,
    };
    let text = std::str::from_utf8(bytes).map_err(|error| invalid(error.to_string()))?;
    let document: Table = text
        .parse()
        .map_err(|error: toml::de::Error| invalid(describe_toml_error(text, &error)))?;

    match document.get("version") {
        Some(Value::Integer(SCHEMA_VERSION)) => {}
        other => {
            return Err(ManifestError::Version {
                manifest: manifest.to_owned(),
                // The reference prints Python's repr; a missing key was `None`.
                version: other.map_or_else(|| "None".to_owned(), Value::to_string),
            });
        }
    }

    let raw_entries = match document.get("images") {
        None => return Ok(Manifest::default()),
        Some(Value::Array(entries)) => entries,
        Some(other) => {
            return Err(ManifestError::ImagesNotArray {
                manifest: manifest.to_owned(),
                found: other.type_str().to_owned(),
            })
        }
    };

    let mut entries = Vec::with_capacity(raw_entries.len());
    let mut seen = HashSet::new();
    for raw in raw_entries {
        let Value::Table(table) = raw else {
            return Err(ManifestError::EntryNotTable {
                manifest: manifest.to_owned(),
                found: raw.type_str().to_owned(),
            });
        };
        let entry = parse_entry(table)?;
        if !seen.insert(entry.name.clone()) {
            return Err(ManifestError::DuplicateName {
                manifest: manifest.to_owned(),
                name: entry.name,
            });
        }
        entries.push(entry);
    }
    Ok(Manifest { entries })
}

/// Writes entries as a version 1 `catalog.toml`: `version = 1`, a blank
/// line, then one `[[images]]` table per entry. Strings go through the TOML
/// serializer, so any name or URL survives (reference defect D14).
pub fn write(entries: &[ManifestEntry]) -> Result<String, ManifestError> {
    #[derive(Serialize)]
    struct Document<'a> {
        version: i64,
        #[serde(skip_serializing_if = "<[_]>::is_empty")]
        images: &'a [ManifestEntry],
    }
    Ok(toml::to_string(&Document {
        version: SCHEMA_VERSION,
        images: entries,
    })?)
}

fn parse_entry(table: &Table) -> Result<ManifestEntry, ManifestError> {
    let entry_text = || Value::Table(table.clone()).to_string();
    let required = |field: &'static str| match table.get(field) {
        None => Err(ManifestError::MissingField {
            field,
            entry: entry_text(),
        }),
        Some(value) => string_field(table, field, value),
    };
    let name = required("name")?;
    let src = required("src")?;
    let optional_string = |field: &'static str| {
        table
            .get(field)
            .map(|value| string_field(table, field, value))
            .transpose()
    };

    let sha256 = match optional_string("sha256")? {
        None => None,
        Some(raw) => {
            let sha = raw.trim().to_ascii_lowercase();
            if !identity::is_sha256_hex(&sha) {
                return Err(ManifestError::Sha256 {
                    name,
                    found: Value::String(sha).to_string(),
                });
            }
            Some(sha)
        }
    };

    if let Some(supplied) = optional_string("ref")? {
        let supplied = supplied.trim().to_ascii_lowercase();
        let expected =
            identity::image_ref_for_src(&src).map_err(|error| ManifestError::RefUnverifiable {
                name: name.clone(),
                reason: error.to_string(),
            })?;
        if supplied != expected {
            return Err(ManifestError::RefMismatch {
                name,
                supplied,
                expected,
            });
        }
    }

    let format = optional_string("format")?
        .filter(|format| !format.is_empty())
        .or_else(|| detect_format(&name).map(str::to_owned));
    let size_bytes = match table.get("size_bytes") {
        None => None,
        Some(Value::Integer(size)) if *size >= 0 => Some(*size),
        Some(other) => {
            return Err(ManifestError::FieldType {
                field: "size_bytes",
                expected: "a non-negative integer",
                found: other.to_string(),
                entry: entry_text(),
            })
        }
    };
    let description = optional_string("description")?;

    Ok(ManifestEntry {
        name,
        src,
        sha256,
        format,
        size_bytes,
        description,
    })
}

fn string_field(
    table: &Table,
    field: &'static str,
    value: &Value,
) -> Result<String, ManifestError> {
    match value {
        Value::String(text) => Ok(text.clone()),
        other => Err(ManifestError::FieldType {
            field,
            expected: "a string",
            found: other.to_string(),
            entry: Value::Table(table.clone()).to_string(),
        }),
    }
}

/// `line L, column C: message` on one line, rather than the multi-line
/// snippet the parser's `Display` draws.
fn describe_toml_error(text: &str, error: &toml::de::Error) -> String {
    let message = error
        .message()
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect::<Vec<_>>()
        .join("; ");
    match error.span() {
        Some(span) => {
            let before = text.get(..span.start).unwrap_or(text);
            let line = before.matches('\n').count() + 1;
            let column = before
                .rsplit('\n')
                .next()
                .map_or(0, |rest| rest.chars().count())
                + 1;
            format!("line {line}, column {column}: {message}")
        }
        None => message,
    }
}

#[cfg(test)]
mod tests {
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
            message(
                "version = 1\n[[images]]\nname = \"a\"\nsrc = \"https://h/a\"\nsha256 = \"XYZ\""
            ),
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
}

//! `catalog.toml`, schema version 1 (reference §2.1): parsing an
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
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
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
    /// Extra keys this server writes (clients ignore unknown keys) and
    /// never reads back: it inspects bytes itself. What a flasher writes:
    /// its size and SHA-256, and the inspection's state (`ok`, `pending`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uncompressed_size: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uncompressed_sha256: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inspection: Option<String>,
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
/// serializer, so any name or URL survives (D14).
pub fn write(entries: &[ManifestEntry]) -> Result<String, ManifestError> {
    use std::fmt::Write as _;
    // Each value goes through the toml crate's own encoder (never hand
    // escaping, D14); the document's shape is fixed, so it is laid out here,
    // which keeps a catalog of thousands of entries fast to write.
    // A string of printable ASCII without `"` or `\\` is already a valid
    // TOML basic string between quotes; anything else is encoded.
    let text = |value: &str| {
        if value
            .bytes()
            .all(|b| (b' '..=b'~').contains(&b) && b != b'"' && b != b'\\')
        {
            format!("\"{value}\"")
        } else {
            Value::String(value.to_owned()).to_string()
        }
    };
    let mut out = format!("version = {SCHEMA_VERSION}\n");
    for entry in entries {
        let _ = write!(
            out,
            "\n[[images]]\nname = {}\nsrc = {}\n",
            text(&entry.name),
            text(&entry.src)
        );
        if let Some(sha256) = &entry.sha256 {
            let _ = writeln!(out, "sha256 = {}", text(sha256));
        }
        if let Some(format) = &entry.format {
            let _ = writeln!(out, "format = {}", text(format));
        }
        if let Some(size) = entry.size_bytes {
            let _ = writeln!(out, "size_bytes = {size}");
        }
        if let Some(description) = &entry.description {
            let _ = writeln!(out, "description = {}", text(description));
        }
        if let Some(size) = entry.uncompressed_size {
            let _ = writeln!(out, "uncompressed_size = {size}");
        }
        if let Some(sha256) = &entry.uncompressed_sha256 {
            let _ = writeln!(out, "uncompressed_sha256 = {}", text(sha256));
        }
        if let Some(state) = &entry.inspection {
            let _ = writeln!(out, "inspection = {}", text(state));
        }
    }
    Ok(out)
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
            if !crate::digest::is_sha256_hex(&sha) {
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
        ..Default::default()
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
mod tests;

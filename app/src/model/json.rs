//! The browser's reader of the wire types: JSON parsed once into a
//! `serde_json::Value`, then read field by field by hand.
//!
//! The derived `Deserialize` impls stay for the server and the tests, but
//! the browser does not call them: each one is a whole copy of serde_json's
//! struct parser (keys, sequences, errors) for its type, and the nine the
//! Images page read were a tenth of its bundle. A `Value` parser is in the
//! bundle anyway (error details); these readers only walk what it built.
//!
//! They read what the derives read: unknown fields are skipped, a missing or
//! null `Option` is `None`, a missing `#[serde(default)]` field its
//! default, and a field of the wrong type fails the whole value (the error
//! names the field). Only the wording of that error differs, and a JSON
//! array is not read as a struct (the derives take one; no server sends it).

use serde_json::{Map, Value};

use super::{
    CacheUsage, CatalogPage, CatalogRow, Event, EventList, ImagesPage, InspectionState, Job,
    JobKind, JobStatus, LiveSnapshot, Source, SourceKind, UploadResult,
};

/// A wire type the browser reads from JSON.
pub trait FromJson: Sized {
    /// Reads the value, or says which field was wrong.
    fn from_json(value: &Value) -> Result<Self, String>;
}

/// Parses `text` as JSON of `T`.
pub fn read<T: FromJson>(text: &str) -> Result<T, String> {
    T::from_json(&parse(text)?)
}

/// Parses `text` as JSON.
pub fn parse(text: &str) -> Result<Value, String> {
    serde_json::from_str(text).map_err(|error| error.to_string())
}

/// `Result<T, String>` as serde writes it: `{"Ok": …}` or `{"Err": "…"}`;
/// the outer error is the reading's, the inner one the value's.
pub fn read_result<T: FromJson>(value: &Value) -> Result<Result<T, String>, String> {
    let object = value.as_object().filter(|object| object.len() == 1);
    match object.and_then(|object| object.iter().next()) {
        Some((tag, value)) if tag == "Ok" => T::from_json(value).map(Ok),
        Some((tag, Value::String(error))) if tag == "Err" => Ok(Err(error.clone())),
        _ => Err("expected `Ok` or `Err`".to_string()),
    }
}

fn wrong(field: &str) -> String {
    format!("missing or invalid field `{field}`")
}

/// The fields of a JSON object.
struct Fields<'a>(&'a Map<String, Value>);

impl<'a> Fields<'a> {
    fn of(value: &'a Value) -> Result<Self, String> {
        value
            .as_object()
            .map(Fields)
            .ok_or_else(|| "expected an object".to_string())
    }

    /// A field that must be there.
    fn get(&self, name: &str) -> Result<&'a Value, String> {
        self.0.get(name).ok_or_else(|| wrong(name))
    }

    /// An `Option` field: none when missing or null.
    fn opt(&self, name: &str) -> Option<&'a Value> {
        self.0.get(name).filter(|value| !value.is_null())
    }

    fn string(&self, name: &str) -> Result<String, String> {
        read_string(self.get(name)?).ok_or_else(|| wrong(name))
    }

    fn opt_string(&self, name: &str) -> Result<Option<String>, String> {
        self.opt(name)
            .map(|value| read_string(value).ok_or_else(|| wrong(name)))
            .transpose()
    }

    fn u64(&self, name: &str) -> Result<u64, String> {
        self.get(name)?.as_u64().ok_or_else(|| wrong(name))
    }

    fn opt_u64(&self, name: &str) -> Result<Option<u64>, String> {
        self.opt(name)
            .map(|value| value.as_u64().ok_or_else(|| wrong(name)))
            .transpose()
    }

    fn i64(&self, name: &str) -> Result<i64, String> {
        self.get(name)?.as_i64().ok_or_else(|| wrong(name))
    }

    fn opt_i64(&self, name: &str) -> Result<Option<i64>, String> {
        self.opt(name)
            .map(|value| value.as_i64().ok_or_else(|| wrong(name)))
            .transpose()
    }

    fn opt_f64(&self, name: &str) -> Result<Option<f64>, String> {
        self.opt(name)
            .map(|value| value.as_f64().ok_or_else(|| wrong(name)))
            .transpose()
    }

    fn usize(&self, name: &str) -> Result<usize, String> {
        usize::try_from(self.u64(name)?).map_err(|_| wrong(name))
    }

    /// A `u32` field; `default` when it may be missing (`#[serde(default)]`).
    fn u32(&self, name: &str, default: Option<u32>) -> Result<u32, String> {
        match (self.0.get(name), default) {
            (None, Some(default)) => Ok(default),
            (value, _) => value
                .and_then(Value::as_u64)
                .and_then(|n| u32::try_from(n).ok())
                .ok_or_else(|| wrong(name)),
        }
    }

    /// A `bool` field; `default` when it may be missing (`#[serde(default)]`).
    fn bool(&self, name: &str, default: Option<bool>) -> Result<bool, String> {
        match (self.0.get(name), default) {
            (None, Some(default)) => Ok(default),
            (value, _) => value.and_then(Value::as_bool).ok_or_else(|| wrong(name)),
        }
    }

    fn value<T: FromJson>(&self, name: &str) -> Result<T, String> {
        T::from_json(self.get(name)?)
    }

    fn opt_value<T: FromJson>(&self, name: &str) -> Result<Option<T>, String> {
        self.opt(name).map(T::from_json).transpose()
    }

    fn list<T: FromJson>(&self, name: &str) -> Result<Vec<T>, String> {
        self.get(name)?
            .as_array()
            .ok_or_else(|| wrong(name))?
            .iter()
            .map(T::from_json)
            .collect()
    }

    fn strings(&self, name: &str) -> Result<Vec<String>, String> {
        self.get(name)?
            .as_array()
            .ok_or_else(|| wrong(name))?
            .iter()
            .map(|value| read_string(value).ok_or_else(|| wrong(name)))
            .collect()
    }

    /// A unit enum field, by its wire name; `default` when it may be
    /// missing (`#[serde(default)]`).
    fn choice<T: Copy>(
        &self,
        name: &str,
        choices: &[(&str, T)],
        default: Option<T>,
    ) -> Result<T, String> {
        let text = match (self.0.get(name), default) {
            (None, Some(default)) => return Ok(default),
            (value, _) => value.and_then(Value::as_str).ok_or_else(|| wrong(name))?,
        };
        choices
            .iter()
            .find(|(wire, _)| *wire == text)
            .map(|(_, choice)| *choice)
            .ok_or_else(|| wrong(name))
    }
}

fn read_string(value: &Value) -> Option<String> {
    value.as_str().map(str::to_string)
}

impl FromJson for serde::de::IgnoredAny {
    fn from_json(_value: &Value) -> Result<Self, String> {
        Ok(serde::de::IgnoredAny)
    }
}

impl FromJson for ImagesPage {
    fn from_json(value: &Value) -> Result<Self, String> {
        let f = Fields::of(value)?;
        Ok(ImagesPage {
            operator: f.string("operator")?,
            catalog: f.value("catalog")?,
            jobs: f.list("jobs")?,
            recent_events: f.list("recent_events")?,
            hash_max_parallel: f.u32("hash_max_parallel", None)?,
            release_repo: f.string("release_repo")?,
            manifest_path: f.string("manifest_path")?,
            cache: f.opt_value("cache")?,
            download_max_parallel: f.u32("download_max_parallel", Some(0))?,
        })
    }
}

impl FromJson for CatalogPage {
    fn from_json(value: &Value) -> Result<Self, String> {
        let f = Fields::of(value)?;
        Ok(CatalogPage {
            image_root: f.string("image_root")?,
            total: f.usize("total")?,
            matched: f.usize("matched")?,
            page: f.usize("page")?,
            per_page: f.usize("per_page")?,
            query: f.string("query")?,
            rows: f.list("rows")?,
        })
    }
}

impl FromJson for CatalogRow {
    fn from_json(value: &Value) -> Result<Self, String> {
        let f = Fields::of(value)?;
        Ok(CatalogRow {
            image_ref: f.string("ref")?,
            sha256: f.opt_string("sha256")?,
            names: f.strings("names")?,
            format: f.opt_string("format")?,
            size_bytes: f.opt_i64("size_bytes")?,
            sources: f.list("sources")?,
            cached: f.bool("cached", None)?,
            rolling: f.bool("rolling", Some(false))?,
            keep_cached: f.bool("keep_cached", Some(false))?,
            uncompressed_size: f.opt_u64("uncompressed_size")?,
            // The page never shows it: the browser skips the key.
            #[cfg(feature = "ssr")]
            uncompressed_sha256: f.opt_string("uncompressed_sha256")?,
            inspection: f.choice(
                "inspection",
                &[
                    ("ok", InspectionState::Ok),
                    ("unsafe", InspectionState::Unsafe),
                    ("corrupt", InspectionState::Corrupt),
                    ("pending", InspectionState::Pending),
                ],
                Some(InspectionState::default()),
            )?,
            inspection_reason: f.opt_string("inspection_reason")?,
            format_warning: f.opt_string("format_warning")?,
        })
    }
}

impl FromJson for Source {
    fn from_json(value: &Value) -> Result<Self, String> {
        let f = Fields::of(value)?;
        Ok(Source {
            kind: f.choice(
                "kind",
                &[
                    ("local", SourceKind::Local),
                    ("url", SourceKind::Url),
                    ("manifest", SourceKind::Manifest),
                ],
                None,
            )?,
            location: f.string("location")?,
        })
    }
}

impl FromJson for Job {
    fn from_json(value: &Value) -> Result<Self, String> {
        let f = Fields::of(value)?;
        Ok(Job {
            id: f.i64("id")?,
            kind: f.choice(
                "kind",
                &[
                    ("hash", JobKind::Hash),
                    ("download", JobKind::Download),
                    ("inspect", JobKind::Inspect),
                ],
                None,
            )?,
            name: f.string("name")?,
            status: f.choice(
                "status",
                &[
                    ("queued", JobStatus::Queued),
                    ("running", JobStatus::Running),
                    ("completed", JobStatus::Completed),
                    ("cancelled", JobStatus::Cancelled),
                    ("failed", JobStatus::Failed),
                ],
                None,
            )?,
            bytes_done: f.u64("bytes_done")?,
            bytes_total: f.opt_u64("bytes_total")?,
            sha256: f.opt_string("sha256")?,
            error: f.opt_string("error")?,
            started_at: f.opt_f64("started_at")?,
            finished_at: f.opt_f64("finished_at")?,
            rate_bps: f.opt_f64("rate_bps")?,
            attempt: f.u32("attempt", Some(0))?,
        })
    }
}

impl FromJson for Event {
    fn from_json(value: &Value) -> Result<Self, String> {
        let f = Fields::of(value)?;
        Ok(Event {
            id: f.i64("id")?,
            ts: f.string("ts")?,
            kind: f.string("kind")?,
            subject_kind: f.opt_string("subject_kind")?,
            subject_id: f.opt_string("subject_id")?,
            actor: f.opt_string("actor")?,
            source_ip: f.opt_string("source_ip")?,
            summary: f.string("summary")?,
            details: f.opt("details").cloned(),
        })
    }
}

impl FromJson for EventList {
    fn from_json(value: &Value) -> Result<Self, String> {
        Ok(EventList {
            events: Fields::of(value)?.list("events")?,
        })
    }
}

impl FromJson for CacheUsage {
    fn from_json(value: &Value) -> Result<Self, String> {
        let f = Fields::of(value)?;
        Ok(CacheUsage {
            cache_dir: f.string("cache_dir")?,
            files: f.u64("files")?,
            bytes: f.u64("bytes")?,
            free_bytes: f.opt_u64("free_bytes")?,
            total_bytes: f.opt_u64("total_bytes")?,
            quota_bytes: f.opt_u64("quota_bytes")?,
        })
    }
}

impl FromJson for LiveSnapshot {
    fn from_json(value: &Value) -> Result<Self, String> {
        let f = Fields::of(value)?;
        Ok(LiveSnapshot {
            jobs: f.list("jobs")?,
            catalog: f.value("catalog")?,
            cache: f.opt_value("cache")?,
        })
    }
}

impl FromJson for UploadResult {
    fn from_json(value: &Value) -> Result<Self, String> {
        let f = Fields::of(value)?;
        Ok(UploadResult {
            name: f.string("name")?,
            size_bytes: f.u64("size_bytes")?,
            path: f.string("path")?,
            sha256: f.string("sha256")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::{de::DeserializeOwned, Serialize};
    use serde_json::json;

    /// What the derived `Deserialize` reads, this reader reads the same.
    fn same_as_serde<T>(value: Value)
    where
        T: FromJson + DeserializeOwned + PartialEq + std::fmt::Debug,
    {
        let by_serde = serde_json::from_value::<T>(value.clone()).ok();
        let by_hand = T::from_json(&value).ok();
        assert_eq!(by_hand, by_serde, "{value}");
    }

    fn round_trip<T>(original: T)
    where
        T: FromJson + DeserializeOwned + Serialize + PartialEq + std::fmt::Debug,
    {
        let value = serde_json::to_value(&original).expect("serializes");
        assert_eq!(T::from_json(&value).as_ref(), Ok(&original));
        same_as_serde::<T>(value);
    }

    fn job() -> Job {
        Job {
            id: 7,
            kind: JobKind::Download,
            name: "a.img".into(),
            status: JobStatus::Running,
            bytes_done: 5,
            bytes_total: Some(10),
            sha256: Some("ab".into()),
            error: None,
            started_at: Some(1_700_000_000.25),
            finished_at: None,
            rate_bps: Some(12.5),
            attempt: 2,
        }
    }

    fn cache() -> CacheUsage {
        CacheUsage {
            cache_dir: "/c".into(),
            files: 3,
            bytes: 4_509_715_660,
            free_bytes: Some(100),
            total_bytes: None,
            quota_bytes: Some(6_000_000_000),
        }
    }

    fn catalog() -> CatalogPage {
        CatalogPage {
            image_root: "/srv/images".into(),
            total: 2,
            matched: 1,
            page: 1,
            per_page: 100,
            query: "deb".into(),
            rows: vec![
                CatalogRow {
                    image_ref: "r1".into(),
                    sha256: None,
                    names: vec!["a.img".into(), "b.img".into()],
                    format: Some("raw".into()),
                    size_bytes: Some(-1),
                    sources: vec![
                        Source {
                            kind: SourceKind::Local,
                            location: "/srv/images/a.img".into(),
                        },
                        Source {
                            kind: SourceKind::Manifest,
                            location: "https://x/y".into(),
                        },
                    ],
                    cached: true,
                    rolling: true,
                    keep_cached: true,
                    uncompressed_size: Some(17_179_869_184),
                    #[cfg(feature = "ssr")]
                    uncompressed_sha256: Some("cd34".into()),
                    inspection: InspectionState::Unsafe,
                    inspection_reason: Some("qcow2 has a backing file: /etc/passwd".into()),
                    format_warning: Some("named .img, contains qcow2".into()),
                },
                CatalogRow {
                    image_ref: "r2".into(),
                    names: vec!["c.img.gz".into()],
                    inspection: InspectionState::Corrupt,
                    inspection_reason: Some("gzip: unexpected end of file".into()),
                    ..CatalogRow::default()
                },
                CatalogRow {
                    image_ref: "r3".into(),
                    inspection: InspectionState::Ok,
                    uncompressed_size: Some(0),
                    ..CatalogRow::default()
                },
            ],
        }
    }

    fn event() -> Event {
        Event {
            id: 9,
            ts: "2026-05-17T20:21:09+00:00".into(),
            kind: "image.hashed".into(),
            subject_kind: Some("image".into()),
            subject_id: None,
            actor: Some("admin".into()),
            source_ip: None,
            summary: "hashed".into(),
            details: Some(json!({"sha256": "ab", "n": [1, 2.5]})),
        }
    }

    #[test]
    fn every_type_reads_what_serde_writes() {
        round_trip(job());
        round_trip(Job {
            kind: JobKind::Inspect,
            ..job()
        });
        round_trip(Job {
            kind: JobKind::Hash,
            ..job()
        });
        round_trip(cache());
        round_trip(CacheUsage {
            quota_bytes: None,
            ..cache()
        });
        round_trip(catalog());
        round_trip(event());
        round_trip(EventList {
            events: vec![event()],
        });
        round_trip(LiveSnapshot {
            jobs: vec![job()],
            catalog: catalog(),
            cache: Some(cache()),
        });
        round_trip(UploadResult {
            name: "a.img".into(),
            size_bytes: 3,
            path: "/srv/images/a.img".into(),
            sha256: "ab12".into(),
        });
        round_trip(ImagesPage {
            operator: "admin".into(),
            catalog: catalog(),
            jobs: vec![job()],
            recent_events: vec![event()],
            hash_max_parallel: 1,
            release_repo: "safl/bty".into(),
            manifest_path: "/m".into(),
            cache: None,
            download_max_parallel: 2,
        });
    }

    #[test]
    fn missing_nulls_defaults_and_wrong_types_are_read_as_serde_reads_them() {
        let mut full = serde_json::to_value(job()).unwrap();
        same_as_serde::<Job>(full.clone());
        let fields = full.as_object_mut().unwrap();
        fields.insert("extra".into(), json!({"ignored": true}));
        same_as_serde::<Job>(Value::Object(fields.clone()));
        for (field, value) in [
            ("bytes_total", Value::Null),
            ("started_at", json!(5)),
            ("rate_bps", json!(-1)),
            ("bytes_done", json!(-1)),
            ("bytes_done", json!(1.5)),
            ("attempt", json!(5_000_000_000u64)),
            ("attempt", Value::Null),
            ("kind", json!("Hash")),
            ("status", json!("failed")),
            ("name", json!(3)),
            ("id", json!(i64::MIN)),
            ("id", json!(u64::MAX)),
        ] {
            let mut changed = fields.clone();
            changed.insert(field.into(), value);
            same_as_serde::<Job>(Value::Object(changed));
        }
        for field in ["attempt", "bytes_total", "error", "id", "kind"] {
            let mut missing = fields.clone();
            missing.remove(field);
            same_as_serde::<Job>(Value::Object(missing));
        }
        let mut row = serde_json::to_value(&catalog().rows[0]).unwrap();
        row.as_object_mut().unwrap().remove("rolling");
        same_as_serde::<CatalogRow>(row.clone());
        let mut unpinned = row.clone();
        unpinned.as_object_mut().unwrap().remove("keep_cached");
        same_as_serde::<CatalogRow>(unpinned.clone());
        assert_eq!(
            CatalogRow::from_json(&unpinned).map(|r| r.keep_cached),
            Ok(false)
        );
        unpinned["keep_cached"] = json!("yes");
        same_as_serde::<CatalogRow>(unpinned);
        for (field, value) in [
            ("inspection", Value::Null),
            ("inspection", json!("Unsafe")),
            ("inspection", json!("quarantined")),
            ("inspection", json!(1)),
            ("uncompressed_size", Value::Null),
            ("uncompressed_size", json!(-1)),
            ("uncompressed_size", json!(u64::MAX)),
            ("uncompressed_sha256", json!(5)),
            ("inspection_reason", json!(["x"])),
            ("format_warning", Value::Null),
        ] {
            let mut changed = row.clone();
            changed.as_object_mut().unwrap().insert(field.into(), value);
            same_as_serde::<CatalogRow>(changed);
        }
        for field in [
            "inspection",
            "uncompressed_size",
            "uncompressed_sha256",
            "inspection_reason",
            "format_warning",
        ] {
            let mut missing = row.clone();
            missing.as_object_mut().unwrap().remove(field);
            same_as_serde::<CatalogRow>(missing);
        }
        let read = CatalogRow::from_json(&json!({
            "ref": "r", "names": [], "sources": [], "cached": false
        }));
        assert_eq!(
            read.map(|row| (row.inspection, row.uncompressed_size)),
            Ok((InspectionState::Pending, None))
        );
        row.as_object_mut().unwrap().remove("cached");
        same_as_serde::<CatalogRow>(row);
        same_as_serde::<CatalogRow>(
            json!({"ref": "r", "names": ["a", 1], "sources": [], "cached": false}),
        );
        same_as_serde::<Source>(json!({"kind": "url", "location": "u"}));
        same_as_serde::<Source>(json!({"kind": "ftp", "location": "u"}));
        same_as_serde::<Event>(
            json!({"id": 1, "ts": "", "kind": "k", "summary": "", "details": null}),
        );
        same_as_serde::<CacheUsage>(json!([1, 2]));
        let mut usage = serde_json::to_value(cache()).unwrap();
        usage.as_object_mut().unwrap().remove("quota_bytes");
        same_as_serde::<CacheUsage>(usage.clone());
        for quota in [Value::Null, json!(-1), json!("6 GB")] {
            usage["quota_bytes"] = quota;
            same_as_serde::<CacheUsage>(usage.clone());
        }
    }

    #[test]
    fn a_result_reads_its_ok_and_its_err() {
        let ok = serde_json::to_value(Ok::<_, String>(cache())).unwrap();
        assert_eq!(read_result::<CacheUsage>(&ok), Ok(Ok(cache())));
        let err = serde_json::to_value(Err::<CacheUsage, _>("login required")).unwrap();
        assert_eq!(
            read_result::<CacheUsage>(&err),
            Ok(Err("login required".to_string()))
        );
        assert!(read_result::<CacheUsage>(&json!({"Ok": 1})).is_err());
        assert!(read_result::<CacheUsage>(&json!("Ok")).is_err());
        assert_eq!(
            read::<UploadResult>("{\"name\":\"a\"}"),
            Err("missing or invalid field `size_bytes`".to_string())
        );
    }
}

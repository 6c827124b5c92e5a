//! Per-row catalog actions: which buttons a row gets (a pure rule, tested
//! here) and the button that calls the API, with its in-flight state.
//!
//! The rule follows the reference with its defect D7 fixed: local files are
//! `local` sources, never `manifest` ones, so they are offered neither Evict
//! nor Delete entry.
//!
//! Pin and Unpin are the operator's cache pin (`keep_cached`: the quota
//! never evicts the bytes), not a SHA-256 pinned by a catalog.

use leptos::prelude::*;

use crate::components::erased::IntoErased;

use super::browser;
use super::icons::{Glyph, Icon};
use super::layout::use_flash;
use crate::api;
use crate::live::use_live;
use crate::model::{CatalogRow, JobKind};

/// One button in a row's Action cell.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RowAction {
    /// Hash a local file that has no SHA yet; holds the row's first name.
    Hash(String),
    /// Download the bytes into the cache; holds the row's first name.
    Fetch(String),
    /// Re-resolve a rolling entry and download it again (the cached bytes
    /// stay until the new ones are verified); holds the row's first name.
    Update(String),
    /// Keep the bytes in the cache whatever the quota needs; holds the
    /// row's first name.
    Pin(String),
    /// Let the quota evict the bytes again; holds the row's first name.
    Unpin(String),
    /// Drop the cached bytes, keep the entry; holds the row's first name.
    Evict(String),
    /// Delete the remote entry; holds its source URL.
    DeleteEntry(String),
}

/// The buttons a row gets, in display order:
/// - no SHA and a local file: Hash;
/// - otherwise, bytes not held here: Fetch;
/// - cached, remote and rolling (no pinned SHA): Update;
/// - remote only (no file in the image root, which is never evicted):
///   Pin, or Unpin once pinned in the cache;
/// - cached and a remote source: Evict;
/// - a remote source: Delete entry (of the first remote source).
pub fn row_actions(row: &CatalogRow) -> Vec<RowAction> {
    let name = row.name().to_string();
    let remote = row.remote_source();
    let mut actions = Vec::new();
    if row.sha256.is_none() && row.is_local() {
        actions.push(RowAction::Hash(name.clone()));
    } else if !row.cached {
        actions.push(RowAction::Fetch(name.clone()));
    }
    if row.cached && row.rolling && remote.is_some() {
        actions.push(RowAction::Update(name.clone()));
    }
    if remote.is_some() && !row.is_local() {
        actions.push(if row.keep_cached {
            RowAction::Unpin(name.clone())
        } else {
            RowAction::Pin(name.clone())
        });
    }
    if row.cached && remote.is_some() {
        actions.push(RowAction::Evict(name));
    }
    if let Some(source) = remote {
        actions.push(RowAction::DeleteEntry(source.location.clone()));
    }
    actions
}

impl RowAction {
    /// The class end-to-end tests and the reference's scripts find it by.
    pub fn hook_class(&self) -> &'static str {
        match self {
            RowAction::Hash(_) => "bty-hash-btn",
            RowAction::Fetch(_) => "bty-fetch-btn",
            RowAction::Update(_) => "bty-update-btn",
            RowAction::Pin(_) => "bty-pin-btn",
            RowAction::Unpin(_) => "bty-unpin-btn",
            RowAction::Evict(_) => "bty-cache-delete-btn",
            RowAction::DeleteEntry(_) => "bty-catalog-entry-delete-btn",
        }
    }

    /// The button's words.
    pub fn label(&self) -> &'static str {
        match self {
            RowAction::Hash(_) => "Hash",
            RowAction::Fetch(_) => "Fetch",
            RowAction::Update(_) => "Update",
            RowAction::Pin(_) => "Pin",
            RowAction::Unpin(_) => "Unpin",
            RowAction::Evict(_) => "Evict",
            RowAction::DeleteEntry(_) => "Delete entry",
        }
    }

    /// The button's words while its job is queued or running.
    pub fn busy_label(&self) -> &'static str {
        match self {
            RowAction::Hash(_) => "Hashing…",
            RowAction::Fetch(_) => "Fetching…",
            RowAction::Update(_) => "Updating…",
            other => other.label(),
        }
    }

    /// The kind of background job this action starts, if any.
    pub fn job_kind(&self) -> Option<JobKind> {
        match self {
            RowAction::Hash(_) => Some(JobKind::Hash),
            RowAction::Fetch(_) | RowAction::Update(_) => Some(JobKind::Download),
            RowAction::Pin(_)
            | RowAction::Unpin(_)
            | RowAction::Evict(_)
            | RowAction::DeleteEntry(_) => None,
        }
    }

    fn glyph(&self) -> Glyph {
        match self {
            RowAction::Hash(_) => Glyph::Hash,
            RowAction::Fetch(_) => Glyph::Download,
            RowAction::Update(_) => Glyph::RefreshCw,
            RowAction::Pin(_) | RowAction::Unpin(_) => Glyph::Pin,
            RowAction::Evict(_) => Glyph::MinusCircle,
            RowAction::DeleteEntry(_) => Glyph::Trash,
        }
    }

    /// The outline colour: destructive actions are red.
    fn tone(&self) -> &'static str {
        match self {
            RowAction::Hash(_) | RowAction::Fetch(_) | RowAction::Update(_) => {
                "btn-outline-primary"
            }
            RowAction::Pin(_) | RowAction::Unpin(_) => "btn-outline-secondary",
            RowAction::Evict(_) => "btn-outline-warning",
            RowAction::DeleteEntry(_) => "btn-outline-danger",
        }
    }

    /// The name it acts on (`data-name`), for all but Delete entry.
    pub fn name(&self) -> Option<String> {
        match self {
            RowAction::Hash(name)
            | RowAction::Fetch(name)
            | RowAction::Update(name)
            | RowAction::Pin(name)
            | RowAction::Unpin(name)
            | RowAction::Evict(name) => Some(name.clone()),
            RowAction::DeleteEntry(_) => None,
        }
    }

    /// The source URL it acts on (`data-src`), for Delete entry.
    pub fn src(&self) -> Option<String> {
        match self {
            RowAction::DeleteEntry(src) => Some(src.clone()),
            _ => None,
        }
    }

    /// The question asked first, for actions that remove something.
    pub fn confirmation(&self) -> Option<String> {
        match self {
            RowAction::Evict(name) => Some(format!(
                "Evict the cached bytes of '{name}'? The entry stays and can be fetched again."
            )),
            RowAction::DeleteEntry(src) => Some(format!("Delete the catalog entry for {src}?")),
            RowAction::Hash(_)
            | RowAction::Fetch(_)
            | RowAction::Update(_)
            | RowAction::Pin(_)
            | RowAction::Unpin(_) => None,
        }
    }

    /// Calls the API. The result shows up through the live stream.
    pub async fn run(self) -> Result<(), String> {
        match self {
            RowAction::Hash(name) => api::enqueue_hash(&name).await,
            RowAction::Fetch(name) => api::enqueue_download(&name).await,
            RowAction::Update(name) => api::update_download(&name).await,
            RowAction::Pin(name) => api::pin_cached(&name, true).await,
            RowAction::Unpin(name) => api::pin_cached(&name, false).await,
            RowAction::Evict(name) => api::evict_cache(&name).await,
            RowAction::DeleteEntry(src) => api::delete_entry(&src).await,
        }
    }

    /// Says which action on what failed, for the flash slot.
    fn failure(&self, error: &str) -> String {
        let target = self.name().or_else(|| self.src()).unwrap_or_default();
        format!("{} {target} failed: {error}", self.label())
    }
}

/// A small outlined button that runs one action, disabled while its
/// request is in flight or its job is already queued or running (it then
/// says so: "Hashing…"); a failure goes to the flash slot.
#[component]
pub fn ActionButton(
    /// What the button does.
    action: RowAction,
) -> impl IntoView {
    let pending = RwSignal::new(false);
    let flash = use_flash();
    let class = format!("btn btn-sm {} {}", action.tone(), action.hook_class());
    let (name, src, label, glyph) = (action.name(), action.src(), action.label(), action.glyph());
    let busy_label = action.busy_label();
    let busy = {
        let (live, kind, name) = (use_live(), action.job_kind(), name.clone());
        Signal::derive(move || match (live, kind, &name) {
            (Some(live), Some(kind), Some(name)) => live.jobs.with(|jobs| {
                jobs.iter()
                    .any(|job| job.kind == kind && &job.name == name && job.status.is_active())
            }),
            _ => false,
        })
    };
    let on_click = move |_| {
        if pending.get_untracked() {
            return;
        }
        if let Some(question) = action.confirmation() {
            if !browser::confirm(&question) {
                return;
            }
        }
        pending.set(true);
        let action = action.clone();
        leptos::task::spawn_local(async move {
            let result = action.clone().run().await;
            // The row may have been redrawn meanwhile; then this is a no-op.
            let _ = pending.try_set(false);
            match (result, flash) {
                (Err(error), Some(flash)) => flash.show(action.failure(&error)),
                (Err(error), None) => leptos::logging::warn!("{}", action.failure(&error)),
                (Ok(()), Some(flash)) => flash.clear(),
                (Ok(()), None) => {}
            }
        });
    };
    view! {
        <button
            type="button"
            class=class
            data-name=name
            data-src=src
            disabled=move || pending.get() || busy.get()
            aria-busy=move || (pending.get() || busy.get()).then_some("true")
            on:click=on_click
        >
            <Icon glyph/>
            <span>{move || if busy.get() { busy_label } else { label }}</span>
        </button>
    }
    .erased()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Source, SourceKind};

    fn row(sha: Option<&str>, cached: bool, sources: &[(SourceKind, &str)]) -> CatalogRow {
        CatalogRow {
            image_ref: "ref".into(),
            sha256: sha.map(str::to_string),
            names: vec!["disk.img".into(), "alias.img".into()],
            format: Some("img".into()),
            size_bytes: None,
            sources: sources
                .iter()
                .map(|(kind, location)| Source {
                    kind: *kind,
                    location: location.to_string(),
                })
                .collect(),
            cached,
            rolling: false,
            ..Default::default()
        }
    }

    const LOCAL: (SourceKind, &str) = (SourceKind::Local, "/srv/images/disk.img");
    const URL: (SourceKind, &str) = (SourceKind::Url, "https://example.test/disk.img");
    const MANIFEST: (SourceKind, &str) = (SourceKind::Manifest, "https://example.test/m.img");

    #[test]
    fn an_unhashed_local_file_offers_hash_only() {
        let actions = row_actions(&row(None, true, &[LOCAL]));
        assert_eq!(actions, [RowAction::Hash("disk.img".into())]);
    }

    #[test]
    fn a_hashed_local_file_offers_nothing() {
        assert!(row_actions(&row(Some("ab"), true, &[LOCAL])).is_empty());
    }

    #[test]
    fn an_uncached_remote_entry_offers_fetch_pin_and_delete() {
        let actions = row_actions(&row(Some("ab"), false, &[MANIFEST, URL]));
        assert_eq!(
            actions,
            [
                RowAction::Fetch("disk.img".into()),
                RowAction::Pin("disk.img".into()),
                RowAction::DeleteEntry(MANIFEST.1.into()),
            ]
        );
    }

    #[test]
    fn an_unhashed_remote_entry_can_be_fetched() {
        let actions = row_actions(&row(None, false, &[URL]));
        assert_eq!(actions[0], RowAction::Fetch("disk.img".into()));
    }

    #[test]
    fn a_cached_remote_entry_offers_pin_evict_and_delete() {
        let actions = row_actions(&row(Some("ab"), true, &[URL]));
        assert_eq!(
            actions,
            [
                RowAction::Pin("disk.img".into()),
                RowAction::Evict("disk.img".into()),
                RowAction::DeleteEntry(URL.1.into()),
            ]
        );
    }

    #[test]
    fn a_cached_rolling_entry_offers_update_before_evict() {
        let mut rolling = row(None, true, &[URL]);
        rolling.rolling = true;
        assert_eq!(
            row_actions(&rolling),
            [
                RowAction::Update("disk.img".into()),
                RowAction::Pin("disk.img".into()),
                RowAction::Evict("disk.img".into()),
                RowAction::DeleteEntry(URL.1.into()),
            ]
        );
    }

    #[test]
    fn update_needs_cached_bytes_a_remote_source_and_a_rolling_entry() {
        let has_update = |row: &CatalogRow| {
            row_actions(row)
                .iter()
                .any(|a| matches!(a, RowAction::Update(_)))
        };
        let mut uncached = row(None, false, &[MANIFEST]);
        uncached.rolling = true;
        assert!(!has_update(&uncached), "not cached: Fetch, not Update");
        assert!(!has_update(&row(Some("ab"), true, &[MANIFEST])), "pinned");
        let mut local = row(Some("ab"), true, &[LOCAL]);
        local.rolling = true;
        assert!(!has_update(&local), "a local file is never updated");
    }

    #[test]
    fn a_row_pinned_in_the_cache_offers_unpin_and_a_local_file_neither() {
        let mut pinned = row(Some("ab"), true, &[URL]);
        pinned.keep_cached = true;
        let actions = row_actions(&pinned);
        assert!(actions.contains(&RowAction::Unpin("disk.img".into())));
        assert!(!actions.contains(&RowAction::Pin("disk.img".into())));
        let unpin = RowAction::Unpin("disk.img".into());
        assert_eq!(unpin.hook_class(), "bty-unpin-btn");
        assert_eq!(unpin.label(), "Unpin");
        assert_eq!((unpin.job_kind(), unpin.confirmation()), (None, None));
        assert_eq!(RowAction::Pin("a".into()).hook_class(), "bty-pin-btn");
        // The image root's files are never evicted: nothing to pin.
        let mut local = row(Some("ab"), true, &[LOCAL, URL]);
        local.keep_cached = true;
        assert!(row_actions(&local)
            .iter()
            .all(|a| !matches!(a, RowAction::Pin(_) | RowAction::Unpin(_))));
    }

    #[test]
    fn update_says_updating_while_its_download_runs() {
        let update = RowAction::Update("a".into());
        assert_eq!(update.hook_class(), "bty-update-btn");
        assert_eq!(update.label(), "Update");
        assert_eq!(update.busy_label(), "Updating…");
        assert_eq!(update.job_kind(), Some(JobKind::Download));
        assert_eq!(update.name().as_deref(), Some("a"));
        assert_eq!(update.confirmation(), None);
    }

    #[test]
    fn delete_entry_targets_the_first_remote_source_not_the_local_file() {
        let actions = row_actions(&row(Some("ab"), true, &[LOCAL, URL]));
        assert_eq!(actions.last(), Some(&RowAction::DeleteEntry(URL.1.into())));
        assert!(actions.iter().all(|a| a.src().as_deref() != Some(LOCAL.1)));
    }

    #[test]
    fn buttons_carry_the_reference_hooks() {
        let hash = RowAction::Hash("a".into());
        assert_eq!(hash.hook_class(), "bty-hash-btn");
        assert_eq!(hash.name().as_deref(), Some("a"));
        assert_eq!(hash.confirmation(), None);
        let delete = RowAction::DeleteEntry("https://x".into());
        assert_eq!(delete.hook_class(), "bty-catalog-entry-delete-btn");
        assert_eq!(delete.name(), None);
        assert_eq!(delete.src().as_deref(), Some("https://x"));
        assert!(delete.confirmation().is_some());
        assert_eq!(
            RowAction::Evict("a".into()).hook_class(),
            "bty-cache-delete-btn"
        );
        assert_eq!(RowAction::Fetch("a".into()).hook_class(), "bty-fetch-btn");
    }

    #[test]
    fn hash_and_fetch_name_the_job_that_makes_them_busy() {
        assert_eq!(RowAction::Hash("a".into()).job_kind(), Some(JobKind::Hash));
        assert_eq!(RowAction::Hash("a".into()).busy_label(), "Hashing…");
        assert_eq!(
            RowAction::Fetch("a".into()).job_kind(),
            Some(JobKind::Download)
        );
        assert_eq!(RowAction::Evict("a".into()).job_kind(), None);
    }
}

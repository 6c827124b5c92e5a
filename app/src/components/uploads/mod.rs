//! The Upload image section: a drop zone and file picker for several image
//! files at once, each sent with its own `PUT /images/{name}` and listed
//! with its progress, rate, ETA, Cancel button and, at the end, its SHA-256
//! or the server's reason for refusing it.
//!
//! The list of uploads is page state ([`Uploads`], created by the Images
//! page like its live state), so it outlives the section: switching pills
//! re-creates the section, not the uploads. The pure rules (which files are
//! taken, how progress, rate and ETA are figured) live here, tested; the
//! browser's side is in `transfer`, the view in `view`.

use leptos::prelude::*;

use crate::model::{image_suffixes, ImageFormat, UploadResult};

#[cfg(feature = "hydrate")]
pub mod transfer;
mod view;

pub use view::UploadSection;

/// How often at most the rate is re-measured, in milliseconds.
const RATE_SAMPLE_MS: f64 = 500.0;

/// How much a new rate measurement moves the shown rate (0 to 1): enough
/// to follow a change within a few seconds, little enough not to jitter.
const RATE_SMOOTHING: f64 = 0.3;

/// True for a file name of a supported image format (the table the
/// server detects formats by): the suffix matches and something comes
/// before it (`.img` alone is not an image).
pub fn is_supported_image(name: &str) -> bool {
    ImageFormat::of(name).is_some()
}

/// What happens to a batch of picked or dropped files.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Selection {
    /// Indexes (into the batch) of the files to upload, in order.
    pub accepted: Vec<usize>,
    /// Names of files that are not a supported image.
    pub unsupported: Vec<String>,
    /// Names already being uploaded (or twice in the batch): a second
    /// upload of the same name would only race the first.
    pub duplicates: Vec<String>,
}

impl Selection {
    /// The flash message about the files not taken, if any.
    pub fn refusal(&self) -> Option<String> {
        let mut parts = Vec::new();
        if !self.unsupported.is_empty() {
            parts.push(format!(
                "Not uploaded, not a supported image format ({}): {}.",
                image_suffixes(", "),
                self.unsupported.join(", ")
            ));
        }
        if !self.duplicates.is_empty() {
            parts.push(format!(
                "Already being uploaded: {}.",
                self.duplicates.join(", ")
            ));
        }
        (!parts.is_empty()).then(|| parts.join(" "))
    }
}

/// Sorts a batch of file names into those to upload and those refused.
/// `in_flight` are the names of the uploads still running.
pub fn select_files(names: &[String], in_flight: &[String]) -> Selection {
    let mut selection = Selection::default();
    let mut taken: Vec<&str> = in_flight.iter().map(String::as_str).collect();
    for (index, name) in names.iter().enumerate() {
        if !is_supported_image(name) {
            selection.unsupported.push(name.clone());
        } else if taken.contains(&name.as_str()) {
            selection.duplicates.push(name.clone());
        } else {
            taken.push(name);
            selection.accepted.push(index);
        }
    }
    selection
}

/// Where an upload is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UploadStatus {
    Uploading,
    Completed,
    Failed,
    Cancelled,
}

impl UploadStatus {
    /// The row's `data-status` and the badge's word.
    pub fn as_str(self) -> &'static str {
        match self {
            UploadStatus::Uploading => "uploading",
            UploadStatus::Completed => "completed",
            UploadStatus::Failed => "failed",
            UploadStatus::Cancelled => "cancelled",
        }
    }

    /// True while bytes are still going out.
    pub fn is_active(self) -> bool {
        self == UploadStatus::Uploading
    }

    /// The progress bar's colour.
    pub fn tone(self) -> &'static str {
        match self {
            UploadStatus::Uploading | UploadStatus::Completed => "bg-success",
            UploadStatus::Failed => "bg-danger",
            UploadStatus::Cancelled => "bg-secondary",
        }
    }
}

/// How an upload ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UploadEnd {
    /// The server stored it (200).
    Completed(UploadResult),
    /// The server refused it, or the connection failed: what to show.
    Failed(String),
    /// The operator cancelled it.
    Cancelled,
}

/// One upload, as its row shows it.
#[derive(Clone, Debug, PartialEq)]
pub struct Upload {
    /// Unique within the page; the row's key.
    pub id: u64,
    pub name: String,
    pub status: UploadStatus,
    pub bytes_sent: u64,
    /// The file's size.
    pub bytes_total: u64,
    /// Bytes per second, smoothed; only while uploading.
    pub rate_bps: Option<f64>,
    /// From the server's answer.
    pub sha256: Option<String>,
    /// Why it failed.
    pub error: Option<String>,
}

impl Upload {
    /// A new upload of `bytes_total` bytes, nothing sent yet.
    pub fn new(id: u64, name: String, bytes_total: u64) -> Self {
        Upload {
            id,
            name,
            status: UploadStatus::Uploading,
            bytes_sent: 0,
            bytes_total,
            rate_bps: None,
            sha256: None,
            error: None,
        }
    }

    /// The bar's fill: bytes sent over the size; full once completed
    /// (an empty file included); `None` (striped) for an empty file on its way.
    pub fn percent(&self) -> Option<f64> {
        if self.status == UploadStatus::Completed {
            return Some(100.0);
        }
        (self.bytes_total > 0)
            .then(|| (self.bytes_sent as f64 / self.bytes_total as f64 * 100.0).min(100.0))
    }

    /// Seconds left at the current rate, while uploading.
    pub fn eta_seconds(&self) -> Option<f64> {
        let rate = self.rate_bps.filter(|rate| *rate > 0.0)?;
        self.status
            .is_active()
            .then(|| self.bytes_total.saturating_sub(self.bytes_sent) as f64 / rate)
    }

    /// A progress report; ignored once the upload has ended (a late event).
    pub fn progress(&mut self, bytes_sent: u64, bytes_total: Option<u64>, rate_bps: Option<f64>) {
        if !self.status.is_active() {
            return;
        }
        self.bytes_sent = bytes_sent;
        if let Some(total) = bytes_total {
            self.bytes_total = total;
        }
        self.rate_bps = rate_bps;
    }

    /// The end; only the first one counts.
    pub fn finish(&mut self, end: UploadEnd) {
        if !self.status.is_active() {
            return;
        }
        self.rate_bps = None;
        match end {
            UploadEnd::Completed(image) => {
                self.status = UploadStatus::Completed;
                self.bytes_total = image.size_bytes;
                self.bytes_sent = image.size_bytes;
                self.sha256 = Some(image.sha256);
            }
            UploadEnd::Failed(error) => {
                self.status = UploadStatus::Failed;
                self.error = Some(error);
            }
            UploadEnd::Cancelled => self.status = UploadStatus::Cancelled,
        }
    }
}

/// A smoothed transfer rate from absolute byte counts over time.
#[derive(Clone, Debug, PartialEq)]
pub struct RateMeter {
    last_ms: f64,
    last_bytes: u64,
    rate: Option<f64>,
}

impl RateMeter {
    /// Starts measuring at `now_ms` with nothing sent.
    pub fn new(now_ms: f64) -> Self {
        RateMeter {
            last_ms: now_ms,
            last_bytes: 0,
            rate: None,
        }
    }

    /// Takes the byte count at `now_ms` and gives the rate to show: the
    /// first measurement once [`RATE_SAMPLE_MS`] have passed, then a moving
    /// average of one measurement per interval.
    pub fn sample(&mut self, now_ms: f64, bytes: u64) -> Option<f64> {
        let elapsed_ms = now_ms - self.last_ms;
        if elapsed_ms >= RATE_SAMPLE_MS {
            let measured = bytes.saturating_sub(self.last_bytes) as f64 * 1000.0 / elapsed_ms;
            self.rate = Some(match self.rate {
                Some(rate) => rate + RATE_SMOOTHING * (measured - rate),
                None => measured,
            });
            self.last_ms = now_ms;
            self.last_bytes = bytes;
        }
        self.rate
    }
}

/// The page's uploads: cheap to copy, lives as long as the Images page.
#[derive(Clone, Copy)]
pub struct Uploads {
    list: RwSignal<Vec<Upload>>,
    next_id: StoredValue<u64>,
    /// The requests in flight and their callbacks, by upload id. Dropped
    /// (and so released) when an upload ends, or aborted with the page.
    /// A list: a handful run at once, and a hash map's code would cost the
    /// browser bundle more than the scans cost here.
    #[cfg(feature = "hydrate")]
    transfers: StoredValue<Vec<(u64, transfer::Transfer)>, LocalStorage>,
}

impl Uploads {
    /// An empty list, owned by the current reactive owner (the page). In
    /// the browser it also asks before leaving the page while an upload
    /// is running, since leaving aborts it.
    pub fn new() -> Self {
        let uploads = Uploads {
            list: RwSignal::new(Vec::new()),
            next_id: StoredValue::new(1),
            #[cfg(feature = "hydrate")]
            transfers: StoredValue::new_local(Default::default()),
        };
        #[cfg(feature = "hydrate")]
        transfer::warn_before_leaving(uploads);
        uploads
    }

    /// The uploads, oldest first.
    pub fn list(&self) -> Signal<Vec<Upload>> {
        self.list.into()
    }

    /// Reads one upload, if it is still listed; tracked, so a reactive
    /// reader runs again when the list changes.
    pub fn with_upload<T>(&self, id: u64, read: impl FnOnce(&Upload) -> T) -> Option<T> {
        self.list
            .with(|list| list.iter().find(|upload| upload.id == id).map(read))
    }

    /// Reads one upload now, without subscribing to changes.
    pub fn with_upload_untracked<T>(&self, id: u64, read: impl FnOnce(&Upload) -> T) -> Option<T> {
        self.list
            .with_untracked(|list| list.iter().find(|upload| upload.id == id).map(read))
    }

    /// Lists a new upload and gives its id.
    pub fn add(&self, name: String, bytes_total: u64) -> u64 {
        let id = self.next_id.get_value();
        self.next_id.set_value(id + 1);
        self.list
            .update(|list| list.push(Upload::new(id, name, bytes_total)));
        id
    }

    /// Changes one upload. A no-op once the page is gone.
    pub fn update(&self, id: u64, change: impl FnOnce(&mut Upload)) {
        let _ = self.list.try_update(|list| {
            if let Some(upload) = list.iter_mut().find(|upload| upload.id == id) {
                change(upload);
            }
        });
    }

    /// The names of the uploads still running, without subscribing.
    pub fn names_in_flight(&self) -> Vec<String> {
        self.list
            .try_with_untracked(|list| {
                list.iter()
                    .filter(|upload| upload.status.is_active())
                    .map(|upload| upload.name.clone())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// True when some upload has ended (so there is something to clear).
    pub fn any_finished(&self) -> bool {
        self.list
            .with(|list| list.iter().any(|upload| !upload.status.is_active()))
    }

    /// Removes the uploads that have ended from the list.
    pub fn clear_finished(&self) {
        self.list
            .update(|list| list.retain(|upload| upload.status.is_active()));
    }
}

impl Default for Uploads {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|name| name.to_string()).collect()
    }

    #[test]
    fn supported_images_are_told_by_suffix_in_any_case() {
        for name in [
            "disk.img",
            "UPPER.IMG",
            "a.img.gz",
            "a.img.xz",
            "Ubuntu.Img.Zst",
            "a.img.bz2",
            "vm.qcow2",
            ".hidden.img",
            "my disk.img",
        ] {
            assert!(is_supported_image(name), "{name}");
        }
        for name in [
            "disk.iso",
            "disk.iso.gz",
            "notes.txt",
            "disk.img.sha256",
            "root.tar.gz",
            "disk.raw",
            ".img",
            ".qcow2",
            "disk.img.partial",
            "",
        ] {
            assert!(!is_supported_image(name), "{name}");
        }
    }

    #[test]
    fn the_accept_list_names_exactly_the_supported_suffixes() {
        // The reference also offered `.iso`, which it then never listed:
        // its defect D19.
        let accept = image_suffixes(",");
        assert_eq!(accept, ".img,.img.gz,.img.xz,.img.zst,.img.bz2,.qcow2");
        assert!(!accept.contains(".iso"));
    }

    #[test]
    fn unsupported_files_are_refused_by_name_and_the_others_go_ahead() {
        let batch = names(&["a.img", "b.iso", "c.img.gz", "notes.txt"]);
        let selection = select_files(&batch, &[]);
        assert_eq!(selection.accepted, [0, 2]);
        assert_eq!(selection.unsupported, ["b.iso", "notes.txt"]);
        let message = selection.refusal().expect("a message");
        assert!(message.contains("b.iso, notes.txt"), "{message}");
        assert!(message.contains(".img, .img.gz"), "{message}");
    }

    #[test]
    fn a_name_already_uploading_is_not_sent_twice() {
        let batch = names(&["a.img", "b.img", "b.img"]);
        let selection = select_files(&batch, &names(&["a.img"]));
        assert_eq!(selection.accepted, [1]);
        assert_eq!(selection.duplicates, ["a.img", "b.img"]);
        assert!(selection
            .refusal()
            .expect("a message")
            .contains("Already being uploaded: a.img, b.img."));
    }

    #[test]
    fn a_clean_batch_needs_no_message() {
        let selection = select_files(&names(&["a.img"]), &[]);
        assert_eq!(selection.refusal(), None);
    }

    fn image(size: u64) -> UploadResult {
        UploadResult {
            name: "a.img".into(),
            size_bytes: size,
            path: "/srv/images/a.img".into(),
            sha256: "ab".repeat(32),
        }
    }

    #[test]
    fn progress_gives_percent_and_eta_while_uploading() {
        let mut upload = Upload::new(1, "a.img".into(), 1000);
        assert_eq!(upload.percent(), Some(0.0));
        assert_eq!(upload.eta_seconds(), None);
        upload.progress(250, Some(1000), Some(100.0));
        assert_eq!(upload.percent(), Some(25.0));
        assert_eq!(upload.eta_seconds(), Some(7.5));
    }

    #[test]
    fn a_completed_upload_is_full_with_its_sha_and_no_rate() {
        let mut upload = Upload::new(1, "a.img".into(), 0);
        assert_eq!(upload.percent(), None);
        upload.finish(UploadEnd::Completed(image(0)));
        assert_eq!(upload.status, UploadStatus::Completed);
        assert_eq!(upload.percent(), Some(100.0));
        assert_eq!(upload.sha256, Some("ab".repeat(32)));
        assert_eq!(upload.rate_bps, None);
        assert_eq!(upload.eta_seconds(), None);
    }

    #[test]
    fn only_the_first_end_counts_and_late_progress_is_ignored() {
        let mut upload = Upload::new(1, "a.img".into(), 1000);
        upload.progress(400, None, Some(10.0));
        upload.finish(UploadEnd::Cancelled);
        upload.finish(UploadEnd::Failed("network error".into()));
        upload.progress(900, None, Some(10.0));
        assert_eq!(upload.status, UploadStatus::Cancelled);
        assert_eq!(upload.error, None);
        assert_eq!(upload.bytes_sent, 400);
        assert_eq!(upload.percent(), Some(40.0));
    }

    #[test]
    fn a_failed_upload_keeps_the_reason() {
        let mut upload = Upload::new(1, "a.img".into(), 1000);
        upload.finish(UploadEnd::Failed("bad name".into()));
        assert_eq!(upload.status.as_str(), "failed");
        assert_eq!(upload.error.as_deref(), Some("bad name"));
    }

    #[test]
    fn the_rate_is_measured_per_interval_and_smoothed() {
        let mut meter = RateMeter::new(0.0);
        assert_eq!(meter.sample(100.0, 1_000), None);
        assert_eq!(meter.sample(500.0, 5_000), Some(10_000.0));
        // Too soon for a new measurement: the shown rate stays.
        assert_eq!(meter.sample(600.0, 9_000), Some(10_000.0));
        // 15_000 bytes in 500 ms is 30 kB/s; the shown rate moves 30% there.
        let rate = meter.sample(1_000.0, 20_000).expect("a rate");
        assert!((rate - 16_000.0).abs() < 1e-6, "{rate}");
    }
}

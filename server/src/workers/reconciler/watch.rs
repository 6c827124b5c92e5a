//! Watching the image root, and what its events say about a file. A close
//! after writing, or a rename into the root, means the file's bytes are
//! complete: it can be hashed at once. A creation or a write means a writer
//! may still be at work: the reconciler waits for the file to settle. A
//! file the watch did not see finish (found at start-up, reported by the
//! poll fallback, or after lost events) waits for the settle too.

use std::{collections::HashSet, path::Path, sync::Mutex, time::Duration};

use notify::{
    event::{AccessKind, AccessMode, ModifyKind, RenameMode},
    Event, EventKind, RecursiveMode, Watcher,
};

use super::Reconciler;
use crate::atomic_file;
use crate::catalog::format::detect_format;

/// How often the poll fallback lists the image root.
const POLL_EVERY: Duration = Duration::from_secs(2);

/// A running watch of the image root; dropping it stops the watch.
pub type RootWatcher = Box<dyn Watcher + Send>;

/// How soon an event asks the reconciler to look.
/// Ordered: the most urgent of several wins.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Wake {
    /// Nothing the catalog shows changed (a read, a file it does not list).
    Never,
    /// After the burst of changes this one may belong to.
    Soon,
    /// At once: an image file became complete, its hash should start.
    Now,
}

/// The image files whose bytes are complete: closed after writing or
/// renamed into the root, and neither written to nor replaced since.
#[derive(Default)]
pub struct Completions(Mutex<HashSet<String>>);

impl Completions {
    /// True when the watch saw the file `name` finish and nothing since.
    pub fn is_complete(&self, name: &str) -> bool {
        self.0.lock().is_ok_and(|set| set.contains(name))
    }

    /// Forgets everything: events were lost, so no file is known complete.
    pub fn forget_all(&self) {
        if let Ok(mut set) = self.0.lock() {
            set.clear();
        }
    }

    /// Records what `event` says about the files it names; returns how
    /// soon the reconciler should look.
    pub fn observe(&self, event: &Event) -> Wake {
        if event.need_rescan() {
            self.forget_all();
            return Wake::Soon;
        }
        let paths = event.paths.as_slice();
        let changes: Vec<(&Path, Change)> = match &event.kind {
            EventKind::Access(AccessKind::Close(AccessMode::Write)) => paths
                .iter()
                .map(|p| (p.as_path(), Change::Completed))
                .collect(),
            // Reads, ours included (hashing, sidecar checks), change nothing.
            EventKind::Access(_) => return Wake::Never,
            // inotify reports a rename in as `To`; within the root also as
            // `Both`, whose paths are the old name, then the new one.
            EventKind::Modify(ModifyKind::Name(RenameMode::To)) => paths
                .iter()
                .map(|p| (p.as_path(), Change::Completed))
                .collect(),
            EventKind::Modify(ModifyKind::Name(RenameMode::Both)) => match paths {
                [from, to] => vec![
                    (from.as_path(), Change::Incomplete),
                    (to, Change::Completed),
                ],
                _ => paths
                    .iter()
                    .map(|p| (p.as_path(), Change::Incomplete))
                    .collect(),
            },
            EventKind::Modify(ModifyKind::Metadata(_)) => paths
                .iter()
                .map(|p| (p.as_path(), Change::Metadata))
                .collect(),
            // Created, written, renamed away, removed, or a kind this
            // platform does not tell apart: not known complete any more.
            _ => paths
                .iter()
                .map(|p| (p.as_path(), Change::Incomplete))
                .collect(),
        };
        if changes.is_empty() {
            // An event about no file in particular: look.
            return Wake::Soon;
        }
        let Ok(mut set) = self.0.lock() else {
            return Wake::Soon;
        };
        changes
            .into_iter()
            .map(|(path, change)| note(&mut set, path, change))
            .max()
            .unwrap_or(Wake::Never)
    }
}

/// What an event did to one file.
#[derive(Clone, Copy, Debug)]
enum Change {
    /// Closed after writing, or renamed in under this name.
    Completed,
    /// Created, written to, renamed away or removed: not known complete.
    Incomplete,
    /// A new time or mode: the bytes are as they were.
    Metadata,
}

/// Applies `change` to the file at `path`; how soon to look.
fn note(complete: &mut HashSet<String>, path: &Path, change: Change) -> Wake {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return Wake::Soon;
    };
    if is_sidecar_name(name) {
        return Wake::Soon;
    }
    if !is_image_name(name) {
        return Wake::Never;
    }
    match change {
        Change::Completed => {
            complete.insert(name.to_owned());
            Wake::Now
        }
        Change::Incomplete => {
            complete.remove(name);
            Wake::Soon
        }
        Change::Metadata => Wake::Soon,
    }
}

/// A name the reconciler lists (see its scan).
fn is_image_name(name: &str) -> bool {
    !atomic_file::is_temp_name(name) && detect_format(name).is_some()
}

/// The sidecar of a name the reconciler lists.
fn is_sidecar_name(name: &str) -> bool {
    name.strip_suffix(".sha256").is_some_and(is_image_name)
}

/// Starts watching the image root: inotify where it can, else a poll of
/// the directory every [`POLL_EVERY`] (whose events never say a file is
/// complete, so every file waits for its settle). Call it before the first
/// pass, so no change falls between the two. `None` when neither works
/// (changes then show at the next start).
pub fn watch(root: &Path, reconciler: &Reconciler) -> Option<RootWatcher> {
    let handler = || {
        let reconciler = reconciler.clone();
        move |event: notify::Result<Event>| reconciler.observe(event)
    };
    let inotify = notify::recommended_watcher(handler()).and_then(|mut watcher| {
        watcher.watch(root, RecursiveMode::NonRecursive)?;
        Ok(watcher)
    });
    let error = match inotify {
        Ok(watcher) => return Some(Box::new(watcher)),
        Err(error) => error,
    };
    tracing::warn!(
        %error,
        root = %root.display(),
        "cannot watch the image root; polling it every {} s instead",
        POLL_EVERY.as_secs()
    );
    let config = notify::Config::default().with_poll_interval(POLL_EVERY);
    let polling = notify::PollWatcher::new(handler(), config).and_then(|mut watcher| {
        watcher.watch(root, RecursiveMode::NonRecursive)?;
        Ok(watcher)
    });
    match polling {
        Ok(watcher) => Some(Box::new(watcher)),
        Err(error) => {
            tracing::error!(%error, root = %root.display(), "cannot watch the image root");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use notify::event::{CreateKind, DataChange, Flag, MetadataKind, RemoveKind};

    use super::*;

    fn at(name: &str) -> PathBuf {
        Path::new("/images").join(name)
    }

    fn event(kind: EventKind, names: &[&str]) -> Event {
        names
            .iter()
            .fold(Event::new(kind), |event, name| event.add_path(at(name)))
    }

    const CLOSE_WRITE: EventKind = EventKind::Access(AccessKind::Close(AccessMode::Write));
    const WRITE: EventKind = EventKind::Modify(ModifyKind::Data(DataChange::Any));

    #[test]
    fn a_close_after_writing_completes_a_file_and_a_new_write_undoes_it() {
        let files = Completions::default();
        let create = EventKind::Create(CreateKind::File);
        assert_eq!(files.observe(&event(create, &["disk.img"])), Wake::Soon);
        assert_eq!(files.observe(&event(WRITE, &["disk.img"])), Wake::Soon);
        assert!(!files.is_complete("disk.img"));
        assert_eq!(files.observe(&event(CLOSE_WRITE, &["disk.img"])), Wake::Now);
        assert!(files.is_complete("disk.img"));
        assert_eq!(files.observe(&event(WRITE, &["disk.img"])), Wake::Soon);
        assert!(!files.is_complete("disk.img"), "written again, not closed");
    }

    #[test]
    fn a_rename_into_the_root_completes_the_new_name_only() {
        let files = Completions::default();
        let to = EventKind::Modify(ModifyKind::Name(RenameMode::To));
        assert_eq!(files.observe(&event(to, &["dropped.qcow2"])), Wake::Now);
        assert!(files.is_complete("dropped.qcow2"));

        let both = EventKind::Modify(ModifyKind::Name(RenameMode::Both));
        let renamed = event(both, &["dropped.qcow2", "renamed.qcow2"]);
        assert_eq!(files.observe(&renamed), Wake::Now);
        assert!(files.is_complete("renamed.qcow2"));
        assert!(!files.is_complete("dropped.qcow2"));
    }

    #[test]
    fn reads_metadata_and_other_files_leave_completeness_alone() {
        let files = Completions::default();
        files.observe(&event(CLOSE_WRITE, &["disk.img"]));
        let open = EventKind::Access(AccessKind::Open(AccessMode::Any));
        let close_read = EventKind::Access(AccessKind::Close(AccessMode::Read));
        assert_eq!(files.observe(&event(open, &["disk.img"])), Wake::Never);
        assert_eq!(
            files.observe(&event(close_read, &["disk.img"])),
            Wake::Never
        );
        let chmod = EventKind::Modify(ModifyKind::Metadata(MetadataKind::Any));
        assert_eq!(files.observe(&event(chmod, &["disk.img"])), Wake::Soon);
        assert!(files.is_complete("disk.img"));

        // Temporary files, unlisted files: nothing to look at. A sidecar:
        // a look, but it completes nothing.
        let temp = ".disk.img.0123456789abcdef.bty-partial";
        assert_eq!(files.observe(&event(WRITE, &[temp])), Wake::Never);
        assert_eq!(
            files.observe(&event(CLOSE_WRITE, &["notes.txt"])),
            Wake::Never
        );
        assert_eq!(
            files.observe(&event(CLOSE_WRITE, &["disk.img.sha256"])),
            Wake::Soon
        );
        assert!(!files.is_complete("disk.img.sha256"));
        assert!(files.is_complete("disk.img"));
    }

    #[test]
    fn removal_and_lost_events_forget_completeness() {
        let files = Completions::default();
        files.observe(&event(CLOSE_WRITE, &["a.img"]));
        files.observe(&event(CLOSE_WRITE, &["b.img"]));
        let remove = EventKind::Remove(RemoveKind::File);
        assert_eq!(files.observe(&event(remove, &["a.img"])), Wake::Soon);
        assert!(!files.is_complete("a.img"));
        assert!(files.is_complete("b.img"));

        let overflow = Event::new(EventKind::Other).set_flag(Flag::Rescan);
        assert_eq!(files.observe(&overflow), Wake::Soon);
        assert!(!files.is_complete("b.img"));
    }

    #[test]
    fn what_the_poll_fallback_reports_never_completes_a_file() {
        // `PollWatcher` compares listings: creations and changes only.
        let files = Completions::default();
        let created = EventKind::Create(CreateKind::Any);
        assert_eq!(files.observe(&event(created, &["disk.img"])), Wake::Soon);
        assert_eq!(files.observe(&event(WRITE, &["disk.img"])), Wake::Soon);
        assert!(!files.is_complete("disk.img"));
    }
}

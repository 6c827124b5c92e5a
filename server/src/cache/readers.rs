//! Who reads from the cache right now: every byte-route body that sends a
//! cached image, and every stream-through that tails a download, holds a
//! [`ReadGuard`] until its body is dropped (sent, or the client went away).
//! Eviction to make room skips what is being read; an operator's explicit
//! evict does not ask (an open file stays readable after its unlink).

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

/// What a reader holds.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub enum ReadKey {
    /// The cached image with this SHA-256 (`cache/<sha256>`).
    Content(String),
    /// The entry with this source, streamed through while it downloads (its
    /// sha may not be known before the last byte).
    Source(String),
}

/// The open readers, counted by key; cheap to clone.
#[derive(Clone, Default)]
pub struct Readers(Arc<Mutex<HashMap<ReadKey, usize>>>);

/// One open reader; counted until dropped.
pub struct ReadGuard {
    readers: Readers,
    key: ReadKey,
}

impl Readers {
    /// Counts a reader of `key` until the guard is dropped.
    pub fn open(&self, key: ReadKey) -> ReadGuard {
        if let Ok(mut open) = self.0.lock() {
            *open.entry(key.clone()).or_default() += 1;
        }
        ReadGuard {
            readers: self.clone(),
            key,
        }
    }

    /// True while someone reads `key`.
    pub fn is_read(&self, key: &ReadKey) -> bool {
        self.0.lock().is_ok_and(|open| open.contains_key(key))
    }

    /// Runs `remove` unless one of `keys` is being read, holding the count
    /// meanwhile so no reader opens in between; `None` when one was read.
    pub fn unless_read<T>(&self, keys: &[ReadKey], remove: impl FnOnce() -> T) -> Option<T> {
        let open = self.0.lock().ok()?;
        if keys.iter().any(|key| open.contains_key(key)) {
            return None;
        }
        let done = remove();
        drop(open);
        Some(done)
    }
}

impl Drop for ReadGuard {
    fn drop(&mut self) {
        if let Ok(mut open) = self.readers.0.lock() {
            if let Some(count) = open.get_mut(&self.key) {
                *count -= 1;
                if *count == 0 {
                    open.remove(&self.key);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_read_until_its_last_guard_is_dropped() {
        let readers = Readers::default();
        let key = ReadKey::Content("a".repeat(64));
        let first = readers.open(key.clone());
        let second = readers.open(key.clone());
        drop(first);
        assert!(readers.is_read(&key));
        assert_eq!(
            readers.unless_read(std::slice::from_ref(&key), || "removed"),
            None
        );
        drop(second);
        assert!(!readers.is_read(&key));
        let other = ReadKey::Source("https://h/x.img".into());
        let _reading_other = readers.open(other.clone());
        assert_eq!(readers.unless_read(&[key], || "removed"), Some("removed"));
        assert_eq!(readers.unless_read(&[other], || "removed"), None);
    }
}

//! Streaming SHA-256 of a file at disk speed: one thread reads while another
//! hashes (`crate::read_ahead`), so reading never stalls the digest. Blocking code: call it from
//! `spawn_blocking`. Memory stays flat whatever the file size.

use std::{
    fs::File,
    io::{self, Read},
    ops::ControlFlow,
    path::Path,
    sync::atomic::{AtomicBool, AtomicU64, Ordering},
};

use sha2::{Digest, Sha256};

use crate::read_ahead::{read_ahead, Buffers};

/// Bytes read per chunk.
const CHUNK: usize = 4 * 1024 * 1024;
/// Chunks read ahead of the hasher.
const BUFFERS: Buffers = Buffers {
    size: CHUNK,
    in_flight: 3,
};

/// The digest of a completed hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Digested {
    pub sha256: String,
    pub bytes: u64,
}

/// Hashes `path`, adding to `progress` as bytes are hashed. Returns
/// `Ok(None)` when `cancel` was raised before the end.
pub fn hash_file(
    path: &Path,
    progress: &AtomicU64,
    cancel: &AtomicBool,
) -> io::Result<Option<Digested>> {
    let file = File::open(path)?;
    hash_reader(file, progress, cancel)
}

/// Hashes everything `reader` yields; see [`hash_file`].
pub fn hash_reader(
    reader: impl Read + Send,
    progress: &AtomicU64,
    cancel: &AtomicBool,
) -> io::Result<Option<Digested>> {
    let mut hasher = Sha256::new();
    let mut bytes = 0u64;
    read_ahead(
        || Ok(reader),
        BUFFERS,
        cancel,
        |data| {
            hasher.update(data);
            bytes += data.len() as u64;
            progress.store(bytes, Ordering::Relaxed);
            ControlFlow::Continue(())
        },
    )?;
    if cancel.load(Ordering::Relaxed) {
        return Ok(None);
    }
    Ok(Some(Digested {
        sha256: format!("{:x}", hasher.finalize()),
        bytes,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digest_of(bytes: &[u8]) -> Option<Digested> {
        let progress = AtomicU64::new(0);
        let cancel = AtomicBool::new(false);
        let result = hash_reader(bytes, &progress, &cancel).unwrap();
        assert_eq!(progress.load(Ordering::Relaxed), bytes.len() as u64);
        result
    }

    #[test]
    fn empty_input_has_the_well_known_digest() {
        assert_eq!(
            digest_of(b"").unwrap().sha256,
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn multi_chunk_input_matches_a_one_shot_digest() {
        let data: Vec<u8> = (0..(CHUNK * 2 + 12345))
            .map(|i| (i * 7 % 251) as u8)
            .collect();
        let expected = format!("{:x}", Sha256::digest(&data));
        let got = digest_of(&data).unwrap();
        assert_eq!(got.sha256, expected);
        assert_eq!(got.bytes, data.len() as u64);
    }

    #[test]
    fn a_raised_cancel_flag_gives_no_digest() {
        let data = vec![0u8; CHUNK * 3];
        let progress = AtomicU64::new(0);
        let cancel = AtomicBool::new(true);
        assert_eq!(hash_reader(&data[..], &progress, &cancel).unwrap(), None);
    }
}

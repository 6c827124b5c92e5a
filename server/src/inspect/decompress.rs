//! The decompressing pass: one thread reads the file and decompresses it,
//! the calling thread hashes what comes out, like `zstd -dc FILE | openssl
//! dgst -sha256`. A few fixed buffers circulate between the two, so memory
//! stays flat whatever the image's size; decompression stops as soon as
//! the output passes the cap on the uncompressed size, or on cancel.
//! Blocking code: call it from `spawn_blocking`.

use std::{
    fs::File,
    io::{self, BufReader, Read},
    ops::ControlFlow,
    sync::{
        atomic::{AtomicBool, Ordering},
        Mutex,
    },
};

use sha2::{Digest, Sha256};

use super::{decoders, magic::Format};
use crate::read_ahead::{read_ahead, Buffers};

/// Buffers of decompressed output, filled ahead of the hasher.
const BUFFERS: Buffers = Buffers {
    size: 1 << 20,
    in_flight: 4,
};
/// Bytes of compressed input read from the file at a time.
const READ_BUFFER: usize = 256 << 10;

/// How much of the output's start is kept, for a look at what the
/// decompressed bytes are (a partition table, a nested qcow2 header).
pub const HEAD_KEPT: usize = super::qcow2::MAX_HEADER_LEN;

/// What the pass found.
#[derive(Debug, PartialEq, Eq)]
pub enum Pass {
    /// The whole stream decompressed.
    Done(Decompressed),
    /// The data does not decompress (or passes the cap): the message says
    /// why, in the decompressor's words.
    Corrupt(String),
    Cancelled,
}

/// The decompressed stream.
#[derive(Debug, PartialEq, Eq)]
pub struct Decompressed {
    /// Its length in bytes.
    pub size: u64,
    /// Its SHA-256, lower-case hex.
    pub sha256: String,
    /// Its first [`HEAD_KEPT`] bytes (all of it when shorter).
    pub head: Vec<u8>,
}

/// Decompresses `file` as `format` (`Raw` and `Qcow2`: its bytes as they
/// are) and hashes the result. `progress` is told the compressed bytes read
/// so far, from the decompressing thread. `Err` only when the file cannot
/// be read; bad data is `Pass::Corrupt`.
pub fn decompress_and_hash(
    file: File,
    format: Format,
    max_uncompressed_size: u64,
    progress: &(dyn Fn(u64) + Sync),
    cancel: &AtomicBool,
) -> io::Result<Pass> {
    let read_failure = Mutex::new(None);
    let input = BufReader::with_capacity(
        READ_BUFFER,
        Counting {
            file,
            read: 0,
            progress,
            failure: &read_failure,
        },
    );
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    let mut head = Vec::new();
    let mut over_cap = false;
    let decompressed = read_ahead(
        move || decoders::decoder(format, input),
        BUFFERS,
        cancel,
        |data| {
            size += data.len() as u64;
            if size > max_uncompressed_size {
                over_cap = true;
                return ControlFlow::Break(());
            }
            if head.len() < HEAD_KEPT {
                let take = (HEAD_KEPT - head.len()).min(data.len());
                head.extend_from_slice(&data[..take]);
            }
            hasher.update(data);
            ControlFlow::Continue(())
        },
    );
    if let Some(error) = read_failure.lock().ok().and_then(|mut slot| slot.take()) {
        return Err(error);
    }
    if cancel.load(Ordering::Relaxed) {
        return Ok(Pass::Cancelled);
    }
    if over_cap {
        return Ok(Pass::Corrupt(format!(
            "{} data decompresses to more than {}, the limit on an image's uncompressed size",
            format.label(),
            app::components::format::format_bytes(max_uncompressed_size)
        )));
    }
    if let Err(error) = decompressed {
        return Ok(Pass::Corrupt(decoders::describe(format, &error)));
    }
    Ok(Pass::Done(Decompressed {
        size,
        sha256: format!("{:x}", hasher.finalize()),
        head,
    }))
}

/// The file, counting what is read and keeping the error of a failed read
/// (so a disk error is told apart from corrupt data, whatever the decoder
/// makes of it).
struct Counting<'a> {
    file: File,
    read: u64,
    progress: &'a (dyn Fn(u64) + Sync),
    failure: &'a Mutex<Option<io::Error>>,
}

impl Read for Counting<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.file.read(buf) {
            Ok(n) => {
                self.read += n as u64;
                (self.progress)(self.read);
                Ok(n)
            }
            Err(error) if error.kind() == io::ErrorKind::Interrupted => Err(error),
            Err(error) => {
                let kind = error.kind();
                if let Ok(mut slot) = self.failure.lock() {
                    slot.get_or_insert(error);
                }
                Err(io::Error::new(kind, "reading the image file failed"))
            }
        }
    }
}

//! The decompressing pass: one thread reads the file and decompresses it,
//! the calling thread hashes what comes out, like `zstd -dc FILE | openssl
//! dgst -sha256`. A few fixed buffers circulate between the two, so memory
//! stays flat whatever the image's size; decompression stops as soon as
//! the output passes the cap on the uncompressed size, or on cancel.
//! Blocking code: call it from `spawn_blocking`.

use std::{
    fs::File,
    io::{self, BufReader, Read},
    sync::{
        atomic::{AtomicBool, Ordering},
        mpsc, Mutex,
    },
};

use sha2::{Digest, Sha256};

use super::{decoders, magic::Format};

/// Bytes of decompressed output per buffer.
const CHUNK: usize = 1 << 20;
/// Buffers in flight between the decompressor and the hasher.
const IN_FLIGHT: usize = 4;
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
    let (full_tx, full_rx) = mpsc::sync_channel::<(Vec<u8>, usize)>(IN_FLIGHT);
    let (empty_tx, empty_rx) = mpsc::sync_channel::<Vec<u8>>(IN_FLIGHT + 1);
    for _ in 0..IN_FLIGHT + 1 {
        // Cannot fail: the receiver is alive and the channel has room.
        let _ = empty_tx.send(vec![0u8; CHUNK]);
    }

    std::thread::scope(|scope| {
        let decompressor = scope.spawn(move || -> io::Result<()> {
            let mut decoder = decoders::decoder(format, input)?;
            while let Ok(mut buffer) = empty_rx.recv() {
                if cancel.load(Ordering::Relaxed) {
                    return Ok(());
                }
                let filled = fill(&mut decoder, &mut buffer)?;
                if filled == 0 || full_tx.send((buffer, filled)).is_err() {
                    return Ok(());
                }
            }
            Ok(())
        });

        let mut hasher = Sha256::new();
        let mut size = 0u64;
        let mut head = Vec::new();
        let mut over_cap = false;
        while let Ok((buffer, filled)) = full_rx.recv() {
            let data = &buffer[..filled];
            size += filled as u64;
            if size > max_uncompressed_size {
                over_cap = true;
                break;
            }
            if head.len() < HEAD_KEPT {
                let take = (HEAD_KEPT - head.len()).min(data.len());
                head.extend_from_slice(&data[..take]);
            }
            hasher.update(data);
            // The decompressor may have stopped already; then the loop ends.
            let _ = empty_tx.send(buffer);
        }
        // Unblocks a decompressor waiting for a buffer or for room.
        drop(full_rx);
        drop(empty_tx);
        let decompressed = decompressor
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("the decompressing thread panicked")));

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
    })
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

/// Reads until `buffer` is full or the input ends; returns the bytes read.
fn fill(reader: &mut impl Read, buffer: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buffer.len() {
        match reader.read(&mut buffer[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    Ok(filled)
}

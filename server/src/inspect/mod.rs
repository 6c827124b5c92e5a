//! Image inspection: what an image file really is, told by its bytes. Its
//! format by magic number; for a compressed image, the size and SHA-256 of
//! the decompressed stream (what a flasher writes); for a qcow2 image, the
//! virtual size and whether opening it would read host files (a backing
//! file, an external data file) or need a key (encryption), which makes it
//! unsafe; data that does not decompress makes it corrupt.
//!
//! Pure domain code: no database, no HTTP, no async. [`inspect`] blocks for
//! as long as decompression takes (call it from `spawn_blocking`), keeps
//! memory flat, reports progress and stops on cancel.

mod decoders;
pub mod decompress;
pub mod magic;
pub mod qcow2;
#[cfg(test)]
mod tests;

use std::{
    fs::File,
    io::{self, Read, Seek, SeekFrom},
    path::Path,
    sync::atomic::AtomicBool,
};

pub use decoders::XZ_MEMORY_LIMIT;
use decompress::{decompress_and_hash, Pass};
pub use magic::{Format, PartitionTable};

/// The default cap on an image's uncompressed size: 4 TiB. A cap on the
/// compression ratio would refuse honest disk images, which are mostly
/// zeros and compress a thousandfold.
pub const DEFAULT_MAX_UNCOMPRESSED_SIZE: u64 = 4 << 40;

/// What an image is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Inspection {
    /// What the file's bytes are.
    pub format: Format,
    /// For a compressed image that decompressed, what its decompressed
    /// bytes are: `Raw` for a disk image, `Qcow2` or a compressed format
    /// when a flasher writing them would write a container, not a disk.
    pub contents: Option<Format>,
    /// The partition table the raw disk (the file, or its decompressed
    /// bytes) starts with.
    pub partition_table: Option<PartitionTable>,
    /// The bytes a flasher writes: the file's size for raw, the decompressed
    /// size for compressed data, the virtual size for qcow2. `None` when
    /// the data did not decompress.
    pub uncompressed_size: Option<u64>,
    /// The SHA-256 of those bytes: the file's own for raw, the decompressed
    /// stream's for compressed data, `None` for qcow2 (its clusters are not
    /// the disk) and when the data did not decompress.
    pub uncompressed_sha256: Option<String>,
    pub state: State,
}

/// Whether an image may be offered to flash clients.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum State {
    Ok,
    /// A qcow2 image (or one inside compressed data) that would read host
    /// files or needs a key; `reason` says which, one finding per sentence.
    Unsafe {
        reason: String,
    },
    /// Data that does not decompress, is cut short, passes the cap on the
    /// uncompressed size, or a malformed qcow2 header; `error` says which,
    /// in the decompressor's words where there is one.
    Corrupt {
        error: String,
    },
}

impl State {
    /// `ok`, `unsafe` or `corrupt`, as the wire and the events name it.
    pub fn label(&self) -> &'static str {
        match self {
            State::Ok => "ok",
            State::Unsafe { .. } => "unsafe",
            State::Corrupt { .. } => "corrupt",
        }
    }
}

/// Inspects the image file at `path`.
///
/// - `file_sha256`: the file's own SHA-256 when the caller has it (it runs
///   after the hash job). A raw image's uncompressed digest is that one,
///   so a raw file is not read again; with `None` it is hashed here.
/// - `max_uncompressed_size`: decompressed data past this many bytes makes
///   the image corrupt and stops the pass (see
///   [`DEFAULT_MAX_UNCOMPRESSED_SIZE`]).
/// - `progress`: told the absolute count of file bytes read, from another
///   thread, as reading goes (about every 256 KiB); throttle in the caller.
/// - `cancel`: raised, the pass stops within a buffer and the result is
///   `Ok(None)`.
///
/// `Err` only when the file cannot be opened or read; what its bytes are,
/// corrupt or not, is always an `Inspection`.
pub fn inspect(
    path: &Path,
    file_sha256: Option<&str>,
    max_uncompressed_size: u64,
    progress: &(dyn Fn(u64) + Sync),
    cancel: &AtomicBool,
) -> io::Result<Option<Inspection>> {
    let mut file = File::open(path)?;
    let mut head = read_head(&mut file, magic::HEAD_LEN)?;
    let format = magic::detect_format(&head);
    match format {
        Format::Qcow2 => {
            let more = qcow2::MAX_HEADER_LEN - head.len();
            (&mut file).take(more as u64).read_to_end(&mut head)?;
            progress(head.len() as u64);
            Ok(Some(inspect_qcow2(&head)))
        }
        Format::Raw => {
            let size = file.metadata()?.len();
            let sha256 = match file_sha256 {
                Some(sha256) => sha256.to_owned(),
                None => {
                    file.seek(SeekFrom::Start(0))?;
                    match decompress_and_hash(file, Format::Raw, u64::MAX, progress, cancel)? {
                        Pass::Done(whole) => whole.sha256,
                        Pass::Cancelled => return Ok(None),
                        // Raw bytes are read as they are: nothing to refuse.
                        Pass::Corrupt(error) => return Err(io::Error::other(error)),
                    }
                }
            };
            Ok(Some(Inspection {
                format,
                contents: None,
                partition_table: magic::detect_partition_table(&head),
                uncompressed_size: Some(size),
                uncompressed_sha256: Some(sha256),
                state: State::Ok,
            }))
        }
        Format::Gzip | Format::Xz | Format::Zstd | Format::Bzip2 => {
            file.seek(SeekFrom::Start(0))?;
            let pass = decompress_and_hash(file, format, max_uncompressed_size, progress, cancel)?;
            Ok(match pass {
                Pass::Done(decompressed) => Some(compressed(format, decompressed)),
                Pass::Corrupt(error) => Some(Inspection {
                    format,
                    contents: None,
                    partition_table: None,
                    uncompressed_size: None,
                    uncompressed_sha256: None,
                    state: State::Corrupt { error },
                }),
                Pass::Cancelled => None,
            })
        }
    }
}

/// The warning for an image whose name says another format than its bytes,
/// `named .img, contains gzip`; `None` when they agree or the name names no
/// format (`catalog::format::detect_format`).
pub fn format_mismatch(name: &str, found: Format) -> Option<String> {
    let named = crate::catalog::format::detect_format(name)?;
    if named == found.catalog_name() {
        return None;
    }
    let contents = match found {
        Format::Raw => "raw data",
        other => other.label(),
    };
    Some(format!("named .{named}, contains {contents}"))
}

fn inspect_qcow2(head: &[u8]) -> Inspection {
    let (uncompressed_size, state) = match qcow2::parse(head) {
        Err(malformed) => (
            None,
            State::Corrupt {
                error: format!("malformed qcow2 header: {malformed}"),
            },
        ),
        Ok(header) => (Some(header.virtual_size), qcow2_state(&header, "")),
    };
    Inspection {
        format: Format::Qcow2,
        contents: None,
        partition_table: None,
        uncompressed_size,
        uncompressed_sha256: None,
        state,
    }
}

/// Unsafe or corrupt by its header, else ok; `inside` ends each message
/// (the container a nested qcow2 came in).
fn qcow2_state(header: &qcow2::Header, inside: &str) -> State {
    if header.is_marked_corrupt() {
        State::Corrupt {
            error: format!("the qcow2 header marks the image corrupt{inside}"),
        }
    } else if let Some(reason) = header.unsafe_reason() {
        State::Unsafe {
            reason: format!("{reason}{inside}"),
        }
    } else {
        State::Ok
    }
}

/// A compressed image that decompressed: what its contents are decides
/// its partition table and whether a qcow2 inside makes it unsafe.
fn compressed(format: Format, decompressed: decompress::Decompressed) -> Inspection {
    let contents = magic::detect_format(&decompressed.head);
    let inside = format!(" (inside the {} data)", format.label());
    let state = match contents {
        Format::Qcow2 => match qcow2::parse(&decompressed.head) {
            Ok(header) => qcow2_state(&header, &inside),
            Err(malformed) => State::Corrupt {
                error: format!("malformed qcow2 header{inside}: {malformed}"),
            },
        },
        _ => State::Ok,
    };
    Inspection {
        format,
        contents: Some(contents),
        partition_table: match contents {
            Format::Raw => magic::detect_partition_table(&decompressed.head),
            _ => None,
        },
        uncompressed_size: Some(decompressed.size),
        uncompressed_sha256: Some(decompressed.sha256),
        state,
    }
}

/// Up to `len` bytes from the file's start (fewer only at its end).
fn read_head(file: &mut File, len: usize) -> io::Result<Vec<u8>> {
    let mut head = Vec::with_capacity(len);
    file.take(len as u64).read_to_end(&mut head)?;
    Ok(head)
}

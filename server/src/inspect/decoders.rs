//! One streaming decoder per compressed format, reading every member,
//! stream or frame of a file one after another as `gzip -dc`, `xz -dc`,
//! `zstd -dc` and `bzip2 -dc` do.
//!
//! What may follow the last complete member is what the format's own tool
//! accepts with exit status 0, and nothing else (anything else makes the
//! image corrupt, so a flasher's pipeline with `set -o pipefail` and ours
//! agree):
//! - gzip: zero bytes (padding, which gzip and Python's `gzip` skip);
//!   other bytes are garbage (gzip warns "trailing garbage ignored" and
//!   exits 2);
//! - bzip2: anything that does not begin another stream's `BZh` magic
//!   (bzip2 ignores it with a warning, exit 0);
//! - xz: stream padding, zeros in multiples of four (the xz format's own
//!   rule, applied by liblzma);
//! - zstd: nothing (zstd exits 1).
//!
//! Memory stays bounded whatever the input claims: xz streams that need
//! more than [`XZ_MEMORY_LIMIT`] to decode are refused, and zstd frames
//! with a window above 128 MiB too (libzstd's default, which `zstd -d`
//! also keeps unless given `--long=31` or `--memory`).

use std::io::{self, BufRead, Read};

use super::magic::Format;

/// The most memory an xz stream may need to decode: four times what
/// `xz -9` needs (a 64 MiB dictionary), which covers every preset.
pub const XZ_MEMORY_LIMIT: u64 = 256 << 20;

/// A decoder for `format` reading `input`; raw input is read as it is.
/// Qcow2 is not decompressed (its bytes are not the disk) and reads as is.
pub fn decoder<'a, R: BufRead + Send + 'a>(
    format: Format,
    input: R,
) -> io::Result<Box<dyn Read + Send + 'a>> {
    Ok(match format {
        Format::Gzip => Box::new(Members::gzip(input)),
        Format::Bzip2 => Box::new(Members::bzip2(input)),
        Format::Xz => {
            let stream = liblzma::stream::Stream::new_stream_decoder(
                XZ_MEMORY_LIMIT,
                liblzma::stream::CONCATENATED,
            )
            .map_err(io::Error::other)?;
            Box::new(liblzma::bufread::XzDecoder::new_stream(input, stream))
        }
        Format::Zstd => Box::new(zstd::stream::read::Decoder::with_buffer(input)?),
        Format::Qcow2 | Format::Raw => Box::new(input),
    })
}

/// The message of a decoder's error, as an operator should read it.
pub fn describe(format: Format, error: &io::Error) -> String {
    let memory_limit = error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<liblzma::stream::Error>())
        .is_some_and(|inner| matches!(inner, liblzma::stream::Error::MemLimit));
    if format == Format::Xz && memory_limit {
        return format!(
            "xz data needs more than {} of memory to decompress",
            app::components::format::format_bytes(XZ_MEMORY_LIMIT)
        );
    }
    format!("{} data does not decompress: {error}", format.label())
}

/// Members of a concatenated stream (gzip members, bzip2 streams), decoded
/// one after another; see the module doc for what may follow the last.
struct Members<R, D> {
    /// `None` once the data has ended.
    decoder: Option<D>,
    /// Whether the current member is the first one.
    first: bool,
    open: fn(R) -> D,
    close: fn(D) -> R,
    /// After a member: whether another one follows, or an error for
    /// trailing bytes that make the data corrupt.
    more: fn(&mut R) -> io::Result<bool>,
    /// Whether an error at a later member's start means "no member here:
    /// the data ended before these bytes".
    not_a_member: fn(&io::Error) -> bool,
}

impl<R: BufRead> Members<R, flate2::bufread::GzDecoder<R>> {
    fn gzip(input: R) -> Self {
        Members {
            decoder: Some(flate2::bufread::GzDecoder::new(input)),
            first: true,
            open: flate2::bufread::GzDecoder::new,
            close: flate2::bufread::GzDecoder::into_inner,
            more: gzip_member_follows,
            not_a_member: |_| false,
        }
    }
}

impl<R: BufRead> Members<R, bzip2::bufread::BzDecoder<R>> {
    fn bzip2(input: R) -> Self {
        Members {
            decoder: Some(bzip2::bufread::BzDecoder::new(input)),
            first: true,
            open: bzip2::bufread::BzDecoder::new,
            close: bzip2::bufread::BzDecoder::into_inner,
            more: |input| Ok(!input.fill_buf()?.is_empty()),
            not_a_member: |error| {
                error
                    .get_ref()
                    .and_then(|inner| inner.downcast_ref::<bzip2::Error>())
                    .is_some_and(|inner| matches!(inner, bzip2::Error::DataMagic))
            },
        }
    }
}

impl<R, D: Read> Read for Members<R, D> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while let Some(decoder) = &mut self.decoder {
            match decoder.read(buf) {
                Ok(0) if !buf.is_empty() => {}
                Ok(n) => return Ok(n),
                Err(error) if !self.first && (self.not_a_member)(&error) => {
                    self.decoder = None;
                    return Ok(0);
                }
                Err(error) => return Err(error),
            }
            // The member ended: look at what follows it.
            let Some(decoder) = self.decoder.take() else {
                break;
            };
            let mut input = (self.close)(decoder);
            if (self.more)(&mut input)? {
                self.decoder = Some((self.open)(input));
                self.first = false;
            }
        }
        Ok(0)
    }
}

/// After a gzip member: another member (its first magic byte; the
/// decoder checks the rest of its header), the end (nothing, or only
/// zeros), or garbage.
fn gzip_member_follows(input: &mut impl BufRead) -> io::Result<bool> {
    const ID1: u8 = 0x1f;
    let garbage = || {
        io::Error::new(
            io::ErrorKind::InvalidData,
            "trailing garbage after the gzip data",
        )
    };
    let mut zeros = false;
    loop {
        let buffer = input.fill_buf()?;
        match buffer.first() {
            None => return Ok(false),
            Some(&ID1) if !zeros => return Ok(true),
            Some(0) => {}
            Some(_) => return Err(garbage()),
        }
        let run = buffer.iter().take_while(|&&b| b == 0).count();
        if run < buffer.len() {
            return Err(garbage());
        }
        input.consume(run);
        zeros = true;
    }
}

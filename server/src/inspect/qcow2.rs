//! The qcow2 header (versions 2 and 3, QEMU's `docs/interop/qcow2.txt`):
//! the virtual size, and whatever would make `qemu-img` read a file of the
//! host that opens it (a backing file, an external data file) or need a
//! key (encryption). Parsing is total: any bytes give a header or a
//! [`MalformedHeader`] saying what is wrong, never a panic, and it reads
//! only the slice it is given (the image's first cluster, at most
//! [`MAX_HEADER_LEN`] bytes). The checks follow QEMU's own
//! (`qcow2_do_open`, `qcow2_read_extensions`), so what QEMU refuses to open
//! is malformed here too.

use std::fmt;

/// The most of an image's start the header, its extensions and the backing
/// file name can span: they live in the first cluster, and clusters are at
/// most 2 MiB (QEMU's `MAX_CLUSTER_BITS`).
pub const MAX_HEADER_LEN: usize = 1 << MAX_CLUSTER_BITS;

const MAGIC: &[u8] = b"QFI\xfb";
const MIN_CLUSTER_BITS: u32 = 9;
const MAX_CLUSTER_BITS: u32 = 21;
const V2_HEADER_LEN: usize = 72;
const V3_MIN_HEADER_LEN: usize = 104;
/// QEMU refuses longer backing file names.
const MAX_BACKING_NAME: usize = 1023;

const EXT_END: u32 = 0x0000_0000;
const EXT_BACKING_FORMAT: u32 = 0xe279_2aca;
const EXT_DATA_FILE: u32 = 0x4441_5441;

/// Incompatible feature bits (version 3).
const FEATURE_CORRUPT: u64 = 1 << 1;
const FEATURE_DATA_FILE: u64 = 1 << 2;
/// Dirty, corrupt, external data file, compression type, extended L2: the
/// bits the specification defines; any other set bit is a feature we do not
/// know, and QEMU refuses to open such an image.
const KNOWN_FEATURES: u64 = 0b1_1111;

/// How the image's clusters are encrypted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encryption {
    None,
    /// `crypt_method` 1: the legacy AES-CBC scheme.
    Aes,
    /// `crypt_method` 2: LUKS.
    Luks,
}

/// What a qcow2 header says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    /// 2 or 3.
    pub version: u32,
    /// The size of the disk the image holds, in bytes: what `qemu-img
    /// convert -O raw` writes.
    pub virtual_size: u64,
    pub cluster_bits: u32,
    /// The backing file's name as stored (lossy UTF-8), when there is one.
    pub backing_file: Option<String>,
    /// The backing file's format, from its header extension.
    pub backing_format: Option<String>,
    pub encryption: Encryption,
    /// Version 3's incompatible feature bits (0 for version 2).
    pub incompatible_features: u64,
    /// The external data file's name, from its header extension.
    pub data_file: Option<String>,
}

/// Why bytes are not a qcow2 header QEMU would open.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MalformedHeader {
    #[error("not a qcow2 image (no QFI\\xfb magic)")]
    NotQcow2,
    #[error("the image ends at byte {have}; its header needs {need}")]
    Truncated { need: u64, have: usize },
    #[error("unsupported qcow2 version {0} (2 and 3 are known)")]
    UnsupportedVersion(u32),
    #[error("cluster_bits {0} is outside 9..=21")]
    ClusterBits(u32),
    #[error("header_length {length} is not a multiple of 8 between 104 and the cluster size {cluster_size}")]
    HeaderLength { length: u32, cluster_size: u64 },
    #[error("the backing file name ({size} bytes at offset {offset}) does not fit in the first cluster or is longer than 1023 bytes")]
    BackingFileName { offset: u64, size: u32 },
    #[error("unknown encryption method {0}")]
    EncryptionMethod(u32),
    #[error("header extension 0x{kind:08x} at offset {offset} runs past the header area")]
    ExtensionTooLarge { kind: u32, offset: usize },
}

impl Header {
    /// Whether guest data lives in a separate file of the host (the
    /// incompatible feature bit, or the extension naming that file).
    pub fn uses_external_data_file(&self) -> bool {
        self.incompatible_features & FEATURE_DATA_FILE != 0 || self.data_file.is_some()
    }

    /// Whether QEMU marked the image corrupt (its metadata is inconsistent).
    pub fn is_marked_corrupt(&self) -> bool {
        self.incompatible_features & FEATURE_CORRUPT != 0
    }

    /// Incompatible features the specification does not define.
    pub fn unknown_features(&self) -> u64 {
        self.incompatible_features & !KNOWN_FEATURES
    }

    /// What makes the image unsafe to hand to `qemu-img` or a flasher, one
    /// sentence per finding, joined by `; `; `None` when nothing does.
    pub fn unsafe_reason(&self) -> Option<String> {
        let mut reasons = Vec::new();
        if let Some(name) = &self.backing_file {
            let format = match &self.backing_format {
                Some(format) => format!(", format {format:?}"),
                None => String::new(),
            };
            reasons.push(format!(
                "qcow2 image has a backing file ({name:?}{format}): opening it reads that file on the host"
            ));
        }
        if self.uses_external_data_file() {
            reasons.push(match &self.data_file {
                Some(name) => format!(
                    "qcow2 image keeps its data in an external file ({name:?}): opening it reads that file on the host"
                ),
                None => "qcow2 image keeps its data in an external file (incompatible feature bit 2)"
                    .to_owned(),
            });
        }
        match self.encryption {
            Encryption::None => {}
            Encryption::Aes => reasons.push("qcow2 image is encrypted (AES)".to_owned()),
            Encryption::Luks => reasons.push("qcow2 image is encrypted (LUKS)".to_owned()),
        }
        let unknown = self.unknown_features();
        if unknown != 0 {
            reasons.push(format!(
                "qcow2 image needs incompatible features this server does not know (bits 0x{unknown:x})"
            ));
        }
        (!reasons.is_empty()).then(|| reasons.join("; "))
    }
}

/// Parses the header at the start of `bytes` (an image's first
/// [`MAX_HEADER_LEN`] bytes, or all of a shorter image).
pub fn parse(bytes: &[u8]) -> Result<Header, MalformedHeader> {
    let at = Reader { bytes };
    if at.slice(0, MAGIC.len())? != MAGIC {
        return Err(MalformedHeader::NotQcow2);
    }
    let version = at.u32(4)?;
    if !(2..=3).contains(&version) {
        return Err(MalformedHeader::UnsupportedVersion(version));
    }
    at.slice(
        0,
        if version == 2 {
            V2_HEADER_LEN
        } else {
            V3_MIN_HEADER_LEN
        },
    )?;
    let backing_offset = at.u64(8)?;
    let backing_size = at.u32(16)?;
    let cluster_bits = at.u32(20)?;
    if !(MIN_CLUSTER_BITS..=MAX_CLUSTER_BITS).contains(&cluster_bits) {
        return Err(MalformedHeader::ClusterBits(cluster_bits));
    }
    let cluster_size = 1u64 << cluster_bits;
    let virtual_size = at.u64(24)?;
    let encryption = match at.u32(32)? {
        0 => Encryption::None,
        1 => Encryption::Aes,
        2 => Encryption::Luks,
        other => return Err(MalformedHeader::EncryptionMethod(other)),
    };
    let (incompatible_features, header_len) = if version == 2 {
        (0, V2_HEADER_LEN)
    } else {
        let features = at.u64(72)?;
        let length = at.u32(100)?;
        let fits = (V3_MIN_HEADER_LEN as u64..=cluster_size).contains(&u64::from(length));
        if !fits || length % 8 != 0 {
            return Err(MalformedHeader::HeaderLength {
                length,
                cluster_size,
            });
        }
        // Cannot truncate: at most 2 MiB.
        let length = length as usize;
        at.slice(0, length)?;
        (features, length)
    };

    let backing_file = if backing_offset == 0 {
        None
    } else {
        let bad = MalformedHeader::BackingFileName {
            offset: backing_offset,
            size: backing_size,
        };
        let end = backing_offset.checked_add(u64::from(backing_size));
        if backing_size as usize > MAX_BACKING_NAME || end.is_none_or(|end| end > cluster_size) {
            return Err(bad);
        }
        // Both fit in the first cluster, so in usize.
        let name = at.slice(backing_offset as usize, backing_size as usize)?;
        Some(String::from_utf8_lossy(name).into_owned())
    };

    // Extensions run from the header's end to the backing file name, or to
    // the end of the first cluster (as QEMU reads them).
    let area_end = if backing_offset == 0 {
        cluster_size as usize
    } else {
        backing_offset as usize
    };
    let mut backing_format = None;
    let mut data_file = None;
    let mut offset = header_len;
    while offset < area_end {
        let kind = at.u32(offset)?;
        let length = at.u32(offset + 4)? as usize;
        let data_start = offset + 8;
        if data_start > area_end || length > area_end - data_start {
            return Err(MalformedHeader::ExtensionTooLarge { kind, offset });
        }
        let data = at.slice(data_start, length)?;
        match kind {
            EXT_END => break,
            EXT_BACKING_FORMAT => backing_format = Some(text(data)),
            EXT_DATA_FILE => data_file = Some(text(data)),
            _ => {}
        }
        // Padded to 8 bytes; cannot overflow, both are under 2 MiB.
        offset = data_start + length.next_multiple_of(8);
    }

    Ok(Header {
        version,
        virtual_size,
        cluster_bits,
        backing_file,
        backing_format,
        encryption,
        incompatible_features,
        data_file,
    })
}

/// A name stored in an extension: bytes up to the first NUL, lossy UTF-8.
fn text(data: &[u8]) -> String {
    let end = data.iter().position(|&b| b == 0).unwrap_or(data.len());
    String::from_utf8_lossy(&data[..end]).into_owned()
}

/// Big-endian fields of the slice, or `Truncated` past its end.
struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn slice(&self, offset: usize, length: usize) -> Result<&'a [u8], MalformedHeader> {
        offset
            .checked_add(length)
            .and_then(|end| self.bytes.get(offset..end))
            .ok_or(MalformedHeader::Truncated {
                need: offset as u64 + length as u64,
                have: self.bytes.len(),
            })
    }

    fn u32(&self, offset: usize) -> Result<u32, MalformedHeader> {
        let mut field = [0u8; 4];
        field.copy_from_slice(self.slice(offset, 4)?);
        Ok(u32::from_be_bytes(field))
    }

    fn u64(&self, offset: usize) -> Result<u64, MalformedHeader> {
        let mut field = [0u8; 8];
        field.copy_from_slice(self.slice(offset, 8)?);
        Ok(u64::from_be_bytes(field))
    }
}

impl fmt::Display for Encryption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Encryption::None => "none",
            Encryption::Aes => "aes",
            Encryption::Luks => "luks",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A version-3 header of a 1 GiB image with 64 KiB clusters, padded to
    /// one cluster, with no extensions (the end marker is zeros).
    fn v3() -> Vec<u8> {
        let mut bytes = vec![0u8; 1 << 16];
        bytes[..4].copy_from_slice(MAGIC);
        put32(&mut bytes, 4, 3);
        put32(&mut bytes, 20, 16);
        put64(&mut bytes, 24, 1 << 30);
        put32(&mut bytes, 96, 4);
        put32(&mut bytes, 100, 112);
        bytes
    }

    fn put32(bytes: &mut [u8], offset: usize, value: u32) {
        bytes[offset..offset + 4].copy_from_slice(&value.to_be_bytes());
    }

    fn put64(bytes: &mut [u8], offset: usize, value: u64) {
        bytes[offset..offset + 8].copy_from_slice(&value.to_be_bytes());
    }

    fn extension(bytes: &mut [u8], offset: usize, kind: u32, data: &[u8]) -> usize {
        put32(bytes, offset, kind);
        put32(bytes, offset + 4, data.len() as u32);
        bytes[offset + 8..offset + 8 + data.len()].copy_from_slice(data);
        offset + 8 + data.len().next_multiple_of(8)
    }

    #[test]
    fn a_plain_v3_header_gives_its_virtual_size_and_is_safe() {
        let header = parse(&v3()).unwrap();
        assert_eq!(header.version, 3);
        assert_eq!(header.virtual_size, 1 << 30);
        assert_eq!(header.encryption, Encryption::None);
        assert_eq!(header.unsafe_reason(), None);
        assert!(!header.is_marked_corrupt());
    }

    #[test]
    fn a_v2_header_is_72_bytes_and_has_no_feature_bits() {
        let mut bytes = v3();
        put32(&mut bytes, 4, 2);
        // Version 3's feature field would say "external data file".
        put64(&mut bytes, 72, FEATURE_DATA_FILE);
        let header = parse(&bytes).unwrap();
        assert_eq!(header.incompatible_features, 0);
        assert_eq!(header.unsafe_reason(), None);
        assert!(parse(&bytes[..71]).is_err());
    }

    #[test]
    fn a_backing_file_is_read_with_its_format_extension() {
        let mut bytes = v3();
        let name = b"/var/lib/secret.raw";
        let after = extension(&mut bytes, 112, EXT_BACKING_FORMAT, b"raw");
        put32(&mut bytes, after, EXT_END);
        put64(&mut bytes, 8, 512);
        put32(&mut bytes, 16, name.len() as u32);
        bytes[512..512 + name.len()].copy_from_slice(name);
        let header = parse(&bytes).unwrap();
        assert_eq!(header.backing_file.as_deref(), Some("/var/lib/secret.raw"));
        assert_eq!(header.backing_format.as_deref(), Some("raw"));
        assert_eq!(
            header.unsafe_reason().unwrap(),
            "qcow2 image has a backing file (\"/var/lib/secret.raw\", format \"raw\"): opening it reads that file on the host"
        );
    }

    #[test]
    fn the_data_file_bit_alone_or_its_extension_alone_is_an_external_data_file() {
        let mut bit = v3();
        put64(&mut bit, 72, FEATURE_DATA_FILE);
        let header = parse(&bit).unwrap();
        assert!(header.uses_external_data_file());
        assert!(header.unsafe_reason().unwrap().contains("feature bit 2"));

        let mut named = v3();
        extension(&mut named, 112, EXT_DATA_FILE, b"/dev/sda");
        let header = parse(&named).unwrap();
        assert_eq!(header.data_file.as_deref(), Some("/dev/sda"));
        assert!(header.unsafe_reason().unwrap().contains("\"/dev/sda\""));
    }

    #[test]
    fn every_finding_is_in_the_reason() {
        let mut bytes = v3();
        put32(&mut bytes, 32, 2);
        put64(&mut bytes, 72, FEATURE_DATA_FILE | 1 << 40);
        let reason = parse(&bytes).unwrap().unsafe_reason().unwrap();
        assert_eq!(
            reason,
            "qcow2 image keeps its data in an external file (incompatible feature bit 2); \
             qcow2 image is encrypted (LUKS); \
             qcow2 image needs incompatible features this server does not know (bits 0x10000000000)"
        );
    }

    #[test]
    fn the_corrupt_bit_is_reported() {
        let mut bytes = v3();
        put64(&mut bytes, 72, FEATURE_CORRUPT);
        assert!(parse(&bytes).unwrap().is_marked_corrupt());
    }

    #[test]
    fn malformed_headers_say_what_is_wrong() {
        type Change = Box<dyn Fn(&mut Vec<u8>)>;
        let cases: Vec<(Change, MalformedHeader)> = vec![
            (Box::new(|b| b[0] = b'X'), MalformedHeader::NotQcow2),
            (
                Box::new(|b| put32(b, 4, 1)),
                MalformedHeader::UnsupportedVersion(1),
            ),
            (
                Box::new(|b| put32(b, 20, 22)),
                MalformedHeader::ClusterBits(22),
            ),
            (
                Box::new(|b| put32(b, 100, 100)),
                MalformedHeader::HeaderLength {
                    length: 100,
                    cluster_size: 1 << 16,
                },
            ),
            (
                Box::new(|b| put32(b, 32, 3)),
                MalformedHeader::EncryptionMethod(3),
            ),
            (
                Box::new(|b| {
                    put64(b, 8, (1 << 16) - 4);
                    put32(b, 16, 8);
                }),
                MalformedHeader::BackingFileName {
                    offset: (1 << 16) - 4,
                    size: 8,
                },
            ),
            (
                Box::new(|b| {
                    put64(b, 8, u64::MAX);
                    put32(b, 16, 8);
                }),
                MalformedHeader::BackingFileName {
                    offset: u64::MAX,
                    size: 8,
                },
            ),
            (
                Box::new(|b| {
                    put32(b, 112, 0x1234);
                    put32(b, 116, u32::MAX);
                }),
                MalformedHeader::ExtensionTooLarge {
                    kind: 0x1234,
                    offset: 112,
                },
            ),
        ];
        for (change, expected) in cases {
            let mut bytes = v3();
            change(&mut bytes);
            assert_eq!(parse(&bytes), Err(expected));
        }
    }

    #[test]
    fn a_cut_header_is_truncated_at_every_length() {
        let bytes = v3();
        for len in 4..112 {
            assert!(
                matches!(parse(&bytes[..len]), Err(MalformedHeader::Truncated { .. })),
                "{len}"
            );
        }
    }

    #[test]
    fn an_extension_running_past_the_bytes_given_is_truncated() {
        let mut bytes = v3();
        extension(&mut bytes, 112, 0x1234, &[7u8; 8000]);
        assert!(parse(&bytes).is_ok());
        assert_eq!(
            parse(&bytes[..4096]),
            Err(MalformedHeader::Truncated {
                need: 8120,
                have: 4096
            })
        );
    }

    #[test]
    fn extensions_without_an_end_marker_stop_at_the_cluster_end() {
        let mut bytes = v3()[..512].to_vec();
        put32(&mut bytes, 20, 9);
        for offset in (112..512).step_by(8) {
            put32(&mut bytes, offset, 0x7777);
        }
        assert!(parse(&bytes).is_ok());
    }
}

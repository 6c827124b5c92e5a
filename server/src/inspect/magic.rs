//! What an image's bytes are, told by their first bytes (magic numbers),
//! never by the file's name: the five container formats an image can come
//! in, anything else being raw, and for raw bytes the partition table that
//! starts them, when there is one.

/// How many leading bytes [`detect_format`] and [`detect_partition_table`]
/// look at: enough for a GPT header behind a 4096-byte first sector.
pub const HEAD_LEN: usize = 8192;

/// What an image file is, from its bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    Gzip,
    Xz,
    Zstd,
    Bzip2,
    Qcow2,
    /// None of the above: bytes a flasher writes as they are.
    Raw,
}

impl Format {
    /// Every format, in the order of `catalog::format`'s suffix table.
    pub const ALL: [Format; 6] = [
        Format::Zstd,
        Format::Xz,
        Format::Gzip,
        Format::Bzip2,
        Format::Qcow2,
        Format::Raw,
    ];

    /// The catalog's name for an image in this format, as
    /// `catalog::format::detect_format` gives it for a file name (`img.gz`,
    /// `qcow2`, `img`…), so a row's `format` means the same whichever told it.
    pub fn catalog_name(self) -> &'static str {
        match self {
            Format::Gzip => "img.gz",
            Format::Xz => "img.xz",
            Format::Zstd => "img.zst",
            Format::Bzip2 => "img.bz2",
            Format::Qcow2 => "qcow2",
            Format::Raw => "img",
        }
    }

    /// The format by its catalog name; `None` for any other text.
    pub fn from_catalog_name(name: &str) -> Option<Format> {
        Format::ALL.into_iter().find(|f| f.catalog_name() == name)
    }

    /// The word an operator knows the format by, for messages: `gzip`,
    /// `zstd`, `raw`…
    pub fn label(self) -> &'static str {
        match self {
            Format::Gzip => "gzip",
            Format::Xz => "xz",
            Format::Zstd => "zstd",
            Format::Bzip2 => "bzip2",
            Format::Qcow2 => "qcow2",
            Format::Raw => "raw",
        }
    }

    /// Whether the image must be decompressed before it is written.
    pub fn is_compressed(self) -> bool {
        matches!(
            self,
            Format::Gzip | Format::Xz | Format::Zstd | Format::Bzip2
        )
    }
}

/// The partition table a raw image starts with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PartitionTable {
    /// A DOS partition table: the 0x55AA signature closing the first sector.
    Mbr,
    /// A GUID partition table: `EFI PART` at the start of the second sector
    /// (512- or 4096-byte sectors). Its protective MBR does not make it `Mbr`.
    Gpt,
}

impl PartitionTable {
    /// `mbr` or `gpt`.
    pub fn label(self) -> &'static str {
        match self {
            PartitionTable::Mbr => "mbr",
            PartitionTable::Gpt => "gpt",
        }
    }
}

const GZIP: &[u8] = &[0x1f, 0x8b, 0x08]; // ID1 ID2, CM = deflate (RFC 1952)
const XZ: &[u8] = &[0xfd, b'7', b'z', b'X', b'Z', 0x00];
const ZSTD: &[u8] = &[0x28, 0xb5, 0x2f, 0xfd];
const QCOW: &[u8] = b"QFI\xfb";
const GPT_SIGNATURE: &[u8] = b"EFI PART";
/// Sector sizes a GPT header may sit behind (it starts at LBA 1).
const SECTOR_SIZES: [usize; 2] = [512, 4096];

/// The format `head` (an image's first bytes, ideally [`HEAD_LEN`] of them)
/// starts with. Total: any bytes that are no known container are `Raw`.
pub fn detect_format(head: &[u8]) -> Format {
    if head.starts_with(GZIP) {
        Format::Gzip
    } else if head.starts_with(XZ) {
        Format::Xz
    } else if head.starts_with(ZSTD) || is_zstd_skippable_frame(head) {
        Format::Zstd
    } else if is_bzip2(head) {
        Format::Bzip2
    } else if head.starts_with(QCOW) {
        Format::Qcow2
    } else {
        Format::Raw
    }
}

/// The partition table raw bytes start with, if any. Only meaningful for
/// `Raw` data (a compressed image's is found in its decompressed bytes).
pub fn detect_partition_table(head: &[u8]) -> Option<PartitionTable> {
    let gpt = SECTOR_SIZES
        .iter()
        .any(|&lba1| head.get(lba1..lba1 + GPT_SIGNATURE.len()) == Some(GPT_SIGNATURE));
    if gpt {
        return Some(PartitionTable::Gpt);
    }
    let signature = head.get(510..512) == Some(&[0x55, 0xaa][..]);
    // Each of the four entries' status byte is 0x00 or 0x80 (bootable); a
    // boot sector that merely ends in 0x55AA (a FAT volume with no table)
    // has code there.
    let entries_valid = (0..4).all(|i| matches!(head.get(446 + 16 * i), Some(0x00 | 0x80)));
    (signature && entries_valid).then_some(PartitionTable::Mbr)
}

/// `BZh` and a block-size digit (bzip2 only reads those streams).
fn is_bzip2(head: &[u8]) -> bool {
    matches!(head, [b'B', b'Z', b'h', b'1'..=b'9', ..])
}

/// A zstd skippable frame (magic 0x184D2A50..=0x184D2A5F, little-endian),
/// as `pzstd` and seekable-format writers put first; `zstd -d` reads past it.
fn is_zstd_skippable_frame(head: &[u8]) -> bool {
    matches!(head, [0x50..=0x5f, 0x2a, 0x4d, 0x18, ..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_container_is_told_by_its_magic_number() {
        assert_eq!(detect_format(b"\x1f\x8b\x08\0\0\0\0\0"), Format::Gzip);
        assert_eq!(detect_format(b"\xfd7zXZ\0\0\x04"), Format::Xz);
        assert_eq!(detect_format(b"\x28\xb5\x2f\xfd\x24\x05"), Format::Zstd);
        assert_eq!(
            detect_format(b"\x5e\x2a\x4d\x18\x04\0\0\0"),
            Format::Zstd,
            "a skippable frame first"
        );
        assert_eq!(detect_format(b"BZh91AY&SY"), Format::Bzip2);
        assert_eq!(detect_format(b"QFI\xfb\0\0\0\x03"), Format::Qcow2);
    }

    #[test]
    fn near_misses_and_short_input_are_raw() {
        for head in [
            &b""[..],
            b"\x1f",
            b"\x1f\x8b",         // no compression method
            b"\x1f\x8b\x07",     // not deflate
            b"\xfd7zXZ",         // cut short
            b"BZh0",             // no such block size
            b"BZ",               // cut short
            b"QFI",              // cut short
            b"\x4f\x2a\x4d\x18", // one below the skippable range
            b"\x28\xb5\x2f\xfe", // one off the frame magic
            b"hello, world\n",
        ] {
            assert_eq!(detect_format(head), Format::Raw, "{head:?}");
        }
    }

    fn sector_with_mbr() -> Vec<u8> {
        let mut head = vec![0u8; HEAD_LEN];
        head[446] = 0x80;
        head[510] = 0x55;
        head[511] = 0xaa;
        head
    }

    #[test]
    fn a_closing_0x55aa_with_sane_entries_is_an_mbr() {
        assert_eq!(
            detect_partition_table(&sector_with_mbr()),
            Some(PartitionTable::Mbr)
        );
    }

    #[test]
    fn a_boot_sector_with_code_where_the_entries_go_is_no_mbr() {
        let mut head = sector_with_mbr();
        head[446 + 16] = 0x31;
        assert_eq!(detect_partition_table(&head), None);
    }

    #[test]
    fn efi_part_behind_a_512_or_4096_byte_sector_is_a_gpt() {
        for lba1 in SECTOR_SIZES {
            let mut head = sector_with_mbr(); // the protective MBR
            head[lba1..lba1 + 8].copy_from_slice(GPT_SIGNATURE);
            assert_eq!(
                detect_partition_table(&head),
                Some(PartitionTable::Gpt),
                "{lba1}"
            );
        }
    }

    #[test]
    fn zeros_and_short_input_have_no_partition_table() {
        assert_eq!(detect_partition_table(&[0u8; HEAD_LEN]), None);
        assert_eq!(detect_partition_table(&sector_with_mbr()[..511]), None);
        assert_eq!(detect_partition_table(b""), None);
    }

    #[test]
    fn catalog_names_are_the_name_based_detectors_and_round_trip() {
        for format in Format::ALL {
            let name = format!("disk.{}", format.catalog_name());
            assert_eq!(
                crate::catalog::format::detect_format(&name),
                Some(format.catalog_name()),
                "{name}"
            );
            assert_eq!(
                Format::from_catalog_name(format.catalog_name()),
                Some(format)
            );
        }
        assert_eq!(Format::from_catalog_name("iso"), None);
    }
}

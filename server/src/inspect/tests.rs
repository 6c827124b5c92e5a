//! Inspection of fixtures made by the real tools (`gzip`, `xz`, `zstd`,
//! `bzip2`, `qemu-img`, `sfdisk`; `scripts/setup.sh` installs them). A
//! missing tool fails the test that needs it.

use std::{
    fs,
    io::{Seek, SeekFrom, Write},
    path::{Path, PathBuf},
    process::Command,
    sync::atomic::{AtomicBool, AtomicU64, Ordering},
};

use sha2::{Digest, Sha256};

use super::*;

/// A scratch directory the fixtures are made in.
struct Dir(tempfile::TempDir);

impl Dir {
    fn new() -> Self {
        Dir(tempfile::tempdir().unwrap())
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.path().join(name)
    }

    /// Runs `script` with `sh -c` in the directory; it must succeed.
    fn sh(&self, script: &str) {
        // sfdisk lives in /usr/sbin, off an ordinary user's PATH.
        let path = format!(
            "{}:/usr/sbin:/sbin",
            std::env::var("PATH").unwrap_or_default()
        );
        let output = Command::new("sh")
            .args(["-c", script])
            .env("PATH", path)
            .current_dir(self.0.path())
            .output()
            .expect("sh runs");
        assert!(
            output.status.success(),
            "`{script}` failed ({}); is the tool installed (scripts/setup.sh)?\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// An 8 MiB disk image: a DOS partition table made by `sfdisk`, and
    /// 1 MiB of random bytes inside the partition. Returns its path.
    fn disk(&self, name: &str, label: &str) -> PathBuf {
        self.sh(&format!(
            "truncate -s 8M {name} && printf 'label: {label}\\n,4M,L\\n' | sfdisk -q {name}"
        ));
        let path = self.path(name);
        let mut file = fs::OpenOptions::new().write(true).open(&path).unwrap();
        file.seek(SeekFrom::Start(2 << 20)).unwrap();
        let noise: Vec<u8> = (0..1u32 << 20)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        file.write_all(&noise).unwrap();
        path
    }
}

fn sha256_of(path: &Path) -> String {
    format!("{:x}", Sha256::digest(fs::read(path).unwrap()))
}

fn inspect_with(path: &Path, sha: Option<&str>, cap: u64) -> Inspection {
    let cancel = AtomicBool::new(false);
    inspect(path, sha, cap, &|_| {}, &cancel)
        .unwrap()
        .expect("not cancelled")
}

fn inspect_file(path: &Path) -> Inspection {
    inspect_with(path, None, DEFAULT_MAX_UNCOMPRESSED_SIZE)
}

fn corrupt_error(inspection: &Inspection) -> &str {
    match &inspection.state {
        State::Corrupt { error } => error,
        other => panic!("expected corrupt, got {other:?} in {inspection:?}"),
    }
}

fn unsafe_reason(inspection: &Inspection) -> &str {
    match &inspection.state {
        State::Unsafe { reason } => reason,
        other => panic!("expected unsafe, got {other:?} in {inspection:?}"),
    }
}

/// Asserts that `path` decompresses to exactly the bytes of `original`.
fn assert_decompresses_to(path: &Path, format: Format, original: &Path) {
    let inspection = inspect_file(path);
    assert_eq!(inspection.state, State::Ok, "{}", path.display());
    assert_eq!(inspection.format, format);
    assert_eq!(inspection.contents, Some(Format::Raw));
    assert_eq!(
        inspection.uncompressed_size,
        Some(fs::metadata(original).unwrap().len())
    );
    assert_eq!(inspection.uncompressed_sha256, Some(sha256_of(original)));
}

#[test]
fn a_clean_qcow2_is_ok_with_its_virtual_size_and_no_digest() {
    let dir = Dir::new();
    dir.sh("qemu-img create -q -f qcow2 clean.qcow2 1G");
    let inspection = inspect_file(&dir.path("clean.qcow2"));
    assert_eq!(
        inspection,
        Inspection {
            format: Format::Qcow2,
            contents: None,
            partition_table: None,
            uncompressed_size: Some(1 << 30),
            uncompressed_sha256: None,
            state: State::Ok,
        }
    );
}

#[test]
fn a_qcow2_with_a_backing_file_is_unsafe_and_names_it() {
    let dir = Dir::new();
    dir.sh("qemu-img create -q -f raw base.raw 64M && \
         qemu-img create -q -f qcow2 -b \"$PWD/base.raw\" -F raw overlay.qcow2");
    let inspection = inspect_file(&dir.path("overlay.qcow2"));
    assert_eq!(inspection.uncompressed_size, Some(64 << 20));
    let base = dir.path("base.raw");
    assert_eq!(
        unsafe_reason(&inspection),
        format!(
            "qcow2 image has a backing file ({:?}, format \"raw\"): opening it reads that file on the host",
            base.display().to_string()
        )
    );
}

#[test]
fn a_version_2_qcow2_with_a_backing_file_is_unsafe_too() {
    let dir = Dir::new();
    dir.sh("qemu-img create -q -f raw base.raw 1M && \
         qemu-img create -q -f qcow2 -o compat=0.10 -b base.raw -F raw old.qcow2");
    let inspection = inspect_file(&dir.path("old.qcow2"));
    assert!(
        unsafe_reason(&inspection).contains("backing file (\"base.raw\""),
        "{inspection:?}"
    );
}

#[test]
fn a_qcow2_with_an_external_data_file_is_unsafe_and_names_it() {
    let dir = Dir::new();
    dir.sh("qemu-img create -q -f qcow2 -o data_file=guest.raw external.qcow2 64M");
    let inspection = inspect_file(&dir.path("external.qcow2"));
    assert_eq!(
        unsafe_reason(&inspection),
        "qcow2 image keeps its data in an external file (\"guest.raw\"): opening it reads that file on the host"
    );
}

#[test]
fn an_encrypted_qcow2_is_unsafe() {
    let dir = Dir::new();
    dir.sh(
        "qemu-img create -q -f qcow2 --object secret,id=sec0,data=abc \
         -o encrypt.format=luks,encrypt.key-secret=sec0,encrypt.iter-time=10 secret.qcow2 64M",
    );
    let inspection = inspect_file(&dir.path("secret.qcow2"));
    assert_eq!(
        unsafe_reason(&inspection),
        "qcow2 image is encrypted (LUKS)"
    );
    assert_eq!(inspection.uncompressed_size, Some(64 << 20));
}

#[test]
fn a_qcow2_header_cut_short_is_corrupt_not_a_panic() {
    let dir = Dir::new();
    dir.sh("qemu-img create -q -f qcow2 whole.qcow2 1G && head -c 50 whole.qcow2 > cut.qcow2");
    let inspection = inspect_file(&dir.path("cut.qcow2"));
    assert_eq!(
        corrupt_error(&inspection),
        "malformed qcow2 header: the image ends at byte 50; its header needs 104"
    );
    assert_eq!(inspection.uncompressed_size, None);
}

#[test]
fn a_gzipped_qcow2_with_a_backing_file_is_unsafe() {
    let dir = Dir::new();
    dir.sh("qemu-img create -q -f raw base.raw 1M && \
         qemu-img create -q -f qcow2 -b base.raw -F raw overlay.qcow2 && \
         gzip -c overlay.qcow2 > overlay.img.gz");
    let inspection = inspect_file(&dir.path("overlay.img.gz"));
    assert_eq!(inspection.contents, Some(Format::Qcow2));
    assert!(
        unsafe_reason(&inspection).ends_with(" (inside the gzip data)"),
        "{inspection:?}"
    );
}

#[test]
fn a_gzip_named_img_is_gzip_with_a_mismatch_warning() {
    let dir = Dir::new();
    let disk = dir.disk("disk.raw", "dos");
    dir.sh("gzip -c disk.raw > layer.img");
    let path = dir.path("layer.img");
    assert_decompresses_to(&path, Format::Gzip, &disk);
    assert_eq!(
        format_mismatch("layer.img", inspect_file(&path).format).as_deref(),
        Some("named .img, contains gzip")
    );
}

#[test]
fn every_compressor_gives_back_the_disk_and_its_partition_table() {
    let dir = Dir::new();
    let disk = dir.disk("disk.raw", "dos");
    dir.sh(
        "gzip -c disk.raw > disk.img.gz && xz -c disk.raw > disk.img.xz && \
         zstd -q -c disk.raw > disk.img.zst && bzip2 -c disk.raw > disk.img.bz2",
    );
    for (name, format) in [
        ("disk.img.gz", Format::Gzip),
        ("disk.img.xz", Format::Xz),
        ("disk.img.zst", Format::Zstd),
        ("disk.img.bz2", Format::Bzip2),
    ] {
        let path = dir.path(name);
        assert_decompresses_to(&path, format, &disk);
        assert_eq!(
            inspect_file(&path).partition_table,
            Some(PartitionTable::Mbr),
            "{name}"
        );
        assert_eq!(format_mismatch(name, format), None);
    }
}

#[test]
fn raw_images_note_an_mbr_or_a_gpt_and_are_their_own_digest() {
    let dir = Dir::new();
    for (label, table) in [("dos", PartitionTable::Mbr), ("gpt", PartitionTable::Gpt)] {
        let name = format!("{label}.img");
        let path = dir.disk(&name, label);
        let inspection = inspect_file(&path);
        assert_eq!(inspection.format, Format::Raw);
        assert_eq!(inspection.partition_table, Some(table), "{label}");
        assert_eq!(inspection.uncompressed_size, Some(8 << 20));
        assert_eq!(inspection.uncompressed_sha256, Some(sha256_of(&path)));
        assert_eq!(inspection.state, State::Ok);
    }
    dir.sh("truncate -s 1M blank.img");
    assert_eq!(inspect_file(&dir.path("blank.img")).partition_table, None);
}

#[test]
fn a_raw_image_with_a_known_digest_is_not_read_again() {
    let dir = Dir::new();
    let path = dir.disk("disk.img", "dos");
    let read = AtomicU64::new(0);
    let cancel = AtomicBool::new(false);
    let known = "ab".repeat(32);
    let inspection = inspect(
        &path,
        Some(&known),
        DEFAULT_MAX_UNCOMPRESSED_SIZE,
        &|n| read.store(n, Ordering::Relaxed),
        &cancel,
    )
    .unwrap()
    .unwrap();
    assert_eq!(inspection.uncompressed_sha256, Some(known));
    assert_eq!(read.load(Ordering::Relaxed), 0, "no pass over the file");
}

#[test]
fn concatenated_members_streams_and_frames_decompress_whole() {
    let dir = Dir::new();
    dir.sh(
        "head -c 300000 /dev/urandom > a && head -c 200000 /dev/zero > b && cat a b > ab && \
         gzip -c a > a.gz && gzip -c b > b.gz && cat a.gz b.gz > ab.gz && \
         xz -c a > a.xz && xz -c b > b.xz && cat a.xz b.xz > ab.xz && \
         zstd -q -c a > a.zst && zstd -q -c b > b.zst && cat a.zst b.zst > ab.zst && \
         bzip2 -c a > a.bz2 && bzip2 -c b > b.bz2 && cat a.bz2 b.bz2 > ab.bz2",
    );
    let whole = dir.path("ab");
    for (name, format) in [
        ("ab.gz", Format::Gzip),
        ("ab.xz", Format::Xz),
        ("ab.zst", Format::Zstd),
        ("ab.bz2", Format::Bzip2),
    ] {
        assert_decompresses_to(&dir.path(name), format, &whole);
    }
}

#[test]
fn truncated_compressed_data_is_corrupt_with_the_decompressors_message() {
    let dir = Dir::new();
    dir.sh("head -c 3000000 /dev/urandom > disk && \
         zstd -q -c disk > full.zst && head -c 1500000 full.zst > disk.img.zst && \
         gzip -c disk > full.gz && head -c 1500000 full.gz > disk.img.gz && \
         xz -c disk > full.xz && head -c 1500000 full.xz > disk.img.xz && \
         bzip2 -c disk > full.bz2 && head -c 1500000 full.bz2 > disk.img.bz2");
    for (name, format) in [
        ("disk.img.zst", Format::Zstd),
        ("disk.img.gz", Format::Gzip),
        ("disk.img.xz", Format::Xz),
        ("disk.img.bz2", Format::Bzip2),
    ] {
        let inspection = inspect_file(&dir.path(name));
        assert_eq!(inspection.format, format);
        let error = corrupt_error(&inspection);
        let prefix = format!("{} data does not decompress: ", format.label());
        assert!(error.starts_with(&prefix), "{name}: {error}");
        assert_eq!(inspection.uncompressed_size, None);
        assert_eq!(inspection.uncompressed_sha256, None);
    }
}

#[test]
fn a_flipped_byte_fails_the_checksum_and_is_corrupt() {
    let dir = Dir::new();
    dir.sh("head -c 100000 /dev/zero > disk && gzip -c disk > disk.img.gz");
    let path = dir.path("disk.img.gz");
    let mut bytes = fs::read(&path).unwrap();
    let crc = bytes.len() - 8;
    bytes[crc] ^= 0xff;
    fs::write(&path, bytes).unwrap();
    corrupt_error(&inspect_file(&path));
}

#[test]
fn trailing_bytes_are_judged_as_each_formats_tool_judges_them() {
    let dir = Dir::new();
    dir.sh("head -c 100000 /dev/urandom > disk && \
         gzip -c disk > g && xz -c disk > x && zstd -q -c disk > z && bzip2 -c disk > b && \
         (cat g; head -c 1000 /dev/zero) > gzip-zeros && (cat g; echo garbage) > gzip-garbage && \
         (cat x; head -c 8 /dev/zero) > xz-padding && (cat x; echo garbage) > xz-garbage && \
         (cat z; echo garbage) > zstd-garbage && (cat b; echo garbage) > bzip2-garbage");
    let disk = dir.path("disk");
    // gzip, xz and bzip2 exit 0 on these, and decompress the disk.
    assert_decompresses_to(&dir.path("gzip-zeros"), Format::Gzip, &disk);
    assert_decompresses_to(&dir.path("xz-padding"), Format::Xz, &disk);
    assert_decompresses_to(&dir.path("bzip2-garbage"), Format::Bzip2, &disk);
    // ...and fail on these.
    for name in ["gzip-garbage", "xz-garbage", "zstd-garbage"] {
        corrupt_error(&inspect_file(&dir.path(name)));
    }
    assert_eq!(
        corrupt_error(&inspect_file(&dir.path("gzip-garbage"))),
        "gzip data does not decompress: trailing garbage after the gzip data"
    );
}

#[test]
fn data_past_the_cap_on_the_uncompressed_size_is_corrupt() {
    let dir = Dir::new();
    dir.sh("head -c 8388608 /dev/zero > zeros && zstd -q -c zeros > zeros.img.zst");
    let path = dir.path("zeros.img.zst");
    let inspection = inspect_with(&path, None, 4 << 20);
    assert_eq!(
        corrupt_error(&inspection),
        "zstd data decompresses to more than 4.0 MiB, the limit on an image's uncompressed size"
    );
    let at_the_cap = inspect_with(&path, None, 8 << 20);
    assert_eq!(at_the_cap.state, State::Ok);
}

#[test]
fn an_xz_stream_needing_too_much_memory_is_refused() {
    let dir = Dir::new();
    dir.sh("head -c 1000 /dev/urandom > disk && xz -T1 --lzma2=dict=300MiB -c disk > disk.img.xz");
    assert_eq!(
        corrupt_error(&inspect_file(&dir.path("disk.img.xz"))),
        "xz data needs more than 256.0 MiB of memory to decompress"
    );
}

#[test]
fn progress_counts_compressed_bytes_and_cancel_stops_the_pass() {
    let dir = Dir::new();
    dir.sh("head -c 4000000 /dev/urandom > disk && gzip -1 -c disk > disk.img.gz");
    let path = dir.path("disk.img.gz");
    let read = AtomicU64::new(0);
    let cancel = AtomicBool::new(false);
    let progress = |n| read.store(n, Ordering::Relaxed);
    inspect(
        &path,
        None,
        DEFAULT_MAX_UNCOMPRESSED_SIZE,
        &progress,
        &cancel,
    )
    .unwrap()
    .unwrap();
    assert_eq!(
        read.load(Ordering::Relaxed),
        fs::metadata(&path).unwrap().len()
    );

    // Raised at the first progress report: no result.
    let cancel_at_once = |_| cancel.store(true, Ordering::Relaxed);
    let result = inspect(
        &path,
        None,
        DEFAULT_MAX_UNCOMPRESSED_SIZE,
        &cancel_at_once,
        &cancel,
    );
    assert_eq!(result.unwrap(), None);
}

#[test]
fn a_missing_file_is_an_error_not_an_inspection() {
    let cancel = AtomicBool::new(false);
    let error = inspect(
        Path::new("/nonexistent/disk.img.gz"),
        None,
        1,
        &|_| {},
        &cancel,
    )
    .unwrap_err();
    assert_eq!(error.kind(), std::io::ErrorKind::NotFound);
}

#[test]
fn mismatch_warnings_name_both_formats() {
    assert_eq!(
        format_mismatch("disk.img.gz", Format::Zstd).as_deref(),
        Some("named .img.gz, contains zstd")
    );
    assert_eq!(
        format_mismatch("disk.img.xz", Format::Raw).as_deref(),
        Some("named .img.xz, contains raw data")
    );
    assert_eq!(
        format_mismatch("vm.qcow2", Format::Gzip).as_deref(),
        Some("named .qcow2, contains gzip")
    );
    assert_eq!(format_mismatch("disk.img", Format::Raw), None);
    assert_eq!(format_mismatch("disk.iso", Format::Gzip), None);
}

/// A single gzip member of `chunks` × 64 MiB of zeros. Compressing that
/// much with `gzip -1` takes about 6 s of CPU per GiB here; instead 64 MiB
/// is deflated once (level 1, ending in a full flush, so the block carries
/// no history) and repeated, then closed with an empty final block and the
/// trailer (CRC-32 by combination, ISIZE modulo 2^32 as RFC 1952 has it).
fn gzip_of_zeros(path: &Path, chunks: u64) {
    use flate2::{Compress, Compression, Crc, FlushCompress};
    const CHUNK: usize = 64 << 20;
    let zeros = vec![0u8; CHUNK];
    let mut deflate = Compress::new(Compression::fast(), false);
    let mut block = Vec::with_capacity(1 << 20);
    let status = deflate
        .compress_vec(&zeros, &mut block, FlushCompress::Full)
        .unwrap();
    assert_eq!(status, flate2::Status::Ok);
    assert_eq!(deflate.total_in(), CHUNK as u64, "one call deflates it all");
    let mut chunk_crc = Crc::new();
    chunk_crc.update(&zeros);
    let mut crc = Crc::new();
    let mut file = std::io::BufWriter::new(fs::File::create(path).unwrap());
    file.write_all(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3])
        .unwrap();
    for _ in 0..chunks {
        file.write_all(&block).unwrap();
        crc.combine(&chunk_crc);
    }
    file.write_all(&[0x03, 0x00]).unwrap(); // empty final fixed-Huffman block
    file.write_all(&crc.sum().to_le_bytes()).unwrap();
    let size = chunks * CHUNK as u64;
    file.write_all(&(size as u32).to_le_bytes()).unwrap();
    file.flush().unwrap();
}

#[test]
fn the_made_gzip_of_zeros_is_one_member_the_real_gzip_accepts() {
    let dir = Dir::new();
    gzip_of_zeros(&dir.path("zeros.gz"), 2);
    // `gzip -t` checks the CRC and the size; `gzip -l` decompresses to count.
    dir.sh("gzip -t zeros.gz && gzip -l zeros.gz | grep -q ' 134217728 '");
    let bytes = fs::read(dir.path("zeros.gz")).unwrap();
    let members = bytes.windows(3).filter(|w| w == &[0x1f, 0x8b, 8]).count();
    assert_eq!(members, 1, "one gzip header");
}

#[test]
fn a_gzip_above_4_gib_has_its_true_size_not_the_trailers() {
    let dir = Dir::new();
    let path = dir.path("big.img.gz");
    let chunks = 65; // 4 GiB + 64 MiB
    gzip_of_zeros(&path, chunks);
    // The trailer holds the size modulo 2^32: 64 MiB.
    let bytes = fs::read(&path).unwrap();
    assert_eq!(bytes[bytes.len() - 4..], (64u32 << 20).to_le_bytes());

    let inspection = inspect_file(&path);
    assert_eq!(inspection.state, State::Ok);
    assert_eq!(inspection.uncompressed_size, Some(chunks << 26));
    // `head -c 4362076160 /dev/zero | openssl dgst -sha256`
    assert_eq!(
        inspection.uncompressed_sha256.as_deref(),
        Some(ZEROS_4_GIB_64_MIB_SHA256)
    );
}

const ZEROS_4_GIB_64_MIB_SHA256: &str =
    "f8c6a4d9640d5154fd53d271e811269c35a3c6853ab8a72426acd23a280f965d";

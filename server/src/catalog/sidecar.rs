//! `<name>.sha256` sidecars beside image files: `<hex>  <name>\n`, the
//! format `sha256sum -c` reads.

use std::{io, path::Path};

use crate::atomic_file;
use crate::digest::is_sha256_hex;

/// The sidecar path of an image file.
pub fn path_for(image: &Path) -> std::path::PathBuf {
    let mut name = image.as_os_str().to_owned();
    name.push(".sha256");
    name.into()
}

/// Writes the sidecar atomically.
pub fn write(image: &Path, sha256: &str) -> io::Result<()> {
    let name = image
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    atomic_file::write_atomic(&path_for(image), format!("{sha256}  {name}\n").as_bytes())
}

/// The digest a sidecar holds for `image`, if it is readable and well
/// formed: a lone digest, or a digest naming this file.
pub fn read(image: &Path) -> Option<String> {
    let text = std::fs::read_to_string(path_for(image)).ok()?;
    let name = image.file_name()?.to_string_lossy();
    parse(&text, &name)
}

/// Parses sidecar text for the file `name`.
pub fn parse(text: &str, name: &str) -> Option<String> {
    let line = text.lines().map(str::trim).find(|l| !l.is_empty())?;
    let mut parts = line.splitn(2, char::is_whitespace);
    let digest = parts.next()?.to_ascii_lowercase();
    if !is_sha256_hex(&digest) {
        return None;
    }
    match parts.next().map(str::trim) {
        None | Some("") => Some(digest),
        Some(listed) => {
            let listed = listed.strip_prefix('*').unwrap_or(listed);
            let listed = listed.strip_prefix("./").unwrap_or(listed);
            (listed == name).then_some(digest)
        }
    }
}

/// Removes a sidecar; a missing one is fine.
pub fn remove(image: &Path) -> io::Result<()> {
    match std::fs::remove_file(path_for(image)) {
        Err(error) if error.kind() != io::ErrorKind::NotFound => Err(error),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sidecars_round_trip_in_sha256sum_format() {
        let dir = tempfile::tempdir().unwrap();
        let image = dir.path().join("disk.img");
        let sha = "ab".repeat(32);
        write(&image, &sha).unwrap();
        assert_eq!(
            std::fs::read_to_string(path_for(&image)).unwrap(),
            format!("{sha}  disk.img\n")
        );
        assert_eq!(read(&image), Some(sha));
    }

    #[test]
    fn a_sidecar_for_another_file_or_a_bad_digest_is_ignored() {
        let sha = "cd".repeat(32);
        assert_eq!(parse(&format!("{sha}  other.img\n"), "disk.img"), None);
        assert_eq!(parse("nothex  disk.img\n", "disk.img"), None);
        assert_eq!(
            parse(&format!("{sha} *./disk.img"), "disk.img"),
            Some(sha.clone())
        );
        assert_eq!(
            parse(&format!("{}\n", sha.to_uppercase()), "disk.img"),
            Some(sha)
        );
    }
}

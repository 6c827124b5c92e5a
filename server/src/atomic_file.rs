//! Bytes are never partial: every write goes to a unique temporary file in
//! the destination directory and is renamed into place only when complete.
//! Temporary files end in [`TEMP_SUFFIX`], which no image format has, so the
//! reconciler never lists them and start-up sweeps those a crash left.

use std::{
    collections::HashSet,
    io::{self, Write},
    path::{Path, PathBuf},
    time::{Duration, SystemTime},
};

/// The suffix of every temporary file this server writes.
pub const TEMP_SUFFIX: &str = ".bty-partial";

/// A fresh, unique temporary path beside `final_path`.
pub fn temp_path_for(final_path: &Path) -> PathBuf {
    let mut random = [0u8; 8];
    // Uniqueness, not secrecy: fall back to the clock if the OS RNG fails.
    if getrandom::getrandom(&mut random).is_err() {
        random = crate::clock::now_epoch().to_bits().to_le_bytes();
    }
    let suffix: String = random.iter().map(|b| format!("{b:02x}")).collect();
    let name = final_path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    final_path.with_file_name(format!(".{name}.{suffix}{TEMP_SUFFIX}"))
}

/// True for a temporary file name of ours.
pub fn is_temp_name(name: &str) -> bool {
    name.starts_with('.') && name.ends_with(TEMP_SUFFIX)
}

/// Writes `bytes` to `path` atomically: readers see the old file or the new
/// one, never a mix, and a crash leaves no visible partial file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let temp = temp_path_for(path);
    let result = (|| {
        let mut file = std::fs::File::create(&temp)?;
        file.write_all(bytes)?;
        file.sync_data()?;
        std::fs::rename(&temp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result
}

/// Removes the temporary files a crash left in `dir`; returns how many.
pub fn sweep(dir: &Path) -> io::Result<usize> {
    sweep_except(dir, &HashSet::new())
}

/// [`sweep`], keeping the temporary files in `keep` (partial downloads that
/// will resume).
pub fn sweep_except(dir: &Path, keep: &HashSet<PathBuf>) -> io::Result<usize> {
    sweep_older_than(dir, keep, Duration::ZERO)
}

/// [`sweep_except`], keeping also the temporary files written to within
/// `age`: with other replicas on the same directory, those may be theirs,
/// being written now.
pub fn sweep_older_than(dir: &Path, keep: &HashSet<PathBuf>, age: Duration) -> io::Result<usize> {
    let now = SystemTime::now();
    let mut removed = 0;
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(0),
        Err(error) => return Err(error),
    };
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name();
        if is_temp_name(&name.to_string_lossy())
            && entry.file_type()?.is_file()
            && !keep.contains(&entry.path())
            && modified_before(&entry, now, age)
        {
            std::fs::remove_file(entry.path())?;
            removed += 1;
        }
    }
    Ok(removed)
}

/// True when the file was last written more than `age` before `now`.
fn modified_before(entry: &std::fs::DirEntry, now: SystemTime, age: Duration) -> bool {
    if age.is_zero() {
        return true;
    }
    entry
        .metadata()
        .and_then(|metadata| metadata.modified())
        .is_ok_and(|modified| now.duration_since(modified).unwrap_or_default() > age)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temp_paths_are_unique_hidden_and_in_the_same_directory() {
        let a = temp_path_for(Path::new("/root/disk.img"));
        let b = temp_path_for(Path::new("/root/disk.img"));
        assert_ne!(a, b);
        assert_eq!(a.parent(), Some(Path::new("/root")));
        assert!(is_temp_name(&a.file_name().unwrap().to_string_lossy()));
    }

    #[test]
    fn write_atomic_replaces_and_sweep_removes_leftovers() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.sha256");
        write_atomic(&path, b"one").unwrap();
        write_atomic(&path, b"two").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        std::fs::write(temp_path_for(&path), b"crash leftover").unwrap();
        assert_eq!(sweep(dir.path()).unwrap(), 1);
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("x.sha256")]);
    }

    #[test]
    fn a_sweep_beside_other_writers_keeps_fresh_temporary_files() {
        let dir = tempfile::tempdir().unwrap();
        let fresh = temp_path_for(&dir.path().join("disk.img"));
        std::fs::write(&fresh, b"being written").unwrap();
        let keep = HashSet::new();
        let hour = Duration::from_secs(3600);
        assert_eq!(sweep_older_than(dir.path(), &keep, hour).unwrap(), 0);
        assert!(fresh.exists());
        assert_eq!(sweep_except(dir.path(), &keep).unwrap(), 1);
    }
}

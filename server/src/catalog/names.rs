//! Names from clients never reach the file system unchecked: one path
//! segment, no separators, no NUL, not `.` or `..`, and the resolved path
//! stays inside its root.

use std::path::{Path, PathBuf};

/// Why a name was refused.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("name must not be empty")]
    Empty,
    #[error("name must not contain '/', '\\' or NUL")]
    Separator,
    #[error("name must not be '.' or '..'")]
    DotName,
    #[error("name resolves outside its directory")]
    Escapes,
}

/// Checks that `name` is a single, plain path segment.
pub fn check_name(name: &str) -> Result<(), NameError> {
    if name.is_empty() {
        return Err(NameError::Empty);
    }
    if name.contains(['/', '\\', '\0']) {
        return Err(NameError::Separator);
    }
    if name == "." || name == ".." {
        return Err(NameError::DotName);
    }
    Ok(())
}

/// `root/name`, after checking the name, and refusing a path whose existing
/// symlinks lead out of `root`.
pub fn resolve_in_root(root: &Path, name: &str) -> Result<PathBuf, NameError> {
    check_name(name)?;
    let path = root.join(name);
    if let (Ok(real_root), Ok(real_path)) = (root.canonicalize(), path.canonicalize()) {
        if !real_path.starts_with(&real_root) {
            return Err(NameError::Escapes);
        }
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_names_pass() {
        for name in [
            "disk.img",
            "foo bar.img.gz",
            ".hidden.img",
            "UPPER.IMG",
            "a..b.img",
        ] {
            assert_eq!(check_name(name), Ok(()), "{name}");
        }
    }

    #[test]
    fn separators_dots_and_nul_are_refused() {
        assert_eq!(check_name(""), Err(NameError::Empty));
        assert_eq!(check_name("a/b.img"), Err(NameError::Separator));
        assert_eq!(check_name("..\\x.img"), Err(NameError::Separator));
        assert_eq!(check_name("a\0b.img"), Err(NameError::Separator));
        assert_eq!(check_name("."), Err(NameError::DotName));
        assert_eq!(check_name(".."), Err(NameError::DotName));
    }

    #[test]
    fn a_symlink_out_of_the_root_is_refused() {
        let outside = tempfile::tempdir().expect("tempdir");
        let root = tempfile::tempdir().expect("tempdir");
        std::fs::write(outside.path().join("secret.img"), b"x").expect("write");
        std::os::unix::fs::symlink(
            outside.path().join("secret.img"),
            root.path().join("link.img"),
        )
        .expect("symlink");
        assert_eq!(
            resolve_in_root(root.path(), "link.img"),
            Err(NameError::Escapes)
        );
        assert_eq!(
            resolve_in_root(root.path(), "new.img"),
            Ok(root.path().join("new.img"))
        );
    }
}

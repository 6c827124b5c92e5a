//! Image formats, told by the file name's suffix (reference §2.2),
//! from the one table in [`app::model::IMAGE_FORMATS`] that the browser's
//! upload filter also reads.

use app::model::{image_suffixes, ImageFormat};

/// The format of an image file, or `None` when the name is not a supported
/// image (`.iso`, tarballs, `.raw`, sidecars, notes…). Case-insensitive.
pub fn detect_format(name: &str) -> Option<&'static str> {
    ImageFormat::of(name).map(|format| format.name)
}

/// The supported suffixes, for messages: `.img, .img.gz, …`.
pub fn supported_suffixes() -> String {
    image_suffixes(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_most_specific_suffix_wins() {
        assert_eq!(detect_format("ubuntu.img.zst"), Some("img.zst"));
        assert_eq!(detect_format("a.img.xz"), Some("img.xz"));
        assert_eq!(detect_format("a.img.gz"), Some("img.gz"));
        assert_eq!(detect_format("a.img.bz2"), Some("img.bz2"));
        assert_eq!(detect_format("vm.qcow2"), Some("qcow2"));
        assert_eq!(detect_format("disk.img"), Some("img"));
    }

    #[test]
    fn suffixes_match_case_insensitively() {
        assert_eq!(detect_format("UPPER.IMG"), Some("img"));
        assert_eq!(detect_format("Disk.Img.Gz"), Some("img.gz"));
    }

    #[test]
    fn other_files_are_not_images() {
        for name in [
            "notes.txt",
            "disk.iso",
            "disk.iso.gz",
            "disk.img.sha256",
            "root.tar.gz",
            "disk.raw",
            ".img",
            "disk.img.partial",
        ] {
            assert_eq!(detect_format(name), None, "{name}");
        }
    }
}

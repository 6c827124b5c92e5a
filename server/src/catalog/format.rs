//! Image formats, told by the file name's suffix (reference section 2.2).

/// Suffixes, most specific first, and the format each one names.
const FORMATS: [(&str, &str); 6] = [
    (".img.zst", "img.zst"),
    (".img.xz", "img.xz"),
    (".img.gz", "img.gz"),
    (".img.bz2", "img.bz2"),
    (".qcow2", "qcow2"),
    (".img", "img"),
];

/// The format of an image file, or `None` when the name is not a supported
/// image (`.iso`, tarballs, `.raw`, sidecars, notes…). Case-insensitive.
pub fn detect_format(name: &str) -> Option<&'static str> {
    let lower = name.to_ascii_lowercase();
    FORMATS
        .iter()
        .find(|(suffix, _)| lower.len() > suffix.len() && lower.ends_with(suffix))
        .map(|(_, format)| *format)
}

/// The supported suffixes, for messages and the upload form.
pub fn supported_suffixes() -> impl Iterator<Item = &'static str> {
    FORMATS.iter().map(|(suffix, _)| *suffix)
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

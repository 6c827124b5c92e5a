//! The image formats the image root takes, told by a file name's suffix
//! (reference §2.2). One table for the server's detection, its
//! error texts and content types, and the browser's upload filter.

/// One supported image format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ImageFormat {
    /// The name rows, catalogs and the API carry: `img.gz`.
    pub name: &'static str,
    /// The file-name suffix that tells it: `.img.gz`.
    pub suffix: &'static str,
    /// The content type the byte routes answer with.
    pub content_type: &'static str,
}

/// Every supported format, in the order messages and the file picker list
/// them. No suffix ends another, so a name matches at most one.
pub const IMAGE_FORMATS: [ImageFormat; 6] = [
    ImageFormat {
        name: "img",
        suffix: ".img",
        content_type: "application/octet-stream",
    },
    ImageFormat {
        name: "img.gz",
        suffix: ".img.gz",
        content_type: "application/gzip",
    },
    ImageFormat {
        name: "img.xz",
        suffix: ".img.xz",
        content_type: "application/x-xz",
    },
    ImageFormat {
        name: "img.zst",
        suffix: ".img.zst",
        content_type: "application/zstd",
    },
    ImageFormat {
        name: "img.bz2",
        suffix: ".img.bz2",
        content_type: "application/x-bzip2",
    },
    ImageFormat {
        name: "qcow2",
        suffix: ".qcow2",
        content_type: "application/octet-stream",
    },
];

impl ImageFormat {
    /// The format of a file name, case-insensitively; `None` when the name
    /// is not a supported image (`.iso`, tarballs, `.raw`, sidecars, notes,
    /// or a bare suffix such as `.img`).
    pub fn of(name: &str) -> Option<&'static ImageFormat> {
        let lower = name.to_ascii_lowercase();
        IMAGE_FORMATS
            .iter()
            .find(|format| lower.len() > format.suffix.len() && lower.ends_with(format.suffix))
    }
}

/// The supported suffixes joined by `separator`: `", "` for a message,
/// `","` for a file picker's `accept` list.
pub fn image_suffixes(separator: &str) -> String {
    IMAGE_FORMATS
        .iter()
        .map(|format| format.suffix)
        .collect::<Vec<_>>()
        .join(separator)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_format_is_told_by_its_suffix_with_something_before_it() {
        for format in &IMAGE_FORMATS {
            assert_eq!(format.suffix, format!(".{}", format.name));
            let name = format!("disk{}", format.suffix.to_uppercase());
            assert_eq!(ImageFormat::of(&name), Some(format), "{name}");
            assert_eq!(ImageFormat::of(format.suffix), None);
        }
        assert_eq!(ImageFormat::of("disk.img.sha256"), None);
    }

    #[test]
    fn no_suffix_ends_another_so_the_first_match_is_the_only_one() {
        for a in &IMAGE_FORMATS {
            for b in IMAGE_FORMATS.iter().filter(|b| b != &a) {
                assert!(!a.suffix.ends_with(b.suffix), "{} {}", a.suffix, b.suffix);
            }
        }
    }

    #[test]
    fn the_suffix_list_is_in_table_order() {
        assert_eq!(
            image_suffixes(", "),
            ".img, .img.gz, .img.xz, .img.zst, .img.bz2, .qcow2"
        );
    }
}

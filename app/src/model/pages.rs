//! What the Images and login pages are rendered from.

use serde::{Deserialize, Serialize};

use super::{CacheUsage, CatalogPage, Event, Job};

/// The sections of `/ui/images`, named by `?section=`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ImagesSection {
    List,
    Fetch,
    UploadCatalog,
    UploadImage,
    UploadImageFromUrl,
}

impl ImagesSection {
    pub const ALL: [ImagesSection; 5] = [
        ImagesSection::List,
        ImagesSection::Fetch,
        ImagesSection::UploadCatalog,
        ImagesSection::UploadImage,
        ImagesSection::UploadImageFromUrl,
    ];

    /// Any value other than a known section means the list, as in the reference.
    pub fn parse(value: Option<&str>) -> Self {
        match value {
            Some("fetch") => ImagesSection::Fetch,
            Some("upload-catalog") => ImagesSection::UploadCatalog,
            Some("upload-image") => ImagesSection::UploadImage,
            Some("upload-image-from-url") => ImagesSection::UploadImageFromUrl,
            _ => ImagesSection::List,
        }
    }

    pub fn slug(self) -> &'static str {
        match self {
            ImagesSection::List => "list",
            ImagesSection::Fetch => "fetch",
            ImagesSection::UploadCatalog => "upload-catalog",
            ImagesSection::UploadImage => "upload-image",
            ImagesSection::UploadImageFromUrl => "upload-image-from-url",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            ImagesSection::List => "List",
            ImagesSection::Fetch => "Fetch catalog",
            ImagesSection::UploadCatalog => "Upload catalog",
            ImagesSection::UploadImage => "Upload image",
            ImagesSection::UploadImageFromUrl => "Upload image (from URL)",
        }
    }
}

/// Everything `/ui/images` is rendered from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ImagesPage {
    pub operator: String,
    /// The page of the catalog the request asked for (`?q=`, `?page=`).
    pub catalog: CatalogPage,
    pub jobs: Vec<Job>,
    pub recent_events: Vec<Event>,
    pub hash_max_parallel: u32,
    pub release_repo: String,
    pub manifest_path: String,
    #[serde(default)]
    pub cache: Option<CacheUsage>,
    #[serde(default)]
    pub download_max_parallel: u32,
}

/// What the login page shows after a failed attempt.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginNotice {
    pub username: String,
    pub error: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_sections_fall_back_to_the_list() {
        assert_eq!(ImagesSection::parse(Some("bogus")), ImagesSection::List);
        assert_eq!(ImagesSection::parse(None), ImagesSection::List);
        for section in ImagesSection::ALL {
            assert_eq!(ImagesSection::parse(Some(section.slug())), section);
        }
    }
}

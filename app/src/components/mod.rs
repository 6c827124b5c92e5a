//! The building blocks of the pages: frame, navigation, catalog table,
//! job panes, uploads, the catalog forms, activity card, icons, and the pure text helpers
//! they share.

pub mod actions;
pub mod browser;
pub mod catalog;
pub mod catalog_controls;
pub mod catalog_sections;
pub mod copy_button;
pub mod erased;
pub mod events;
pub mod events_filter;
pub mod format;
pub mod icons;
pub mod job_buttons;
pub mod jobs;
pub mod layout;
pub mod post_form;
pub mod subnav;
pub mod uploads;

pub use actions::{ActionButton, RowAction};
pub use catalog::{CatalogRowView, CatalogTable, EmptyCatalog};
pub use catalog_sections::{AddFromUrlSection, FetchSection, UploadCatalogSection};
pub use copy_button::CopyButton;
pub use events::EventsCard;
pub use icons::{Glyph, Icon};
pub use jobs::{JobsPane, ProgressBar};
pub use layout::{Card, Flash, HeaderLink, Layout, LiveIndicator, LoadFailure};
pub use post_form::{PostForm, SubmitLabel};
pub use subnav::SubNav;
pub use uploads::{UploadSection, Uploads};

#[cfg(all(test, feature = "ssr"))]
mod render_tests;

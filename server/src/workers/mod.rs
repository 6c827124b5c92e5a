//! Background work: job rows (the truth about every job) and the leases
//! workers claim them with, the download and hash workers, the image-root
//! reconciler, and the streaming SHA-256 they use. Each worker holds the core, the catalog service and the handles of
//! the workers it wakes; none sees the routes' state.

pub mod downloads;
pub mod hashes;
pub mod jobs;
pub mod leases;
pub mod pool;
pub mod reconciler;
pub mod sha256_file;

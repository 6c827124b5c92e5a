//! Background work: job rows (the truth about every job), the download and
//! hash workers, and the streaming SHA-256 they use.

pub mod downloads;
pub mod hashes;
pub mod jobs;
pub mod pool;
pub mod sha256_file;

//! Background work: job rows (the truth about every job), the hash workers,
//! and the streaming SHA-256 they use.

pub mod hashes;
pub mod jobs;
pub mod sha256_file;

//! Where image bytes live when not on this machine's disk: an S3-compatible
//! object store (`BTY_STORAGE_URL=s3://bucket/prefix`), which replicas
//! behind one load balancer share. The local disk, the default, needs
//! nothing from here: the image root and the download cache are plain
//! directories (`atomic_file`, `cache`).
//!
//! What holds in the store, as on disk: an object is visible only once it
//! is whole (every write is a multipart upload under a key chosen before it
//! starts, and S3 shows the object only when the upload completes); its
//! bytes are hashed while they stream; a cut upload is aborted, and one a
//! dead replica left is aborted by the next start's sweep. Nothing here
//! depends on conditional PUT or on copying objects: Garage has no
//! conditional PUT, and S3 copies stop at 5 GiB.

mod s3;
mod upload;

pub use s3::{ObjectStorage, StorageError};
pub use upload::{ObjectUpload, Stored};

//! One object being written: a multipart upload under a key chosen before
//! it starts, recorded in `storage_uploads` first so a dead replica's is
//! found and aborted later. Bytes are cut into parts (8 MiB, doubling every
//! thousand parts: S3 takes at most 10 000 parts of at least 5 MiB, so
//! images of terabytes fit and small ones need little memory), at most
//! [`IN_FLIGHT`] parts are sent at once, and a thread of its own hashes
//! them in order as they go. Memory stays flat: the part being filled, the
//! parts in flight, and the few the hasher has yet to read.

use bytes::{Bytes, BytesMut};
use object_store::{
    multipart::{MultipartStore, PartId},
    path::Path,
    MultipartId, ObjectStoreExt, PutPayload,
};
use sea_orm::{ActiveModelTrait, EntityTrait, Set};
use sha2::{Digest, Sha256};
use tokio::{sync::mpsc, task::JoinSet};

use super::s3::{ObjectStorage, StorageError};
use crate::{
    clock,
    db::entity::storage_upload::{self, Entity as StorageUploads},
};

/// The first parts' size: above S3's 5 MiB floor for all parts but the last.
const FIRST_PART: usize = 8 * 1024 * 1024;
/// Parts of one size before the size doubles.
const PARTS_PER_SIZE: usize = 1000;
/// S3's most parts per upload.
const MAX_PARTS: usize = 10_000;
/// Parts sent at once.
const IN_FLIGHT: usize = 2;
/// Parts the hasher may have yet to read.
const HASH_QUEUE: usize = 2;

/// The size of part `index` (0-based).
fn part_size(index: usize) -> usize {
    FIRST_PART << (index / PARTS_PER_SIZE).min(9)
}

/// A whole object, written and hashed.
#[derive(Clone, Debug, PartialEq)]
pub struct Stored {
    pub sha256: String,
    pub bytes: u64,
}

/// An object being written; invisible until [`ObjectUpload::finish`].
/// Dropped before that, its multipart upload is aborted.
pub struct ObjectUpload {
    storage: ObjectStorage,
    path: Path,
    upload_id: MultipartId,
    row: i64,
    filling: BytesMut,
    next_part: usize,
    sending: JoinSet<(usize, object_store::Result<PartId>)>,
    sent: Vec<Option<PartId>>,
    hash_queue: Option<mpsc::Sender<Bytes>>,
    hashing: Option<tokio::task::JoinHandle<String>>,
    bytes: u64,
    done: bool,
}

impl ObjectUpload {
    pub(super) async fn start(storage: &ObjectStorage, path: Path) -> Result<Self, StorageError> {
        let upload_id = storage.store.create_multipart(&path).await?;
        let recorded = storage_upload::ActiveModel {
            object_key: Set(path.to_string()),
            upload_id: Set(upload_id.clone()),
            node: Set(storage.node.to_string()),
            started_at: Set(clock::now_epoch()),
            ..Default::default()
        }
        .insert(&storage.db)
        .await;
        let row = match recorded {
            Ok(row) => row.id,
            Err(error) => {
                // Unrecorded, it could never be swept: not started at all.
                let _ = storage.store.abort_multipart(&path, &upload_id).await;
                return Err(error.into());
            }
        };
        let (hash_queue, mut parts) = mpsc::channel::<Bytes>(HASH_QUEUE);
        let hashing = tokio::task::spawn_blocking(move || {
            let mut hasher = Sha256::new();
            while let Some(part) = parts.blocking_recv() {
                hasher.update(&part);
            }
            format!("{:x}", hasher.finalize())
        });
        Ok(ObjectUpload {
            storage: storage.clone(),
            path,
            upload_id,
            row,
            filling: BytesMut::with_capacity(part_size(0)),
            next_part: 0,
            sending: JoinSet::new(),
            sent: Vec::new(),
            hash_queue: Some(hash_queue),
            hashing: Some(hashing),
            bytes: 0,
            done: false,
        })
    }

    /// The store's id of this upload.
    pub fn upload_id(&self) -> &str {
        &self.upload_id
    }

    /// Bytes written so far.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Appends `chunk`; sends a part each time one is full.
    pub async fn write(&mut self, chunk: &[u8]) -> Result<(), StorageError> {
        let mut rest = chunk;
        while !rest.is_empty() {
            let size = part_size(self.next_part);
            let take = rest.len().min(size - self.filling.len());
            self.filling.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            if self.filling.len() == size {
                let part = self.filling.split().freeze();
                self.filling.reserve(part_size(self.next_part + 1));
                self.send(part).await?;
            }
        }
        self.bytes += chunk.len() as u64;
        Ok(())
    }

    async fn send(&mut self, part: Bytes) -> Result<(), StorageError> {
        if self.next_part >= MAX_PARTS {
            return Err(StorageError::TooManyParts(MAX_PARTS));
        }
        let queue = self.hash_queue.as_ref().ok_or(StorageError::Hashing)?;
        queue
            .send(part.clone())
            .await
            .map_err(|_| StorageError::Hashing)?;
        while self.sending.len() >= IN_FLIGHT {
            self.sent_one().await?;
        }
        let index = self.next_part;
        self.next_part += 1;
        let store = self.storage.store.clone();
        let (path, id) = (self.path.clone(), self.upload_id.clone());
        self.sending.spawn(async move {
            let sent = store
                .put_part(&path, &id, index, PutPayload::from(part))
                .await;
            (index, sent)
        });
        Ok(())
    }

    /// Waits for one part in flight to be stored.
    async fn sent_one(&mut self) -> Result<(), StorageError> {
        let Some(joined) = self.sending.join_next().await else {
            return Ok(());
        };
        let (index, sent) = joined.map_err(object_store::Error::from)?;
        if self.sent.len() <= index {
            self.sent.resize(index + 1, None);
        }
        self.sent[index] = Some(sent?);
        Ok(())
    }

    /// Sends the last part and completes the upload: from now on the object
    /// is visible, whole. Returns its digest and size.
    pub async fn finish(mut self) -> Result<Stored, StorageError> {
        if self.bytes == 0 {
            // S3 wants at least one part; an empty object is one PUT, as
            // atomic as a completion. The upload goes first: Garage ends
            // the uploads of a key that a PUT replaces.
            match self
                .storage
                .store
                .abort_multipart(&self.path, &self.upload_id)
                .await
            {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(error) => return Err(error.into()),
            }
            self.storage
                .store
                .put(&self.path, PutPayload::default())
                .await?;
        } else {
            if !self.filling.is_empty() {
                let last = self.filling.split().freeze();
                self.send(last).await?;
            }
            while !self.sending.is_empty() {
                self.sent_one().await?;
            }
        }
        // The hasher reads to the end once its queue closes.
        self.hash_queue = None;
        let hashing = self.hashing.take().ok_or(StorageError::Hashing)?;
        let sha256 = hashing.await.map_err(|_| StorageError::Hashing)?;
        if self.bytes > 0 {
            let parts = std::mem::take(&mut self.sent)
                .into_iter()
                .collect::<Option<Vec<_>>>()
                .ok_or(StorageError::Hashing)?;
            self.storage
                .store
                .complete_multipart(&self.path, &self.upload_id, parts)
                .await?;
        }
        self.done = true;
        StorageUploads::delete_by_id(self.row)
            .exec(&self.storage.db)
            .await?;
        Ok(Stored {
            sha256,
            bytes: self.bytes,
        })
    }

    /// Stops without any cleanup, as a replica killed mid-upload does: the
    /// multipart upload and its record stay for a later start's sweep.
    /// For tests of that sweep.
    pub fn abandon(mut self) {
        self.done = true;
        self.sending.abort_all();
    }

    /// Gives up: the upload is aborted now, and nothing becomes visible.
    pub async fn abort(mut self) {
        self.done = true;
        self.sending.abort_all();
        abort(&self.storage, &self.path, &self.upload_id, self.row).await;
    }
}

async fn abort(storage: &ObjectStorage, path: &Path, upload_id: &MultipartId, row: i64) {
    match storage.store.abort_multipart(path, upload_id).await {
        Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
        Err(error) => {
            // Its row stays: a later start's sweep tries again.
            tracing::warn!(%error, key = %path, "a cut upload was not aborted");
            return;
        }
    }
    if let Err(error) = StorageUploads::delete_by_id(row).exec(&storage.db).await {
        tracing::warn!(%error, key = %path, "an aborted upload's record stays");
    }
}

impl Drop for ObjectUpload {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        self.sending.abort_all();
        // Dropped mid-way (a client went away): abort in the background.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let storage = self.storage.clone();
            let (path, id, row) = (self.path.clone(), self.upload_id.clone(), self.row);
            runtime.spawn(async move { abort(&storage, &path, &id, row).await });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_grow_so_ten_thousand_hold_terabytes() {
        assert_eq!(part_size(0), 8 << 20);
        assert_eq!(part_size(999), 8 << 20);
        assert_eq!(part_size(1000), 16 << 20);
        assert_eq!(part_size(9999), 4 << 30);
        let total: u64 = (0..MAX_PARTS).map(|i| part_size(i) as u64).sum();
        // Almost 8 TiB, far above the 200 GiB upload cap.
        assert!(total > 7 << 40, "{total}");
        // Every part but the last must be at least 5 MiB; none over 5 GiB.
        assert!((0..MAX_PARTS).all(|i| (5 << 20..=5 << 30).contains(&part_size(i))));
    }
}

//! The object store itself: connecting with the `BTY_S3_*` settings, and
//! reading, listing and deleting objects under the configured prefix. Keys
//! given to it are relative to that prefix (`images/disk.img`).

use std::{ops::Range, sync::Arc, time::Duration};

use bytes::Bytes;
use futures::{stream::BoxStream, TryStreamExt};
use object_store::{
    aws::{AmazonS3, AmazonS3Builder},
    multipart::MultipartStore,
    path::Path,
    ClientOptions, GetOptions, GetRange, ObjectMeta, ObjectStore, ObjectStoreExt,
};
use sea_orm::{ColumnTrait, DatabaseConnection, DbErr, EntityTrait, ExprTrait, QueryFilter};

use super::upload::ObjectUpload;
use crate::{
    clock,
    db::entity::storage_upload::{self, Entity as StorageUploads},
    settings::S3Settings,
};

/// An upload row older than this is abandoned whoever wrote it: no upload
/// of an image runs for a day, and its replica may never start again
/// under its name to sweep its own.
const ABANDONED_AFTER: Duration = Duration::from_secs(24 * 60 * 60);

/// How long connecting to the store may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// What can go wrong with the object store.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("object store: {0}")]
    Store(#[from] object_store::Error),
    #[error("object store: the record of an upload: {0}")]
    Database(#[from] DbErr),
    #[error("object store: an upload of more than {0} parts")]
    TooManyParts(usize),
    #[error("object store: hashing the upload stopped")]
    Hashing,
}

/// The bucket and prefix image bytes live under; cheap to clone.
#[derive(Clone, Debug)]
pub struct ObjectStorage {
    pub(super) store: Arc<AmazonS3>,
    prefix: Option<Path>,
    pub(super) db: DatabaseConnection,
    pub(super) node: Arc<str>,
}

impl ObjectStorage {
    /// The store `settings` describe, for the replica `node`, recording its
    /// uploads in `db`. Nothing is sent yet.
    pub fn connect(
        settings: &S3Settings,
        db: DatabaseConnection,
        node: &str,
    ) -> Result<Self, StorageError> {
        let mut builder = AmazonS3Builder::new()
            .with_bucket_name(&settings.bucket)
            .with_region(&settings.region)
            // Garage and most S3-compatible stores name the bucket in the path.
            .with_virtual_hosted_style_request(false)
            // The bytes are hashed once, for their digest: signing each
            // part's SHA-256 as well would hash them twice (what curl and
            // the AWS CLI do too; TLS guards the bytes on the wire).
            .with_unsigned_payload(true)
            // A read of an image streams for as long as its client reads:
            // no limit on a whole request, only on connecting.
            .with_client_options(
                ClientOptions::new()
                    .with_timeout_disabled()
                    .with_connect_timeout(CONNECT_TIMEOUT),
            );
        if let Some(endpoint) = &settings.endpoint {
            builder = builder
                .with_endpoint(endpoint)
                .with_allow_http(endpoint.starts_with("http://"));
        }
        if let Some(id) = &settings.access_key_id {
            builder = builder.with_access_key_id(id);
        }
        if let Some(secret) = &settings.secret_access_key {
            builder = builder.with_secret_access_key(secret);
        }
        let prefix = (!settings.prefix.is_empty()).then(|| Path::from(settings.prefix.as_str()));
        Ok(ObjectStorage {
            store: Arc::new(builder.build()?),
            prefix,
            db,
            node: node.into(),
        })
    }

    /// The full path of `key` in the bucket.
    pub fn path(&self, key: &str) -> Path {
        match &self.prefix {
            Some(prefix) => Path::from_iter(prefix.parts().chain(Path::from(key).parts())),
            None => Path::from(key),
        }
    }

    /// The object `key`, or `None` when there is none.
    pub async fn head(&self, key: &str) -> Result<Option<ObjectMeta>, StorageError> {
        match self.store.head(&self.path(key)).await {
            Ok(meta) => Ok(Some(meta)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(error) => Err(error.into()),
        }
    }

    /// The bytes of `key` (those of `range`, if given) as they arrive.
    pub async fn read(
        &self,
        key: &str,
        range: Option<Range<u64>>,
    ) -> Result<BoxStream<'static, Result<Bytes, object_store::Error>>, StorageError> {
        let options = GetOptions {
            range: range.map(GetRange::Bounded),
            ..GetOptions::default()
        };
        let found = self.store.get_opts(&self.path(key), options).await?;
        Ok(found.into_stream())
    }

    /// Every object under `under` (a key prefix ending in `/`, or `""` for
    /// all), with keys relative to the configured prefix.
    pub async fn list(&self, under: &str) -> Result<Vec<(String, ObjectMeta)>, StorageError> {
        let root = self.path("");
        let listed: Vec<ObjectMeta> = self
            .store
            .list(Some(&self.path(under)))
            .try_collect()
            .await?;
        Ok(listed
            .into_iter()
            .filter_map(|meta| {
                let key: Vec<_> = meta.location.prefix_match(&root)?.collect();
                let key = key
                    .iter()
                    .map(|part| part.as_ref())
                    .collect::<Vec<_>>()
                    .join("/");
                Some((key, meta))
            })
            .collect())
    }

    /// Removes the object `key`; removing none is no error.
    pub async fn delete(&self, key: &str) -> Result<(), StorageError> {
        match self.store.delete(&self.path(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(error) => Err(error.into()),
        }
    }

    /// Starts writing the object `key`: invisible until
    /// [`ObjectUpload::finish`], aborted if dropped before.
    pub async fn start_upload(&self, key: &str) -> Result<ObjectUpload, StorageError> {
        ObjectUpload::start(self, self.path(key)).await
    }

    /// At start-up: aborts the multipart uploads this replica left (it died
    /// and starts again under its name) and any left for a day by a
    /// replica that never came back, so no orphaned parts stay in the
    /// bucket. Returns how many were aborted.
    pub async fn sweep_abandoned_uploads(&self) -> Result<u64, StorageError> {
        let stale = clock::now_epoch() - ABANDONED_AFTER.as_secs_f64();
        let abandoned = StorageUploads::find()
            .filter(
                storage_upload::Column::Node
                    .eq(&*self.node)
                    .or(storage_upload::Column::StartedAt.lt(stale)),
            )
            .all(&self.db)
            .await?;
        let mut aborted = 0;
        for row in abandoned {
            let path = Path::from(row.object_key.as_str());
            match self.store.abort_multipart(&path, &row.upload_id).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(error) => {
                    tracing::warn!(%error, key = row.object_key, "an abandoned upload was not aborted");
                    continue;
                }
            }
            StorageUploads::delete_by_id(row.id).exec(&self.db).await?;
            aborted += 1;
        }
        Ok(aborted)
    }

    /// The uploads under way (or abandoned) whose records are in the
    /// database: the key and the store's upload id of each.
    pub async fn uploads_recorded(&self) -> Result<Vec<(String, String)>, StorageError> {
        let rows = StorageUploads::find().all(&self.db).await?;
        Ok(rows
            .into_iter()
            .map(|row| (row.object_key, row.upload_id))
            .collect())
    }

    /// True while the store still holds the multipart upload `upload_id`
    /// of `key` (a full key, as [`ObjectStorage::uploads_recorded`] gives):
    /// it takes one more part. Aborted or completed, it takes none. For
    /// tests and diagnostics; the part written is never part of an object.
    pub async fn upload_is_open(&self, key: &str, upload_id: &str) -> bool {
        let path = Path::from(key);
        let probe = object_store::PutPayload::from(Bytes::from_static(b"probe"));
        // The highest part number S3 allows: never one a real upload wrote.
        let last_part = 9_999;
        self.store
            .put_part(&path, &upload_id.to_owned(), last_part, probe)
            .await
            .is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn storage(prefix: &str) -> ObjectStorage {
        let settings = S3Settings {
            bucket: "bty-images".into(),
            prefix: prefix.into(),
            endpoint: Some("http://127.0.0.1:9".into()),
            region: "garage".into(),
            access_key_id: Some("GKtest".into()),
            secret_access_key: Some("secret".into()),
        };
        let db = sea_orm::DatabaseConnection::default();
        ObjectStorage::connect(&settings, db, "node-1").expect("a store")
    }

    #[test]
    fn keys_sit_under_the_configured_prefix() {
        assert_eq!(
            storage("lab/a").path("images/disk.img").as_ref(),
            "lab/a/images/disk.img"
        );
        assert_eq!(
            storage("").path("images/disk.img").as_ref(),
            "images/disk.img"
        );
        assert_eq!(storage("lab").path("").as_ref(), "lab");
    }
}

//! The job runner: worker tasks claim queued downloads and run them; a
//! stream-through reader may run one itself. Every run ends in one
//! terminal state with its audit event, except at shutdown, which leaves
//! the row `running` and its partial file for the next start to resume.

use std::path::PathBuf;

use app::model::JobKind;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::{
    complete::Done,
    events::{self, Subject},
    fill::{Fill, Finished},
    job_subject,
    progress::Progress,
    remove_partial,
    source::{self, Resolved},
    transfer::{self, Fetched, Stopped},
    DownloadWorkers,
};
use crate::{
    audit::Actor,
    catalog::cache_marks::UpstreamMarks,
    db::entity::job::{self, DownloadMode},
    quota::NoRoom,
    workers::jobs::{self, Outcome},
};

impl DownloadWorkers {
    pub(super) async fn work(self) {
        while let Some(job) = self.inner.pool.next(&self.core, &[JobKind::Download]).await {
            self.run(job).await;
        }
    }

    pub(super) async fn run(&self, job: job::Model) {
        let core = &self.core;
        let token = self.inner.pool.started(core, job.id);
        let subject = job_subject(&job);
        let fill = self.inner.fills.sender(&subject.src);
        events::started(core, &subject).await;
        let result = self.download(&job, &token, &subject, fill).await;
        let ended = match &result {
            Ok(_) => Finished::Completed,
            Err(Stopped::Cancelled) => Finished::Failed("the download was cancelled".into()),
            Err(Stopped::Failed(error)) => Finished::Failed(error.clone()),
        };
        let stopped = self.inner.pool.ended(job.id);
        if core.shutdown.is_cancelled() || stopped.lease_lost {
            // Left `running` with its partial file: the next start (or the
            // replica that took it over) resumes it.
            let why = if stopped.lease_lost {
                "another replica took the download over"
            } else {
                "the server is stopping"
            };
            self.inner
                .fills
                .end(&subject.src, Finished::Failed(why.into()));
            return;
        }
        let cancelled_by = stopped.cancelled_by;
        let update = job.mode == DownloadMode::Update;
        let outcome = match &result {
            Ok(done) => Outcome::Completed {
                sha256: done.sha256.clone(),
                bytes: done.bytes,
            },
            Err(Stopped::Cancelled) => Outcome::Cancelled(None),
            Err(Stopped::Failed(error)) => Outcome::Failed(error.clone()),
        };
        // A failed transfer keeps its bytes for the next try (a Retry
        // resumes them with the same validator); a cancel drops them, and a
        // file that failed verification is gone already.
        if matches!(result, Err(Stopped::Cancelled)) {
            remove_partial(&job).await;
        }
        match jobs::finish_claimed(&core.db, &core.node, job.id, &outcome).await {
            Ok(Some(row)) => core.live.relay_job(&jobs::to_wire(&row)),
            Ok(None) => {
                // Taken over meanwhile: the replica running it now ends it.
                let why = "another replica took the download over";
                self.inner
                    .fills
                    .end(&subject.src, Finished::Failed(why.into()));
                return;
            }
            Err(error) => {
                tracing::error!(%error, job = job.id, "download outcome not recorded");
            }
        }
        // After the row: a reader that joins now sees the job ended.
        self.inner.fills.end(&subject.src, ended);
        match result {
            Ok(Done {
                sha256,
                unchanged: Some(how),
                ..
            }) => events::unchanged(core, &subject, &sha256, how).await,
            Ok(done) => {
                let previous = update.then_some(done.previous.as_deref());
                events::completed(core, &subject, &done.sha256, done.bytes, previous).await;
                if let (true, Some(old)) = (update, &done.previous) {
                    if *old != done.sha256 {
                        if let Err(error) = self.drop_replaced(old).await {
                            tracing::warn!(%error, "replaced content not removed");
                        }
                    }
                }
                self.cache.changed().await;
            }
            Err(Stopped::Cancelled) => {
                let by = cancelled_by.unwrap_or_else(Actor::system);
                events::cancelled(core, &by, &subject).await;
            }
            Err(Stopped::Failed(error)) => events::failed(core, &subject, &error).await,
        }
    }

    /// Fetches the job's entry unless its bytes are already cached.
    async fn download(
        &self,
        job: &job::Model,
        token: &CancellationToken,
        subject: &Subject,
        fill: watch::Sender<Fill>,
    ) -> Result<Done, Stopped> {
        let src = job.src.clone().unwrap_or_default();
        let entry = self
            .catalog
            .entry_by_src(&src)
            .await
            .map_err(|error| Stopped::Failed(error.to_string()))?
            .ok_or_else(|| Stopped::Failed(format!("catalog entry {src} vanished")))?;
        let update = job.mode == DownloadMode::Update;
        let cached = |sha: &str| self.cache.holds(sha);
        let already = |sha: &String, unchanged: Option<&'static str>| Done {
            sha256: sha.clone(),
            bytes: self.cache.size_of(sha),
            previous: Some(sha.clone()),
            unchanged,
        };
        // The bytes the entry has in the cache now (an update keeps them
        // until the new ones are verified).
        let held = entry.disk_image_sha.clone().filter(|sha| cached(sha));
        if let Some(sha) = held.as_ref().filter(|_| !update) {
            return Ok(already(sha, None));
        }
        // An update asks with what the last download was told.
        let unless = held
            .as_ref()
            .map(|_| UpstreamMarks::of(&entry))
            .filter(|marks| !marks.is_empty());
        let target = match source::resolve(&self.core, &entry, unless)
            .await
            .map_err(Stopped::Failed)?
        {
            Resolved::Fetch(target) => target,
            Resolved::Unchanged(how) => match &held {
                Some(sha) => return Ok(already(sha, Some(how))),
                None => return Err(Stopped::Failed("nothing cached to keep".into())),
            },
        };
        // A rolling tag that still names the cached content needs no transfer.
        if let (Some(expected), Some(old)) = (&target.expected, &held) {
            if expected == old {
                return Ok(already(old, Some("layer digest")));
            }
        }
        let partial = job
            .path
            .as_ref()
            .map(PathBuf::from)
            .unwrap_or_else(|| self.cache.partial_path(&entry.bty_image_ref));
        // Room before the first byte, and as it grows. The size known
        // beforehand is the registry's, else the catalog's or the add's
        // HEAD (an upstream that changed since is corrected by its answer).
        let room = self
            .quota
            .reservation(job.id, partial.clone(), &entry.name, held.clone());
        let known = target
            .size
            .or_else(|| entry.size_bytes.and_then(|size| u64::try_from(size).ok()));
        room.begin(known.unwrap_or(0))
            .await
            .map_err(|NoRoom(why)| Stopped::Failed(why))?;
        let progress = Progress::new(&self.core, job.id, job.validator.clone(), fill);
        let fetched =
            transfer::fetch(&self.core, &target, &partial, &progress, &room, token).await?;
        let (staged, marks) = match fetched {
            Fetched::Staged(staged, marks) => (staged, marks),
            Fetched::NotModified => match &held {
                Some(sha) => return Ok(already(sha, Some("not modified"))),
                None => return Err(Stopped::Failed("HTTP 304 with nothing cached".into())),
            },
        };
        self.commit(&entry, &target, staged, marks, subject)
            .await
            .map_err(Stopped::Failed)
    }
}

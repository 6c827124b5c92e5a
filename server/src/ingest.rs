//! Bytes arriving over the network (uploads and downloads) go to a
//! temporary file beside their destination while SHA-256 is computed on the
//! way, on threads of their own: one writes, one hashes, one flushes to disk
//! behind them. The result is synced and renamed into place only when
//! complete, so no reader ever sees a partial file. An upload writes a
//! unique temporary file that goes away if it stops early; a download
//! continues a partial file of its own that is kept, so it can resume.
//!
//! Memory stays flat, whatever the file size and however fast the network:
//! each ingest copies the network's chunks into a few blocks of its own
//! ([`BLOCKS`] of [`BLOCK`] bytes), which go round between it, the writer
//! and the hasher. A network chunk is dropped as soon as it is copied, so
//! the HTTP connection reuses its one read buffer instead of allocating a
//! new one for every chunk a queue would hold.

use std::{
    fs::File,
    io::{self, Write},
    path::{Path, PathBuf},
    sync::{mpsc as std_mpsc, Arc, Condvar, Mutex},
};

use sha2::{Digest, Sha256};
use tokio::{sync::mpsc, task::JoinHandle};

use crate::atomic_file;

/// Bytes per block: large enough that handing a block to the writer and
/// the hasher costs little next to writing and hashing it.
const BLOCK: usize = 256 * 1024;
/// Blocks per ingest: one filling, the others being written and hashed.
const BLOCKS: usize = 2;
/// Dirty bytes the flusher lets pile up before it starts writing them back,
/// so the final sync has little left to do.
const FLUSH_EVERY: u64 = 64 * 1024 * 1024;

/// A block shared by the writer and the hasher; whichever is done with it
/// last gives it back to the ingest.
type Block = Arc<Vec<u8>>;

enum Message {
    Block(Block),
    End,
}

/// A file being received. Dropped before [`Ingest::finish`], its channel
/// closes without an end marker, and the writer removes the temporary file.
pub struct Ingest {
    sender: mpsc::Sender<Message>,
    worker: Option<JoinHandle<io::Result<Staged>>>,
    /// Blocks the writer and the hasher are done with.
    returned: mpsc::UnboundedReceiver<Vec<u8>>,
    /// The block being filled.
    filling: Option<Vec<u8>>,
    /// Blocks allocated so far (at most [`BLOCKS`]).
    made: usize,
    bytes: u64,
}

/// A complete, synced file under its temporary name. Dropped before
/// [`Staged::commit`], it removes itself.
#[derive(Debug)]
pub struct Staged {
    temp: Option<PathBuf>,
    pub sha256: String,
    pub bytes: u64,
}

impl Ingest {
    /// Creates a unique temporary file for `destination` and starts the
    /// threads. Stopped early, the file is removed.
    pub async fn start(destination: &Path) -> io::Result<Ingest> {
        let temp = atomic_file::temp_path_for(destination);
        let file = {
            let temp = temp.clone();
            tokio::task::spawn_blocking(move || File::create_new(temp))
                .await
                .map_err(io::Error::other)??
        };
        Ok(Self::spawn(file, temp, Sha256::new(), 0, false))
    }

    /// Continues the partial file at `partial` (creating it if need be):
    /// the bytes already there are hashed first, new ones are appended.
    /// Stopped early, the file is kept for a later resume.
    pub async fn resume(partial: &Path) -> io::Result<Ingest> {
        let path = partial.to_owned();
        let (file, hasher, bytes) =
            tokio::task::spawn_blocking(move || -> io::Result<(File, Sha256, u64)> {
                let mut file = std::fs::OpenOptions::new()
                    .read(true)
                    .write(true)
                    .create(true)
                    .truncate(false)
                    .open(&path)?;
                let mut hasher = Sha256::new();
                let bytes = io::copy(&mut file, &mut hasher)?;
                io::Seek::seek(&mut file, io::SeekFrom::Start(bytes))?;
                Ok((file, hasher, bytes))
            })
            .await
            .map_err(io::Error::other)??;
        Ok(Self::spawn(file, partial.to_owned(), hasher, bytes, true))
    }

    fn spawn(file: File, temp: PathBuf, hasher: Sha256, bytes: u64, keep: bool) -> Ingest {
        let (sender, receiver) = mpsc::channel(BLOCKS);
        let (give_back, returned) = mpsc::unbounded_channel();
        let worker = tokio::task::spawn_blocking(move || {
            let result = receive(file, &temp, receiver, &give_back, hasher, bytes);
            if result.is_err() && !keep {
                let _ = std::fs::remove_file(&temp);
            }
            result
        });
        Ingest {
            sender,
            worker: Some(worker),
            returned,
            filling: None,
            made: 0,
            bytes,
        }
    }

    /// Copies `chunk` into the ingest's blocks and hands each full block to
    /// the writer; waits while every block is in use. A block that is not
    /// full goes as well when the writer has caught up (a spare block is
    /// there), so a slow transfer reaches the file chunk by chunk while a
    /// fast one is written in whole blocks.
    pub async fn write(&mut self, chunk: impl AsRef<[u8]>) -> io::Result<()> {
        let mut rest = chunk.as_ref();
        self.bytes += rest.len() as u64;
        while !rest.is_empty() {
            let mut block = match self.filling.take() {
                Some(block) => block,
                None => self.next_block().await?,
            };
            let take = rest.len().min(BLOCK - block.len());
            block.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            if block.len() == BLOCK {
                self.send(block).await?;
            } else {
                self.filling = Some(block);
            }
        }
        if self.filling.as_ref().is_some_and(|block| !block.is_empty()) {
            if let Some(spare) = self.spare_block() {
                if let Some(block) = self.filling.replace(spare) {
                    self.send(block).await?;
                }
            }
        }
        Ok(())
    }

    /// A block to fill, without waiting: one given back, or a new one
    /// while fewer than [`BLOCKS`] exist.
    fn spare_block(&mut self) -> Option<Vec<u8>> {
        if let Ok(mut block) = self.returned.try_recv() {
            block.clear();
            return Some(block);
        }
        (self.made < BLOCKS).then(|| {
            self.made += 1;
            Vec::with_capacity(BLOCK)
        })
    }

    /// A block to fill, waiting for one to come back if need be.
    async fn next_block(&mut self) -> io::Result<Vec<u8>> {
        if let Some(block) = self.spare_block() {
            return Ok(block);
        }
        match self.returned.recv().await {
            Some(mut block) => {
                block.clear();
                Ok(block)
            }
            // The writer stopped: its error is what `finish` reports.
            None => Err(self.fail().await),
        }
    }

    async fn send(&mut self, block: Vec<u8>) -> io::Result<()> {
        let message = Message::Block(Arc::new(block));
        if self.sender.send(message).await.is_err() {
            // The writer stopped: its error is what `finish` reports.
            return Err(self.fail().await);
        }
        Ok(())
    }

    /// Bytes received so far (for a resumed file, those it had included).
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Gives up: waits until the writer has stopped (and removed the
    /// temporary file, unless it is a partial kept for a resume), so
    /// nothing is left half-done when the caller answers.
    pub async fn abort(self) {
        let Ingest { sender, worker, .. } = self;
        drop(sender);
        if let Some(worker) = worker {
            let _ = worker.await;
        }
    }

    /// Waits until every byte is written, hashed and synced.
    pub async fn finish(mut self) -> io::Result<Staged> {
        if let Some(block) = self.filling.take().filter(|block| !block.is_empty()) {
            self.send(block).await?;
        }
        if self.sender.send(Message::End).await.is_err() {
            return Err(self.fail().await);
        }
        self.join().await
    }

    async fn fail(&mut self) -> io::Error {
        match self.join().await {
            Err(error) => error,
            Ok(_) => io::Error::other("the writer stopped early"),
        }
    }

    async fn join(&mut self) -> io::Result<Staged> {
        match self.worker.take() {
            Some(worker) => worker.await.map_err(io::Error::other)?,
            None => Err(io::Error::other("already finished")),
        }
    }
}

impl Staged {
    /// Renames the file into place and syncs the directory, so the name
    /// survives a crash too.
    pub fn commit(mut self, destination: &Path) -> io::Result<()> {
        let Some(temp) = self.temp.take() else {
            return Err(io::Error::other("already committed"));
        };
        if let Err(error) = std::fs::rename(&temp, destination) {
            let _ = std::fs::remove_file(&temp);
            return Err(error);
        }
        if let Some(dir) = destination.parent() {
            File::open(dir)?.sync_all()?;
        }
        Ok(())
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if let Some(temp) = self.temp.take() {
            let _ = std::fs::remove_file(temp);
        }
    }
}

/// The writer thread: writes each chunk, hands it to the hasher thread, and
/// lets the flusher thread write back to disk behind it.
fn receive(
    file: File,
    temp: &Path,
    mut receiver: mpsc::Receiver<Message>,
    give_back: &mpsc::UnboundedSender<Vec<u8>>,
    hasher: Sha256,
    already: u64,
) -> io::Result<Staged> {
    let flusher_file = file.try_clone()?;
    let written = Arc::new((Mutex::new(Progress::default()), Condvar::new()));
    std::thread::scope(|scope| {
        let (to_hasher, hasher_inbox) = std_mpsc::sync_channel::<Block>(BLOCKS);
        let hasher = scope.spawn(move || {
            let mut hasher = hasher;
            for block in hasher_inbox {
                hasher.update(&*block);
                give_back_last(block, give_back);
            }
            format!("{:x}", hasher.finalize())
        });
        let flusher = {
            let written = written.clone();
            scope.spawn(move || flush_behind(&flusher_file, &written))
        };
        let result = write_all(
            file,
            already,
            &mut receiver,
            &to_hasher,
            give_back,
            &written,
        );
        drop(to_hasher);
        finish_flusher(&written);
        let sha256 = hasher
            .join()
            .map_err(|_| io::Error::other("hasher thread panicked"))?;
        let flushed = flusher
            .join()
            .map_err(|_| io::Error::other("flusher thread panicked"))?;
        let (mut file, bytes) = result?;
        flushed?;
        file.flush()?;
        file.sync_data()?;
        Ok(Staged {
            temp: Some(temp.to_owned()),
            sha256,
            bytes,
        })
    })
}

#[derive(Default)]
struct Progress {
    written: u64,
    done: bool,
}

fn write_all(
    mut file: File,
    already: u64,
    receiver: &mut mpsc::Receiver<Message>,
    to_hasher: &std_mpsc::SyncSender<Block>,
    give_back: &mpsc::UnboundedSender<Vec<u8>>,
    written: &Arc<(Mutex<Progress>, Condvar)>,
) -> io::Result<(File, u64)> {
    let mut total = already;
    loop {
        match receiver.blocking_recv() {
            Some(Message::Block(block)) => {
                // The hasher works on the block while it is written.
                let _ = to_hasher.send(block.clone());
                file.write_all(&block)?;
                total += block.len() as u64;
                give_back_last(block, give_back);
                let (lock, wake) = &**written;
                if let Ok(mut progress) = lock.lock() {
                    progress.written = total;
                }
                wake.notify_one();
            }
            Some(Message::End) => return Ok((file, total)),
            None => {
                return Err(io::Error::new(
                    io::ErrorKind::ConnectionAborted,
                    "the transfer was aborted",
                ))
            }
        }
    }
}

/// Gives `block` back to its ingest if nobody else holds it any more.
fn give_back_last(block: Block, give_back: &mpsc::UnboundedSender<Vec<u8>>) {
    if let Some(block) = Arc::into_inner(block) {
        // The ingest may be gone already; then the block just goes.
        let _ = give_back.send(block);
    }
}

/// Syncs the file every [`FLUSH_EVERY`] bytes while it is being written,
/// so the disk works in parallel with the network and the hash.
fn flush_behind(file: &File, written: &Arc<(Mutex<Progress>, Condvar)>) -> io::Result<()> {
    let (lock, wake) = &**written;
    let mut flushed = 0u64;
    loop {
        let target = {
            let mut progress = lock.lock().map_err(|_| io::Error::other("lock poisoned"))?;
            while !progress.done && progress.written < flushed + FLUSH_EVERY {
                progress = wake
                    .wait(progress)
                    .map_err(|_| io::Error::other("lock poisoned"))?;
            }
            if progress.done {
                return Ok(());
            }
            progress.written
        };
        file.sync_data()?;
        flushed = target;
    }
}

fn finish_flusher(written: &Arc<(Mutex<Progress>, Condvar)>) {
    let (lock, wake) = &**written;
    if let Ok(mut progress) = lock.lock() {
        progress.done = true;
    }
    wake.notify_all();
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;

    fn sha(bytes: &[u8]) -> String {
        format!("{:x}", Sha256::digest(bytes))
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[tokio::test]
    async fn a_finished_ingest_commits_exactly_the_bytes_with_their_sha() {
        let dir = tempfile::tempdir().unwrap();
        let destination = dir.path().join("disk.img");
        let mut ingest = Ingest::start(&destination).await.unwrap();
        let mut all = Vec::new();
        for i in 0..100u8 {
            let chunk = vec![i; 70_000];
            all.extend_from_slice(&chunk);
            ingest.write(Bytes::from(chunk)).await.unwrap();
        }
        assert_eq!(ingest.bytes(), all.len() as u64);
        let staged = ingest.finish().await.unwrap();
        assert_eq!(staged.sha256, sha(&all));
        assert!(!destination.exists(), "invisible until committed");
        staged.commit(&destination).unwrap();
        assert_eq!(std::fs::read(&destination).unwrap(), all);
        assert_eq!(names(dir.path()), ["disk.img"]);
    }

    #[tokio::test]
    async fn chunks_of_any_size_go_through_at_most_the_fixed_blocks() {
        let dir = tempfile::tempdir().unwrap();
        let destination = dir.path().join("big.img");
        let mut ingest = Ingest::start(&destination).await.unwrap();
        let mut all = Vec::new();
        // One chunk larger than every block together, then odd sizes that
        // straddle block boundaries.
        for (i, size) in [BLOCK * BLOCKS * 3 + 17, 1, BLOCK - 1, 70_000, BLOCK + 2]
            .into_iter()
            .enumerate()
        {
            let chunk: Vec<u8> = (0..size).map(|n| (n * 7 + i) as u8).collect();
            all.extend_from_slice(&chunk);
            ingest.write(Bytes::from(chunk)).await.unwrap();
            assert!(ingest.made <= BLOCKS, "{} blocks made", ingest.made);
        }
        let staged = ingest.finish().await.unwrap();
        assert_eq!(
            (staged.bytes, staged.sha256.clone()),
            (all.len() as u64, sha(&all))
        );
        staged.commit(&destination).unwrap();
        assert_eq!(std::fs::read(&destination).unwrap(), all);
    }

    #[tokio::test]
    async fn a_small_chunk_reaches_the_file_before_the_end_when_the_writer_is_idle() {
        // A stream-through reader tails the partial file of a slow download.
        let dir = tempfile::tempdir().unwrap();
        let partial = dir.path().join(".slow.bty-partial");
        let mut ingest = Ingest::resume(&partial).await.unwrap();
        ingest
            .write(Bytes::from_static(b"first bytes"))
            .await
            .unwrap();
        for _ in 0..100 {
            if std::fs::metadata(&partial).unwrap().len() == 11 {
                ingest.abort().await;
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        panic!("the chunk did not reach the file");
    }

    #[tokio::test]
    async fn an_abandoned_ingest_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let mut ingest = Ingest::start(&dir.path().join("x.img")).await.unwrap();
        ingest.write(Bytes::from_static(b"partial")).await.unwrap();
        drop(ingest);
        for _ in 0..50 {
            if names(dir.path()).is_empty() {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        panic!("temporary file left: {:?}", names(dir.path()));
    }

    #[tokio::test]
    async fn a_staged_file_that_is_not_committed_is_removed() {
        let dir = tempfile::tempdir().unwrap();
        let mut ingest = Ingest::start(&dir.path().join("y.img")).await.unwrap();
        ingest.write(Bytes::from_static(b"bytes")).await.unwrap();
        let staged = ingest.finish().await.unwrap();
        drop(staged);
        assert!(names(dir.path()).is_empty());
    }

    #[tokio::test]
    async fn a_resumed_partial_is_kept_when_cut_and_hashed_whole_when_done() {
        let dir = tempfile::tempdir().unwrap();
        let partial = dir.path().join(".x.bty-partial");
        let mut first = Ingest::resume(&partial).await.unwrap();
        first.write(Bytes::from_static(b"hello ")).await.unwrap();
        first.abort().await;
        assert_eq!(
            std::fs::read(&partial).unwrap(),
            b"hello ",
            "kept after a cut"
        );
        let mut second = Ingest::resume(&partial).await.unwrap();
        assert_eq!(second.bytes(), 6);
        second.write(Bytes::from_static(b"world")).await.unwrap();
        let staged = second.finish().await.unwrap();
        assert_eq!(
            (staged.bytes, staged.sha256.as_str()),
            (11, sha(b"hello world").as_str())
        );
        let destination = dir.path().join("final");
        staged.commit(&destination).unwrap();
        assert_eq!(std::fs::read(&destination).unwrap(), b"hello world");
        assert_eq!(names(dir.path()), ["final"]);
    }

    #[tokio::test]
    async fn an_empty_file_has_the_empty_digest() {
        let dir = tempfile::tempdir().unwrap();
        let destination = dir.path().join("empty.img");
        let staged = Ingest::start(&destination)
            .await
            .unwrap()
            .finish()
            .await
            .unwrap();
        assert_eq!(staged.bytes, 0);
        assert_eq!(staged.sha256, sha(b""));
        staged.commit(&destination).unwrap();
        assert_eq!(std::fs::metadata(&destination).unwrap().len(), 0);
    }
}

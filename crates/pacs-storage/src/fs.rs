//! Filesystem "physical media": a directory per medium, written once, atomically.
//!
//! A write goes to a temporary file in `<root>/.staging` (`staging.rs`).
//! `commit` makes the staged bytes durable (one `fdatasync` per file, or one
//! `syncfs` for a batch of files), links each file under its final key without
//! replacing anything, and fsyncs the directories that gained entries: only
//! then does the caller record the keys in the database, so a crash never
//! leaves a row without its file, and a file under a final key always has its
//! full content. File work runs on tokio's blocking pool.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use pacs_domain::model::{MediumKind, MediumName};
use pacs_domain::ports::{
    BlobRead, BlobStore, BoxFuture, ByteRange, ByteStream, CommittedBlob, IncomingBytes,
    LocalBoxFuture, ObjectName, StagedBlob, StorageError,
};

use crate::keys::{check_key, key_for};
use crate::reading::{FsReader, range_stream};
use crate::slices::Slices;
use crate::staging::{self, FsStaged};

const STAGING: &str = ".staging";

/// A directory on a local filesystem used as a storage medium.
#[derive(Debug)]
pub struct FsMedium {
    name: MediumName,
    root: PathBuf,
    fsync: bool,
    /// Read buffers shared by every read of the medium.
    slices: Slices,
}

impl FsMedium {
    /// Opens (creating when missing) the medium rooted at `root`. `fsync` false is
    /// for throwaway test archives only.
    pub fn open(
        name: MediumName,
        root: impl Into<PathBuf>,
        fsync: bool,
    ) -> Result<Self, StorageError> {
        let root = root.into();
        fs::create_dir_all(root.join(STAGING)).map_err(|e| StorageError::Unavailable {
            medium: format!("{name} ({})", root.display()),
            cause: e.into(),
        })?;
        Ok(Self {
            name,
            root,
            fsync,
            slices: Slices::new(),
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn path_of(&self, key: &str) -> Result<PathBuf, StorageError> {
        check_key(key)?;
        Ok(self.root.join(key))
    }

    /// What the blocking commit needs, to move to a blocking thread.
    fn dir(&self) -> Durable {
        Durable {
            root: self.root.clone(),
            fsync: self.fsync,
        }
    }
}

/// A staged object of this kind of medium (commit and place take only those).
fn fs_staged(blob: Box<dyn StagedBlob>) -> Result<FsStaged, StorageError> {
    blob.into_any()
        .downcast::<FsStaged>()
        .map(|b| *b)
        .map_err(|_| StorageError::Io(io::Error::other("object staged by another medium")))
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Creates `dir` and its missing parents, fsyncing each parent that gained an entry.
fn create_dirs_durably(root: &Path, dir: &Path, fsync: bool) -> io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut missing = Vec::new();
    let mut cur = dir;
    while !cur.is_dir() {
        missing.push(cur.to_path_buf());
        match cur.parent() {
            Some(p) if p.starts_with(root) => cur = p,
            _ => break,
        }
    }
    for d in missing.iter().rev() {
        match fs::create_dir(d) {
            Ok(()) => {
                if let Some(parent) = d.parent().filter(|_| fsync) {
                    sync_dir(parent)?;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// From this many files on, one `syncfs` replaces a `fdatasync` per file (one
/// device flush instead of many).
const SYNCFS_FROM: usize = 4;

/// The medium's root, for the blocking steps of a commit.
struct Durable {
    root: PathBuf,
    fsync: bool,
}

impl Durable {
    fn sync_data(&self, staged: &[(FsStaged, ObjectName)]) -> io::Result<()> {
        if staged.len() >= SYNCFS_FROM {
            let root = File::open(&self.root)?;
            rustix::fs::syncfs(&root).map_err(io::Error::from)
        } else {
            staged
                .iter()
                .try_for_each(|(b, _)| b.file.as_file().sync_data())
        }
    }

    fn unlink_created(&self, committed: &[CommittedBlob]) {
        for c in committed.iter().filter(|c| c.created) {
            let _ = fs::remove_file(self.root.join(&c.key));
        }
    }

    fn commit(
        &self,
        items: Vec<(Box<dyn StagedBlob>, ObjectName)>,
    ) -> Result<Vec<CommittedBlob>, StorageError> {
        let staged: Vec<(FsStaged, ObjectName)> = items
            .into_iter()
            .map(|(blob, name)| Ok((fs_staged(blob)?, name)))
            .collect::<Result<_, StorageError>>()?;
        if staged.is_empty() {
            return Ok(Vec::new());
        }
        if self.fsync {
            self.sync_data(&staged)?;
        }
        let mut committed: Vec<CommittedBlob> = Vec::with_capacity(staged.len());
        let mut dirs: Vec<PathBuf> = Vec::new();
        for (blob, name) in staged {
            let placed = link(blob, &self.root, key_for(&name)).inspect(|c| {
                if c.created {
                    let dir = self.root.join(&c.key);
                    dirs.push(dir.parent().unwrap_or(&self.root).to_path_buf());
                }
            });
            match placed {
                Ok(c) => committed.push(c),
                Err(e) => {
                    self.unlink_created(&committed);
                    return Err(e);
                }
            }
        }
        if self.fsync {
            dirs.sort();
            dirs.dedup();
            if let Err(e) = dirs.iter().try_for_each(|d| sync_dir(d)) {
                self.unlink_created(&committed);
                return Err(e.into());
            }
        }
        Ok(committed)
    }

    fn place(&self, blob: Box<dyn StagedBlob>, key: String) -> Result<CommittedBlob, StorageError> {
        check_key(&key)?;
        let blob = fs_staged(blob)?;
        if self.fsync {
            blob.file.as_file().sync_data()?;
        }
        let placed = link(blob, &self.root, key)?;
        if self.fsync && placed.created {
            let path = self.root.join(&placed.key);
            if let Err(e) = sync_dir(path.parent().unwrap_or(&self.root)) {
                self.unlink_created(std::slice::from_ref(&placed));
                return Err(e.into());
            }
        }
        Ok(placed)
    }
}

/// Links a staged file under `key`, never replacing an existing one.
fn link(blob: FsStaged, root: &Path, key: String) -> Result<CommittedBlob, StorageError> {
    let target = root.join(&key);
    let dir = target.parent().expect("keys have a tenant component");
    create_dirs_durably(root, dir, blob.fsync)?;
    match blob.file.persist_noclobber(&target) {
        Ok(_) => Ok(CommittedBlob { key, created: true }),
        Err(e) if e.error.kind() == io::ErrorKind::AlreadyExists => Ok(CommittedBlob {
            key,
            created: false,
        }),
        Err(e) => Err(e.error.into()),
    }
}

impl BlobStore for FsMedium {
    fn name(&self) -> &MediumName {
        &self.name
    }

    fn kind(&self) -> MediumKind {
        MediumKind::Filesystem
    }

    fn stage<'a>(
        &'a self,
        bytes: IncomingBytes<'a>,
    ) -> LocalBoxFuture<'a, Result<Box<dyn StagedBlob>, StorageError>> {
        Box::pin(async move {
            let staged = staging::stage(self.root.join(STAGING), self.fsync, bytes).await?;
            Ok(Box::new(staged) as Box<dyn StagedBlob>)
        })
    }

    fn commit(
        &self,
        items: Vec<(Box<dyn StagedBlob>, ObjectName)>,
    ) -> BoxFuture<'_, Result<Vec<CommittedBlob>, StorageError>> {
        let dir = self.dir();
        Box::pin(blocking(move || dir.commit(items)))
    }

    fn place<'a>(
        &'a self,
        blob: Box<dyn StagedBlob>,
        key: &'a str,
    ) -> BoxFuture<'a, Result<CommittedBlob, StorageError>> {
        let (dir, key) = (self.dir(), key.to_owned());
        Box::pin(blocking(move || dir.place(blob, key)))
    }

    fn read<'a>(
        &'a self,
        key: &'a str,
        range: ByteRange,
    ) -> BoxFuture<'a, Result<ByteStream, StorageError>> {
        let path = self.path_of(key);
        let key = key.to_owned();
        let pool = self.slices.clone();
        Box::pin(async move {
            let path = path?;
            blocking(move || {
                let file = open_stored(&path, &key)?;
                let size = file.metadata()?.len();
                Ok(range_stream(file, range.start, range.within(size), pool)?)
            })
            .await
        })
    }

    fn len<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<u64, StorageError>> {
        let path = self.path_of(key);
        let key = key.to_owned();
        Box::pin(async move {
            let path = path?;
            blocking(move || match fs::metadata(&path) {
                Ok(m) => Ok(m.len()),
                Err(e) if e.kind() == io::ErrorKind::NotFound => Err(StorageError::NotFound(key)),
                Err(e) => Err(e.into()),
            })
            .await
        })
    }

    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), StorageError>> {
        let path = self.path_of(key);
        Box::pin(async move {
            let path = path?;
            blocking(move || match fs::remove_file(&path) {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(e.into()),
            })
            .await
        })
    }

    fn check(&self) -> BoxFuture<'_, Result<(), StorageError>> {
        let (name, staging) = (self.name.to_string(), self.root.join(STAGING));
        Box::pin(blocking(move || {
            let unavailable = |e: io::Error| StorageError::Unavailable {
                medium: name.clone(),
                cause: e.into(),
            };
            let mut probe = tempfile::Builder::new()
                .prefix("probe-")
                .tempfile_in(&staging)
                .map_err(unavailable)?;
            probe.write_all(b"ok").map_err(unavailable)?;
            Ok(())
        }))
    }

    fn blocking_reader(&self, key: &str) -> Result<Box<dyn BlobRead>, StorageError> {
        let file = open_stored(&self.path_of(key)?, key)?;
        Ok(Box::new(FsReader::new(file)?))
    }
}

/// Opens a stored file; a missing one is `NotFound`.
fn open_stored(path: &Path, key: &str) -> Result<File, StorageError> {
    match File::open(path) {
        Ok(file) => Ok(file),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Err(StorageError::NotFound(key.into())),
        Err(e) => Err(e.into()),
    }
}

/// Runs blocking file work on tokio's blocking pool.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StorageError> + Send + 'static,
) -> Result<T, StorageError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| StorageError::Io(io::Error::other(format!("storage task stopped: {e}"))))?
}

/// Removes staging files left by a crash (they were never acknowledged).
pub fn clean_staging(root: &Path) -> io::Result<usize> {
    let mut removed = 0;
    let staging = root.join(STAGING);
    if let Ok(entries) = fs::read_dir(&staging) {
        for entry in entries.flatten() {
            if fs::remove_file(entry.path()).is_ok() {
                removed += 1;
            }
        }
    }
    let _ = OpenOptions::new().read(true).open(&staging);
    Ok(removed)
}

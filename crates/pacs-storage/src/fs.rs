//! Filesystem "physical media": a directory per medium, written once, atomically.
//!
//! A write goes to a temporary file in `<root>/.staging`. `commit` makes the
//! staged bytes durable (one `fdatasync` per file, or one `syncfs` for a batch
//! of files), links each file under its final key without replacing anything,
//! and fsyncs the directories that gained entries: only then does the caller
//! record the keys in the database, so a crash never leaves a row without its
//! file, and a file under a final key always has its full content.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use pacs_domain::model::MediumName;
use pacs_domain::ports::{
    BlobRead, BlobStore, BlobWriter, CommittedBlob, ObjectName, StagedBlob, StorageError,
};
use sha1::{Digest, Sha1};

use crate::keys::{check_key, key_for};

const STAGING: &str = ".staging";

/// A directory on a local filesystem used as a storage medium.
#[derive(Debug)]
pub struct FsMedium {
    name: MediumName,
    root: PathBuf,
    fsync: bool,
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
            medium: name.to_string(),
            reason: format!("cannot create {}: {e}", root.display()),
        })?;
        Ok(Self { name, root, fsync })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn path_of(&self, key: &str) -> Result<PathBuf, StorageError> {
        check_key(key)?;
        Ok(self.root.join(key))
    }
}

/// A staged object of this kind of medium (commit and place take only those).
fn fs_staged(blob: Box<dyn StagedBlob>) -> Result<FsStaged, StorageError> {
    blob.into_any()
        .downcast::<FsStaged>()
        .map(|b| *b)
        .map_err(|_| StorageError::Io("object staged by another medium".into()))
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

impl FsMedium {
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
}

impl BlobStore for FsMedium {
    fn name(&self) -> &MediumName {
        &self.name
    }

    fn begin(&self) -> Result<Box<dyn BlobWriter>, StorageError> {
        let file = tempfile::Builder::new()
            .prefix("in-")
            .tempfile_in(self.root.join(STAGING))?;
        Ok(Box::new(FsWriter {
            file,
            hasher: Sha1::new(),
            written: 0,
            copy: Some(Vec::new()),
            fsync: self.fsync,
        }))
    }

    fn open(&self, key: &str) -> Result<Box<dyn BlobRead>, StorageError> {
        let path = self.path_of(key)?;
        match File::open(&path) {
            Ok(file) => Ok(Box::new(FsReader::new(file)?)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                Err(StorageError::NotFound(key.into()))
            }
            Err(e) => Err(e.into()),
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
        if self.fsync {
            self.sync_data(&staged)?;
        }
        let mut committed: Vec<CommittedBlob> = Vec::with_capacity(staged.len());
        let mut dirs: Vec<PathBuf> = Vec::new();
        for (blob, name) in staged {
            let placed = blob.link(&self.root, &name).inspect(|c| {
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

    fn place(&self, blob: Box<dyn StagedBlob>, key: &str) -> Result<CommittedBlob, StorageError> {
        check_key(key)?;
        let blob = fs_staged(blob)?;
        if self.fsync {
            blob.file.as_file().sync_data()?;
        }
        let placed = blob.link_key(&self.root, key.to_owned())?;
        if self.fsync && placed.created {
            let path = self.root.join(&placed.key);
            if let Err(e) = sync_dir(path.parent().unwrap_or(&self.root)) {
                self.unlink_created(std::slice::from_ref(&placed));
                return Err(e.into());
            }
        }
        Ok(placed)
    }

    fn delete(&self, key: &str) -> Result<(), StorageError> {
        let path = self.path_of(key)?;
        match fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    fn check(&self) -> Result<(), StorageError> {
        let unavailable = |e: io::Error| StorageError::Unavailable {
            medium: self.name.to_string(),
            reason: e.to_string(),
        };
        let probe = tempfile::Builder::new()
            .prefix("probe-")
            .tempfile_in(self.root.join(STAGING))
            .map_err(unavailable)?;
        probe.as_file().write_all(b"ok").map_err(unavailable)?;
        Ok(())
    }
}

/// Objects up to this size are also kept in memory while staged, so that
/// parsing them does not read the file back.
const KEEP_IN_MEMORY: usize = 1024 * 1024;

/// Writes straight to the staging file: callers write in large slices.
struct FsWriter {
    file: tempfile::NamedTempFile,
    hasher: Sha1,
    written: u64,
    copy: Option<Vec<u8>>,
    fsync: bool,
}

impl FsWriter {
    /// Counts written bytes, and keeps them while the object is small.
    fn keep(&mut self, written: &[u8]) {
        self.written += written.len() as u64;
        match &mut self.copy {
            Some(c) if c.len() + written.len() <= KEEP_IN_MEMORY => c.extend_from_slice(written),
            _ => self.copy = None,
        }
    }
}

/// Slices at least this large are hashed on a second thread while they are
/// written: hashing and copying into the page cache then overlap.
const PARALLEL_HASH: usize = 256 * 1024;

impl Write for FsWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if buf.len() >= PARALLEL_HASH {
            let (hasher, file) = (&mut self.hasher, &mut self.file);
            std::thread::scope(|s| {
                let hashing = s.spawn(|| hasher.update(buf));
                let written = file.write_all(buf);
                hashing
                    .join()
                    .map_err(|_| io::Error::other("hashing thread panicked"))?;
                written
            })?;
            self.keep(buf);
            return Ok(buf.len());
        }
        let n = self.file.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.keep(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

impl BlobWriter for FsWriter {
    fn written(&self) -> u64 {
        self.written
    }

    fn finish(self: Box<Self>) -> Result<Box<dyn StagedBlob>, StorageError> {
        let this = *self;
        Ok(Box::new(FsStaged {
            file: this.file,
            copy: this.copy,
            size: this.written,
            sha1: hex::encode(this.hasher.finalize()),
            fsync: this.fsync,
        }))
    }
}

struct FsStaged {
    file: tempfile::NamedTempFile,
    copy: Option<Vec<u8>>,
    size: u64,
    sha1: String,
    fsync: bool,
}

impl std::fmt::Debug for FsStaged {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FsStaged")
            .field("size", &self.size)
            .field("sha1", &self.sha1)
            .finish()
    }
}

impl StagedBlob for FsStaged {
    fn size(&self) -> u64 {
        self.size
    }

    fn sha1(&self) -> &str {
        &self.sha1
    }

    fn reader(&mut self) -> Result<Box<dyn BlobRead>, StorageError> {
        match self.copy.take() {
            Some(bytes) => Ok(Box::new(MemReader(io::Cursor::new(bytes)))),
            None => Ok(Box::new(FsReader::new(self.file.reopen()?)?)),
        }
    }

    fn into_any(self: Box<Self>) -> Box<dyn std::any::Any + Send> {
        self
    }
}

impl FsStaged {
    /// Links the staged file under its key, never replacing an existing one.
    fn link(self, root: &Path, name: &ObjectName) -> Result<CommittedBlob, StorageError> {
        self.link_key(root, key_for(name))
    }

    fn link_key(self, root: &Path, key: String) -> Result<CommittedBlob, StorageError> {
        let target = root.join(&key);
        let dir = target.parent().expect("keys have a tenant component");
        create_dirs_durably(root, dir, self.fsync)?;
        match self.file.persist_noclobber(&target) {
            Ok(_) => Ok(CommittedBlob { key, created: true }),
            Err(e) if e.error.kind() == io::ErrorKind::AlreadyExists => Ok(CommittedBlob {
                key,
                created: false,
            }),
            Err(e) => Err(e.error.into()),
        }
    }
}

/// A stored file opened for reading.
struct FsReader {
    file: io::BufReader<File>,
    len: u64,
}

impl FsReader {
    fn new(file: File) -> io::Result<Self> {
        let len = file.metadata()?.len();
        Ok(Self {
            file: io::BufReader::with_capacity(128 * 1024, file),
            len,
        })
    }
}

impl io::Read for FsReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.file.read(buf)
    }
}

impl Seek for FsReader {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.file.seek(pos)
    }
}

impl BlobRead for FsReader {
    fn len(&self) -> u64 {
        self.len
    }
}

/// Staged bytes kept in memory.
struct MemReader(io::Cursor<Vec<u8>>);

impl io::Read for MemReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }
}

impl Seek for MemReader {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.0.seek(pos)
    }
}

impl BlobRead for MemReader {
    fn len(&self) -> u64 {
        self.0.get_ref().len() as u64
    }
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

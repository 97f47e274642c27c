//! The blob-store contract, on both kinds of media: every test runs on a
//! temporary filesystem medium (`filesystem::…`) and on a bucket of a real
//! S3-compatible server (`bucket::…`; moto, started by `tests/peers/s3.sh`,
//! see `peer/`). It covers every method of the port, the content-addressed
//! keys, the no-overwrite rule, staging that leaves nothing when dropped,
//! commits that are in place when they return, and a large object streamed
//! through whole. Bucket-only tests at the end: a bucket that is down, a
//! missing bucket, a key taken by another writer during an upload,
//! relocation between the two kinds of media.

mod peer;

use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use futures_util::StreamExt;
use pacs_domain::ids::TenantName;
use pacs_domain::model::MediumName;
use pacs_domain::ports::{
    BlobStore, ByteRange, IncomingBytes, ObjectName, StagedBlob, StorageError,
};
use pacs_storage::{BucketSettings, FsMedium, S3Bucket, clean_staging};
use sha1::{Digest, Sha1};

// ----------------------------------------------------------------- the media

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Fs,
    Bucket,
}

/// A medium under test, and what a test needs to look behind it.
struct Subject {
    medium: Arc<dyn BlobStore>,
    /// Where staged bytes wait (`<root>/.staging`): the filesystem medium's
    /// root, the bucket's staging root.
    staging_root: PathBuf,
    /// The bucket's name (bucket media only).
    bucket: Option<String>,
    _dir: tempfile::TempDir,
}

impl Subject {
    async fn new(kind: Kind) -> Self {
        let dir = tempfile::tempdir().unwrap();
        match kind {
            Kind::Fs => Self {
                medium: Arc::new(
                    FsMedium::open(MediumName::new("local").unwrap(), dir.path(), true).unwrap(),
                ),
                staging_root: dir.path().to_path_buf(),
                bucket: None,
                _dir: dir,
            },
            Kind::Bucket => {
                let name = peer::new_bucket().await;
                let settings = peer::settings(&name, dir.path());
                Self {
                    medium: Arc::new(bucket_medium(settings)),
                    staging_root: dir.path().to_path_buf(),
                    bucket: Some(name),
                    _dir: dir,
                }
            }
        }
    }

    fn m(&self) -> &dyn BlobStore {
        self.medium.as_ref()
    }

    /// The bytes stored under `key`, read behind the medium's back (the file,
    /// or a GET of another client): what is there when `commit` has returned.
    async fn raw(&self, key: &str) -> Vec<u8> {
        match &self.bucket {
            None => std::fs::read(self.staging_root.join(key)).unwrap(),
            Some(bucket) => {
                let got = peer::client(bucket).get_object(key).await.unwrap();
                assert_eq!(got.status_code(), 200);
                got.to_vec()
            }
        }
    }

    fn staging_is_empty(&self) -> bool {
        staging_is_empty(&self.staging_root)
    }
}

fn bucket_medium(settings: BucketSettings) -> S3Bucket {
    S3Bucket::connect(MediumName::new("archive-s3").unwrap(), settings).unwrap()
}

fn staging_is_empty(root: &Path) -> bool {
    std::fs::read_dir(root.join(".staging")).unwrap().count() == 0
}

/// Runs each contract test on both kinds of media.
macro_rules! contract {
    ($($test:ident),* $(,)?) => {
        mod filesystem {
            $(
                #[tokio::test]
                async fn $test() {
                    super::$test(super::Kind::Fs).await
                }
            )*
        }
        mod bucket {
            $(
                #[tokio::test]
                async fn $test() {
                    super::$test(super::Kind::Bucket).await
                }
            )*
        }
    };
}

contract!(
    stage_hashes_and_commit_places_under_the_content_key,
    a_batch_commits_every_object,
    an_existing_key_is_never_overwritten,
    place_keeps_the_key_it_is_given,
    an_object_staged_elsewhere_is_refused,
    ranges_stream_the_bytes_asked,
    unknown_keys_are_not_found_and_delete_is_idempotent,
    a_dropped_or_failed_stage_leaves_nothing,
    staged_bytes_can_be_read_before_the_commit,
    blocking_readers_seek,
    check_says_whether_the_medium_is_writable,
    a_large_object_streams_through_whole,
);

// ----------------------------------------------------------------- helpers

/// Some bytes, sent in `chunk`-byte pieces.
fn body(bytes: &[u8], chunk: usize) -> IncomingBytes<'static> {
    let chunks: Vec<io::Result<Bytes>> = bytes
        .chunks(chunk.max(1))
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    Box::pin(futures_util::stream::iter(chunks))
}

/// The byte at `offset` of every test object.
fn byte_at(offset: u64) -> u8 {
    (offset * 7 % 251) as u8
}

fn content(n: usize) -> Vec<u8> {
    (0..n as u64).map(byte_at).collect()
}

/// `len` bytes of the test pattern, made as they are sent (1 MiB pieces).
fn generated(len: u64) -> IncomingBytes<'static> {
    const PIECE: u64 = 1024 * 1024;
    let pieces = (0..len.div_ceil(PIECE)).map(move |i| {
        let start = i * PIECE;
        let piece: Vec<u8> = (start..(start + PIECE).min(len)).map(byte_at).collect();
        Ok(Bytes::from(piece))
    });
    Box::pin(futures_util::stream::iter(pieces))
}

fn sha1_hex(bytes: &[u8]) -> String {
    hex::encode(Sha1::digest(bytes))
}

fn name_for(staged: &dyn StagedBlob, own: &str) -> ObjectName {
    ObjectName {
        tenant: TenantName::new("t1").unwrap(),
        groups: vec!["1.2.3".into(), "1.2.3.4".into()],
        name: own.into(),
        sha1: staged.sha1().to_owned(),
    }
}

async fn read_all(m: &dyn BlobStore, key: &str, range: ByteRange) -> Result<Vec<u8>, StorageError> {
    let mut stream = m.read(key, range).await?;
    let mut out = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        assert!(!chunk.is_empty(), "no empty chunks");
        assert!(chunk.len() <= 1024 * 1024, "chunks are bounded");
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

async fn stored(m: &dyn BlobStore, bytes: &[u8], own: &str) -> String {
    let staged = m.stage(body(bytes, 4096)).await.unwrap();
    let name = name_for(staged.as_ref(), own);
    let c = m.commit(vec![(staged, name)]).await.unwrap().remove(0);
    assert!(c.created);
    c.key
}

// ----------------------------------------------------------------- the contract

async fn stage_hashes_and_commit_places_under_the_content_key(kind: Kind) {
    let s = Subject::new(kind).await;
    let m = s.m();
    let bytes = content(100_000);
    let staged = m.stage(body(&bytes, 3000)).await.unwrap();
    assert_eq!(staged.size(), bytes.len() as u64);
    assert_eq!(staged.sha1(), sha1_hex(&bytes));
    let name = name_for(staged.as_ref(), "1.2.3.4.5");
    let committed = m.commit(vec![(staged, name)]).await.unwrap();
    assert_eq!(committed.len(), 1);
    let c = &committed[0];
    assert!(c.created);
    // The same key on every kind of medium: the path on disk, the object key.
    assert_eq!(
        c.key,
        format!("t1/1.2.3/1.2.3.4/1.2.3.4.5.{}", &sha1_hex(&bytes)[..16])
    );
    // In place, whole, when commit returns; nothing left in staging.
    assert_eq!(s.raw(&c.key).await, bytes);
    assert!(s.staging_is_empty());
    assert_eq!(m.len(&c.key).await.unwrap(), bytes.len() as u64);
    assert_eq!(read_all(m, &c.key, ByteRange::ALL).await.unwrap(), bytes);
}

async fn a_batch_commits_every_object(kind: Kind) {
    let s = Subject::new(kind).await;
    let m = s.m();
    let mut items = Vec::new();
    // Four or more objects are made durable with one syncfs on a filesystem.
    for i in 0..5 {
        let staged = m.stage(body(&content(1000 + i), 100)).await.unwrap();
        let name = name_for(staged.as_ref(), &format!("obj{i}"));
        items.push((staged, name));
    }
    let committed = m.commit(items).await.unwrap();
    assert_eq!(committed.len(), 5);
    for (i, c) in committed.iter().enumerate() {
        assert!(c.created);
        assert_eq!(
            read_all(m, &c.key, ByteRange::ALL).await.unwrap(),
            content(1000 + i)
        );
    }
    assert!(m.commit(Vec::new()).await.unwrap().is_empty());
    assert!(s.staging_is_empty());
}

async fn an_existing_key_is_never_overwritten(kind: Kind) {
    let s = Subject::new(kind).await;
    let m = s.m();
    let first = content(5000);
    let key = stored(m, &first, "same").await;
    // The same name and digest with other bytes: the stored object stays.
    let staged = m.stage(body(b"other bytes", 4)).await.unwrap();
    let mut name = name_for(staged.as_ref(), "same");
    name.sha1 = sha1_hex(&first);
    let again = m.commit(vec![(staged, name)]).await.unwrap().remove(0);
    assert_eq!(again.key, key);
    assert!(!again.created);
    assert_eq!(read_all(m, &key, ByteRange::ALL).await.unwrap(), first);
    assert_eq!(s.raw(&key).await, first);
    assert!(s.staging_is_empty());
}

async fn place_keeps_the_key_it_is_given(kind: Kind) {
    let (a, b) = (Subject::new(kind).await, Subject::new(kind).await);
    let (from, to) = (a.m(), b.m());
    let bytes = content(3 * 1024 * 1024 + 17);
    let key = stored(from, &bytes, "slide.svs").await;
    // A relocation copy: read from one medium, staged on the other.
    let copy = from.read(&key, ByteRange::ALL).await.unwrap();
    let staged = to.stage(copy).await.unwrap();
    assert_eq!(staged.sha1(), sha1_hex(&bytes));
    let placed = to.place(staged, &key).await.unwrap();
    assert_eq!(placed.key, key);
    assert!(placed.created);
    assert_eq!(read_all(to, &key, ByteRange::ALL).await.unwrap(), bytes);
    // Placing again leaves the first copy.
    let staged = to.stage(body(b"x", 1)).await.unwrap();
    assert!(!to.place(staged, &key).await.unwrap().created);
    assert_eq!(to.len(&key).await.unwrap(), bytes.len() as u64);
    // Keys that would leave the medium are refused.
    let staged = to.stage(body(b"x", 1)).await.unwrap();
    assert!(to.place(staged, "../escape").await.is_err());
    assert!(b.staging_is_empty());
}

#[derive(Debug)]
struct Foreign;

impl StagedBlob for Foreign {
    fn size(&self) -> u64 {
        0
    }
    fn sha1(&self) -> &str {
        "da39a3ee5e6b4b0d3255bfef95601890afd80709"
    }
    fn reader(&mut self) -> Result<Box<dyn pacs_domain::ports::BlobRead>, StorageError> {
        Err(StorageError::NotFound("foreign".into()))
    }
    fn into_any(self: Box<Self>) -> Box<dyn std::any::Any + Send> {
        self
    }
}

async fn an_object_staged_elsewhere_is_refused(kind: Kind) {
    let s = Subject::new(kind).await;
    let m = s.m();
    assert!(m.place(Box::new(Foreign), "t1/x").await.is_err());
    let name = name_for(&Foreign, "x");
    let foreign: Box<dyn StagedBlob> = Box::new(Foreign);
    assert!(m.commit(vec![(foreign, name)]).await.is_err());
}

async fn ranges_stream_the_bytes_asked(kind: Kind) {
    let s = Subject::new(kind).await;
    let m = s.m();
    let bytes = content(2 * 1024 * 1024 + 5);
    let key = stored(m, &bytes, "r").await;
    let cases = [
        (ByteRange::new(0, 10), &bytes[..10]),
        (
            ByteRange::new(1_000_000, 1_000_000),
            &bytes[1_000_000..2_000_000],
        ),
        (ByteRange::from(2 * 1024 * 1024), &bytes[2 * 1024 * 1024..]),
        (ByteRange::from(0), &bytes[..]),
        // Past the end: cut at the end.
        (
            ByteRange::new(bytes.len() as u64 - 3, 100),
            &bytes[bytes.len() - 3..],
        ),
        (ByteRange::from(bytes.len() as u64), &bytes[..0]),
        (ByteRange::from(bytes.len() as u64 + 10), &bytes[..0]),
        (ByteRange::new(5, 0), &bytes[..0]),
    ];
    for (range, want) in cases {
        let got = read_all(m, &key, range).await.unwrap();
        assert_eq!(got.len(), want.len(), "{range:?}");
        assert!(got == want, "{range:?}");
        assert_eq!(range.within(bytes.len() as u64), want.len() as u64);
    }
    // An empty object has its one empty range.
    let empty = stored(m, b"", "empty").await;
    assert_eq!(m.len(&empty).await.unwrap(), 0);
    for range in [ByteRange::ALL, ByteRange::from(3), ByteRange::new(0, 5)] {
        assert!(
            read_all(m, &empty, range).await.unwrap().is_empty(),
            "{range:?}"
        );
    }
}

async fn unknown_keys_are_not_found_and_delete_is_idempotent(kind: Kind) {
    let s = Subject::new(kind).await;
    let m = Arc::clone(&s.medium);
    let key = stored(m.as_ref(), b"abc", "d").await;
    m.delete(&key).await.unwrap();
    m.delete(&key).await.unwrap();
    for range in [
        ByteRange::ALL,
        ByteRange::new(1, 1),
        ByteRange::from(10),
        ByteRange::new(0, 0),
    ] {
        assert!(
            matches!(m.read(&key, range).await, Err(StorageError::NotFound(_))),
            "{range:?}"
        );
    }
    assert!(matches!(m.len(&key).await, Err(StorageError::NotFound(_))));
    let (medium, k) = (Arc::clone(&m), key.clone());
    let opened = tokio::task::spawn_blocking(move || medium.blocking_reader(&k).map(|_| ()))
        .await
        .unwrap();
    assert!(matches!(opened, Err(StorageError::NotFound(_))));
    for bad in ["../etc/passwd", "/etc/passwd", "t1/./x", ""] {
        assert!(m.read(bad, ByteRange::ALL).await.is_err(), "{bad}");
        assert!(m.len(bad).await.is_err(), "{bad}");
        assert!(m.delete(bad).await.is_err(), "{bad}");
    }
}

async fn a_dropped_or_failed_stage_leaves_nothing(kind: Kind) {
    let s = Subject::new(kind).await;
    let m = s.m();
    let staged = m.stage(body(&content(2_000_000), 65536)).await.unwrap();
    assert!(!s.staging_is_empty());
    drop(staged);
    assert!(s.staging_is_empty());
    // A source that fails half-way (a client gone): `Source`, nothing kept.
    let mut chunks: Vec<io::Result<Bytes>> = vec![Ok(Bytes::from(content(1_500_000)))];
    chunks.push(Err(io::Error::other("client went away")));
    let failed = m.stage(Box::pin(futures_util::stream::iter(chunks))).await;
    assert!(matches!(failed, Err(StorageError::Source(_))));
    assert!(s.staging_is_empty());
    // What a crash left behind is cleaned at startup.
    let leftover = m.stage(body(b"left", 2)).await.unwrap();
    std::mem::forget(leftover);
    assert_eq!(clean_staging(&s.staging_root).unwrap(), 1);
    assert!(s.staging_is_empty());
}

async fn staged_bytes_can_be_read_before_the_commit(kind: Kind) {
    let s = Subject::new(kind).await;
    let m = s.m();
    for n in [0, 10, 700_000, 3_000_000] {
        let bytes = content(n);
        let mut staged = m.stage(body(&bytes, 50_000)).await.unwrap();
        // Twice: the first may come from memory, the next from the file.
        for _ in 0..2 {
            let mut r = staged.reader().unwrap();
            assert_eq!(r.len(), n as u64);
            let mut got = Vec::new();
            r.read_to_end(&mut got).unwrap();
            assert!(got == bytes, "{n} bytes");
        }
    }
}

async fn blocking_readers_seek(kind: Kind) {
    let s = Subject::new(kind).await;
    let m = Arc::clone(&s.medium);
    let bytes = content(5 * 1024 * 1024 + 1000);
    let key = stored(m.as_ref(), &bytes, "b").await;
    let read = tokio::task::spawn_blocking(move || {
        let mut r = m.blocking_reader(&key).unwrap();
        assert_eq!(r.len(), 5 * 1024 * 1024 + 1000);
        let mut got = Vec::new();
        for (at, n) in [
            (250_000, 10),
            (0, 4),
            (5 * 1024 * 1024 - 3, 100),
            (2 * 1024 * 1024 - 1, 2),
        ] {
            r.seek(SeekFrom::Start(at)).unwrap();
            let mut buf = vec![0; n];
            r.read_exact(&mut buf).unwrap();
            got.push((at as usize, buf));
        }
        // From the end, and a whole read to the end.
        r.seek(SeekFrom::End(-7)).unwrap();
        let mut tail = Vec::new();
        r.read_to_end(&mut tail).unwrap();
        assert!(r.seek(SeekFrom::Current(-100)).is_ok());
        got.push((5 * 1024 * 1024 + 993, tail));
        r.seek(SeekFrom::Start(0)).unwrap();
        let mut all = Vec::new();
        r.read_to_end(&mut all).unwrap();
        (got, all)
    })
    .await
    .unwrap();
    let (pieces, all) = read;
    for (at, piece) in pieces {
        assert_eq!(piece, &bytes[at..at + piece.len()], "at {at}");
    }
    assert!(all == bytes);
}

async fn check_says_whether_the_medium_is_writable(kind: Kind) {
    let s = Subject::new(kind).await;
    let m = s.m();
    m.check().await.unwrap();
    m.check().await.unwrap();
    // Where it stages is part of a medium: without it, nothing can be received.
    std::fs::remove_dir(s.staging_root.join(".staging")).unwrap();
    assert!(matches!(
        m.check().await,
        Err(StorageError::Unavailable { .. })
    ));
}

/// 64 MiB and a little: many pieces staged, a multipart upload of several
/// parts on a bucket, streamed back whole and by ranges across part borders.
async fn a_large_object_streams_through_whole(kind: Kind) {
    const LARGE: u64 = 64 * 1024 * 1024 + 3;
    const PART: u64 = 5 * 1024 * 1024;
    let s = Subject::new(kind).await;
    let m = Arc::clone(&s.medium);
    let mut want = Sha1::new();
    let mut pieces = generated(LARGE);
    while let Some(piece) = pieces.next().await {
        want.update(piece.unwrap());
    }
    let want = hex::encode(want.finalize());
    let staged = m.stage(generated(LARGE)).await.unwrap();
    assert_eq!(staged.size(), LARGE);
    assert_eq!(staged.sha1(), want);
    let name = name_for(staged.as_ref(), "large.svs");
    let c = m.commit(vec![(staged, name)]).await.unwrap().remove(0);
    assert!(c.created);
    assert!(s.staging_is_empty());
    assert_eq!(m.len(&c.key).await.unwrap(), LARGE);
    // Streamed back: hashed as it comes, never gathered.
    let mut stream = m.read(&c.key, ByteRange::ALL).await.unwrap();
    let (mut got, mut n) = (Sha1::new(), 0_u64);
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.unwrap();
        assert!(!chunk.is_empty() && chunk.len() <= 1024 * 1024);
        n += chunk.len() as u64;
        got.update(&chunk);
    }
    assert_eq!(n, LARGE);
    assert_eq!(hex::encode(got.finalize()), want);
    // Ranges across part borders, and the very end.
    for (start, len) in [(PART - 10, 20), (3 * PART - 1, PART + 2), (LARGE - 2, 10)] {
        let piece = read_all(m.as_ref(), &c.key, ByteRange::new(start, len))
            .await
            .unwrap();
        let expected: Vec<u8> = (start..(start + len).min(LARGE)).map(byte_at).collect();
        assert!(piece == expected, "{start}+{len}");
    }
    let key = c.key.clone();
    let tail = tokio::task::spawn_blocking(move || {
        let mut r = m.blocking_reader(&key).unwrap();
        r.seek(SeekFrom::Start(5 * PART - 4)).unwrap();
        let mut buf = [0; 8];
        r.read_exact(&mut buf).unwrap();
        buf
    })
    .await
    .unwrap();
    let expected: Vec<u8> = (5 * PART - 4..5 * PART + 4).map(byte_at).collect();
    assert_eq!(tail.to_vec(), expected);
}

// ----------------------------------------------------------------- buckets only

fn is_unavailable<T>(r: &Result<T, StorageError>) -> bool {
    matches!(r, Err(StorageError::Unavailable { .. }))
}

/// Nothing listens where the bucket should be: every operation that needs
/// the service is `Unavailable`, and a failed commit keeps nothing staged.
#[tokio::test]
async fn a_bucket_that_is_down_is_unavailable() {
    let dir = tempfile::tempdir().unwrap();
    let settings = peer::settings_at(&peer::dead_endpoint(), "pacs", dir.path());
    // Connecting sends nothing: a service that comes up later is used then.
    let m = Arc::new(bucket_medium(settings));
    assert!(is_unavailable(&m.check().await));
    let key = "t1/1.2.3/x.0123456789abcdef";
    assert!(is_unavailable(&m.len(key).await));
    assert!(is_unavailable(&m.read(key, ByteRange::ALL).await));
    assert!(is_unavailable(&m.read(key, ByteRange::new(3, 4)).await));
    assert!(is_unavailable(&m.delete(key).await));
    let medium = Arc::clone(&m);
    let opened = tokio::task::spawn_blocking(move || medium.blocking_reader(key).map(|_| ()))
        .await
        .unwrap();
    assert!(is_unavailable(&opened));
    let staged = m.stage(body(&content(10_000), 1000)).await.unwrap();
    let name = name_for(staged.as_ref(), "down");
    assert!(is_unavailable(&m.commit(vec![(staged, name)]).await));
    let staged = m.stage(body(b"x", 1)).await.unwrap();
    assert!(is_unavailable(&m.place(staged, key).await));
    assert!(staging_is_empty(dir.path()));
}

#[tokio::test]
async fn a_missing_bucket_is_unavailable() {
    let dir = tempfile::tempdir().unwrap();
    let m = bucket_medium(peer::settings("pacs-no-such-bucket", dir.path()));
    assert!(is_unavailable(&m.check().await));
    assert!(is_unavailable(&m.read("t1/x", ByteRange::ALL).await));
}

/// Multipart uploads begun and neither completed nor aborted.
async fn pending_uploads(client: &s3::Bucket) -> usize {
    client
        .list_multiparts_uploads(None, None)
        .await
        .unwrap()
        .iter()
        .map(|page| page.uploads.len())
        .sum()
}

/// Another writer takes the key while a large object is being uploaded, after
/// the HEAD found it free: the conditional completion is refused, the other
/// writer's object stays, `created` is false, and no parts are left behind.
/// (Two completions at the very same instant are S3's to order: moto checks
/// the condition without a lock, so that case is not testable on it.)
#[tokio::test]
async fn a_key_taken_during_an_upload_is_not_overwritten() {
    let s = Subject::new(Kind::Bucket).await;
    let m = s.m();
    let client = peer::client(s.bucket.as_deref().unwrap());
    let staged = m.stage(generated(40 * 1024 * 1024)).await.unwrap();
    let name = name_for(staged.as_ref(), "raced");
    let key = format!("t1/1.2.3/1.2.3.4/raced.{}", &staged.sha1()[..16]);
    let other = b"the other writer's object";
    let racer = async {
        // The upload has begun (so its HEAD found no object): take the key.
        while pending_uploads(&client).await == 0 {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        client.put_object(&key, other).await.unwrap();
    };
    let (committed, ()) = tokio::join!(m.commit(vec![(staged, name)]), racer);
    let c = committed.unwrap().remove(0);
    assert_eq!(c.key, key);
    assert!(!c.created, "the key was taken during the upload");
    assert_eq!(s.raw(&key).await, other);
    assert!(s.staging_is_empty());
    // The refused upload is aborted (in the background): wait for it.
    for _ in 0..50 {
        if pending_uploads(&client).await == 0 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("a multipart upload was left in the bucket");
}

/// Relocation between the two kinds: the key stays, each medium takes only
/// what it staged itself.
#[tokio::test]
async fn relocation_between_a_filesystem_and_a_bucket_keeps_the_key() {
    let (fs, bucket) = (
        Subject::new(Kind::Fs).await,
        Subject::new(Kind::Bucket).await,
    );
    let bytes = content(9 * 1024 * 1024 + 3);
    let key = stored(fs.m(), &bytes, "moved.dcm").await;
    let copy = fs.m().read(&key, ByteRange::ALL).await.unwrap();
    let staged = bucket.m().stage(copy).await.unwrap();
    let placed = bucket.m().place(staged, &key).await.unwrap();
    assert!(placed.created && placed.key == key);
    assert!(bucket.raw(&key).await == bytes);
    // And back, onto a fresh filesystem medium.
    let back = Subject::new(Kind::Fs).await;
    let copy = bucket.m().read(&key, ByteRange::ALL).await.unwrap();
    let staged = back.m().stage(copy).await.unwrap();
    assert_eq!(staged.sha1(), sha1_hex(&bytes));
    assert!(back.m().place(staged, &key).await.unwrap().created);
    assert!(back.raw(&key).await == bytes);
    // A staged object goes only to the medium that staged it.
    let on_fs = fs.m().stage(body(b"abc", 1)).await.unwrap();
    assert!(bucket.m().place(on_fs, "t1/abc").await.is_err());
    let on_bucket = bucket.m().stage(body(b"abc", 1)).await.unwrap();
    assert!(fs.m().place(on_bucket, "t1/abc").await.is_err());
    assert!(fs.staging_is_empty() && bucket.staging_is_empty());
}

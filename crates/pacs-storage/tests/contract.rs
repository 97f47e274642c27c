//! The blob-store contract, on a temporary filesystem medium: every method of
//! the port, the content-addressed keys, the no-overwrite rule, staging that
//! leaves nothing when dropped, and commits that are in place when they return.

use std::io::{self, Read, Seek, SeekFrom};
use std::path::Path;

use bytes::Bytes;
use futures_util::StreamExt;
use pacs_domain::ids::TenantName;
use pacs_domain::model::MediumName;
use pacs_domain::ports::{BlobStore, ByteRange, ObjectName, StagedBlob, StorageError};
use pacs_storage::{FsMedium, clean_staging};
use sha1::{Digest, Sha1};

fn medium(dir: &Path) -> FsMedium {
    FsMedium::open(MediumName::new("local").unwrap(), dir, true).unwrap()
}

/// Some bytes, sent in `chunk`-byte pieces.
fn body(bytes: &[u8], chunk: usize) -> pacs_domain::ports::IncomingBytes<'static> {
    let chunks: Vec<io::Result<Bytes>> = bytes
        .chunks(chunk.max(1))
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    Box::pin(futures_util::stream::iter(chunks))
}

fn content(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 7 % 251) as u8).collect()
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

async fn read_all(m: &FsMedium, key: &str, range: ByteRange) -> Result<Vec<u8>, StorageError> {
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

fn staging_is_empty(root: &Path) -> bool {
    std::fs::read_dir(root.join(".staging")).unwrap().count() == 0
}

async fn stored(m: &FsMedium, bytes: &[u8], own: &str) -> String {
    let staged = m.stage(body(bytes, 4096)).await.unwrap();
    let name = name_for(staged.as_ref(), own);
    let c = m.commit(vec![(staged, name)]).await.unwrap().remove(0);
    assert!(c.created);
    c.key
}

#[tokio::test]
async fn stage_hashes_and_commit_places_under_the_content_key() {
    let dir = tempfile::tempdir().unwrap();
    let m = medium(dir.path());
    let bytes = content(100_000);
    let staged = m.stage(body(&bytes, 3000)).await.unwrap();
    assert_eq!(staged.size(), bytes.len() as u64);
    assert_eq!(staged.sha1(), sha1_hex(&bytes));
    let name = name_for(staged.as_ref(), "1.2.3.4.5");
    let committed = m.commit(vec![(staged, name)]).await.unwrap();
    assert_eq!(committed.len(), 1);
    let c = &committed[0];
    assert!(c.created);
    assert_eq!(
        c.key,
        format!("t1/1.2.3/1.2.3.4/1.2.3.4.5.{}", &sha1_hex(&bytes)[..16])
    );
    // In place, whole, when commit returns; nothing left in staging.
    assert_eq!(std::fs::read(dir.path().join(&c.key)).unwrap(), bytes);
    assert!(staging_is_empty(dir.path()));
    assert_eq!(m.len(&c.key).await.unwrap(), bytes.len() as u64);
    assert_eq!(read_all(&m, &c.key, ByteRange::ALL).await.unwrap(), bytes);
}

#[tokio::test]
async fn a_batch_commits_every_object() {
    let dir = tempfile::tempdir().unwrap();
    let m = medium(dir.path());
    let mut items = Vec::new();
    // Four or more objects are made durable with one syncfs.
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
            read_all(&m, &c.key, ByteRange::ALL).await.unwrap(),
            content(1000 + i)
        );
    }
    assert!(m.commit(Vec::new()).await.unwrap().is_empty());
}

#[tokio::test]
async fn an_existing_key_is_never_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let m = medium(dir.path());
    let first = content(5000);
    let key = stored(&m, &first, "same").await;
    // The same name and digest with other bytes: the stored object stays.
    let staged = m.stage(body(b"other bytes", 4)).await.unwrap();
    let mut name = name_for(staged.as_ref(), "same");
    name.sha1 = sha1_hex(&first);
    let again = m.commit(vec![(staged, name)]).await.unwrap().remove(0);
    assert_eq!(again.key, key);
    assert!(!again.created);
    assert_eq!(read_all(&m, &key, ByteRange::ALL).await.unwrap(), first);
    assert!(staging_is_empty(dir.path()));
}

#[tokio::test]
async fn place_keeps_the_key_it_is_given() {
    let dir = tempfile::tempdir().unwrap();
    let other = tempfile::tempdir().unwrap();
    let (from, to) = (medium(dir.path()), medium(other.path()));
    let bytes = content(3 * 1024 * 1024 + 17);
    let key = stored(&from, &bytes, "slide.svs").await;
    // A relocation copy: read from one medium, staged on the other.
    let copy = from.read(&key, ByteRange::ALL).await.unwrap();
    let staged = to.stage(copy).await.unwrap();
    assert_eq!(staged.sha1(), sha1_hex(&bytes));
    let placed = to.place(staged, &key).await.unwrap();
    assert_eq!(placed.key, key);
    assert!(placed.created);
    assert_eq!(read_all(&to, &key, ByteRange::ALL).await.unwrap(), bytes);
    // Placing again leaves the first copy.
    let staged = to.stage(body(b"x", 1)).await.unwrap();
    assert!(!to.place(staged, &key).await.unwrap().created);
    assert_eq!(to.len(&key).await.unwrap(), bytes.len() as u64);
    // Keys that would leave the medium are refused.
    let staged = to.stage(body(b"x", 1)).await.unwrap();
    assert!(to.place(staged, "../escape").await.is_err());
    assert!(staging_is_empty(other.path()));
}

#[tokio::test]
async fn an_object_staged_elsewhere_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let m = medium(dir.path());

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
    assert!(m.place(Box::new(Foreign), "t1/x").await.is_err());
}

#[tokio::test]
async fn ranges_stream_the_bytes_asked() {
    let dir = tempfile::tempdir().unwrap();
    let m = medium(dir.path());
    let bytes = content(2 * 1024 * 1024 + 5);
    let key = stored(&m, &bytes, "r").await;
    let cases = [
        (ByteRange::new(0, 10), &bytes[..10]),
        (
            ByteRange::new(1_000_000, 1_000_000),
            &bytes[1_000_000..2_000_000],
        ),
        (ByteRange::from(2 * 1024 * 1024), &bytes[2 * 1024 * 1024..]),
        // Past the end: cut at the end.
        (
            ByteRange::new(bytes.len() as u64 - 3, 100),
            &bytes[bytes.len() - 3..],
        ),
        (ByteRange::from(bytes.len() as u64 + 10), &bytes[..0]),
        (ByteRange::new(5, 0), &bytes[..0]),
    ];
    for (range, want) in cases {
        let got = read_all(&m, &key, range).await.unwrap();
        assert_eq!(got.len(), want.len(), "{range:?}");
        assert!(got == want, "{range:?}");
        assert_eq!(range.within(bytes.len() as u64), want.len() as u64);
    }
}

#[tokio::test]
async fn unknown_keys_are_not_found_and_delete_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let m = medium(dir.path());
    let key = stored(&m, b"abc", "d").await;
    m.delete(&key).await.unwrap();
    m.delete(&key).await.unwrap();
    assert!(matches!(
        m.read(&key, ByteRange::ALL).await,
        Err(StorageError::NotFound(_))
    ));
    assert!(matches!(m.len(&key).await, Err(StorageError::NotFound(_))));
    assert!(matches!(
        m.blocking_reader(&key),
        Err(StorageError::NotFound(_))
    ));
    for bad in ["../etc/passwd", "/etc/passwd", "t1/./x", ""] {
        assert!(m.read(bad, ByteRange::ALL).await.is_err(), "{bad}");
        assert!(m.len(bad).await.is_err(), "{bad}");
        assert!(m.delete(bad).await.is_err(), "{bad}");
    }
}

#[tokio::test]
async fn a_dropped_or_failed_stage_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let m = medium(dir.path());
    let staged = m.stage(body(&content(2_000_000), 65536)).await.unwrap();
    assert!(!staging_is_empty(dir.path()));
    drop(staged);
    assert!(staging_is_empty(dir.path()));
    // A source that fails half-way (a client gone): `Source`, nothing kept.
    let mut chunks: Vec<io::Result<Bytes>> = vec![Ok(Bytes::from(content(1_500_000)))];
    chunks.push(Err(io::Error::other("client went away")));
    let failed = m.stage(Box::pin(futures_util::stream::iter(chunks))).await;
    assert!(matches!(failed, Err(StorageError::Source(_))));
    assert!(staging_is_empty(dir.path()));
    // What a crash left behind is cleaned at startup.
    let leftover = m.stage(body(b"left", 2)).await.unwrap();
    std::mem::forget(leftover);
    assert_eq!(clean_staging(dir.path()).unwrap(), 1);
    assert!(staging_is_empty(dir.path()));
}

#[tokio::test]
async fn staged_bytes_can_be_read_before_the_commit() {
    let dir = tempfile::tempdir().unwrap();
    let m = medium(dir.path());
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

#[tokio::test]
async fn blocking_readers_seek() {
    let dir = tempfile::tempdir().unwrap();
    let m = medium(dir.path());
    let bytes = content(300_000);
    let key = stored(&m, &bytes, "b").await;
    let read = tokio::task::spawn_blocking(move || {
        let mut r = m.blocking_reader(&key).unwrap();
        assert_eq!(r.len(), 300_000);
        r.seek(SeekFrom::Start(250_000)).unwrap();
        let mut got = vec![0; 10];
        r.read_exact(&mut got).unwrap();
        got
    })
    .await
    .unwrap();
    assert_eq!(read, &bytes[250_000..250_010]);
}

#[tokio::test]
async fn check_says_whether_the_medium_is_writable() {
    let dir = tempfile::tempdir().unwrap();
    let m = medium(dir.path());
    m.check().await.unwrap();
    std::fs::remove_dir(dir.path().join(".staging")).unwrap();
    assert!(matches!(
        m.check().await,
        Err(StorageError::Unavailable { .. })
    ));
}

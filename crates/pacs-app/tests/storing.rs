//! The store and retrieve use cases on a real SQLite index and a temporary
//! filesystem medium: a part's byte stream goes in, is staged, parsed,
//! committed and indexed; retrieval streams it back from the medium. Needs the test data
//! (`PACS_TEST_DATA`, default /tmp/pacs-data; see tests/data/make-data.sh).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use futures_util::StreamExt;
use pacs_app::ingest::StoreRequest;
use pacs_app::retrieve::{Target, locate, open};
use pacs_app::{Media, Ports, Tenant};
use pacs_domain::ids::{AeTitle, StudyInstanceUid, TenantName};
use pacs_domain::model::MediumName;
use pacs_domain::ports::{BlobStore, IncomingBytes};
use pacs_persistence::Database;
use pacs_storage::FsMedium;

fn ct_small() -> Vec<u8> {
    let dir = PathBuf::from(std::env::var("PACS_TEST_DATA").unwrap_or("/tmp/pacs-data".into()));
    let path = dir.join("real/CT_small.dcm");
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; make the test data with tests/data/make-data.sh",
            path.display()
        )
    })
}

struct Archive {
    ports: Ports,
    tenant: Tenant,
    _dir: tempfile::TempDir,
    root: PathBuf,
}

fn archive() -> Archive {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/index.sqlite", dir.path().display());
    let db = Arc::new(Database::connect(&url, 4).unwrap());
    db.migrate().unwrap();
    let root = dir.path().join("local");
    let media: Vec<Arc<dyn BlobStore>> = vec![Arc::new(
        FsMedium::open(MediumName::new("local").unwrap(), &root, true).unwrap(),
    )];
    let ports = Ports {
        instances: db.clone(),
        queries: db.clone(),
        retrieval: db.clone(),
        events: db.clone(),
        counter: db.clone(),
        deprecations: db.clone(),
        relocations: db.clone(),
        corrections: db.clone(),
        orders: db.clone(),
        media: Media::new(media, MediumName::new("local").unwrap()).unwrap(),
        in_flight: pacs_app::InFlight::default(),
        rendering: pacs_app::rendering::Rendering::default(),
        limits: pacs_app::Limits::default(),
    };
    let tenant = Tenant {
        name: TenantName::new("t1").unwrap(),
        ae_title: AeTitle::new("PACS").unwrap(),
    };
    Archive {
        ports,
        tenant,
        _dir: dir,
        root,
    }
}

/// `bytes` as a request body would bring them, in small chunks.
fn part(bytes: &[u8]) -> IncomingBytes<'static> {
    let chunks: Vec<std::io::Result<Bytes>> = bytes
        .chunks(8192)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    Box::pin(futures_util::stream::iter(chunks))
}

fn files_under(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| {
                    let p = e.path();
                    if p.is_dir() { files_under(&p) } else { 1 }
                })
                .sum()
        })
        .unwrap_or(0)
}

fn request(a: &Archive) -> StoreRequest {
    StoreRequest::new(
        a.ports.clone(),
        a.tenant.clone(),
        AeTitle::new("SCU").unwrap(),
        None,
    )
}

#[tokio::test]
async fn a_part_is_staged_parsed_committed_indexed_and_streamed_back() {
    let a = archive();
    let bytes = ct_small();
    let mut store = request(&a);
    store.add_part(part(&bytes)).await.unwrap();
    let report = store.finish().await.unwrap();
    assert_eq!(report.stored.len(), 1);
    assert!(report.failed.is_empty());
    assert_eq!(files_under(&a.root), 1, "one file, nothing left in staging");

    let study = report.stored[0].study.clone();
    let target = Target {
        study,
        series: None,
        sop: None,
    };
    let (ports, tenant) = (a.ports.clone(), a.tenant.clone());
    let found = tokio::task::spawn_blocking(move || locate(&ports, &tenant, &target, false))
        .await
        .unwrap()
        .unwrap();
    let opened = open(&a.ports, &found[0]).await.unwrap();
    assert_eq!(opened.len, bytes.len() as u64);
    let back: Vec<Bytes> = opened.stream.map(|c| c.unwrap()).collect::<Vec<_>>().await;
    assert!(back.concat() == bytes, "retrieved as stored");

    // The same instance again: already stored, nothing added.
    let mut store = request(&a);
    store.add_part(part(&bytes)).await.unwrap();
    let again = store.finish().await.unwrap();
    assert_eq!(again.stored.len(), 1);
    assert_eq!(files_under(&a.root), 1);
}

#[tokio::test]
async fn a_refused_request_leaves_nothing() {
    let a = archive();
    let bytes = ct_small();
    let mut store = request(&a);
    store.add_part(part(&bytes)).await.unwrap();
    // Not DICOM: the part is refused, the request dropped.
    let err = store.add_part(part(b"not a DICOM file")).await.unwrap_err();
    assert!(err.to_string().contains("part 2"), "{err}");
    drop(store);
    assert_eq!(files_under(&a.root), 0);

    // A study other than the one asked for: reported as failed, not stored.
    let mut store = StoreRequest::new(
        a.ports.clone(),
        a.tenant.clone(),
        AeTitle::new("SCU").unwrap(),
        Some(StudyInstanceUid::new("1.2.3").unwrap()),
    );
    store.add_part(part(&bytes)).await.unwrap();
    let report = store.finish().await.unwrap();
    assert!(report.stored.is_empty());
    assert_eq!(report.failed.len(), 1);
    assert_eq!(files_under(&a.root), 0);
}

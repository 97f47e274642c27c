//! Relocation of a study's stored objects to another physical medium.

use bytes::Bytes;
use futures_util::StreamExt;
use pacs_app::AppError;
use pacs_app::relocation::{RelocateStudy, RelocationTarget, relocate_study};
use pacs_app::retrieve::{self, Target};
use pacs_domain::model::{EventType, MediumName, NewInstance, StudySelector};

use crate::support::*;

/// What an instance's file holds: its own bytes, told apart by SOP UID.
fn content(sop: &str) -> Vec<u8> {
    format!("the stored object {sop}").into_bytes()
}

/// Writes each instance's `content` on `medium` under its key, records the
/// size and SHA-1 the medium computed, as ingest does, and indexes them.
async fn store(a: &Archive, medium: &str, batch: &[NewInstance]) {
    let to = a
        .ports
        .media
        .find(&MediumName::new(medium).unwrap())
        .unwrap();
    let mut indexed = Vec::new();
    for i in batch {
        let mut i = i.clone();
        let bytes = content(i.header.instance.sop_uid.as_str());
        i.blob.medium = to.name().clone();
        i.blob.size = bytes.len() as u64;
        let body = futures_util::stream::once(std::future::ready(Ok(Bytes::from(bytes))));
        let staged = to.stage(Box::pin(body)).await.unwrap();
        i.blob.sha1 = staged.sha1().to_owned();
        assert!(to.place(staged, &i.blob.key).await.unwrap().created);
        indexed.push(i);
    }
    a.seed(&indexed);
}

/// Every live instance of the study as retrieval answers it: SOP Instance UID,
/// the medium it is read from, its bytes.
async fn retrieved(a: &Archive, study: &str) -> Vec<(String, String, Vec<u8>)> {
    let target = Target::parse(study, None, None).unwrap();
    let mut out = Vec::new();
    for i in retrieve::locate(&a.ports, &a.tenant, &target, false).unwrap() {
        let mut opened = retrieve::open(&a.ports, &i).await.unwrap();
        let mut bytes = Vec::new();
        while let Some(chunk) = opened.stream.next().await {
            bytes.extend_from_slice(&chunk.unwrap());
        }
        assert_eq!(bytes.len() as u64, opened.len);
        out.push((i.sop_uid.to_string(), i.blob.medium.to_string(), bytes));
    }
    out.sort();
    out
}

/// What `retrieved` answers for these instances, read intact from `medium`.
fn intact(sops: &[&str], medium: &str) -> Vec<(String, String, Vec<u8>)> {
    sops.iter()
        .map(|s| (s.to_string(), medium.to_owned(), content(s)))
        .collect()
}

/// Where the index says the study's objects are: (medium, key) per instance.
fn locations(a: &Archive, study: &str) -> Vec<(String, String)> {
    let mut out: Vec<_> = a
        .study(study)
        .into_iter()
        .map(|i| (i.blob.medium.to_string(), i.blob.key))
        .collect();
    out.sort();
    out
}

fn relocation(selector: StudySelector, target: RelocationTarget) -> RelocateStudy {
    RelocateStudy {
        selector,
        target,
        author: "ops".into(),
    }
}

fn to_medium(study: &str, medium: &str) -> RelocateStudy {
    relocation(
        StudySelector::Uid(study_uid(study)),
        RelocationTarget::Medium(medium.into()),
    )
}

fn relocated(medium: &str) -> pacs_domain::model::NewEvent {
    event(
        EventType::StudyRelocated,
        Some("1.9.1"),
        None,
        Some("P1"),
        Some("ACC1"),
        &[("author", "ops"), ("medium", medium)],
    )
}

fn relocated_audit(medium: &str, objects: &str) -> pacs_domain::model::NewAuditRecord {
    audit(
        "ops",
        EventType::StudyRelocated,
        Some("1.9.1"),
        None,
        Some("P1"),
        &[("medium", medium), ("objects", objects)],
    )
}

const STUDY_1: [&str; 3] = ["1.9.1.1.1", "1.9.1.1.2", "1.9.1.2.1"];

/// Study 1.9.1 (three instances in two series) and study 1.9.2 (one), on the
/// default medium.
async fn two_studies() -> Archive {
    let a = Archive::new();
    let batch = [
        instance("P1", 1, 1, 1),
        instance("P1", 1, 1, 2),
        instance("P1", 1, 2, 1),
        instance("P2", 2, 1, 1),
    ];
    store(&a, MEDIUM, &batch).await;
    assert_eq!(retrieved(&a, "1.9.1").await, intact(&STUDY_1, MEDIUM));
    a
}

/// Nothing changed: the study is read intact from the default medium, nothing
/// is on the other one, nothing was recorded.
async fn untouched(a: &Archive) {
    assert_eq!(retrieved(a, "1.9.1").await, intact(&STUDY_1, MEDIUM));
    assert_eq!((a.files(), a.files_on(OTHER_MEDIUM)), (4, 0));
    assert!(a.events().is_empty() && a.audit().is_empty());
}

#[tokio::test]
async fn a_study_moves_to_another_medium_and_stays_readable() {
    let a = two_studies().await;
    let before = locations(&a, "1.9.1");

    relocate_study(&a.ports, &a.tenant, &to_medium("1.9.1", OTHER_MEDIUM))
        .await
        .unwrap();

    // Read from the other medium, the same bytes; each copy keeps its key.
    assert_eq!(retrieved(&a, "1.9.1").await, intact(&STUDY_1, OTHER_MEDIUM));
    let after = locations(&a, "1.9.1");
    let keys = |l: &[(String, String)]| l.iter().map(|(_, k)| k.clone()).collect::<Vec<_>>();
    assert_eq!(keys(&after), keys(&before));
    assert!(after.iter().all(|(m, _)| m == OTHER_MEDIUM), "{after:?}");
    for (_, key) in &after {
        assert!(a.root(OTHER_MEDIUM).join(key).is_file(), "{key} copied");
        assert!(!a.root(MEDIUM).join(key).exists(), "{key} removed");
    }
    assert_eq!((a.files(), a.files_on(OTHER_MEDIUM)), (1, 3));
    // The other study stays where it was.
    assert_eq!(retrieved(&a, "1.9.2").await, intact(&["1.9.2.1.1"], MEDIUM));
    assert_eq!(a.events(), vec![relocated(OTHER_MEDIUM)]);
    assert_eq!(a.audit(), vec![relocated_audit(OTHER_MEDIUM, "3")]);
}

#[tokio::test]
async fn a_study_named_by_its_accession_number_moves_back() {
    let a = two_studies().await;
    relocate_study(&a.ports, &a.tenant, &to_medium("1.9.1", OTHER_MEDIUM))
        .await
        .unwrap();
    let back = relocation(
        StudySelector::AccessionNumber("ACC1".into()),
        RelocationTarget::Medium(MEDIUM.into()),
    );
    relocate_study(&a.ports, &a.tenant, &back).await.unwrap();
    assert_eq!(retrieved(&a, "1.9.1").await, intact(&STUDY_1, MEDIUM));
    assert_eq!((a.files(), a.files_on(OTHER_MEDIUM)), (4, 0));
    assert_eq!(a.events(), vec![relocated(OTHER_MEDIUM), relocated(MEDIUM)]);
    assert_eq!(
        a.audit(),
        vec![
            relocated_audit(OTHER_MEDIUM, "3"),
            relocated_audit(MEDIUM, "3")
        ]
    );
}

#[tokio::test]
async fn only_the_objects_elsewhere_are_copied() {
    let a = Archive::new();
    store(&a, MEDIUM, &[instance("P1", 1, 1, 1)]).await;
    store(&a, OTHER_MEDIUM, &[instance("P1", 1, 1, 2)]).await;
    relocate_study(&a.ports, &a.tenant, &to_medium("1.9.1", OTHER_MEDIUM))
        .await
        .unwrap();
    assert_eq!(
        retrieved(&a, "1.9.1").await,
        intact(&["1.9.1.1.1", "1.9.1.1.2"], OTHER_MEDIUM)
    );
    assert_eq!((a.files(), a.files_on(OTHER_MEDIUM)), (0, 2));
    assert_eq!(a.audit(), vec![relocated_audit(OTHER_MEDIUM, "1")]);
}

#[tokio::test]
async fn a_study_already_on_the_medium_is_left_as_it_is() {
    let a = two_studies().await;
    let before = locations(&a, "1.9.1");
    relocate_study(&a.ports, &a.tenant, &to_medium("1.9.1", MEDIUM))
        .await
        .unwrap();
    assert_eq!(locations(&a, "1.9.1"), before);
    untouched(&a).await;
}

#[tokio::test]
async fn an_unknown_medium_is_not_found_and_nothing_moves() {
    let a = two_studies().await;
    // A name no medium has, and names no medium can have.
    for name in ["tape", "no such medium", ""] {
        let refused = relocate_study(&a.ports, &a.tenant, &to_medium("1.9.1", name))
            .await
            .unwrap_err();
        assert!(matches!(refused, AppError::NotFound { .. }), "{refused:?}");
        assert_eq!(code(&refused), "medium_not_found", "{name:?}");
    }
    untouched(&a).await;
}

#[tokio::test]
async fn a_bucket_is_refused_and_nothing_moves() {
    let a = two_studies().await;
    let to_bucket = relocation(
        StudySelector::Uid(study_uid("1.9.1")),
        RelocationTarget::Bucket("archive-bucket".into()),
    );
    let refused = relocate_study(&a.ports, &a.tenant, &to_bucket)
        .await
        .unwrap_err();
    assert!(matches!(refused, AppError::Conflict { .. }), "{refused:?}");
    assert_eq!(code(&refused), "bucket_error");
    untouched(&a).await;
}

#[tokio::test]
async fn an_unknown_study_is_not_found() {
    let a = two_studies().await;
    let unknown = [
        StudySelector::Uid(study_uid("1.9.9")),
        StudySelector::AccessionNumber("ACC9".into()),
    ];
    for selector in unknown {
        let r = relocation(selector, RelocationTarget::Medium(OTHER_MEDIUM.into()));
        let refused = relocate_study(&a.ports, &a.tenant, &r).await.unwrap_err();
        assert!(matches!(refused, AppError::NotFound { .. }), "{refused:?}");
        assert_eq!(code(&refused), "study_not_found");
    }
    untouched(&a).await;
}

#[tokio::test]
async fn several_studies_with_one_accession_are_refused() {
    let a = Archive::new();
    let mut other = instance("P2", 2, 1, 1);
    other.header.study.accession_number = Some("ACC1".into());
    store(&a, MEDIUM, &[instance("P1", 1, 1, 1), other]).await;
    let r = relocation(
        StudySelector::AccessionNumber("ACC1".into()),
        RelocationTarget::Medium(OTHER_MEDIUM.into()),
    );
    let refused = relocate_study(&a.ports, &a.tenant, &r).await.unwrap_err();
    assert!(matches!(refused, AppError::Conflict { .. }), "{refused:?}");
    assert_eq!(code(&refused), "multiple_studies");
    assert_eq!((a.files(), a.files_on(OTHER_MEDIUM)), (2, 0));
    assert!(a.events().is_empty() && a.audit().is_empty());
}

#[tokio::test]
async fn a_study_being_relocated_cannot_be_relocated_again() {
    let a = two_studies().await;
    // What a relocation of the study running in this process holds.
    let running = a
        .ports
        .in_flight
        .try_begin("default/relocation/1.9.1".into())
        .unwrap()
        .unwrap();
    let refused = relocate_study(&a.ports, &a.tenant, &to_medium("1.9.1", OTHER_MEDIUM))
        .await
        .unwrap_err();
    assert!(matches!(refused, AppError::Conflict { .. }), "{refused:?}");
    assert_eq!(code(&refused), "relocation_pending");
    untouched(&a).await;
    drop(running);
    relocate_study(&a.ports, &a.tenant, &to_medium("1.9.1", OTHER_MEDIUM))
        .await
        .unwrap();
    assert_eq!(retrieved(&a, "1.9.1").await, intact(&STUDY_1, OTHER_MEDIUM));
}

#[tokio::test]
async fn a_corrupted_object_stops_the_relocation_and_the_study_stays_where_it_was() {
    let a = two_studies().await;
    let before = locations(&a, "1.9.1");
    // The last object copied: the others are on the target when its SHA-1 fails.
    let damaged = a.root(MEDIUM).join("seed/1.9.1.2.1");
    let good = std::fs::read(&damaged).unwrap();
    let mut bad = good.clone();
    bad[0] ^= 0xff;
    std::fs::write(&damaged, &bad).unwrap();

    let refused = relocate_study(&a.ports, &a.tenant, &to_medium("1.9.1", OTHER_MEDIUM))
        .await
        .unwrap_err();
    assert!(matches!(refused, AppError::Conflict { .. }), "{refused:?}");
    assert_eq!(code(&refused), "system_error");

    // Still read from where it was; no copy left on the target, staged or not.
    assert_eq!(locations(&a, "1.9.1"), before);
    let mut expected = intact(&STUDY_1, MEDIUM);
    expected[2].2 = bad;
    assert_eq!(retrieved(&a, "1.9.1").await, expected);
    assert_eq!((a.files(), a.files_on(OTHER_MEDIUM)), (4, 0));
    let staging = a.root(OTHER_MEDIUM).join(".staging");
    assert_eq!(std::fs::read_dir(staging).unwrap().count(), 0);
    assert!(a.events().is_empty() && a.audit().is_empty());

    // Repaired, it goes: the failure left no relocation pending.
    std::fs::write(&damaged, &good).unwrap();
    relocate_study(&a.ports, &a.tenant, &to_medium("1.9.1", OTHER_MEDIUM))
        .await
        .unwrap();
    assert_eq!(retrieved(&a, "1.9.1").await, intact(&STUDY_1, OTHER_MEDIUM));
}

#[tokio::test]
async fn a_missing_object_stops_the_relocation() {
    let a = two_studies().await;
    let before = locations(&a, "1.9.1");
    std::fs::remove_file(a.root(MEDIUM).join("seed/1.9.1.1.2")).unwrap();
    let refused = relocate_study(&a.ports, &a.tenant, &to_medium("1.9.1", OTHER_MEDIUM))
        .await
        .unwrap_err();
    assert!(matches!(refused, AppError::Conflict { .. }), "{refused:?}");
    assert_eq!(code(&refused), "system_error");
    assert_eq!(locations(&a, "1.9.1"), before);
    assert_eq!((a.files(), a.files_on(OTHER_MEDIUM)), (3, 0));
    assert!(a.events().is_empty() && a.audit().is_empty());
}

#[tokio::test]
async fn a_damaged_leftover_on_the_target_is_not_taken_for_the_copy() {
    let a = two_studies().await;
    let before = locations(&a, "1.9.1");
    // A copy left on the target by an interrupted relocation, since damaged.
    let leftover = a.root(OTHER_MEDIUM).join("seed/1.9.1.1.1");
    std::fs::create_dir_all(leftover.parent().unwrap()).unwrap();
    std::fs::write(&leftover, b"damaged leftover").unwrap();
    let refused = relocate_study(&a.ports, &a.tenant, &to_medium("1.9.1", OTHER_MEDIUM))
        .await
        .unwrap_err();
    assert_eq!(code(&refused), "system_error");
    assert_eq!(locations(&a, "1.9.1"), before);
    assert_eq!(retrieved(&a, "1.9.1").await, intact(&STUDY_1, MEDIUM));
    assert!(a.events().is_empty() && a.audit().is_empty());
}

#[tokio::test]
async fn an_intact_leftover_on_the_target_is_reused() {
    let a = two_studies().await;
    let leftover = a.root(OTHER_MEDIUM).join("seed/1.9.1.1.1");
    std::fs::create_dir_all(leftover.parent().unwrap()).unwrap();
    std::fs::write(&leftover, content("1.9.1.1.1")).unwrap();
    relocate_study(&a.ports, &a.tenant, &to_medium("1.9.1", OTHER_MEDIUM))
        .await
        .unwrap();
    assert_eq!(retrieved(&a, "1.9.1").await, intact(&STUDY_1, OTHER_MEDIUM));
}

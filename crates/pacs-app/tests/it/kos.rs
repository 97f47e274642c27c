//! Key Object Selection manifests, and the events indexing records for them.

use pacs_app::ingest::StoreRequest;
use pacs_domain::ids::AeTitle;
use pacs_domain::model::{EventType, StudyAttributes};

use crate::support::*;

const KOS_CLASS: &str = "1.2.840.10008.5.1.4.1.1.88.59";

#[tokio::test]
async fn a_created_manifest_is_stored_with_its_two_events() {
    let a = Archive::new();
    a.seed(&[
        instance("P1", 1, 1, 1),
        instance("P1", 1, 1, 2),
        instance("P1", 1, 2, 1),
    ]);
    let sop = pacs_app::kos::create(
        &a.ports,
        &a.tenant,
        &study_uid("1.9.1"),
        Some(AeTitle::new("VIEWER").unwrap()),
        "http://pacs/wado-rs/PACS",
    )
    .await
    .unwrap();
    let live = a.study("1.9.1");
    assert_eq!(live.len(), 4);
    let manifest = live
        .iter()
        .find(|i| i.sop_uid.as_str() == sop)
        .expect("the manifest is an instance of the study");
    assert_eq!(manifest.sop_class.as_str(), KOS_CLASS);
    assert_eq!(a.files(), 1, "its file is on the medium");

    let series = manifest.series_uid.to_string();
    let stored = |kind| {
        event(
            kind,
            Some("1.9.1"),
            Some(&series),
            Some("P1"),
            Some("ACC1"),
            &[
                ("sopInstanceUid", &sop),
                ("sopClassUid", KOS_CLASS),
                ("callingAet", "VIEWER"),
            ],
        )
    };
    assert_eq!(
        a.events(),
        [
            stored(EventType::InstanceStored),
            stored(EventType::KosStored)
        ]
    );
    assert!(a.audit().is_empty(), "storing is not a management change");

    let missing =
        pacs_app::kos::create(&a.ports, &a.tenant, &study_uid("1.9.9"), None, "http://x").await;
    assert_eq!(missing.unwrap_err().code.as_str(), "STUDY_NOT_FOUND");
}

#[tokio::test]
async fn a_store_into_a_new_study_creates_it_then_stores() {
    let a = Archive::new();
    let mut study = StudyAttributes::with_uid(study_uid("1.9.8"));
    study.accession_number = Some("ACC8".into());
    let patient = instance("P8", 8, 1, 1).header.patient;
    let bytes = pacs_dicom_ops::build_kos(&pacs_dicom_ops::KosInput {
        patient: &patient,
        study: &study,
        series_uid: "1.9.8.5",
        sop_uid: "1.9.8.5.1",
        series_number: 5,
        date: "20260101",
        time: "101010",
        retrieve_ae: "PACS",
        retrieve_base_url: "http://pacs/wado-rs/PACS",
        references: &[pacs_dicom_ops::KosReference {
            series_uid: "1.9.8.1".into(),
            sop_class: "1.2.840.10008.5.1.4.1.1.2".into(),
            sop_uid: "1.9.8.1.1".into(),
            kind: pacs_dicom_ops::ReferenceKind::Image,
        }],
    })
    .unwrap();
    let calling = AeTitle::new("MOD1").unwrap();
    let store = async |bytes: &[u8]| {
        let mut req = StoreRequest::new(a.ports.clone(), a.tenant.clone(), calling.clone(), None);
        let part = bytes::Bytes::copy_from_slice(bytes);
        let part = futures_util::stream::once(std::future::ready(Ok(part)));
        req.add_part(Box::pin(part)).await.unwrap();
        req.finish().await.unwrap()
    };
    let report = store(&bytes).await;
    assert_eq!(report.stored.len(), 1);
    let details = [
        ("sopInstanceUid", "1.9.8.5.1"),
        ("sopClassUid", KOS_CLASS),
        ("callingAet", "MOD1"),
    ];
    let created = event(
        EventType::StudyCreated,
        Some("1.9.8"),
        None,
        Some("P8"),
        Some("ACC8"),
        &[],
    );
    let stored = |kind| {
        event(
            kind,
            Some("1.9.8"),
            Some("1.9.8.5"),
            Some("P8"),
            Some("ACC8"),
            &details,
        )
    };
    let expected = [
        created,
        stored(EventType::InstanceStored),
        stored(EventType::KosStored),
    ];
    assert_eq!(a.events(), expected);

    // The same object again: already stored, nothing recorded.
    let again = store(&bytes).await;
    assert_eq!(again.stored.len(), 1);
    assert!(again.failed.is_empty());
    assert_eq!(a.events(), expected);
    assert_eq!(a.files(), 1);
}

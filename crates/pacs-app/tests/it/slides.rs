//! Slide uploads: a barcode names one slide.

use pacs_app::AppError;
use pacs_app::pathology::{MiraxLimits, SlideStored, SlideUpload};
use pacs_domain::ids::AeTitle;
use pacs_domain::model::EventType;

use crate::support::*;

/// Uploads `content` as a single-file slide described by `attributes` (JSON members).
async fn upload(a: &Archive, attributes: &str, content: &[u8]) -> Result<SlideStored, AppError> {
    let mut up = SlideUpload::new(
        a.ports.clone(),
        a.tenant.clone(),
        AeTitle::new("SCANNER1").unwrap(),
        MiraxLimits::default(),
    );
    up.set_metadata(format!(r#"{{"attributes": {{{attributes}}}}}"#).as_bytes())?;
    let bytes = bytes::Bytes::copy_from_slice(content);
    let part = futures_util::stream::once(std::future::ready(Ok(bytes)));
    up.set_file(Box::pin(part), Some("slide.svs"), false)
        .await?;
    up.finish().await
}

fn attributes(barcode: &str) -> String {
    format!(
        r#""PatientID": "PATHO-1", "PatientName": "SLIDE^ONE", "AccessionNumber": "S-ACC",
           "ContainerIdentifier": "{barcode}""#
    )
}

#[tokio::test]
async fn a_barcode_names_one_slide() {
    let a = Archive::new();
    let first = upload(&a, &attributes("BC-1"), b"first slide")
        .await
        .unwrap();
    assert!(!first.already_stored);
    assert_eq!(first.container_identifier, "BC-1");
    assert_eq!(a.files(), 2, "the slide and its object");
    let study = first.study_uid.to_string();
    let stored = event(
        EventType::InstanceStored,
        Some(&study),
        Some(first.series_uid.as_str()),
        Some("PATHO-1"),
        Some("S-ACC"),
        &[
            ("sopInstanceUid", first.sop_uid.as_str()),
            ("sopClassUid", pacs_dicom_ops::PATHOLOGY_SOP_CLASS),
            ("callingAet", "SCANNER1"),
        ],
    );
    let created = event(
        EventType::StudyCreated,
        Some(&study),
        None,
        Some("PATHO-1"),
        Some("S-ACC"),
        &[],
    );
    assert_eq!(a.events(), [created.clone(), stored.clone()]);

    // The same slide again: nothing added.
    let again = upload(&a, &attributes("BC-1"), b"first slide")
        .await
        .unwrap();
    assert!(again.already_stored);
    assert_eq!((again.sop_uid, a.files()), (first.sop_uid.clone(), 2));

    // Another slide under the same barcode, as another object: refused, nothing kept.
    let other = format!(
        r#"{}, "SOPInstanceUID": "1.9.70.1.1", "SeriesInstanceUID": "1.9.70.1""#,
        attributes("BC-1")
    );
    let refused = upload(&a, &other, b"second slide").await.unwrap_err();
    assert_eq!(code(&refused), "barcode_in_use");
    assert_eq!(
        refused.to_string(),
        format!(
            "ContainerIdentifier BC-1 already identifies another slide (SOP Instance UID {})",
            first.sop_uid
        )
    );
    assert_eq!(a.files(), 2);
    assert_eq!(a.events(), [created, stored]);

    // Any live instance carrying the barcode holds it.
    let mut labelled = instance("P1", 1, 1, 1);
    labelled.header.instance.container_identifier = Some("BC-2".into());
    a.seed(&[labelled]);
    let refused = upload(&a, &attributes("BC-2"), b"third slide")
        .await
        .unwrap_err();
    assert_eq!(code(&refused), "barcode_in_use");
    assert!(refused.to_string().contains("1.9.1.1.1"), "{refused}");
    assert_eq!(a.files(), 2);
}

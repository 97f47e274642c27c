//! Orders: created by the RIS for the worklist, deleted by StudyInstanceUID.

use std::collections::BTreeMap;

use pacs_app::orders::{MANDATORY, create_order, delete_order};
use pacs_domain::model::EventType;

use crate::support::*;

fn fields(study: &str) -> BTreeMap<String, String> {
    [
        ("PatientID", "P1"),
        ("PatientName", "DOE^JANE"),
        ("PatientSex", "F"),
        ("StudyInstanceUID", study),
        ("ScheduledStationAETitle", "CT1"),
        ("ScheduledProcedureStepDescription", "head scan"),
        ("ScheduledProcedureStepStartDate", "20260101"),
        ("ScheduledProcedureStepStartTime", "101010"),
        ("Modality", "CT"),
        ("AccessionNumber", " ACC9 "),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

#[test]
fn an_order_is_created_once_and_deleted_once() {
    let a = Archive::new();
    let order = create_order(&a.ports, &a.tenant, fields("1.9.40")).unwrap();
    assert_eq!(order.accession_number, "ACC9", "values are trimmed");
    assert_eq!(order.patient.sex.as_deref(), Some("F"));
    let dup = create_order(&a.ports, &a.tenant, fields("1.9.40"));
    assert_eq!(code(&dup.unwrap_err()), "order_exists");

    let deleted = delete_order(&a.ports, &a.tenant, &study_uid("1.9.40")).unwrap();
    assert_eq!(deleted.study_uid, order.study_uid);
    let gone = delete_order(&a.ports, &a.tenant, &study_uid("1.9.40"));
    assert_eq!(code(&gone.unwrap_err()), "order_not_found");

    let e = |kind| {
        event(
            kind,
            Some("1.9.40"),
            None,
            Some("P1"),
            Some("ACC9"),
            &[("author", "orders API")],
        )
    };
    assert_eq!(
        a.events(),
        [e(EventType::OrderCreated), e(EventType::OrderDeleted)]
    );
    let r = |kind| {
        audit(
            "orders API",
            kind,
            Some("1.9.40"),
            None,
            Some("P1"),
            &[("accessionNumber", "ACC9")],
        )
    };
    assert_eq!(
        a.audit(),
        [r(EventType::OrderCreated), r(EventType::OrderDeleted)]
    );
}

#[test]
fn an_order_needs_every_mandatory_field_and_valid_values() {
    let a = Archive::new();
    for missing in MANDATORY {
        let mut f = fields("1.9.41");
        f.insert(missing.to_owned(), "  ".into());
        let refused = create_order(&a.ports, &a.tenant, f);
        assert_eq!(code(&refused.unwrap_err()), "missing_field", "{missing}");
    }
    for (key, bad) in [
        ("Modality", "ct"),
        ("ScheduledStationAETitle", "A\\B"),
        ("ScheduledProcedureStepStartDate", "20261301"),
        ("ScheduledProcedureStepStartTime", "10:10"),
        ("StudyInstanceUID", "1.02"),
        ("PatientSex", "X"),
    ] {
        let mut f = fields("1.9.41");
        f.insert(key.to_owned(), bad.to_owned());
        let refused = create_order(&a.ports, &a.tenant, f);
        assert_eq!(code(&refused.unwrap_err()), "invalid_field", "{key}");
    }
    // A missing studyUid is refused at the HTTP edge now.
    assert!(a.events().is_empty() && a.audit().is_empty());
}

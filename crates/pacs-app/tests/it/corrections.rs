//! Patient and study corrections: the index changes, files never do, and each
//! correction records its events and audit record.

use pacs_app::corrections::*;
use pacs_domain::model::{
    Change, CorrectionOutcome, EventType, PatientAttributes, StudyAttributes,
};

use crate::support::*;

/// Who changes, without a reason (corrections carry none).
fn by(author: &str) -> Change {
    Change {
        author: author.into(),
        reason: None,
    }
}

/// Patient `id` with only a name (`None` keeps none).
fn person(id: &str, name: Option<&str>) -> PatientAttributes {
    PatientAttributes {
        patient_id: patient(id),
        issuer: None,
        name: name.map(str::to_owned),
        birth_date: None,
        sex: None,
    }
}

fn studies_of(outcome: &CorrectionOutcome) -> Vec<String> {
    match outcome {
        CorrectionOutcome::Done { studies, .. } => studies.iter().map(|s| s.to_string()).collect(),
        other => panic!("not done: {other:?}"),
    }
}

#[test]
fn a_patient_update_reaches_studies_and_orders() {
    let a = Archive::new();
    a.seed(&[instance("P1", 1, 1, 1), instance("P1", 2, 1, 1)]);
    let order = order("1.9.77", "P1", "OLD^NAME", "ACC77");
    pacs_app::orders::create_order(&a.ports, &a.tenant, order).unwrap();
    let before = a.events().len();

    // The edge joins userName and operatorName and normalizes the sex.
    let r = UpdatePatient {
        patient: PatientAttributes {
            sex: Some("F".into()),
            ..person("P1", Some("NEW^NAME"))
        },
        change: by("clerk (operator op)"),
    };
    let done = update_patient(&a.ports, &a.tenant, &r).unwrap();
    assert_eq!(studies_of(&done), ["1.9.1", "1.9.2"]);
    let stored = a.study("1.9.1");
    assert_eq!(stored[0].patient.name.as_deref(), Some("NEW^NAME"));
    assert_eq!(stored[0].patient.sex.as_deref(), Some("F"));
    assert!(!stored[0].uncorrected(), "retrieval rewrites the header");

    let who = "clerk (operator op)";
    let updated = |study: &str, accession: &str| {
        event(
            EventType::PatientUpdated,
            Some(study),
            None,
            Some("P1"),
            Some(accession),
            &[("author", who)],
        )
    };
    assert_eq!(
        a.events()[before..],
        [updated("1.9.1", "ACC1"), updated("1.9.2", "ACC2")]
    );
    assert_eq!(
        a.audit().last(),
        Some(&audit(
            who,
            EventType::PatientUpdated,
            None,
            None,
            Some("P1"),
            &[("orders", "1")],
        ))
    );

    let unknown = UpdatePatient {
        patient: person("P9", Some("NEW^NAME")),
        ..r
    };
    let refused = update_patient(&a.ports, &a.tenant, &unknown);
    assert_eq!(code(&refused.unwrap_err()), "patient_not_found");
}

#[test]
fn a_new_patient_is_recorded_once() {
    let a = Archive::new();
    let r = CreatePatient {
        patient: person("P5", Some("NEW^ONE")),
        change: by("clerk"),
    };
    let done = create_patient(&a.ports, &a.tenant, &r).unwrap();
    assert!(studies_of(&done).is_empty());
    let created = event(
        EventType::PatientCreated,
        None,
        None,
        Some("P5"),
        None,
        &[("author", "clerk")],
    );
    assert_eq!(a.events(), std::slice::from_ref(&created));
    assert_eq!(
        a.audit(),
        [audit(
            "clerk",
            EventType::PatientCreated,
            None,
            None,
            Some("P5"),
            &[]
        )]
    );
    let again = create_patient(&a.ports, &a.tenant, &r);
    assert_eq!(code(&again.unwrap_err()), "patient_exists");

    // A patient without studies: the update's event names the patient only.
    let update = UpdatePatient {
        patient: person("P5", Some("NEW^TWO")),
        change: by("clerk"),
    };
    update_patient(&a.ports, &a.tenant, &update).unwrap();
    assert_eq!(
        a.events(),
        [
            created,
            event(
                EventType::PatientUpdated,
                None,
                None,
                Some("P5"),
                None,
                &[("author", "clerk")],
            )
        ]
    );
}

#[test]
fn a_merge_moves_every_study_to_the_target() {
    let a = Archive::new();
    a.seed(&[
        instance("P1", 1, 1, 1),
        instance("P1", 2, 1, 1),
        instance("P2", 3, 1, 1),
    ]);
    let r = MergePatients {
        source: patient("P1"),
        target: person("P2", None),
        change: by("clerk"),
    };
    let done = merge_patients(&a.ports, &a.tenant, &r).unwrap();
    assert_eq!(studies_of(&done), ["1.9.1", "1.9.2"]);
    for s in ["1.9.1", "1.9.2", "1.9.3"] {
        assert_eq!(a.study(s)[0].patient.patient_id.as_str(), "P2", "{s}");
    }
    let merged = |study: &str, accession: &str| {
        event(
            EventType::PatientsMerged,
            Some(study),
            None,
            Some("P2"),
            Some(accession),
            &[("author", "clerk"), ("sourcePatientId", "P1")],
        )
    };
    assert_eq!(
        a.events(),
        [merged("1.9.1", "ACC1"), merged("1.9.2", "ACC2")]
    );
    assert_eq!(
        a.audit(),
        [audit(
            "clerk",
            EventType::PatientsMerged,
            None,
            None,
            Some("P2"),
            &[("sourcePatientId", "P1"), ("targetPatientId", "P2")],
        )]
    );
    // The source has no study left.
    let again = merge_patients(&a.ports, &a.tenant, &r);
    assert_eq!(code(&again.unwrap_err()), "no_study_for_source");
    // A study stored later for the merged patient goes to the target.
    a.seed(&[instance("P1", 4, 1, 1)]);
    assert_eq!(a.study("1.9.4")[0].patient.patient_id.as_str(), "P2");
}

#[test]
fn a_study_moves_to_another_patient_created_when_missing() {
    let a = Archive::new();
    a.seed(&[instance("P1", 1, 1, 1), instance("P1", 2, 1, 1)]);
    let r = MoveStudy {
        study: study_uid("1.9.1"),
        target: person("P3", Some("THIRD^ONE")),
        change: by("clerk"),
    };
    let done = move_study(&a.ports, &a.tenant, &r).unwrap();
    assert_eq!(studies_of(&done), ["1.9.1"]);
    let moved = a.study("1.9.1");
    assert_eq!(moved[0].patient.patient_id.as_str(), "P3");
    assert_eq!(moved[0].patient.name.as_deref(), Some("THIRD^ONE"));
    assert_eq!(a.study("1.9.2")[0].patient.patient_id.as_str(), "P1");
    assert_eq!(
        a.events(),
        [event(
            EventType::StudyMoved,
            Some("1.9.1"),
            None,
            Some("P3"),
            Some("ACC1"),
            &[("author", "clerk"), ("sourcePatientId", "P1")],
        )]
    );
    assert_eq!(
        a.audit(),
        [audit(
            "clerk",
            EventType::StudyMoved,
            Some("1.9.1"),
            None,
            Some("P3"),
            &[("sourcePatientId", "P1")],
        )]
    );
    let missing = MoveStudy {
        study: study_uid("1.9.9"),
        ..r
    };
    let refused = move_study(&a.ports, &a.tenant, &missing);
    assert_eq!(code(&refused.unwrap_err()), "study_not_found");
    assert_eq!(a.events().len(), 1);
}

#[test]
fn reconciling_into_a_new_study_creates_it_first() {
    let a = Archive::new();
    a.seed(&[instance("P1", 1, 1, 1), instance("P1", 1, 2, 1)]);
    let mut target = StudyAttributes::with_uid(study_uid("1.9.5"));
    target.accession_number = Some("ACC5".into());
    let r = ReconcileStudies {
        source: study_uid("1.9.1"),
        target,
        patient: person("P1", None),
        change: by("ris"),
    };
    let done = reconcile_studies(&a.ports, &a.tenant, &r).unwrap();
    assert_eq!(studies_of(&done), ["1.9.1", "1.9.5"]);
    assert!(a.study("1.9.1").is_empty());
    assert_eq!(a.study("1.9.5").len(), 2);
    let e = |kind, study: &str, accession: &str, detail: Option<(&str, &str)>| {
        let mut details = vec![("author", "ris")];
        details.extend(detail);
        event(
            kind,
            Some(study),
            None,
            Some("P1"),
            Some(accession),
            &details,
        )
    };
    assert_eq!(
        a.events(),
        [
            e(EventType::StudyCreated, "1.9.5", "ACC5", None),
            e(
                EventType::StudyReconciled,
                "1.9.1",
                "ACC1",
                Some(("targetStudyInstanceUid", "1.9.5"))
            ),
            e(
                EventType::StudyReconciled,
                "1.9.5",
                "ACC5",
                Some(("sourceStudyInstanceUid", "1.9.1"))
            ),
            e(EventType::StudyAvailable, "1.9.5", "ACC5", None),
        ]
    );
    assert_eq!(
        a.audit(),
        [audit(
            "ris",
            EventType::StudyReconciled,
            Some("1.9.5"),
            None,
            Some("P1"),
            &[("sourceStudyInstanceUid", "1.9.1")],
        )]
    );
}

#[test]
fn two_studies_swap_their_series() {
    let a = Archive::new();
    a.seed(&[
        instance("P1", 1, 1, 1),
        instance("P2", 2, 1, 1),
        instance("P2", 2, 2, 1),
    ]);
    let r = SwapStudies {
        source: study_uid("1.9.1"),
        target: study_uid("1.9.2"),
        change: by("ris"),
    };
    swap_studies(&a.ports, &a.tenant, &r).unwrap();
    let series = |s: &str| {
        let mut all: Vec<String> = a
            .study(s)
            .iter()
            .map(|i| i.series_uid.to_string())
            .collect();
        all.sort();
        all.dedup();
        all
    };
    assert_eq!(series("1.9.1"), ["1.9.2.1", "1.9.2.2"]);
    assert_eq!(series("1.9.2"), ["1.9.1.1"]);
    assert_eq!(
        a.events(),
        [
            event(
                EventType::StudiesSwapped,
                Some("1.9.1"),
                None,
                Some("P1"),
                Some("ACC1"),
                &[("author", "ris"), ("otherStudyInstanceUid", "1.9.2")],
            ),
            event(
                EventType::StudiesSwapped,
                Some("1.9.2"),
                None,
                Some("P2"),
                Some("ACC2"),
                &[("author", "ris"), ("otherStudyInstanceUid", "1.9.1")],
            ),
        ]
    );
    assert_eq!(
        a.audit(),
        [audit(
            "ris",
            EventType::StudiesSwapped,
            Some("1.9.1"),
            None,
            None,
            &[("targetStudyInstanceUid", "1.9.2")],
        )]
    );
    let same = SwapStudies {
        target: study_uid("1.9.1"),
        ..r
    };
    assert_eq!(
        code(&swap_studies(&a.ports, &a.tenant, &same).unwrap_err()),
        "invalid_field"
    );
}

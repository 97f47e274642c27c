//! Deprecation and recovery of series and studies.

use pacs_app::deprecation::{
    SeriesChange, StudyChange, deprecate_series, deprecate_study, recover_series, recover_study,
};
use pacs_domain::model::{DeprecationOutcome, EventType, SeriesSelector, StudySelector};

use crate::support::*;

fn series(uid: &str, author: &str, reason: Option<&str>) -> SeriesChange {
    SeriesChange {
        selector: SeriesSelector::Uid(series_uid(uid)),
        author: author.into(),
        reason: reason.map(str::to_owned),
    }
}

fn study_by_accession(accession: &str, author: &str, reason: Option<&str>) -> StudyChange {
    StudyChange {
        selector: StudySelector::AccessionNumber(accession.into()),
        author: author.into(),
        reason: reason.map(str::to_owned),
    }
}

#[test]
fn a_series_is_hidden_with_its_record_and_brought_back() {
    let a = Archive::new();
    a.seed(&[
        instance("P1", 1, 1, 1),
        instance("P1", 1, 1, 2),
        instance("P1", 1, 2, 1),
    ]);

    let done = deprecate_series(
        &a.ports,
        &a.tenant,
        &series("1.9.1.1", "dr a", Some("wrong")),
    )
    .unwrap();
    assert_eq!(
        done,
        DeprecationOutcome::Done {
            study: study_uid("1.9.1"),
            series: vec![series_uid("1.9.1.1")],
        }
    );
    assert_eq!(a.study("1.9.1").len(), 1, "only the other series is live");
    let deprecated = event(
        EventType::SeriesDeprecated,
        Some("1.9.1"),
        Some("1.9.1.1"),
        Some("P1"),
        Some("ACC1"),
        &[("author", "dr a"), ("reason", "wrong")],
    );
    assert_eq!(a.events(), vec![deprecated.clone()]);
    let deprecated_audit = audit(
        "dr a",
        EventType::SeriesDeprecated,
        Some("1.9.1"),
        Some("1.9.1.1"),
        Some("P1"),
        &[("reason", "wrong")],
    );
    assert_eq!(a.audit(), vec![deprecated_audit.clone()]);

    // Gone: a second deprecation finds nothing and records nothing.
    let again = deprecate_series(&a.ports, &a.tenant, &series("1.9.1.1", "dr a", Some("x")));
    assert_eq!(code(&again.unwrap_err()), "series_not_found");
    assert_eq!(a.events().len(), 1);

    // A recovery needs no reason; it names who asked.
    recover_series(&a.ports, &a.tenant, &series("1.9.1.1", "dr b", None)).unwrap();
    assert_eq!(a.study("1.9.1").len(), 3);
    assert_eq!(
        a.events(),
        vec![
            deprecated,
            event(
                EventType::SeriesRecovered,
                Some("1.9.1"),
                Some("1.9.1.1"),
                Some("P1"),
                Some("ACC1"),
                &[("author", "dr b")],
            ),
        ]
    );
    assert_eq!(
        a.audit(),
        vec![
            deprecated_audit,
            audit(
                "dr b",
                EventType::SeriesRecovered,
                Some("1.9.1"),
                Some("1.9.1.1"),
                Some("P1"),
                &[],
            ),
        ]
    );
}

// A missing author, or a body naming the series both ways, is refused at the
// HTTP edge now (the command cannot express them).
#[test]
fn a_deprecation_needs_a_reason() {
    let a = Archive::new();
    a.seed(&[instance("P1", 1, 1, 1)]);
    let no_reason = deprecate_series(&a.ports, &a.tenant, &series("1.9.1.1", "dr a", None));
    assert_eq!(code(&no_reason.unwrap_err()), "bad_request");
    let no_reason = deprecate_study(
        &a.ports,
        &a.tenant,
        &study_by_accession("ACC1", "dr a", None),
    );
    assert_eq!(code(&no_reason.unwrap_err()), "bad_request");
    assert_eq!(a.study("1.9.1").len(), 1);
    assert!(a.events().is_empty() && a.audit().is_empty());
}

#[test]
fn a_series_is_named_by_its_barcode() {
    let a = Archive::new();
    let mut slide = instance("P1", 1, 2, 1);
    slide.header.instance.container_identifier = Some("BC-7".into());
    a.seed(&[instance("P1", 1, 1, 1), slide]);
    let by_barcode = SeriesChange {
        selector: SeriesSelector::ContainerIdentifier("BC-7".into()),
        author: "lab".into(),
        reason: Some("mislabelled".into()),
    };
    let done = deprecate_series(&a.ports, &a.tenant, &by_barcode).unwrap();
    assert_eq!(
        done,
        DeprecationOutcome::Done {
            study: study_uid("1.9.1"),
            series: vec![series_uid("1.9.1.2")],
        }
    );
    let unknown = SeriesChange {
        selector: SeriesSelector::ContainerIdentifier("BC-8".into()),
        ..by_barcode
    };
    let refused = deprecate_series(&a.ports, &a.tenant, &unknown);
    assert_eq!(code(&refused.unwrap_err()), "series_not_found");
}

#[test]
fn a_study_is_hidden_whole_and_comes_back_unless_stored_again() {
    let a = Archive::new();
    a.seed(&[
        instance("P1", 1, 1, 1),
        instance("P1", 1, 2, 1),
        instance("P2", 2, 1, 1),
    ]);
    let done = deprecate_study(
        &a.ports,
        &a.tenant,
        &study_by_accession("ACC1", "dr a", Some("dup")),
    )
    .unwrap();
    assert_eq!(
        done,
        DeprecationOutcome::Done {
            study: study_uid("1.9.1"),
            series: vec![series_uid("1.9.1.1"), series_uid("1.9.1.2")],
        }
    );
    assert!(a.study("1.9.1").is_empty());
    assert_eq!(a.study("1.9.2").len(), 1, "another study is untouched");
    let deprecated = event(
        EventType::StudyDeprecated,
        Some("1.9.1"),
        None,
        Some("P1"),
        Some("ACC1"),
        &[("author", "dr a"), ("reason", "dup")],
    );
    assert_eq!(a.events(), vec![deprecated.clone()]);
    assert_eq!(
        a.audit(),
        vec![audit(
            "dr a",
            EventType::StudyDeprecated,
            Some("1.9.1"),
            None,
            Some("P1"),
            &[("reason", "dup")],
        )]
    );

    // Its UIDs are free: the same study stored again is live, and the
    // deprecated one cannot come back over it.
    a.seed(&[instance("P1", 1, 1, 1)]);
    let refused = recover_study(
        &a.ports,
        &a.tenant,
        &study_by_accession("ACC1", "dr b", None),
    );
    assert_eq!(code(&refused.unwrap_err()), "live_data_exists");
    assert_eq!(
        a.events(),
        vec![deprecated.clone()],
        "a refusal records nothing"
    );

    // Once the new one is deprecated too, the most recent deprecation returns.
    deprecate_study(
        &a.ports,
        &a.tenant,
        &study_by_accession("ACC1", "dr a", Some("again")),
    )
    .unwrap();
    let back = recover_study(
        &a.ports,
        &a.tenant,
        &study_by_accession("ACC1", "dr b", None),
    )
    .unwrap();
    assert_eq!(
        back,
        DeprecationOutcome::Done {
            study: study_uid("1.9.1"),
            series: vec![series_uid("1.9.1.1")],
        }
    );
    assert_eq!(a.study("1.9.1").len(), 1);
    assert_eq!(
        a.events().last(),
        Some(&event(
            EventType::StudyRecovered,
            Some("1.9.1"),
            None,
            Some("P1"),
            Some("ACC1"),
            &[("author", "dr b")],
        ))
    );
    assert_eq!(a.audit().len(), 3);
}

#[test]
fn several_studies_with_one_accession_are_refused() {
    let a = Archive::new();
    let mut other = instance("P2", 2, 1, 1);
    other.header.study.accession_number = Some("ACC1".into());
    a.seed(&[instance("P1", 1, 1, 1), other]);
    let refused = deprecate_study(
        &a.ports,
        &a.tenant,
        &study_by_accession("ACC1", "dr a", Some("r")),
    );
    assert_eq!(code(&refused.unwrap_err()), "multiple_studies");
    assert!(a.events().is_empty() && a.audit().is_empty());
}

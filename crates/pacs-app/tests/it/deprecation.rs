//! Deprecation and recovery of series and studies.

use pacs_app::deprecation::{DeprecationChange, change_deprecation};
use pacs_app::{AppError, Ports, Tenant};
use pacs_domain::model::{
    DeprecationAction, DeprecationOutcome, DeprecationTarget, EventType, SeriesSelector,
    StudySelector,
};

use crate::support::*;

/// A change of `target` by `author` (the action is set by `deprecate` or `recover`).
fn by(target: DeprecationTarget, author: &str, reason: Option<&str>) -> DeprecationChange {
    DeprecationChange {
        action: DeprecationAction::Deprecate,
        target,
        author: author.into(),
        reason: reason.map(str::to_owned),
    }
}

fn series(uid: &str, author: &str, reason: Option<&str>) -> DeprecationChange {
    let target = DeprecationTarget::Series(SeriesSelector::Uid(series_uid(uid)));
    by(target, author, reason)
}

fn study_by_accession(accession: &str, author: &str, reason: Option<&str>) -> DeprecationChange {
    let target = DeprecationTarget::Study(StudySelector::AccessionNumber(accession.into()));
    by(target, author, reason)
}

fn deprecate(p: &Ports, t: &Tenant, c: &DeprecationChange) -> Result<DeprecationOutcome, AppError> {
    let action = DeprecationAction::Deprecate;
    change_deprecation(
        p,
        t,
        &DeprecationChange {
            action,
            ..c.clone()
        },
    )
}

fn recover(p: &Ports, t: &Tenant, c: &DeprecationChange) -> Result<DeprecationOutcome, AppError> {
    let action = DeprecationAction::Recover;
    change_deprecation(
        p,
        t,
        &DeprecationChange {
            action,
            ..c.clone()
        },
    )
}

#[test]
fn a_series_is_hidden_with_its_record_and_brought_back() {
    let a = Archive::new();
    a.seed(&[
        instance("P1", 1, 1, 1),
        instance("P1", 1, 1, 2),
        instance("P1", 1, 2, 1),
    ]);

    let done = deprecate(
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
    let again = deprecate(&a.ports, &a.tenant, &series("1.9.1.1", "dr a", Some("x")));
    assert_eq!(code(&again.unwrap_err()), "series_not_found");
    assert_eq!(a.events().len(), 1);

    // A recovery needs no reason; it names who asked.
    recover(&a.ports, &a.tenant, &series("1.9.1.1", "dr b", None)).unwrap();
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
    let no_reason = deprecate(&a.ports, &a.tenant, &series("1.9.1.1", "dr a", None));
    assert_eq!(code(&no_reason.unwrap_err()), "bad_request");
    let no_reason = deprecate(
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
    let barcode =
        |b: &str| DeprecationTarget::Series(SeriesSelector::ContainerIdentifier(b.into()));
    let by_barcode = by(barcode("BC-7"), "lab", Some("mislabelled"));
    let done = deprecate(&a.ports, &a.tenant, &by_barcode).unwrap();
    assert_eq!(
        done,
        DeprecationOutcome::Done {
            study: study_uid("1.9.1"),
            series: vec![series_uid("1.9.1.2")],
        }
    );
    let unknown = by(barcode("BC-8"), "lab", Some("mislabelled"));
    let refused = deprecate(&a.ports, &a.tenant, &unknown);
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
    let done = deprecate(
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
    let refused = recover(
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
    deprecate(
        &a.ports,
        &a.tenant,
        &study_by_accession("ACC1", "dr a", Some("again")),
    )
    .unwrap();
    let back = recover(
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
    let refused = deprecate(
        &a.ports,
        &a.tenant,
        &study_by_accession("ACC1", "dr a", Some("r")),
    );
    assert_eq!(code(&refused.unwrap_err()), "multiple_studies");
    assert!(a.events().is_empty() && a.audit().is_empty());
}

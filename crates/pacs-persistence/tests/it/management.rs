//! What every backend must do with the management ports and the read-only
//! ones beside them: each change writes exactly the journal its caller builds
//! from the facts it found, in the change's transaction; a refusal writes
//! nothing and does not ask for a journal.

use std::cell::RefCell;
use std::collections::BTreeMap;

use pacs_domain::ids::*;
use pacs_domain::model::*;
use pacs_domain::ports::*;
use pacs_persistence::Database;

use crate::support::*;

/// A journal that keeps the facts it is built from and records one event and
/// one audit record of `kind`.
struct Probe<F> {
    kind: EventType,
    seen: RefCell<Vec<F>>,
}

impl<F: Clone> Probe<F> {
    fn new(kind: EventType) -> Self {
        Self {
            kind,
            seen: RefCell::new(Vec::new()),
        }
    }

    fn journal(&self, facts: &F) -> Journal {
        self.seen.borrow_mut().push(facts.clone());
        Journal {
            events: vec![
                NewEvent::new(self.kind).detail("n", self.seen.borrow().len().to_string()),
            ],
            audit: Some(NewAuditRecord {
                actor: "probe".into(),
                action: self.kind,
                study_uid: None,
                series_uid: None,
                patient_id: None,
                details: BTreeMap::new(),
            }),
        }
    }

    /// The facts of the last journal built, and how many were built.
    fn last(&self) -> (Option<F>, usize) {
        let seen = self.seen.borrow();
        (seen.last().cloned(), seen.len())
    }
}

fn study(n: u32) -> StudyInstanceUid {
    StudyInstanceUid::new(&format!("1.2.826.0.1.1.{n}")).unwrap()
}

fn series(n: u32) -> SeriesInstanceUid {
    SeriesInstanceUid::new(&format!("1.2.826.0.1.2.{n}")).unwrap()
}

fn sop(n: u32) -> SopInstanceUid {
    SopInstanceUid::new(&format!("1.2.826.0.1.3.{n}")).unwrap()
}

fn pid(s: &str) -> PatientId {
    PatientId::new(s).unwrap()
}

fn study_ref(n: u32, patient: &str) -> StudyRef {
    StudyRef {
        uid: study(n),
        patient_id: pid(patient),
        accession: Some(format!("ACC{n}")),
    }
}

fn patient(id: &str, name: &str) -> PatientAttributes {
    PatientAttributes {
        patient_id: pid(id),
        issuer: None,
        name: Some(name.into()),
        birth_date: None,
        sex: None,
    }
}

fn change(author: &str) -> Change {
    Change {
        author: author.into(),
        reason: Some("because".into()),
    }
}

/// How many events and audit records the tenant's logs hold.
fn logged(db: &Database, ten: &TenantName) -> (usize, usize) {
    (
        db.read_after(ten, 0, 10_000).unwrap().len(),
        db.audit_after(Some(ten), 0, 10_000).unwrap().len(),
    )
}

fn live(db: &Database, ten: &TenantName, n: u32) -> Vec<StoredInstance> {
    db.locate(ten, &study(n), None, None, false).unwrap()
}

#[test]
fn indexing_writes_the_journal_of_its_steps_in_order() {
    for t in databases() {
        let (db, ten) = (&t.db, tenant("ix"));
        let batch = [
            instance("P1", 1, 1, 1, "a"),
            instance("P1", 1, 1, 2, "b"),
            instance("P2", 2, 2, 3, "c"),
        ];
        let steps = RefCell::new(Vec::new());
        let recorder = |s: &[Indexed]| {
            steps.borrow_mut().extend_from_slice(s);
            journal(&batch, s)
        };
        let policy = StorePolicy {
            journal: &recorder,
            admit: &|_, _| Ok(()),
            unique_barcodes: false,
        };
        db.store(&ten, &batch, &policy).unwrap();
        assert_eq!(
            *steps.borrow(),
            [
                Indexed::StudyCreated { instance: 0 },
                Indexed::Stored {
                    instance: 0,
                    study: study_ref(1, "P1")
                },
                Indexed::Stored {
                    instance: 1,
                    study: study_ref(1, "P1")
                },
                Indexed::StudyCreated { instance: 2 },
                Indexed::Stored {
                    instance: 2,
                    study: study_ref(2, "P2")
                },
            ],
            "{}",
            t.name
        );
        let kinds: Vec<EventType> = db
            .read_after(&ten, 0, 100)
            .unwrap()
            .into_iter()
            .map(|e| e.event.event_type)
            .collect();
        assert_eq!(kinds.len(), 5, "{}", t.name);
        assert_eq!(kinds[0], EventType::StudyCreated);

        // A barcode names one instance when the policy says so.
        let mut slide = instance("P1", 1, 3, 7, "d");
        slide.header.instance.container_identifier = Some("BC-1".into());
        let barcodes = |unique_barcodes| StorePolicy {
            journal: &recorder,
            admit: &|_, _| Ok(()),
            unique_barcodes,
        };
        assert_eq!(
            db.store(&ten, std::slice::from_ref(&slide), &barcodes(true))
                .unwrap(),
            [StoreOutcome::Stored]
        );
        assert_eq!(
            db.store(&ten, std::slice::from_ref(&slide), &barcodes(true))
                .unwrap(),
            [StoreOutcome::AlreadyStored],
            "{}: the holder itself",
            t.name
        );
        let mut other = instance("P1", 1, 3, 8, "e");
        other.header.instance.container_identifier = Some("BC-1".into());
        assert_eq!(
            db.store(&ten, std::slice::from_ref(&other), &barcodes(true))
                .unwrap(),
            [StoreOutcome::BarcodeTaken {
                barcode: "BC-1".into(),
                holder: sop(7)
            }],
            "{}",
            t.name
        );
        assert_eq!(
            db.store(&ten, std::slice::from_ref(&other), &barcodes(false))
                .unwrap(),
            [StoreOutcome::Stored],
            "{}: without the rule",
            t.name
        );

        // What retrieval finds by barcode, series and SOP Instance UID alone.
        let holders = db.locate_by_container(&ten, "BC-1").unwrap();
        assert_eq!(holders.len(), 2, "{}", t.name);
        assert_eq!(db.locate_series(&ten, &series(1)).unwrap().len(), 2);
        let one = db.locate_instance(&ten, &sop(3)).unwrap().unwrap();
        assert_eq!((one.study_uid, one.series_uid), (study(2), series(2)));
        assert!(db.locate_instance(&ten, &sop(99)).unwrap().is_none());
        assert!(
            db.locate_instance(&tenant("other"), &sop(3))
                .unwrap()
                .is_none()
        );
    }
}

#[test]
fn indexing_asks_the_policy_who_may_join_a_study() {
    for t in databases() {
        let (db, ten) = (&t.db, tenant("adm"));
        store(
            db,
            &ten,
            &[instance("P1", 1, 1, 1, "a"), instance("P2", 2, 2, 2, "b")],
        )
        .unwrap();
        let owners = RefCell::new(Vec::new());
        let only_p1 = |h: &InstanceHeader, o: &StudyOwner| {
            owners.borrow_mut().push(o.clone());
            if h.patient.patient_id == pid("P1") {
                Ok(())
            } else {
                Err("other patient".to_owned())
            }
        };
        let nothing = |_: &[Indexed]| Journal::default();
        let policy = StorePolicy {
            journal: &nothing,
            admit: &only_p1,
            unique_barcodes: false,
        };
        let before = logged(db, &ten);
        let key = |id: &str| PatientKey {
            patient_id: pid(id),
            issuer: None,
        };

        // Refused: nothing written, the existing study's owner shown to the rule.
        let mallory = instance("MALLORY", 1, 1, 3, "c");
        assert_eq!(
            db.store(&ten, std::slice::from_ref(&mallory), &policy)
                .unwrap(),
            [StoreOutcome::NotAdmitted("other patient".into())],
            "{}",
            t.name
        );
        assert_eq!(
            owners.borrow().last(),
            Some(&StudyOwner {
                patient: key("P1"),
                merged: vec![]
            })
        );
        assert_eq!(live(db, &ten, 1).len(), 1, "{}", t.name);
        assert_eq!(logged(db, &ten), before, "{}", t.name);

        // After P2 is merged into P1, P2 is among the owner's identities.
        let noop = |_: &Corrected| Journal::default();
        db.merge_patients(&ten, &pid("P2"), &patient("P1", "ONE"), &noop)
            .unwrap();
        let late = instance("P1", 2, 2, 4, "d");
        assert_eq!(
            db.store(&ten, std::slice::from_ref(&late), &policy)
                .unwrap(),
            [StoreOutcome::Stored],
            "{}",
            t.name
        );
        assert_eq!(
            owners.borrow().last(),
            Some(&StudyOwner {
                patient: key("P1"),
                merged: vec![key("P2")]
            }),
            "{}",
            t.name
        );
    }
}

#[test]
fn deprecation_hides_and_recovery_brings_back() {
    use DeprecationAction::{Deprecate, Recover};
    use DeprecationTarget::{Series, Study};
    for t in databases() {
        let (db, ten) = (&t.db, tenant("dep"));
        let mut labelled = instance("P2", 2, 3, 4, "d");
        labelled.header.instance.container_identifier = Some("BC-9".into());
        store(
            db,
            &ten,
            &[
                instance("P1", 1, 1, 1, "a"),
                instance("P1", 1, 1, 2, "b"),
                instance("P1", 1, 2, 3, "c"),
                labelled,
            ],
        )
        .unwrap();
        let before = logged(db, &ten);
        let probe = Probe::new(EventType::SeriesDeprecated);
        let run = |action, target: &DeprecationTarget| {
            let mut outcome = db
                .change_deprecation(&ten, action, target, &change("dr"), &|f| probe.journal(f))
                .unwrap();
            if let DeprecationOutcome::Done { series, .. } = &mut outcome {
                series.sort();
            }
            outcome
        };
        let series_1 = Series(SeriesSelector::Uid(series(1)));
        let done = |n: u32, s: Vec<u32>| DeprecationOutcome::Done {
            study: study(n),
            series: s.into_iter().map(series).collect(),
        };
        assert_eq!(run(Deprecate, &series_1), done(1, vec![1]), "{}", t.name);
        let facts = Deprecated {
            study: study_ref(1, "P1"),
            series: vec![series(1)],
        };
        assert_eq!(probe.last(), (Some(facts.clone()), 1));
        assert_eq!(logged(db, &ten), (before.0 + 1, before.1 + 1));
        assert_eq!(live(db, &ten, 1).len(), 1);

        // Refusals: nothing written, no journal asked for.
        assert_eq!(
            run(Deprecate, &series_1),
            DeprecationOutcome::SeriesNotFound
        );
        let twice = Study(StudySelector::AccessionNumber("ACC7".into()));
        assert_eq!(run(Deprecate, &twice), DeprecationOutcome::StudyNotFound);
        assert_eq!(probe.last().1, 1);
        assert_eq!(logged(db, &ten), (before.0 + 1, before.1 + 1));

        // By barcode, then recovery while its study is hidden.
        let barcode = Series(SeriesSelector::ContainerIdentifier("BC-9".into()));
        assert_eq!(run(Deprecate, &barcode), done(2, vec![3]));
        let study_2 = Study(StudySelector::Uid(study(2)));
        assert_eq!(run(Deprecate, &study_2), done(2, vec![]));
        assert_eq!(
            run(Recover, &barcode),
            DeprecationOutcome::StudyOfSeriesNotFound
        );
        assert_eq!(run(Recover, &study_2), done(2, vec![]));
        assert_eq!(run(Recover, &barcode), done(2, vec![3]));
        assert_eq!(live(db, &ten, 2).len(), 1);

        // Recovery over data stored since is refused.
        store(db, &ten, &[instance("P1", 1, 1, 1, "a")]).unwrap();
        assert!(matches!(
            run(Recover, &series_1),
            DeprecationOutcome::LiveDataExists(_)
        ));
        let by_accession = Study(StudySelector::AccessionNumber("ACC1".into()));
        assert_eq!(run(Deprecate, &by_accession), done(1, vec![1, 2]));
        assert!(live(db, &ten, 1).is_empty());
        assert_eq!(run(Recover, &by_accession), done(1, vec![1, 2]));
        assert_eq!(live(db, &ten, 1).len(), 2);

        // Several studies with one accession, several series with one barcode.
        let mut twin = instance("P3", 5, 5, 5, "e");
        twin.header.study.accession_number = Some("ACC1".into());
        twin.header.instance.container_identifier = Some("BC-9".into());
        store(db, &ten, &[twin]).unwrap();
        assert_eq!(
            run(Deprecate, &by_accession),
            DeprecationOutcome::MultipleStudies
        );
        assert_eq!(run(Deprecate, &barcode), DeprecationOutcome::MultipleSeries);
        assert_eq!(probe.last().1, 7, "{}", t.name);
    }
}

#[test]
fn corrections_change_rows_and_write_their_journal() {
    for t in databases() {
        let (db, ten) = (&t.db, tenant("cor"));
        store(
            db,
            &ten,
            &[
                instance("P1", 1, 1, 1, "a"),
                instance("P1", 2, 2, 2, "b"),
                instance("P2", 3, 3, 3, "c"),
            ],
        )
        .unwrap();
        let before = logged(db, &ten);
        let probe = Probe::new(EventType::PatientUpdated);
        let j = |f: &Corrected| probe.journal(f);
        let facts = |p: PatientAttributes, studies: Vec<StudyRef>| Corrected {
            patient: p,
            source_patient: None,
            studies,
            created_study: false,
            orders: 0,
        };

        // Create: once per ID and issuer.
        let p5 = patient("P5", "FIVE");
        let done = db.create_patient(&ten, &p5, &j).unwrap();
        assert!(matches!(done, CorrectionOutcome::Done { .. }));
        assert_eq!(probe.last().0, Some(facts(p5.clone(), vec![])));
        assert_eq!(
            db.create_patient(&ten, &p5, &j).unwrap(),
            CorrectionOutcome::PatientExists
        );

        // Update: the patient's studies and orders follow.
        let order = Order {
            study_uid: study(40),
            accession_number: "ACC40".into(),
            patient: patient("P1", "OLD"),
            scheduled_station_ae: "CT1".into(),
            start_date: "20260101".into(),
            start_time: "1010".into(),
            modality: "CT".into(),
            fields: BTreeMap::from([("PatientName".to_owned(), "OLD".to_owned())]),
        };
        let orders = Probe::new(EventType::OrderCreated);
        let created = db
            .create_order(&ten, &order, &|o| orders.journal(o))
            .unwrap();
        assert_eq!(created, OrderOutcome::Done(Box::new(order.clone())));
        let p1 = patient("P1", "NEW^NAME");
        db.update_patient(&ten, &p1, &j).unwrap();
        assert_eq!(
            probe.last().0,
            Some(Corrected {
                orders: 1,
                ..facts(p1.clone(), vec![study_ref(1, "P1"), study_ref(2, "P1")])
            }),
            "{}",
            t.name
        );
        assert_eq!(
            live(db, &ten, 1)[0].patient.name.as_deref(),
            Some("NEW^NAME")
        );
        // The worklist reads the orders with the patient's current values,
        // the tenant's only.
        let listed = db.list_orders(&ten, 10).unwrap();
        assert_eq!(listed.len(), 1, "{}", t.name);
        assert_eq!(listed[0].patient.name.as_deref(), Some("NEW^NAME"));
        assert_eq!(listed[0].fields["PatientName"], "NEW^NAME");
        assert!(db.list_orders(&tenant("other"), 10).unwrap().is_empty());
        assert_eq!(
            db.update_patient(&ten, &patient("P9", "X"), &j).unwrap(),
            CorrectionOutcome::PatientNotFound
        );

        // Move, then merge.
        let moved = db
            .move_study(&ten, &study(1), &patient("P3", "THREE"), &j)
            .unwrap();
        assert_eq!(
            moved,
            CorrectionOutcome::Done {
                patient: patient("P3", "THREE"),
                studies: vec![study(1)],
            }
        );
        assert_eq!(
            probe.last().0,
            Some(Corrected {
                source_patient: Some(pid("P1")),
                ..facts(patient("P3", "THREE"), vec![study_ref(1, "P3")])
            })
        );
        assert_eq!(
            db.move_study(&ten, &study(9), &p1, &j).unwrap(),
            CorrectionOutcome::StudyNotFound(study(9))
        );
        db.merge_patients(&ten, &pid("P2"), &patient("P3", "IGNORED"), &j)
            .unwrap();
        assert_eq!(
            probe.last().0.map(|f| (f.source_patient, f.studies)),
            Some((Some(pid("P2")), vec![study_ref(3, "P3")]))
        );
        assert_eq!(live(db, &ten, 3)[0].patient.patient_id, pid("P3"));
        assert_eq!(
            db.merge_patients(&ten, &pid("P2"), &patient("P3", "X"), &j)
                .unwrap(),
            CorrectionOutcome::NoStudyForPatient
        );

        // Reconcile into a new study, then swap.
        let mut target = StudyAttributes::with_uid(study(8));
        target.accession_number = Some("ACC8".into());
        db.reconcile_studies(&ten, &study(2), &target, &patient("P1", "X"), &j)
            .unwrap();
        let f = probe.last().0.unwrap();
        assert!(f.created_study, "{}", t.name);
        assert_eq!(f.studies, vec![study_ref(2, "P1"), study_ref(8, "P1")]);
        assert!(live(db, &ten, 2).is_empty());
        assert_eq!(live(db, &ten, 8).len(), 1);
        assert_eq!(
            db.reconcile_studies(&ten, &study(1), &target, &patient("P7", "X"), &j)
                .unwrap(),
            CorrectionOutcome::PatientMismatch {
                expected: pid("P7"),
                found: pid("P1"),
            }
        );
        db.swap_studies(&ten, &study(1), &study(8), &j).unwrap();
        assert_eq!(
            probe.last().0.map(|f| f.studies),
            Some(vec![study_ref(1, "P3"), study_ref(8, "P1")])
        );
        assert_eq!(live(db, &ten, 1)[0].series_uid, series(2));
        assert_eq!(live(db, &ten, 8)[0].series_uid, series(1));

        // Six corrections and an order recorded, refusals nothing.
        assert_eq!(probe.last().1, 6, "{}", t.name);
        assert_eq!(logged(db, &ten), (before.0 + 7, before.1 + 7));
    }
}

#[test]
fn orders_are_created_and_deleted_once() {
    for t in databases() {
        let (db, ten) = (&t.db, tenant("ord"));
        let probe = Probe::new(EventType::OrderCreated);
        let j = |o: &Order| probe.journal(o);
        let order = Order {
            study_uid: study(41),
            accession_number: "ACC41".into(),
            patient: patient("P1", "ONE"),
            scheduled_station_ae: "CT1".into(),
            start_date: "20260101".into(),
            start_time: "1010".into(),
            modality: "CT".into(),
            fields: BTreeMap::from([("Modality".to_owned(), "CT".to_owned())]),
        };
        db.create_order(&ten, &order, &j).unwrap();
        assert_eq!(
            db.create_order(&ten, &order, &j).unwrap(),
            OrderOutcome::Duplicate
        );
        assert_eq!(
            db.delete_order(&ten, &study(41), &j).unwrap(),
            OrderOutcome::Done(Box::new(order.clone())),
            "{}",
            t.name
        );
        assert_eq!(
            db.delete_order(&ten, &study(41), &j).unwrap(),
            OrderOutcome::NotFound
        );
        assert_eq!(probe.last(), (Some(order), 2));
        assert_eq!(logged(db, &ten), (2, 2));
    }
}

#[test]
fn relocation_switches_rows_to_their_copies() {
    for t in databases() {
        let (db, ten) = (&t.db, tenant("rel"));
        store(
            db,
            &ten,
            &[instance("P1", 1, 1, 1, "a"), instance("P1", 1, 1, 2, "b")],
        )
        .unwrap();
        let by_uid = StudySelector::Uid(study(1));
        let RelocationLookup::Found { study: uid, files } = db.study_files(&ten, &by_uid).unwrap()
        else {
            panic!("{}: study not found", t.name);
        };
        assert_eq!((uid, files.len()), (study(1), 2));
        assert_eq!(
            db.study_files(&ten, &StudySelector::Uid(study(2))).unwrap(),
            RelocationLookup::NotFound
        );
        let target = MediumName::new("cold").unwrap();
        let moved: Vec<RelocatedFile> = files
            .iter()
            .map(|f| RelocatedFile {
                file: f.clone(),
                new_key: format!("cold/{}", f.key),
            })
            .collect();
        let probe = Probe::new(EventType::StudyRelocated);
        let j = |s: &StudyRef| probe.journal(s);
        let orphans = db
            .switch_medium(&ten, &study(1), &target, &moved, &j)
            .unwrap();
        assert_eq!(
            orphans, files,
            "{}: the old copies are unreferenced",
            t.name
        );
        assert_eq!(probe.last(), (Some(study_ref(1, "P1")), 1));
        let now = db.find_live(&ten, &sop(1)).unwrap().unwrap();
        assert_eq!(
            (now.medium, now.key),
            (target.clone(), moved[0].new_key.clone())
        );
        // The rows no longer name what was copied: refused, nothing written.
        let stale = db.switch_medium(&ten, &study(1), &target, &moved, &j);
        assert!(
            matches!(stale, Err(RepositoryError::Conflict(_))),
            "{}",
            t.name
        );
        assert_eq!(probe.last().1, 1);
        assert_eq!(logged(db, &ten).1, 1);
    }
}

#[test]
fn the_audit_log_reads_by_tenant_in_order() {
    for t in databases() {
        let db = &t.db;
        let record = |name: &str, n: u32| {
            let probe = Probe::new(EventType::PatientCreated);
            let p = patient(&format!("A{n}"), "X");
            db.create_patient(&tenant(name), &p, &|f| probe.journal(f))
                .unwrap();
        };
        for n in 0..3 {
            record("au1", n);
            record("au2", n);
        }
        let all = db.audit_after(None, 0, 100).unwrap();
        assert_eq!(all.len(), 6, "{}", t.name);
        assert!(all.windows(2).all(|w| w[0].id < w[1].id));
        let one = db.audit_after(Some(&tenant("au2")), 0, 100).unwrap();
        assert_eq!(one.len(), 3);
        assert!(one.iter().all(|r| r.tenant.as_str() == "au2"));
        assert_eq!(one[0].record.actor, "probe");
        assert_eq!(one[0].record.action, EventType::PatientCreated);
        let page = db.audit_after(None, all[1].id, 2).unwrap();
        assert_eq!(
            page.iter().map(|r| r.id).collect::<Vec<_>>(),
            [all[2].id, all[3].id]
        );
    }
}

#[test]
fn counts_and_usage_come_from_the_index() {
    for t in databases() {
        let (db, ten) = (&t.db, tenant("cnt"));
        store(
            db,
            &ten,
            &[
                instance("P1", 1, 1, 1, "a"),
                instance("P1", 2, 2, 2, "b"),
                instance("P1", 3, 3, 3, "c"),
            ],
        )
        .unwrap();
        let count = |f: &CountFilter| db.count_studies(&ten, f).unwrap();
        assert_eq!(count(&CountFilter::default()), 3, "{}", t.name);
        let stations = CountFilter {
            stations: vec!["ST1".into()],
            ..CountFilter::default()
        };
        assert_eq!(count(&stations), 1);
        let not_mod = CountFilter {
            exclude_aets: vec!["MOD01".into()],
            ..CountFilter::default()
        };
        assert_eq!(count(&not_mod), 0);
        let big = CountFilter {
            size_min: Some(1002),
            ..CountFilter::default()
        };
        assert_eq!(count(&big), 2);
        db.change_deprecation(
            &ten,
            DeprecationAction::Deprecate,
            &DeprecationTarget::Study(StudySelector::Uid(study(3))),
            &change("dr"),
            &|_| Journal::default(),
        )
        .unwrap();
        assert_eq!(count(&CountFilter::default()), 2);
        let usage = db.usage_by_medium().unwrap();
        let local: Vec<&MediumUsage> = usage.iter().filter(|u| u.medium == "local").collect();
        assert_eq!(local.len(), 1, "{}", t.name);
        assert!(local[0].live_instances >= 2 && local[0].deprecated_instances >= 1);
    }
}

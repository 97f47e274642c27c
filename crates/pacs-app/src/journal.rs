//! What each change records: its study events (the feed hospital systems
//! poll) and its audit record. Decided here from the facts the change found;
//! the repository writes the result in the change's transaction.

use std::collections::BTreeMap;

use pacs_domain::model::{
    Change, Corrected, Deprecated, DeprecationAction, DeprecationTarget, EventType, Indexed,
    Journal, NewAuditRecord, NewEvent, NewInstance, Order, StoreOutcome, StorePolicy, StudyRef,
};
use pacs_domain::ports::RepositoryError;

use crate::context::{Ports, Tenant};
use crate::kos::KOS_SOP_CLASS;

/// An event about `study`, naming who made the change (and why).
fn study_event(kind: EventType, study: &StudyRef, change: &Change) -> NewEvent {
    let mut e = NewEvent::new(kind).detail("author", change.author.clone());
    if let Some(r) = &change.reason {
        e = e.detail("reason", r.clone());
    }
    e.study_uid = Some(study.uid.clone());
    e.patient_id = Some(study.patient_id.clone());
    e.accession_number = study.accession.clone();
    e
}

/// An audit record of `change` with these details and nothing else named.
fn audit(action: EventType, change: &Change, details: &[(&str, String)]) -> NewAuditRecord {
    NewAuditRecord {
        actor: change.author.clone(),
        action,
        study_uid: None,
        series_uid: None,
        patient_id: None,
        details: details
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect::<BTreeMap<_, _>>(),
    }
}

/// Indexes `batch` with the journal of what indexing did ([`indexed`]);
/// with `unique_barcodes`, a Container Identifier names one slide.
pub(crate) fn index(
    ports: &Ports,
    tenant: &Tenant,
    batch: &[NewInstance],
    unique_barcodes: bool,
) -> Result<Vec<StoreOutcome>, RepositoryError> {
    let journal = |steps: &[Indexed]| indexed(batch, steps);
    let policy = StorePolicy {
        journal: &journal,
        admit: &crate::ingest::same_patient,
        unique_barcodes,
    };
    ports.instances.store(&tenant.name, batch, &policy)
}

/// Indexing: `STUDY_CREATED` for each new study, `INSTANCE_STORED` for each new
/// instance, and `KOS_STORED` beside it for a Key Object Selection manifest.
pub(crate) fn indexed(batch: &[NewInstance], steps: &[Indexed]) -> Journal {
    let mut events = Vec::with_capacity(steps.len() + 1);
    for step in steps {
        match step {
            Indexed::StudyCreated { instance } => {
                let h = &batch[*instance].header;
                let mut e = NewEvent::new(EventType::StudyCreated);
                e.study_uid = Some(h.study.study_uid.clone());
                e.patient_id = Some(h.patient.patient_id.clone());
                e.accession_number = h.study.accession_number.clone();
                events.push(e);
            }
            Indexed::Stored { instance, study } => {
                let inst = &batch[*instance];
                let i = &inst.header.instance;
                let mut e = NewEvent::new(EventType::InstanceStored)
                    .detail("sopInstanceUid", i.sop_uid.as_str())
                    .detail("sopClassUid", i.sop_class.as_str())
                    .detail("callingAet", inst.calling_aet.as_str());
                e.study_uid = Some(study.uid.clone());
                e.series_uid = Some(inst.header.series.series_uid.clone());
                e.patient_id = Some(study.patient_id.clone());
                e.accession_number = study.accession.clone();
                if i.sop_class.as_str() == KOS_SOP_CLASS {
                    let mut kos = e.clone();
                    kos.event_type = EventType::KosStored;
                    events.extend([e, kos]);
                } else {
                    events.push(e);
                }
            }
        }
    }
    Journal {
        events,
        audit: None,
    }
}

/// A deprecation or recovery: one event and one audit record, naming the series
/// when the change was asked for one.
pub(crate) fn deprecation(
    action: DeprecationAction,
    target: &DeprecationTarget,
    change: &Change,
    facts: &Deprecated,
) -> Journal {
    let on_series = matches!(target, DeprecationTarget::Series(_));
    let series = on_series.then(|| facts.series.first().cloned()).flatten();
    let kind = match (action, on_series) {
        (DeprecationAction::Deprecate, true) => EventType::SeriesDeprecated,
        (DeprecationAction::Deprecate, false) => EventType::StudyDeprecated,
        (DeprecationAction::Recover, true) => EventType::SeriesRecovered,
        (DeprecationAction::Recover, false) => EventType::StudyRecovered,
    };
    let mut event = study_event(kind, &facts.study, change);
    event.series_uid = series.clone();
    let reason: Vec<(&str, String)> = change
        .reason
        .iter()
        .map(|r| ("reason", r.clone()))
        .collect();
    Journal {
        events: vec![event],
        audit: Some(NewAuditRecord {
            study_uid: Some(facts.study.uid.clone()),
            series_uid: series,
            patient_id: Some(facts.study.patient_id.clone()),
            ..audit(kind, change, &reason)
        }),
    }
}

/// The patient and study corrections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Correction {
    CreatePatient,
    UpdatePatient,
    MergePatients,
    MoveStudy,
    ReconcileStudies,
    SwapStudies,
}

/// A correction: its audit record, and an event per study concerned (about the
/// patient when there is none).
pub(crate) fn correction(kind: Correction, change: &Change, facts: &Corrected) -> Journal {
    let patient = || Some(facts.patient.patient_id.clone());
    let source_patient = facts
        .source_patient
        .as_ref()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_default();
    let each = |kind: EventType, detail: Option<(&str, &str)>| -> Vec<NewEvent> {
        facts
            .studies
            .iter()
            .map(|s| {
                let e = study_event(kind, s, change);
                match detail {
                    Some((k, v)) => e.detail(k, v),
                    None => e,
                }
            })
            .collect()
    };
    let patient_event = |kind: EventType| {
        let mut e = NewEvent::new(kind).detail("author", change.author.clone());
        e.patient_id = patient();
        vec![e]
    };
    let (events, record) = match kind {
        Correction::CreatePatient => {
            let action = EventType::PatientCreated;
            let record = NewAuditRecord {
                patient_id: patient(),
                ..audit(action, change, &[])
            };
            (patient_event(action), record)
        }
        Correction::UpdatePatient => {
            let action = EventType::PatientUpdated;
            let mut events = each(action, None);
            if events.is_empty() {
                events = patient_event(action);
            }
            let record = NewAuditRecord {
                patient_id: patient(),
                ..audit(action, change, &[("orders", facts.orders.to_string())])
            };
            (events, record)
        }
        Correction::MergePatients => {
            let action = EventType::PatientsMerged;
            let details = [
                ("sourcePatientId", source_patient.clone()),
                (
                    "targetPatientId",
                    facts.patient.patient_id.as_str().to_owned(),
                ),
            ];
            let record = NewAuditRecord {
                patient_id: patient(),
                ..audit(action, change, &details)
            };
            let events = each(action, Some(("sourcePatientId", &source_patient)));
            (events, record)
        }
        Correction::MoveStudy => {
            let action = EventType::StudyMoved;
            let record = NewAuditRecord {
                study_uid: facts.studies.first().map(|s| s.uid.clone()),
                patient_id: patient(),
                ..audit(
                    action,
                    change,
                    &[("sourcePatientId", source_patient.clone())],
                )
            };
            let events = each(action, Some(("sourcePatientId", &source_patient)));
            (events, record)
        }
        Correction::ReconcileStudies => {
            let action = EventType::StudyReconciled;
            let [source, target] = facts.studies.as_slice() else {
                return Journal::default();
            };
            let mut events = Vec::with_capacity(4);
            if facts.created_study {
                events.push(study_event(EventType::StudyCreated, target, change));
            }
            events.extend([
                study_event(action, source, change)
                    .detail("targetStudyInstanceUid", target.uid.as_str()),
                study_event(action, target, change)
                    .detail("sourceStudyInstanceUid", source.uid.as_str()),
                study_event(EventType::StudyAvailable, target, change),
            ]);
            let record = NewAuditRecord {
                study_uid: Some(target.uid.clone()),
                patient_id: patient(),
                ..audit(
                    action,
                    change,
                    &[("sourceStudyInstanceUid", source.uid.to_string())],
                )
            };
            (events, record)
        }
        Correction::SwapStudies => {
            let action = EventType::StudiesSwapped;
            let [a, b] = facts.studies.as_slice() else {
                return Journal::default();
            };
            let events = vec![
                study_event(action, a, change).detail("otherStudyInstanceUid", b.uid.as_str()),
                study_event(action, b, change).detail("otherStudyInstanceUid", a.uid.as_str()),
            ];
            let record = NewAuditRecord {
                study_uid: Some(a.uid.clone()),
                ..audit(
                    action,
                    change,
                    &[("targetStudyInstanceUid", b.uid.to_string())],
                )
            };
            (events, record)
        }
    };
    Journal {
        events,
        audit: Some(record),
    }
}

/// An order created or deleted (`ORDER_CREATED`, `ORDER_DELETED`).
pub(crate) fn order(kind: EventType, change: &Change, order: &Order) -> Journal {
    let mut event = NewEvent::new(kind).detail("author", change.author.clone());
    event.study_uid = Some(order.study_uid.clone());
    event.patient_id = Some(order.patient.patient_id.clone());
    event.accession_number = Some(order.accession_number.clone());
    Journal {
        events: vec![event],
        audit: Some(NewAuditRecord {
            study_uid: Some(order.study_uid.clone()),
            patient_id: Some(order.patient.patient_id.clone()),
            ..audit(
                kind,
                change,
                &[("accessionNumber", order.accession_number.clone())],
            )
        }),
    }
}

/// A study relocated to `medium`, `objects` objects copied.
pub(crate) fn relocation(
    change: &Change,
    medium: &str,
    objects: usize,
    study: &StudyRef,
) -> Journal {
    let kind = EventType::StudyRelocated;
    Journal {
        events: vec![study_event(kind, study, change).detail("medium", medium)],
        audit: Some(NewAuditRecord {
            study_uid: Some(study.uid.clone()),
            patient_id: Some(study.patient_id.clone()),
            ..audit(
                kind,
                change,
                &[
                    ("medium", medium.to_owned()),
                    ("objects", objects.to_string()),
                ],
            )
        }),
    }
}

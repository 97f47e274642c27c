//! Patient and study corrections (the `CorrectionStore` port). Rows change;
//! stored files never do: retrieval writes the new values into headers.

use diesel::prelude::*;
use pacs_domain::ids::{PatientId, StudyInstanceUid, TenantName};
use pacs_domain::model::{
    Corrected, CorrectionOutcome, PatientAttributes, Recorder, StudyAttributes, StudyRef,
};
use pacs_domain::ports::{CorrectionStore, RepositoryError};

use crate::connection::{AnyConnection, Database, TxError};
use crate::counters::refresh_study;
use crate::inserts::{NewStudyRow, insert_patient, insert_returning_id, name_lc};
use crate::lookup::{corrupt, study_ref};
use crate::orders::sync_orders_with_patient;
use crate::rows::PatientRow;
use crate::schema::{patients, series, studies};
use crate::time::to_db;

fn now() -> chrono::NaiveDateTime {
    to_db(std::time::SystemTime::now())
}

/// Patients (not merged away) with that ID, and that issuer when given.
fn patients_with_id(
    c: &mut AnyConnection,
    tenant: &str,
    id: &PatientId,
    issuer: Option<&str>,
) -> QueryResult<Vec<PatientRow>> {
    patients_with_id_any(c, tenant, id, issuer, false)
}

/// Patients with that ID (and issuer), merged ones too when `merged`.
fn patients_with_id_any(
    c: &mut AnyConnection,
    tenant: &str,
    id: &PatientId,
    issuer: Option<&str>,
    merged: bool,
) -> QueryResult<Vec<PatientRow>> {
    let mut q = patients::table
        .filter(patients::tenant.eq(tenant))
        .filter(patients::patient_id.eq(id.as_str().to_owned()))
        .select(PatientRow::as_select())
        .into_boxed();
    if !merged {
        q = q.filter(patients::merged_into.is_null());
    }
    if let Some(i) = issuer {
        q = q.filter(patients::issuer.eq(i.to_owned()));
    }
    q.load(c)
}

fn create_patient_row(
    c: &mut AnyConnection,
    tenant: &str,
    p: &PatientAttributes,
) -> QueryResult<i64> {
    insert_patient(c, tenant, p, now())
}

fn patient_attrs(c: &mut AnyConnection, id: i64) -> Result<PatientAttributes, TxError> {
    let row: PatientRow = patients::table
        .find(id)
        .select(PatientRow::as_select())
        .first(c)?;
    row.to_domain()
        .map_err(|_| TxError::Db(diesel::result::Error::NotFound))
}

/// The patient with that ID (issuer-less), created with these values when missing.
fn find_or_create(
    c: &mut AnyConnection,
    tenant: &str,
    p: &PatientAttributes,
) -> Result<Result<i64, CorrectionOutcome>, TxError> {
    let found = patients_with_id(c, tenant, &p.patient_id, p.issuer.as_deref())?;
    Ok(match found.as_slice() {
        [] => Ok(create_patient_row(c, tenant, p)?),
        [one] => Ok(one.id),
        _ => Err(CorrectionOutcome::MultiplePatients),
    })
}

fn live_study(
    c: &mut AnyConnection,
    tenant: &str,
    uid: &StudyInstanceUid,
) -> QueryResult<Option<(i64, i64)>> {
    studies::table
        .filter(studies::tenant.eq(tenant))
        .filter(studies::study_uid.eq(uid.as_str().to_owned()))
        .filter(studies::deprecation_fk.is_null())
        .select((studies::id, studies::patient_fk))
        .first(c)
        .optional()
}

/// What a correction's transaction found: the facts of the change it made, or
/// (nothing changed) the answer.
type Found = Result<Corrected, CorrectionOutcome>;

impl Database {
    /// Runs a correction in one write transaction and, when it changed
    /// something, writes the journal of its facts there too.
    fn correct(
        &self,
        tenant: &TenantName,
        journal: Recorder<'_, Corrected>,
        mut change: impl FnMut(&mut AnyConnection, &str) -> Result<Found, TxError>,
    ) -> Result<CorrectionOutcome, RepositoryError> {
        self.write(|c| {
            let facts = match change(c, tenant.as_str())? {
                Ok(facts) => facts,
                Err(answer) => return Ok(answer),
            };
            crate::journal::write(c, tenant, &journal(&facts))?;
            Ok(CorrectionOutcome::Done {
                studies: facts.studies.iter().map(|s| s.uid.clone()).collect(),
                patient: facts.patient,
            })
        })
    }
}

/// The facts of a correction of `patient`'s `studies`.
fn facts(patient: PatientAttributes, studies: Vec<StudyRef>) -> Corrected {
    Corrected {
        patient,
        source_patient: None,
        studies,
        created_study: false,
        orders: 0,
    }
}

fn refs(c: &mut AnyConnection, studies: &[(i64, String)]) -> QueryResult<Vec<StudyRef>> {
    studies.iter().map(|(id, _)| study_ref(c, *id)).collect()
}

fn patient_id(id: &str) -> QueryResult<PatientId> {
    PatientId::new(id).map_err(corrupt)
}

/// Live studies of a patient row: (id, uid).
fn studies_of(c: &mut AnyConnection, patient: i64) -> QueryResult<Vec<(i64, String)>> {
    studies::table
        .filter(studies::patient_fk.eq(patient))
        .filter(studies::deprecation_fk.is_null())
        .select((studies::id, studies::study_uid))
        .order(studies::id)
        .load(c)
}

impl CorrectionStore for Database {
    fn create_patient(
        &self,
        tenant: &TenantName,
        p: &PatientAttributes,
        journal: Recorder<'_, Corrected>,
    ) -> Result<CorrectionOutcome, RepositoryError> {
        self.correct(tenant, journal, |c, t| {
            if !patients_with_id(c, t, &p.patient_id, Some(p.issuer.as_deref().unwrap_or("")))?
                .is_empty()
            {
                return Ok(Err(CorrectionOutcome::PatientExists));
            }
            create_patient_row(c, t, p)?;
            Ok(Ok(facts(p.clone(), Vec::new())))
        })
    }

    fn update_patient(
        &self,
        tenant: &TenantName,
        p: &PatientAttributes,
        journal: Recorder<'_, Corrected>,
    ) -> Result<CorrectionOutcome, RepositoryError> {
        self.correct(tenant, journal, |c, t| {
            let found = patients_with_id(c, t, &p.patient_id, p.issuer.as_deref())?;
            let row = match found.as_slice() {
                [] => return Ok(Err(CorrectionOutcome::PatientNotFound)),
                [one] => one.clone(),
                _ => return Ok(Err(CorrectionOutcome::MultiplePatients)),
            };
            diesel::update(patients::table.find(row.id))
                .set((
                    patients::patient_name.eq(p.name.as_deref()),
                    patients::patient_name_lc.eq(name_lc(p.name.as_deref())),
                    patients::birth_date.eq(p.birth_date.as_deref()),
                    patients::sex.eq(p.sex.as_deref()),
                    patients::updated_at.eq(now()),
                ))
                .execute(c)?;
            let current = patient_attrs(c, row.id)?;
            let orders = sync_orders_with_patient(c, t, &current)?;
            let studies = studies_of(c, row.id)?;
            let facts = Corrected {
                orders,
                ..facts(current, refs(c, &studies)?)
            };
            Ok(Ok(facts))
        })
    }

    fn merge_patients(
        &self,
        tenant: &TenantName,
        source: &PatientId,
        target: &PatientAttributes,
        journal: Recorder<'_, Corrected>,
    ) -> Result<CorrectionOutcome, RepositoryError> {
        self.correct(tenant, journal, |c, t| {
            // A source merged earlier still exists: it just has no study left.
            let sources = patients_with_id_any(c, t, source, None, true)?;
            let src = match sources.as_slice() {
                [] => return Ok(Err(CorrectionOutcome::PatientNotFound)),
                [one] => one.clone(),
                _ => return Ok(Err(CorrectionOutcome::MultiplePatients)),
            };
            let moved = studies_of(c, src.id)?;
            if moved.is_empty() {
                return Ok(Err(CorrectionOutcome::NoStudyForPatient));
            }
            let targets = patients_with_id(c, t, &target.patient_id, None)?;
            let dst = match targets.as_slice() {
                [] => create_patient_row(c, t, target)?,
                [one] => one.id,
                _ => return Ok(Err(CorrectionOutcome::MultipleTargetPatients)),
            };
            if dst == src.id {
                // Nothing changes, nothing is recorded.
                let current = patient_attrs(c, dst)?;
                return Ok(Err(CorrectionOutcome::Done {
                    patient: current,
                    studies: moved
                        .iter()
                        .filter_map(|(_, u)| StudyInstanceUid::new(u).ok())
                        .collect(),
                }));
            }
            // Every study, hidden ones included, follows the patient.
            diesel::update(studies::table.filter(studies::patient_fk.eq(src.id)))
                .set((studies::patient_fk.eq(dst), studies::updated_at.eq(now())))
                .execute(c)?;
            diesel::update(patients::table.find(src.id))
                .set(patients::merged_into.eq(Some(dst)))
                .execute(c)?;
            let current = patient_attrs(c, dst)?;
            crate::orders::move_orders(c, t, &src.patient_id, &current)?;
            let facts = Corrected {
                source_patient: Some(patient_id(&src.patient_id)?),
                ..facts(current, refs(c, &moved)?)
            };
            Ok(Ok(facts))
        })
    }

    fn move_study(
        &self,
        tenant: &TenantName,
        study: &StudyInstanceUid,
        target: &PatientAttributes,
        journal: Recorder<'_, Corrected>,
    ) -> Result<CorrectionOutcome, RepositoryError> {
        self.correct(tenant, journal, |c, t| {
            let Some((study_id, from_patient)) = live_study(c, t, study)? else {
                return Ok(Err(CorrectionOutcome::StudyNotFound(study.clone())));
            };
            let dst = match find_or_create(c, t, target)? {
                Ok(id) => id,
                Err(outcome) => return Ok(Err(outcome)),
            };
            diesel::update(studies::table.find(study_id))
                .set((studies::patient_fk.eq(dst), studies::updated_at.eq(now())))
                .execute(c)?;
            let from: PatientRow = patients::table
                .find(from_patient)
                .select(PatientRow::as_select())
                .first(c)?;
            let current = patient_attrs(c, dst)?;
            let facts = Corrected {
                source_patient: Some(patient_id(&from.patient_id)?),
                ..facts(current, vec![study_ref(c, study_id)?])
            };
            Ok(Ok(facts))
        })
    }

    fn reconcile_studies(
        &self,
        tenant: &TenantName,
        source: &StudyInstanceUid,
        target: &StudyAttributes,
        patient: &PatientAttributes,
        journal: Recorder<'_, Corrected>,
    ) -> Result<CorrectionOutcome, RepositoryError> {
        self.correct(tenant, journal, |c, t| {
            let Some((source_id, _)) = live_study(c, t, source)? else {
                return Ok(Err(CorrectionOutcome::StudyNotFound(source.clone())));
            };
            let (target_id, created) = match live_study(c, t, &target.study_uid)? {
                Some((id, patient_fk)) => {
                    // An existing target keeps its values; its patient must be the one named.
                    let owner: PatientRow = patients::table
                        .find(patient_fk)
                        .select(PatientRow::as_select())
                        .first(c)?;
                    if owner.patient_id != patient.patient_id.as_str() {
                        return Ok(Err(CorrectionOutcome::PatientMismatch {
                            expected: patient.patient_id.clone(),
                            found: PatientId::new(&owner.patient_id)
                                .unwrap_or_else(|_| patient.patient_id.clone()),
                        }));
                    }
                    (id, false)
                }
                None => {
                    // The check is on PatientID only: the first patient with it, or a new one.
                    let existing = patients_with_id(c, t, &patient.patient_id, None)?;
                    let patient_fk = match existing.first() {
                        Some(p) => p.id,
                        None => create_patient_row(c, t, patient)?,
                    };
                    let received: chrono::NaiveDateTime = studies::table
                        .find(source_id)
                        .select(studies::received_at)
                        .first(c)?;
                    let row = NewStudyRow {
                        tenant: t,
                        study_uid: target.study_uid.as_str(),
                        patient_fk,
                        study_date: target.study_date.as_deref(),
                        study_time: target.study_time.as_deref(),
                        accession_number: target.accession_number.as_deref(),
                        study_id: target.study_id.as_deref(),
                        study_description: target.description.as_deref(),
                        referring_physician: target.referring_physician.as_deref(),
                        received_at: received,
                        updated_at: now(),
                    };
                    (
                        insert_returning_id!(c, studies::table, &row, studies::id)?,
                        true,
                    )
                }
            };
            if target_id != source_id {
                diesel::update(
                    series::table
                        .filter(series::study_fk.eq(source_id))
                        .filter(series::deprecation_fk.is_null()),
                )
                .set((series::study_fk.eq(target_id), series::updated_at.eq(now())))
                .execute(c)?;
                refresh_study(c, source_id)?;
                refresh_study(c, target_id)?;
            }
            let owner: i64 = studies::table
                .find(target_id)
                .select(studies::patient_fk)
                .first(c)?;
            let current = patient_attrs(c, owner)?;
            let studies = vec![study_ref(c, source_id)?, study_ref(c, target_id)?];
            let facts = Corrected {
                created_study: created,
                ..facts(current, studies)
            };
            Ok(Ok(facts))
        })
    }

    fn swap_studies(
        &self,
        tenant: &TenantName,
        source: &StudyInstanceUid,
        target: &StudyInstanceUid,
        journal: Recorder<'_, Corrected>,
    ) -> Result<CorrectionOutcome, RepositoryError> {
        self.correct(tenant, journal, |c, t| {
            let Some((a, patient_a)) = live_study(c, t, source)? else {
                return Ok(Err(CorrectionOutcome::StudyNotFound(source.clone())));
            };
            let Some((b, _)) = live_study(c, t, target)? else {
                return Ok(Err(CorrectionOutcome::StudyNotFound(target.clone())));
            };
            let of = |c: &mut AnyConnection, study: i64| -> QueryResult<Vec<i64>> {
                series::table
                    .filter(series::study_fk.eq(study))
                    .filter(series::deprecation_fk.is_null())
                    .select(series::id)
                    .load(c)
            };
            let (from_a, from_b) = (of(c, a)?, of(c, b)?);
            diesel::update(series::table.filter(series::id.eq_any(&from_a)))
                .set(series::study_fk.eq(b))
                .execute(c)?;
            diesel::update(series::table.filter(series::id.eq_any(&from_b)))
                .set(series::study_fk.eq(a))
                .execute(c)?;
            refresh_study(c, a)?;
            refresh_study(c, b)?;
            let studies = vec![study_ref(c, a)?, study_ref(c, b)?];
            let current = patient_attrs(c, patient_a)?;
            Ok(Ok(facts(current, studies)))
        })
    }
}

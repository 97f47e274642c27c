//! Patient and study corrections: create, update and merge patients; move,
//! reconcile and swap studies (source document "Patient APIs", "Move study",
//! "Reconcile", "Swap series"). Stored files are never touched.

use pacs_domain::ids::{PatientId, StudyInstanceUid};
use pacs_domain::model::{
    Change, Corrected, CorrectionOutcome, Journal, PatientAttributes, StudyAttributes,
};

use crate::context::{Ports, Tenant};
use crate::error::{AppError, ErrorCode};
use crate::journal::{self, Correction};

/// `POST /patients/create`: the new patient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatePatient {
    pub patient: PatientAttributes,
    pub change: Change,
}

/// `POST /patients/update`: the patient's new demographics (by its ID).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdatePatient {
    pub patient: PatientAttributes,
    pub change: Change,
}

/// `POST /patients/merge`: every study of `source` goes to `target`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergePatients {
    pub source: PatientId,
    pub target: PatientAttributes,
    pub change: Change,
}

/// `POST /studies/move`: the study goes to `target`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MoveStudy {
    pub study: StudyInstanceUid,
    pub target: PatientAttributes,
    pub change: Change,
}

/// `POST /studies/reconcile`: the series of `source` go to `target`, of `patient`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReconcileStudies {
    pub source: StudyInstanceUid,
    pub target: StudyAttributes,
    pub patient: PatientAttributes,
    pub change: Change,
}

/// `POST /studies/swap`: the series of the two studies change places.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SwapStudies {
    pub source: StudyInstanceUid,
    pub target: StudyInstanceUid,
    pub change: Change,
}

/// Source and target must differ.
fn distinct(
    source: &StudyInstanceUid,
    target: &StudyInstanceUid,
    context: &str,
) -> Result<(), AppError> {
    if source == target {
        return Err(AppError::invalid(
            ErrorCode::InvalidField,
            format!("{context}: source and target are the same study"),
        ));
    }
    Ok(())
}

/// What a correction records, decided by [`journal::correction`].
fn journal(kind: Correction, change: &Change) -> impl Fn(&Corrected) -> Journal + '_ {
    move |facts| journal::correction(kind, change, facts)
}

fn done(o: CorrectionOutcome) -> Result<CorrectionOutcome, AppError> {
    Ok(o)
}

/// `POST /patients/create`: 409 when the ID is taken for that issuer.
pub fn create_patient(
    ports: &Ports,
    tenant: &Tenant,
    r: &CreatePatient,
) -> Result<CorrectionOutcome, AppError> {
    let (p, change) = (&r.patient, &r.change);
    let id = &p.patient_id;
    match ports.corrections.create_patient(
        &tenant.name,
        p,
        &journal(Correction::CreatePatient, change),
    )? {
        CorrectionOutcome::PatientExists => Err(AppError::conflict(
            ErrorCode::PatientExists,
            format!("patient {id} already exists for this issuer"),
        )),
        other => done(other),
    }
}

/// `POST /patients/update`: new demographics, also written into the patient's orders.
pub fn update_patient(
    ports: &Ports,
    tenant: &Tenant,
    r: &UpdatePatient,
) -> Result<CorrectionOutcome, AppError> {
    let (p, change) = (&r.patient, &r.change);
    let id = &p.patient_id;
    match ports.corrections.update_patient(
        &tenant.name,
        p,
        &journal(Correction::UpdatePatient, change),
    )? {
        CorrectionOutcome::PatientNotFound => Err(AppError::not_found(
            ErrorCode::PatientNotFound,
            format!("patient {id} not found"),
        )),
        CorrectionOutcome::MultiplePatients => Err(AppError::conflict(
            ErrorCode::MultiplePatients,
            format!("several patients have ID {id} (with different issuers)"),
        )),
        other => done(other),
    }
}

/// `POST /patients/merge`: every study of the source goes to the target.
pub fn merge_patients(
    ports: &Ports,
    tenant: &Tenant,
    r: &MergePatients,
) -> Result<CorrectionOutcome, AppError> {
    let (source, target, change) = (&r.source, &r.target, &r.change);
    match ports.corrections.merge_patients(
        &tenant.name,
        source,
        target,
        &journal(Correction::MergePatients, change),
    )? {
        CorrectionOutcome::PatientNotFound => Err(AppError::conflict(
            ErrorCode::SourcePatientNotFound,
            "no patient found with source patient ID",
        )),
        CorrectionOutcome::MultiplePatients => Err(AppError::conflict(
            ErrorCode::MultipleSourcePatients,
            "multiple patients found with source patient ID",
        )),
        CorrectionOutcome::NoStudyForPatient => Err(AppError::conflict(
            ErrorCode::NoStudyForSource,
            "no study found for source patient",
        )),
        CorrectionOutcome::MultipleTargetPatients => Err(AppError::conflict(
            ErrorCode::MultipleTargetPatients,
            "multiple patients found for target patient ID",
        )),
        other => done(other),
    }
}

/// `POST /studies/move`: the study goes to `targetPatientID` (created when missing).
pub fn move_study(
    ports: &Ports,
    tenant: &Tenant,
    r: &MoveStudy,
) -> Result<CorrectionOutcome, AppError> {
    let (study, target, change) = (&r.study, &r.target, &r.change);
    let target_id = &target.patient_id;
    match ports.corrections.move_study(
        &tenant.name,
        study,
        target,
        &journal(Correction::MoveStudy, change),
    )? {
        CorrectionOutcome::StudyNotFound(s) => Err(AppError::not_found(
            ErrorCode::StudyNotFound,
            format!("study {s} not found"),
        )),
        CorrectionOutcome::MultiplePatients => Err(AppError::conflict(
            ErrorCode::MultiplePatients,
            format!("several patients have ID {target_id} (with different issuers)"),
        )),
        other => done(other),
    }
}

/// `POST /studies/reconcile`: every series of the source goes to the target.
pub fn reconcile_studies(
    ports: &Ports,
    tenant: &Tenant,
    r: &ReconcileStudies,
) -> Result<CorrectionOutcome, AppError> {
    let (source, target, patient, change) = (&r.source, &r.target, &r.patient, &r.change);
    distinct(source, &target.study_uid, "studies/reconcile")?;
    match ports.corrections.reconcile_studies(
        &tenant.name,
        source,
        target,
        patient,
        &journal(Correction::ReconcileStudies, change),
    )? {
        CorrectionOutcome::StudyNotFound(s) => Err(AppError::not_found(
            ErrorCode::StudyNotFound,
            format!("the requested sourceStudyInstanceUID {s} is not available"),
        )),
        CorrectionOutcome::PatientMismatch { expected, found } => Err(AppError::conflict(
            ErrorCode::PatientMismatch,
            format!(
                "the target study exists but has patientID {found}, not {expected} as in the request"
            ),
        )),
        other => done(other),
    }
}

/// `POST /studies/swap`: the series of the two studies change places.
pub fn swap_studies(
    ports: &Ports,
    tenant: &Tenant,
    r: &SwapStudies,
) -> Result<CorrectionOutcome, AppError> {
    let (source, target, change) = (&r.source, &r.target, &r.change);
    distinct(source, target, "studies/swap")?;
    match ports.corrections.swap_studies(
        &tenant.name,
        source,
        target,
        &journal(Correction::SwapStudies, change),
    )? {
        CorrectionOutcome::StudyNotFound(s) => Err(AppError::not_found(
            ErrorCode::StudyNotFound,
            format!("study {s} not found"),
        )),
        other => done(other),
    }
}

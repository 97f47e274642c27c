//! Patient and study corrections: create, update and merge patients; move,
//! reconcile and swap studies (source document "Patient APIs", "Move study",
//! "Reconcile", "Swap series"). Stored files are never touched.

use pacs_domain::model::{
    Change, Corrected, CorrectionOutcome, Journal, PatientAttributes, StudyAttributes,
};
use serde::Deserialize;

use crate::context::{Ports, Tenant};
use crate::error::AppError;
use crate::fields::{date, optional, patient_id, person_name, required, sex, study_uid};
use crate::journal::{self, Correction};

/// `POST /patients/create`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct CreatePatient {
    #[serde(rename = "patientID")]
    pub patient_id: Option<String>,
    #[serde(rename = "patientName")]
    pub patient_name: Option<String>,
    #[serde(rename = "patientBirthDate")]
    pub patient_birth_date: Option<String>,
    #[serde(rename = "patientSex")]
    pub patient_sex: Option<String>,
    #[serde(rename = "idIssuer")]
    pub id_issuer: Option<String>,
    #[serde(rename = "userName")]
    pub user_name: Option<String>,
}

/// `POST /patients/update`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct UpdatePatient {
    #[serde(rename = "patientID")]
    pub patient_id: Option<String>,
    #[serde(rename = "patientName")]
    pub patient_name: Option<String>,
    #[serde(rename = "patientBirthDate")]
    pub patient_birth_date: Option<String>,
    #[serde(rename = "patientSex")]
    pub patient_sex: Option<String>,
    #[serde(rename = "operatorName")]
    pub operator_name: Option<String>,
    #[serde(rename = "userName")]
    pub user_name: Option<String>,
}

/// `POST /patients/merge`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct MergePatients {
    #[serde(rename = "sourcePatientID")]
    pub source_patient_id: Option<String>,
    #[serde(rename = "targetPatientID")]
    pub target_patient_id: Option<String>,
    #[serde(rename = "patientName")]
    pub patient_name: Option<String>,
    #[serde(rename = "patientBirthDate")]
    pub patient_birth_date: Option<String>,
    #[serde(rename = "patientSex")]
    pub patient_sex: Option<String>,
    #[serde(rename = "operatorName")]
    pub operator_name: Option<String>,
    #[serde(rename = "userName")]
    pub user_name: Option<String>,
}

/// `POST /studies/move`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct MoveStudy {
    #[serde(rename = "studyInstanceUid")]
    pub study_instance_uid: Option<String>,
    #[serde(rename = "targetPatientID")]
    pub target_patient_id: Option<String>,
    #[serde(rename = "patientName")]
    pub patient_name: Option<String>,
    #[serde(rename = "patientBirthDate")]
    pub patient_birth_date: Option<String>,
    #[serde(rename = "patientSex")]
    pub patient_sex: Option<String>,
    #[serde(rename = "userName")]
    pub user_name: Option<String>,
}

/// `POST /studies/reconcile`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ReconcileStudies {
    #[serde(rename = "sourceStudyInstanceUID")]
    pub source_study_instance_uid: Option<String>,
    #[serde(rename = "targetStudyInstanceUID")]
    pub target_study_instance_uid: Option<String>,
    #[serde(rename = "patientID")]
    pub patient_id: Option<String>,
    #[serde(rename = "patientName")]
    pub patient_name: Option<String>,
    #[serde(rename = "patientBirthDate")]
    pub patient_birth_date: Option<String>,
    #[serde(rename = "patientSex")]
    pub patient_sex: Option<String>,
    #[serde(rename = "accessionNumber")]
    pub accession_number: Option<String>,
    #[serde(rename = "studyDescription")]
    pub study_description: Option<String>,
    #[serde(rename = "studyDate")]
    pub study_date: Option<String>,
    #[serde(rename = "userName")]
    pub user_name: Option<String>,
}

/// `POST /studies/swap`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct SwapStudies {
    #[serde(rename = "sourceStudyInstanceUID")]
    pub source_study_instance_uid: Option<String>,
    #[serde(rename = "targetStudyInstanceUID")]
    pub target_study_instance_uid: Option<String>,
    #[serde(rename = "userName")]
    pub user_name: Option<String>,
}

fn who(
    user: &Option<String>,
    operator: &Option<String>,
    context: &str,
) -> Result<Change, AppError> {
    let user = required(user, "userName", context)?.to_owned();
    let author = match optional(operator) {
        Some(op) if op != user => format!("{user} (operator {op})"),
        _ => user,
    };
    Ok(Change {
        author,
        reason: None,
    })
}

fn demographics(
    id: &str,
    name: &Option<String>,
    birth: &Option<String>,
    sx: &Option<String>,
    issuer: Option<String>,
    context: &str,
    id_field: &str,
) -> Result<PatientAttributes, AppError> {
    Ok(PatientAttributes {
        patient_id: patient_id(id, id_field, context)?,
        issuer,
        name: person_name(optional(name), "patientName", context)?,
        birth_date: date(optional(birth), "patientBirthDate", context)?,
        sex: sex(optional(sx), "patientSex", context)?,
    })
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
    const CTX: &str = "patients/create";
    let id = required(&r.patient_id, "patientID", CTX)?;
    required(&r.patient_name, "patientName", CTX)?;
    let change = who(&r.user_name, &None, CTX)?;
    let p = demographics(
        id,
        &r.patient_name,
        &r.patient_birth_date,
        &r.patient_sex,
        optional(&r.id_issuer),
        CTX,
        "patientID",
    )?;
    match ports.corrections.create_patient(
        &tenant.name,
        &p,
        &journal(Correction::CreatePatient, &change),
    )? {
        CorrectionOutcome::PatientExists => Err(AppError::conflict(
            "patient_exists",
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
    const CTX: &str = "patients/update";
    let id = required(&r.patient_id, "patientID", CTX)?;
    required(&r.patient_name, "patientName", CTX)?;
    let change = who(&r.user_name, &r.operator_name, CTX)?;
    let p = demographics(
        id,
        &r.patient_name,
        &r.patient_birth_date,
        &r.patient_sex,
        None,
        CTX,
        "patientID",
    )?;
    match ports.corrections.update_patient(
        &tenant.name,
        &p,
        &journal(Correction::UpdatePatient, &change),
    )? {
        CorrectionOutcome::PatientNotFound => Err(AppError::not_found(
            "patient_not_found",
            format!("patient {id} not found"),
        )),
        CorrectionOutcome::MultiplePatients => Err(AppError::conflict(
            "multiple_patients",
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
    const CTX: &str = "patients/merge";
    let source = patient_id(
        required(&r.source_patient_id, "sourcePatientID", CTX)?,
        "sourcePatientID",
        CTX,
    )?;
    let target_id = required(&r.target_patient_id, "targetPatientID", CTX)?;
    let change =
        who(&r.user_name, &r.operator_name, CTX).or_else(|_| who(&r.operator_name, &None, CTX))?;
    let target = demographics(
        target_id,
        &r.patient_name,
        &r.patient_birth_date,
        &r.patient_sex,
        None,
        CTX,
        "targetPatientID",
    )?;
    match ports.corrections.merge_patients(
        &tenant.name,
        &source,
        &target,
        &journal(Correction::MergePatients, &change),
    )? {
        CorrectionOutcome::PatientNotFound => Err(AppError::conflict(
            "source_patient_not_found",
            "no patient found with source patient ID",
        )),
        CorrectionOutcome::MultiplePatients => Err(AppError::conflict(
            "multiple_source_patients",
            "multiple patients found with source patient ID",
        )),
        CorrectionOutcome::NoStudyForPatient => Err(AppError::conflict(
            "no_study_for_source",
            "no study found for source patient",
        )),
        CorrectionOutcome::MultipleTargetPatients => Err(AppError::conflict(
            "multiple_target_patients",
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
    const CTX: &str = "studies/move";
    let study = study_uid(
        required(&r.study_instance_uid, "studyInstanceUid", CTX)?,
        "studyInstanceUid",
        CTX,
    )?;
    let target_id = required(&r.target_patient_id, "targetPatientID", CTX)?;
    required(&r.patient_name, "patientName", CTX)?;
    let change = who(&r.user_name, &None, CTX)?;
    let target = demographics(
        target_id,
        &r.patient_name,
        &r.patient_birth_date,
        &r.patient_sex,
        None,
        CTX,
        "targetPatientID",
    )?;
    match ports.corrections.move_study(
        &tenant.name,
        &study,
        &target,
        &journal(Correction::MoveStudy, &change),
    )? {
        CorrectionOutcome::StudyNotFound(s) => Err(AppError::not_found(
            "study_not_found",
            format!("study {s} not found"),
        )),
        CorrectionOutcome::MultiplePatients => Err(AppError::conflict(
            "multiple_patients",
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
    const CTX: &str = "studies/reconcile";
    let source = study_uid(
        required(&r.source_study_instance_uid, "sourceStudyInstanceUID", CTX)?,
        "sourceStudyInstanceUID",
        CTX,
    )?;
    let target_uid = study_uid(
        required(&r.target_study_instance_uid, "targetStudyInstanceUID", CTX)?,
        "targetStudyInstanceUID",
        CTX,
    )?;
    let pid = required(&r.patient_id, "patientID", CTX)?;
    let change = who(&r.user_name, &None, CTX)?;
    if source == target_uid {
        return Err(AppError::invalid(
            "invalid_field",
            format!("{CTX}: source and target are the same study"),
        ));
    }
    let patient = demographics(
        pid,
        &r.patient_name,
        &r.patient_birth_date,
        &r.patient_sex,
        None,
        CTX,
        "patientID",
    )?;
    let mut target = StudyAttributes::with_uid(target_uid);
    target.accession_number = optional(&r.accession_number);
    target.description = optional(&r.study_description);
    target.study_date = date(optional(&r.study_date), "studyDate", CTX)?;
    match ports.corrections.reconcile_studies(
        &tenant.name,
        &source,
        &target,
        &patient,
        &journal(Correction::ReconcileStudies, &change),
    )? {
        CorrectionOutcome::StudyNotFound(s) => Err(AppError::not_found(
            "study_not_found",
            format!("the requested sourceStudyInstanceUID {s} is not available"),
        )),
        CorrectionOutcome::PatientMismatch { expected, found } => Err(AppError::conflict(
            "patient_mismatch",
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
    const CTX: &str = "studies/swap";
    let source = study_uid(
        required(&r.source_study_instance_uid, "sourceStudyInstanceUID", CTX)?,
        "sourceStudyInstanceUID",
        CTX,
    )?;
    let target = study_uid(
        required(&r.target_study_instance_uid, "targetStudyInstanceUID", CTX)?,
        "targetStudyInstanceUID",
        CTX,
    )?;
    let change = who(&r.user_name, &None, CTX)?;
    if source == target {
        return Err(AppError::invalid(
            "invalid_field",
            format!("{CTX}: source and target are the same study"),
        ));
    }
    match ports.corrections.swap_studies(
        &tenant.name,
        &source,
        &target,
        &journal(Correction::SwapStudies, &change),
    )? {
        CorrectionOutcome::StudyNotFound(s) => Err(AppError::not_found(
            "study_not_found",
            format!("study {s} not found"),
        )),
        other => done(other),
    }
}

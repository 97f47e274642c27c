//! Patient and study correction bodies (`/patients/{create,update,merge}`,
//! `/studies/{move,reconcile,swap}`) and their answer.

use pacs_app::AppError;
use pacs_app::corrections::{
    CreatePatient, MergePatients, MoveStudy, ReconcileStudies, SwapStudies, UpdatePatient,
};
use pacs_app::fields::{date, optional, patient_id, person_name, required, sex, study_uid};
use pacs_domain::ids::StudyInstanceUid;
use pacs_domain::model::{Change, PatientAttributes, StudyAttributes};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::schemas;

/// The demographics and the user every patient-changing body carries.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct Demographics {
    #[serde(rename = "patientName")]
    #[schema(schema_with = schemas::text)]
    pub patient_name: Option<String>,
    #[serde(rename = "patientBirthDate")]
    #[schema(schema_with = schemas::date)]
    pub patient_birth_date: Option<String>,
    #[serde(rename = "patientSex")]
    #[schema(schema_with = schemas::sex)]
    pub patient_sex: Option<String>,
    #[serde(rename = "userName")]
    #[schema(schema_with = schemas::text)]
    pub user_name: Option<String>,
}

/// `POST /patients/create`: patientID, patientName and userName are mandatory.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct CreatePatientRequest {
    #[serde(rename = "patientID")]
    #[schema(schema_with = schemas::patient_id, required = true)]
    pub patient_id: Option<String>,
    #[serde(rename = "idIssuer")]
    pub id_issuer: Option<String>,
    #[serde(flatten)]
    pub demographics: Demographics,
}

/// `POST /patients/update`: patientID, patientName and userName are mandatory.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct UpdatePatientRequest {
    #[serde(rename = "patientID")]
    #[schema(schema_with = schemas::patient_id, required = true)]
    pub patient_id: Option<String>,
    #[serde(rename = "operatorName")]
    #[schema(schema_with = schemas::text)]
    pub operator_name: Option<String>,
    #[serde(flatten)]
    pub demographics: Demographics,
}

/// `POST /patients/merge`: who is userName, or operatorName alone.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct MergePatientsRequest {
    #[serde(rename = "sourcePatientID")]
    #[schema(schema_with = schemas::patient_id, required = true)]
    pub source_patient_id: Option<String>,
    #[serde(rename = "targetPatientID")]
    #[schema(schema_with = schemas::patient_id, required = true)]
    pub target_patient_id: Option<String>,
    #[serde(rename = "operatorName")]
    #[schema(schema_with = schemas::text)]
    pub operator_name: Option<String>,
    #[serde(flatten)]
    pub demographics: Demographics,
}

/// `POST /studies/move`: every field but the birth date and sex is mandatory.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct MoveStudyRequest {
    #[serde(rename = "studyInstanceUid")]
    #[schema(schema_with = schemas::uid, required = true)]
    pub study_instance_uid: Option<String>,
    #[serde(rename = "targetPatientID")]
    #[schema(schema_with = schemas::patient_id, required = true)]
    pub target_patient_id: Option<String>,
    #[serde(flatten)]
    pub demographics: Demographics,
}

/// `POST /studies/reconcile`: both studies, patientID and userName are mandatory.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct ReconcileStudiesRequest {
    #[serde(rename = "sourceStudyInstanceUID")]
    #[schema(schema_with = schemas::uid, required = true)]
    pub source_study_instance_uid: Option<String>,
    #[serde(rename = "targetStudyInstanceUID")]
    #[schema(schema_with = schemas::uid, required = true)]
    pub target_study_instance_uid: Option<String>,
    #[serde(rename = "patientID")]
    #[schema(schema_with = schemas::patient_id, required = true)]
    pub patient_id: Option<String>,
    #[serde(rename = "accessionNumber")]
    pub accession_number: Option<String>,
    #[serde(rename = "studyDescription")]
    pub study_description: Option<String>,
    #[serde(rename = "studyDate")]
    #[schema(schema_with = schemas::date)]
    pub study_date: Option<String>,
    #[serde(flatten)]
    pub demographics: Demographics,
}

/// `POST /studies/swap`: every field is mandatory.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct SwapStudiesRequest {
    #[serde(rename = "sourceStudyInstanceUID")]
    #[schema(schema_with = schemas::uid, required = true)]
    pub source_study_instance_uid: Option<String>,
    #[serde(rename = "targetStudyInstanceUID")]
    #[schema(schema_with = schemas::uid, required = true)]
    pub target_study_instance_uid: Option<String>,
    #[serde(rename = "userName")]
    #[schema(schema_with = schemas::text, required = true)]
    pub user_name: Option<String>,
}

/// A patient as these APIs name its fields.
#[derive(Debug, Serialize, ToSchema)]
pub struct Patient {
    #[serde(rename = "patientID")]
    pub patient_id: String,
    #[serde(rename = "patientName")]
    pub patient_name: Option<String>,
    #[serde(rename = "patientBirthDate")]
    pub patient_birth_date: Option<String>,
    #[serde(rename = "patientSex")]
    pub patient_sex: Option<String>,
    #[serde(rename = "idIssuer")]
    pub id_issuer: Option<String>,
}

impl From<&PatientAttributes> for Patient {
    fn from(p: &PatientAttributes) -> Self {
        Self {
            patient_id: p.patient_id.as_str().to_owned(),
            patient_name: p.name.clone(),
            patient_birth_date: p.birth_date.clone(),
            patient_sex: p.sex.clone(),
            id_issuer: p.issuer.clone(),
        }
    }
}

/// The answer of every correction.
#[derive(Debug, Serialize, ToSchema)]
pub struct CorrectionResponse {
    pub message: String,
    pub patient: Patient,
    /// Study Instance UIDs changed
    pub studies: Vec<String>,
}

/// Who changes: the user, with the operator when another one.
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

impl Demographics {
    /// The patient `id` with these demographics.
    fn patient(
        &self,
        id: &str,
        issuer: Option<String>,
        context: &str,
        id_field: &str,
    ) -> Result<PatientAttributes, AppError> {
        Ok(PatientAttributes {
            patient_id: patient_id(id, id_field, context)?,
            issuer,
            name: person_name(optional(&self.patient_name), "patientName", context)?,
            birth_date: date(
                optional(&self.patient_birth_date),
                "patientBirthDate",
                context,
            )?,
            sex: sex(optional(&self.patient_sex), "patientSex", context)?,
        })
    }
}

fn uid_field(
    value: &Option<String>,
    name: &str,
    context: &str,
) -> Result<StudyInstanceUid, AppError> {
    study_uid(required(value, name, context)?, name, context)
}

impl CreatePatientRequest {
    pub fn command(&self) -> Result<CreatePatient, AppError> {
        const CTX: &str = "patients/create";
        let d = &self.demographics;
        let id = required(&self.patient_id, "patientID", CTX)?;
        required(&d.patient_name, "patientName", CTX)?;
        let change = who(&d.user_name, &None, CTX)?;
        let patient = d.patient(id, optional(&self.id_issuer), CTX, "patientID")?;
        Ok(CreatePatient { patient, change })
    }
}

impl UpdatePatientRequest {
    pub fn command(&self) -> Result<UpdatePatient, AppError> {
        const CTX: &str = "patients/update";
        let d = &self.demographics;
        let id = required(&self.patient_id, "patientID", CTX)?;
        required(&d.patient_name, "patientName", CTX)?;
        let change = who(&d.user_name, &self.operator_name, CTX)?;
        let patient = d.patient(id, None, CTX, "patientID")?;
        Ok(UpdatePatient { patient, change })
    }
}

impl MergePatientsRequest {
    pub fn command(&self) -> Result<MergePatients, AppError> {
        const CTX: &str = "patients/merge";
        let d = &self.demographics;
        let source = patient_id(
            required(&self.source_patient_id, "sourcePatientID", CTX)?,
            "sourcePatientID",
            CTX,
        )?;
        let target_id = required(&self.target_patient_id, "targetPatientID", CTX)?;
        let change = who(&d.user_name, &self.operator_name, CTX)
            .or_else(|_| who(&self.operator_name, &None, CTX))?;
        let target = d.patient(target_id, None, CTX, "targetPatientID")?;
        Ok(MergePatients {
            source,
            target,
            change,
        })
    }
}

impl MoveStudyRequest {
    pub fn command(&self) -> Result<MoveStudy, AppError> {
        const CTX: &str = "studies/move";
        let d = &self.demographics;
        let study = uid_field(&self.study_instance_uid, "studyInstanceUid", CTX)?;
        let target_id = required(&self.target_patient_id, "targetPatientID", CTX)?;
        required(&d.patient_name, "patientName", CTX)?;
        let change = who(&d.user_name, &None, CTX)?;
        let target = d.patient(target_id, None, CTX, "targetPatientID")?;
        Ok(MoveStudy {
            study,
            target,
            change,
        })
    }
}

impl ReconcileStudiesRequest {
    pub fn command(&self) -> Result<ReconcileStudies, AppError> {
        const CTX: &str = "studies/reconcile";
        let d = &self.demographics;
        let source = uid_field(
            &self.source_study_instance_uid,
            "sourceStudyInstanceUID",
            CTX,
        )?;
        let target_uid = uid_field(
            &self.target_study_instance_uid,
            "targetStudyInstanceUID",
            CTX,
        )?;
        let pid = required(&self.patient_id, "patientID", CTX)?;
        let change = who(&d.user_name, &None, CTX)?;
        let patient = d.patient(pid, None, CTX, "patientID")?;
        let mut target = StudyAttributes::with_uid(target_uid);
        target.accession_number = optional(&self.accession_number);
        target.description = optional(&self.study_description);
        target.study_date = date(optional(&self.study_date), "studyDate", CTX)?;
        Ok(ReconcileStudies {
            source,
            target,
            patient,
            change,
        })
    }
}

impl SwapStudiesRequest {
    pub fn command(&self) -> Result<SwapStudies, AppError> {
        const CTX: &str = "studies/swap";
        Ok(SwapStudies {
            source: uid_field(
                &self.source_study_instance_uid,
                "sourceStudyInstanceUID",
                CTX,
            )?,
            target: uid_field(
                &self.target_study_instance_uid,
                "targetStudyInstanceUID",
                CTX,
            )?,
            change: who(&self.user_name, &None, CTX)?,
        })
    }
}

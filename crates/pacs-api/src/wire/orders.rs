//! Orders and the instances of a study.

use std::collections::BTreeMap;

use pacs_app::fields::{date, patient_id, person_name, sex, study_uid, time};
use pacs_app::study_instances::StudyInstance;
use pacs_app::{AppError, ErrorCode};
use pacs_domain::ids::AeTitle;
use pacs_domain::model::{Order, PatientAttributes};
use serde::Serialize;
use utoipa::ToSchema;

use super::schemas;

/// Body of `POST /orders/create`: DICOM keywords as keys, text values; every
/// field is kept for the worklist (the nine below are mandatory).
#[derive(Debug, ToSchema)]
#[allow(non_snake_case, dead_code)]
pub struct OrderRequest {
    #[schema(schema_with = schemas::patient_id)]
    PatientID: String,
    #[schema(schema_with = schemas::uid)]
    StudyInstanceUID: String,
    #[schema(schema_with = schemas::text)]
    PatientName: String,
    #[schema(min_length = 1, max_length = 16, pattern = r"^[^\\\x00-\x1F]*$")]
    ScheduledStationAETitle: String,
    #[schema(schema_with = schemas::text)]
    ScheduledProcedureStepDescription: String,
    #[schema(schema_with = schemas::date)]
    ScheduledProcedureStepStartDate: String,
    /// HH[MM[SS[.FFFFFF]]]
    #[schema(pattern = r"^([0-9]{2}){1,3}(\.[0-9]{1,6})?$")]
    ScheduledProcedureStepStartTime: String,
    #[schema(pattern = "^[A-Z0-9_ ]{1,16}$")]
    Modality: String,
    #[schema(schema_with = schemas::text)]
    AccessionNumber: String,
    #[schema(schema_with = schemas::date)]
    PatientBirthDate: Option<String>,
    #[schema(schema_with = schemas::sex)]
    PatientSex: Option<String>,
}

const CTX: &str = "orders/create";

/// The fields the source document makes mandatory.
pub const MANDATORY: [&str; 9] = [
    "PatientID",
    "StudyInstanceUID",
    "PatientName",
    "ScheduledStationAETitle",
    "ScheduledProcedureStepDescription",
    "ScheduledProcedureStepStartDate",
    "ScheduledProcedureStepStartTime",
    "Modality",
    "AccessionNumber",
];

impl OrderRequest {
    /// The order the fields describe (values trimmed, the mandatory ones
    /// present, each checked against its VR); every field is kept.
    pub fn command(fields: BTreeMap<String, String>) -> Result<Order, AppError> {
        let fields: BTreeMap<String, String> = fields
            .into_iter()
            .map(|(k, v)| (k, v.trim().to_owned()))
            .collect();
        let missing: Vec<&str> = MANDATORY
            .iter()
            .copied()
            .filter(|k| fields.get(*k).is_none_or(|v| v.is_empty()))
            .collect();
        if !missing.is_empty() {
            return Err(AppError::invalid(
                ErrorCode::MissingField,
                format!("{CTX}: mandatory field(s) missing: {}", missing.join(", ")),
            ));
        }
        let get = |k: &str| fields.get(k).cloned().filter(|v| !v.is_empty());
        let invalid = |m: String| AppError::invalid(ErrorCode::InvalidField, format!("{CTX}: {m}"));
        let ae = get("ScheduledStationAETitle").unwrap_or_default();
        AeTitle::new(&ae).map_err(|e| invalid(format!("ScheduledStationAETitle: {e}")))?;
        let modality = get("Modality").unwrap_or_default();
        if modality.len() > 16
            || !modality
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_' || b == b' ')
        {
            return Err(invalid(format!(
                "Modality {modality:?} is not a DICOM code string"
            )));
        }
        let text = |k: &str| get(k).unwrap_or_default();
        Ok(Order {
            study_uid: study_uid(&text("StudyInstanceUID"), "StudyInstanceUID", CTX)?,
            accession_number: text("AccessionNumber"),
            patient: PatientAttributes {
                patient_id: patient_id(&text("PatientID"), "PatientID", CTX)?,
                issuer: get("IssuerOfPatientID"),
                name: person_name(get("PatientName"), "PatientName", CTX)?,
                birth_date: date(get("PatientBirthDate"), "PatientBirthDate", CTX)?,
                sex: sex(get("PatientSex"), "PatientSex", CTX)?,
            },
            scheduled_station_ae: ae,
            start_date: date(
                get("ScheduledProcedureStepStartDate"),
                "ScheduledProcedureStepStartDate",
                CTX,
            )?
            .unwrap_or_default(),
            start_time: time(
                get("ScheduledProcedureStepStartTime"),
                "ScheduledProcedureStepStartTime",
                CTX,
            )?
            .unwrap_or_default(),
            modality,
            fields,
        })
    }
}

/// The answer of `POST /orders/create` and `DELETE /orders/delete`.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrderResponse {
    /// `order created` or `order deleted`
    pub message: &'static str,
    /// The order's fields as received
    pub order: BTreeMap<String, String>,
}

impl OrderResponse {
    pub fn new(message: &'static str, o: Order) -> Self {
        Self {
            message,
            order: o.fields,
        }
    }
}

/// One live instance of a study, with the source document's 19 attributes.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StudyInstanceItem {
    pub acquisition_time: Option<String>,
    pub body_part_examined: Option<String>,
    pub code_meaning: Option<String>,
    pub content_date: Option<String>,
    pub content_time: Option<String>,
    pub image_laterality: Option<String>,
    pub image_type: Option<String>,
    pub laterality: Option<String>,
    pub modality: Option<String>,
    pub number_of_frames: Option<i32>,
    pub protocol_name: Option<String>,
    pub series_description: Option<String>,
    pub series_instance_uid: String,
    pub series_number: Option<i32>,
    pub sop_class_uid: String,
    pub sop_instance_uid: String,
    pub study_description: Option<String>,
    pub study_instance_uid: String,
    pub view_position: Option<String>,
}

impl From<StudyInstance> for StudyInstanceItem {
    fn from(i: StudyInstance) -> Self {
        Self {
            acquisition_time: i.acquisition_time,
            body_part_examined: i.body_part_examined,
            code_meaning: i.code_meaning,
            content_date: i.content_date,
            content_time: i.content_time,
            image_laterality: i.image_laterality,
            image_type: i.image_type,
            laterality: i.laterality,
            modality: i.modality,
            number_of_frames: i.number_of_frames,
            protocol_name: i.protocol_name,
            series_description: i.series_description,
            series_instance_uid: i.series_instance_uid.to_string(),
            series_number: i.series_number,
            sop_class_uid: i.sop_class_uid.to_string(),
            sop_instance_uid: i.sop_instance_uid.to_string(),
            study_description: i.study_description,
            study_instance_uid: i.study_instance_uid.to_string(),
            view_position: i.view_position,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields() -> BTreeMap<String, String> {
        [
            ("PatientID", "P1"),
            ("PatientName", "DOE^JANE"),
            ("PatientSex", "F"),
            ("StudyInstanceUID", "1.9.41"),
            ("ScheduledStationAETitle", "CT1"),
            ("ScheduledProcedureStepDescription", "head scan"),
            ("ScheduledProcedureStepStartDate", "20260101"),
            ("ScheduledProcedureStepStartTime", "101010"),
            ("Modality", "CT"),
            ("AccessionNumber", " ACC9 "),
            ("RequestedProcedureID", "RP7"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    }

    #[test]
    fn an_order_keeps_every_field_trimmed() {
        let order = OrderRequest::command(fields()).unwrap();
        assert_eq!(order.accession_number, "ACC9");
        assert_eq!(order.patient.sex.as_deref(), Some("F"));
        assert_eq!(order.study_uid.as_str(), "1.9.41");
        assert_eq!(order.fields["RequestedProcedureID"], "RP7");
        assert_eq!(order.fields["AccessionNumber"], "ACC9");
    }

    #[test]
    fn an_order_needs_every_mandatory_field_and_valid_values() {
        for missing in MANDATORY {
            let mut f = fields();
            f.insert(missing.to_owned(), "  ".into());
            let refused = OrderRequest::command(f).unwrap_err();
            assert_eq!(refused.code(), ErrorCode::MissingField, "{missing}");
            assert!(refused.to_string().contains(missing), "{refused}");
        }
        for (key, bad) in [
            ("Modality", "ct"),
            ("ScheduledStationAETitle", "A\\B"),
            ("ScheduledProcedureStepStartDate", "20261301"),
            ("ScheduledProcedureStepStartTime", "10:10"),
            ("StudyInstanceUID", "1.02"),
            ("PatientSex", "X"),
        ] {
            let mut f = fields();
            f.insert(key.to_owned(), bad.to_owned());
            let refused = OrderRequest::command(f).unwrap_err();
            assert_eq!(refused.code(), ErrorCode::InvalidField, "{key}");
        }
    }
}

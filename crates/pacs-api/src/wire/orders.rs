//! Orders and the instances of a study.

use std::collections::BTreeMap;

use pacs_app::study_instances::StudyInstance;
use pacs_domain::model::Order;
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

//! Key Object Selection: the source document's shapes.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::schemas;

/// Body of `POST /studies/createKos`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct CreateKos {
    #[schema(schema_with = schemas::uid)]
    study_instance_uid: String,
    #[serde(rename = "callingAE")]
    #[schema(schema_with = schemas::text)]
    calling_ae: String,
}

/// `{"success": true, "sopInstanceUid"}` or `{"success": false, "errorCode"}`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct KosResult {
    pub success: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sop_instance_uid: Option<String>,
    /// STUDY_NOT_FOUND, MALFORMED_JSON, INTERNAL_IO_ERROR, INTERNAL_SQL_ERROR,
    /// INTERNAL_DICOM_ERROR or INTERNAL_GENERIC_ERROR
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<&'static str>,
}

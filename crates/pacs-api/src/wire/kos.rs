//! Key Object Selection: the source document's shapes.

use pacs_app::kos::{KosError, KosErrorCode};
use pacs_domain::ids::{AeTitle, StudyInstanceUid};
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

impl CreateKos {
    /// The study (mandatory) and the calling AE (blank: none), or
    /// MALFORMED_JSON naming the field.
    pub fn command(
        study: Option<String>,
        calling_ae: Option<String>,
    ) -> Result<(StudyInstanceUid, Option<AeTitle>), KosError> {
        let study = study
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| {
                KosError::new(KosErrorCode::MalformedJson, "studyInstanceUid is mandatory")
            })?;
        let study = StudyInstanceUid::new(study)
            .map_err(|e| KosError::new(KosErrorCode::MalformedJson, e.to_string()))?;
        let calling = calling_ae
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(AeTitle::new)
            .transpose()
            .map_err(|e| KosError::new(KosErrorCode::MalformedJson, format!("callingAE: {e}")))?;
        Ok((study, calling))
    }
}

//! The answer of a slide upload.

use pacs_app::pathology::SlideStored;
use serde::Serialize;
use utoipa::ToSchema;

/// What an upload stored.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = SlideStored)]
pub struct SlideStoredBody {
    pub study_instance_uid: String,
    pub series_instance_uid: String,
    pub sop_instance_uid: String,
    pub container_identifier: String,
    pub file_name: String,
    /// `file` or `mirax`
    #[schema(value_type = String)]
    pub slide_type: &'static str,
    pub already_stored: bool,
}

impl From<&SlideStored> for SlideStoredBody {
    fn from(s: &SlideStored) -> Self {
        Self {
            study_instance_uid: s.study_uid.to_string(),
            series_instance_uid: s.series_uid.to_string(),
            sop_instance_uid: s.sop_uid.to_string(),
            container_identifier: s.container_identifier.clone(),
            file_name: s.file_name.clone(),
            slide_type: s.kind.as_str(),
            already_stored: s.already_stored,
        }
    }
}

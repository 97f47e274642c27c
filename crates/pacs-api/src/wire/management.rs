//! Count, deprecation, recovery and relocation bodies and answers.

use pacs_app::AppError;
use pacs_app::deprecation::{BAD_BODY, DeprecationChange, bad};
use pacs_app::fields::{optional, study_uid};
use pacs_app::relocation::{RelocateStudy, RelocationTarget};
use pacs_domain::ids::SeriesInstanceUid;
use pacs_domain::model::{DeprecationAction, DeprecationTarget, SeriesSelector, StudySelector};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::schemas;

/// `GET /studies/count`.
#[derive(Debug, Serialize, ToSchema)]
pub struct StudyCount {
    #[schema(minimum = 0)]
    pub study_count: u64,
}

/// Body of `POST /series/deprecation` and `/series/recovery`: exactly one of
/// `seriesInstanceUid` and `containerIdentifier`; `reason` is mandatory to
/// deprecate.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SeriesChangeRequest {
    #[schema(schema_with = schemas::uid)]
    pub series_instance_uid: Option<String>,
    #[schema(schema_with = schemas::text)]
    pub container_identifier: Option<String>,
    #[schema(schema_with = schemas::text, required = true)]
    pub author: Option<String>,
    #[schema(schema_with = schemas::text)]
    pub reason: Option<String>,
}

/// Body of `POST /studies/deprecation` and `/studies/recovery`: exactly one
/// of `studyInstanceUid` and `accessionNumber`; `reason` is mandatory to
/// deprecate.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StudyChangeRequest {
    #[schema(schema_with = schemas::uid)]
    pub study_instance_uid: Option<String>,
    #[schema(schema_with = schemas::text)]
    pub accession_number: Option<String>,
    #[schema(schema_with = schemas::text, required = true)]
    pub author: Option<String>,
    #[schema(schema_with = schemas::text)]
    pub reason: Option<String>,
}

/// Body of `POST /studies/relocation`: exactly one of `studyInstanceUid` and
/// `accessionNumber`, exactly one of `physicalMediumName` and `bucketName`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RelocationRequest {
    #[schema(schema_with = schemas::uid)]
    pub study_instance_uid: Option<String>,
    #[schema(schema_with = schemas::text)]
    pub accession_number: Option<String>,
    #[schema(schema_with = schemas::text)]
    pub bucket_name: Option<String>,
    #[schema(schema_with = schemas::text)]
    pub physical_medium_name: Option<String>,
    #[schema(schema_with = schemas::text, required = true)]
    pub author: Option<String>,
}

/// The answer of a deprecation or a recovery.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeprecationResponse {
    /// `deprecation successful` or `recovery successful`
    pub message: &'static str,
    /// The identifying fields, author and reason received
    #[schema(value_type = Object)]
    pub request: Map<String, Value>,
}

/// The answer of a relocation.
#[derive(Debug, Serialize, ToSchema)]
pub struct RelocationResponse {
    /// `relocation successful`
    pub message: &'static str,
    /// The fields received
    #[schema(value_type = Object)]
    pub request: Map<String, Value>,
}

/// The fields of a body to echo back.
pub const SERIES_KEYS: [&str; 4] = [
    "seriesInstanceUid",
    "containerIdentifier",
    "author",
    "reason",
];
pub const STUDY_KEYS: [&str; 4] = ["studyInstanceUid", "accessionNumber", "author", "reason"];
pub const RELOCATION_KEYS: [&str; 5] = [
    "studyInstanceUid",
    "accessionNumber",
    "bucketName",
    "physicalMediumName",
    "author",
];

fn author(author: &Option<String>) -> Result<String, AppError> {
    optional(author).ok_or_else(|| bad("author is mandatory"))
}

/// Exactly one of `studyInstanceUid` and `accessionNumber`.
fn select_study(
    uid: &Option<String>,
    accession: &Option<String>,
) -> Result<StudySelector, AppError> {
    match (optional(uid), optional(accession)) {
        (Some(uid), None) => study_uid(&uid, "studyInstanceUid", BAD_BODY)
            .map(StudySelector::Uid)
            .map_err(|e| bad(&e.to_string())),
        (None, Some(acc)) => Ok(StudySelector::AccessionNumber(acc)),
        (None, None) => Err(bad("studyInstanceUid or accessionNumber is mandatory")),
        (Some(_), Some(_)) => Err(bad("give studyInstanceUid or accessionNumber, not both")),
    }
}

impl SeriesChangeRequest {
    pub fn command(&self, action: DeprecationAction) -> Result<DeprecationChange, AppError> {
        let selector = match (
            optional(&self.series_instance_uid),
            optional(&self.container_identifier),
        ) {
            (Some(uid), None) => SeriesInstanceUid::new(&uid)
                .map(SeriesSelector::Uid)
                .map_err(|e| bad(&format!("seriesInstanceUid: {e}")))?,
            (None, Some(barcode)) => SeriesSelector::ContainerIdentifier(barcode),
            (None, None) => {
                return Err(bad("seriesInstanceUid or containerIdentifier is mandatory"));
            }
            (Some(_), Some(_)) => {
                return Err(bad(
                    "give seriesInstanceUid or containerIdentifier, not both",
                ));
            }
        };
        Ok(DeprecationChange {
            action,
            target: DeprecationTarget::Series(selector),
            author: author(&self.author)?,
            reason: optional(&self.reason),
        })
    }
}

impl StudyChangeRequest {
    pub fn command(&self, action: DeprecationAction) -> Result<DeprecationChange, AppError> {
        Ok(DeprecationChange {
            action,
            target: DeprecationTarget::Study(select_study(
                &self.study_instance_uid,
                &self.accession_number,
            )?),
            author: author(&self.author)?,
            reason: optional(&self.reason),
        })
    }
}

impl RelocationRequest {
    pub fn command(&self) -> Result<RelocateStudy, AppError> {
        let selector = select_study(&self.study_instance_uid, &self.accession_number)?;
        let author = author(&self.author)?;
        let target = match (
            optional(&self.physical_medium_name),
            optional(&self.bucket_name),
        ) {
            (Some(name), None) => RelocationTarget::Medium(name),
            (None, Some(bucket)) => RelocationTarget::Bucket(bucket),
            (None, None) => return Err(bad("physicalMediumName or bucketName is mandatory")),
            (Some(_), Some(_)) => {
                return Err(bad("give physicalMediumName or bucketName, not both"));
            }
        };
        Ok(RelocateStudy {
            selector,
            target,
            author,
        })
    }
}

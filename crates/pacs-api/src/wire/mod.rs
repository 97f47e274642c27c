//! The JSON the HTTP API reads and answers, with its serde and schema derives.
//! Handlers turn requests into the use cases' typed commands (checking the
//! format of fields here, in the words the API has always used) and typed
//! results into these answers.

pub mod corrections;
pub mod events;
pub mod health;
pub mod kos;
pub mod management;
pub mod orders;
pub mod params;
pub mod pathology;
pub mod schemas;

use serde::Serialize;
use utoipa::ToSchema;

/// Every error answer.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Error)]
pub struct ErrorBody {
    /// A stable machine code
    #[schema(schema_with = schemas::error_code)]
    pub error: String,
    /// A sentence for people
    pub message: String,
}

//! The probes' answers.

use serde::Serialize;
use utoipa::ToSchema;

/// Alive (`ok`) or ready (`ready`).
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    #[schema(value_type = String, example = "ok")]
    pub status: &'static str,
}

/// What is down.
#[derive(Debug, Serialize, ToSchema)]
pub struct NotReady {
    /// `not_ready`
    pub error: &'static str,
    pub message: &'static str,
    pub down: Vec<Down>,
}

/// One component that does not answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct Down {
    /// database, or medium:NAME
    pub component: String,
    pub reason: String,
}

//! Deprecation and recovery of series and studies (source document "Deprecation
//! APIs"; recovery goes beyond it). Deprecated data is hidden everywhere but
//! kept, with who, when and why.

use pacs_domain::model::{
    Change, Deprecated, DeprecationAction, DeprecationOutcome, DeprecationTarget, SeriesSelector,
    StudySelector,
};
use pacs_domain::ports::RepositoryError;

use crate::context::{Ports, Tenant};
use crate::error::{AppError, ErrorCode};
use crate::journal;

/// `POST /{series,studies}/{deprecation,recovery}`: what changes, how, who, why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeprecationChange {
    pub action: DeprecationAction,
    pub target: DeprecationTarget,
    pub author: String,
    pub reason: Option<String>,
}

/// The source document's words for a malformed management body (deprecation,
/// recovery and relocation share them).
pub const BAD_BODY: &str =
    "Invalid relocation request: the request's body wasn't formatted correctly";

/// A 400 in the source document's words, with what is wrong.
pub fn bad(detail: &str) -> AppError {
    AppError::invalid(ErrorCode::BadRequest, format!("{BAD_BODY} ({detail})"))
}

/// Who and why; a deprecation must say why.
fn change(author: &str, reason: &Option<String>, need_reason: bool) -> Result<Change, AppError> {
    if need_reason && reason.is_none() {
        return Err(bad("reason is mandatory"));
    }
    Ok(Change {
        author: author.to_owned(),
        reason: reason.clone(),
    })
}

/// Maps a storage failure to the source document's 409.
fn system_error(e: RepositoryError) -> AppError {
    log::error!("deprecation failed: {e}");
    AppError::conflict(
        ErrorCode::SystemError,
        "System error deprecating study: the change was not made",
    )
}

fn outcome(o: DeprecationOutcome) -> Result<DeprecationOutcome, AppError> {
    match o {
        DeprecationOutcome::Done { .. } => Ok(o),
        DeprecationOutcome::SeriesNotFound => Err(AppError::not_found(
            ErrorCode::SeriesNotFound,
            "Series not found",
        )),
        DeprecationOutcome::StudyOfSeriesNotFound => Err(AppError::not_found(
            ErrorCode::StudyNotFound,
            "Study of requested series not found",
        )),
        DeprecationOutcome::StudyNotFound => Err(AppError::not_found(
            ErrorCode::StudyNotFound,
            "Study not found",
        )),
        DeprecationOutcome::MultipleSeries => Err(AppError::conflict(
            ErrorCode::MultipleSeries,
            "Multiple series found: several series have this Container Identifier",
        )),
        DeprecationOutcome::MultipleStudies => Err(AppError::conflict(
            ErrorCode::MultipleStudies,
            "Multiple studies found: several studies have this Accession Number",
        )),
        DeprecationOutcome::LiveDataExists(why) => Err(AppError::conflict(
            ErrorCode::LiveDataExists,
            format!("Cannot recover: {why}"),
        )),
    }
}

/// The in-flight key of a target (a deprecation and a recovery of the same
/// data exclude each other), and what a refused second change says.
fn in_flight_key(tenant: &Tenant, target: &DeprecationTarget) -> (String, &'static str) {
    let (kind, key, pending) = match target {
        DeprecationTarget::Series(SeriesSelector::Uid(u)) => {
            ("series", format!("uid:{u}"), "Series")
        }
        DeprecationTarget::Series(SeriesSelector::ContainerIdentifier(b)) => {
            ("series", format!("barcode:{b}"), "Series")
        }
        DeprecationTarget::Study(StudySelector::Uid(u)) => ("study", format!("uid:{u}"), "Study"),
        DeprecationTarget::Study(StudySelector::AccessionNumber(a)) => {
            ("study", format!("accession:{a}"), "Study")
        }
    };
    (format!("{}/{kind}/{key}", tenant.name), pending)
}

/// Deprecates or recovers a series or a study (the reason is mandatory to
/// deprecate), unless a change of the same data is running.
pub fn change_deprecation(
    ports: &Ports,
    tenant: &Tenant,
    c: &DeprecationChange,
) -> Result<DeprecationOutcome, AppError> {
    let (action, target) = (c.action, c.target.clone());
    let change = change(&c.author, &c.reason, action == DeprecationAction::Deprecate)?;
    let (key, what) = in_flight_key(tenant, &target);
    let Some(_guard) = ports.in_flight.try_begin(key)? else {
        return Err(AppError::conflict(
            ErrorCode::DeprecationPending,
            format!("{what} has already a pending deprecation"),
        ));
    };
    let journal = |facts: &Deprecated| journal::deprecation(action, &target, &change, facts);
    outcome(
        ports
            .deprecations
            .change_deprecation(&tenant.name, action, &target, &change, &journal)
            .map_err(system_error)?,
    )
}

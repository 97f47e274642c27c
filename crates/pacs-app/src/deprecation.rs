//! Deprecation and recovery of series and studies (source document "Deprecation
//! APIs"; recovery goes beyond it). Deprecated data is hidden everywhere but
//! kept, with who, when and why.

use pacs_domain::ids::SeriesInstanceUid;
use pacs_domain::model::{
    Change, Deprecated, DeprecationAction, DeprecationOutcome, DeprecationTarget, SeriesSelector,
    StudySelector,
};
use pacs_domain::ports::RepositoryError;
use serde::Deserialize;

use crate::context::{Ports, Tenant};
use crate::error::AppError;
use crate::fields::{optional, required, study_uid};
use crate::journal;

/// Body of `POST /series/deprecation` and `/series/recovery`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SeriesRequest {
    pub series_instance_uid: Option<String>,
    pub container_identifier: Option<String>,
    pub author: Option<String>,
    pub reason: Option<String>,
}

/// Body of `POST /studies/deprecation` and `/studies/recovery`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StudyRequest {
    pub study_instance_uid: Option<String>,
    pub accession_number: Option<String>,
    pub author: Option<String>,
    pub reason: Option<String>,
}

/// The source document's words for a malformed management body (deprecation,
/// recovery and relocation share them).
pub(crate) const BAD_BODY: &str =
    "Invalid relocation request: the request's body wasn't formatted correctly";

pub(crate) fn bad(detail: &str) -> AppError {
    AppError::invalid("bad_request", format!("{BAD_BODY} ({detail})"))
}

fn change(
    author: &Option<String>,
    reason: &Option<String>,
    need_reason: bool,
) -> Result<Change, AppError> {
    let author = required(author, "author", BAD_BODY)
        .map_err(|_| bad("author is mandatory"))?
        .to_owned();
    let reason = optional(reason);
    if need_reason && reason.is_none() {
        return Err(bad("reason is mandatory"));
    }
    Ok(Change { author, reason })
}

fn series_selector(r: &SeriesRequest) -> Result<SeriesSelector, AppError> {
    match (
        optional(&r.series_instance_uid),
        optional(&r.container_identifier),
    ) {
        (Some(uid), None) => SeriesInstanceUid::new(&uid)
            .map(SeriesSelector::Uid)
            .map_err(|e| bad(&format!("seriesInstanceUid: {e}"))),
        (None, Some(barcode)) => Ok(SeriesSelector::ContainerIdentifier(barcode)),
        (None, None) => Err(bad("seriesInstanceUid or containerIdentifier is mandatory")),
        (Some(_), Some(_)) => Err(bad(
            "give seriesInstanceUid or containerIdentifier, not both",
        )),
    }
}

fn study_selector(r: &StudyRequest) -> Result<StudySelector, AppError> {
    select_study(&r.study_instance_uid, &r.accession_number)
}

/// Exactly one of `studyInstanceUid` and `accessionNumber`.
pub(crate) fn select_study(
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

/// Maps a storage failure to the source document's 409.
fn system_error(e: RepositoryError) -> AppError {
    log::error!("deprecation failed: {e}");
    AppError::conflict(
        "system_error",
        "System error deprecating study: the change was not made",
    )
}

fn outcome(o: DeprecationOutcome) -> Result<DeprecationOutcome, AppError> {
    match o {
        DeprecationOutcome::Done { .. } => Ok(o),
        DeprecationOutcome::SeriesNotFound => {
            Err(AppError::not_found("series_not_found", "Series not found"))
        }
        DeprecationOutcome::StudyOfSeriesNotFound => Err(AppError::not_found(
            "study_not_found",
            "Study of requested series not found",
        )),
        DeprecationOutcome::StudyNotFound => {
            Err(AppError::not_found("study_not_found", "Study not found"))
        }
        DeprecationOutcome::MultipleSeries => Err(AppError::conflict(
            "multiple_series",
            "Multiple series found: several series have this Container Identifier",
        )),
        DeprecationOutcome::MultipleStudies => Err(AppError::conflict(
            "multiple_studies",
            "Multiple studies found: several studies have this Accession Number",
        )),
        DeprecationOutcome::LiveDataExists(why) => Err(AppError::conflict(
            "live_data_exists",
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

/// Deprecates or recovers `target` (the reason is mandatory to deprecate),
/// unless a change of the same data is running.
fn apply(
    ports: &Ports,
    tenant: &Tenant,
    action: DeprecationAction,
    target: DeprecationTarget,
    author: &Option<String>,
    reason: &Option<String>,
) -> Result<DeprecationOutcome, AppError> {
    let change = change(author, reason, action == DeprecationAction::Deprecate)?;
    let (key, what) = in_flight_key(tenant, &target);
    let Some(_guard) = ports.in_flight.try_begin(key) else {
        return Err(AppError::conflict(
            "deprecation_pending",
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

/// `POST /series/deprecation`.
pub fn deprecate_series(
    ports: &Ports,
    tenant: &Tenant,
    r: &SeriesRequest,
) -> Result<DeprecationOutcome, AppError> {
    let target = DeprecationTarget::Series(series_selector(r)?);
    apply(
        ports,
        tenant,
        DeprecationAction::Deprecate,
        target,
        &r.author,
        &r.reason,
    )
}

/// `POST /studies/deprecation`.
pub fn deprecate_study(
    ports: &Ports,
    tenant: &Tenant,
    r: &StudyRequest,
) -> Result<DeprecationOutcome, AppError> {
    let target = DeprecationTarget::Study(study_selector(r)?);
    apply(
        ports,
        tenant,
        DeprecationAction::Deprecate,
        target,
        &r.author,
        &r.reason,
    )
}

/// `POST /series/recovery`.
pub fn recover_series(
    ports: &Ports,
    tenant: &Tenant,
    r: &SeriesRequest,
) -> Result<DeprecationOutcome, AppError> {
    let target = DeprecationTarget::Series(series_selector(r)?);
    apply(
        ports,
        tenant,
        DeprecationAction::Recover,
        target,
        &r.author,
        &r.reason,
    )
}

/// `POST /studies/recovery`.
pub fn recover_study(
    ports: &Ports,
    tenant: &Tenant,
    r: &StudyRequest,
) -> Result<DeprecationOutcome, AppError> {
    let target = DeprecationTarget::Study(study_selector(r)?);
    apply(
        ports,
        tenant,
        DeprecationAction::Recover,
        target,
        &r.author,
        &r.reason,
    )
}

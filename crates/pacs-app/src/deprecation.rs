//! Deprecation and recovery of series and studies (source document "Deprecation
//! APIs"; recovery goes beyond it). Deprecated data is hidden everywhere but
//! kept, with who, when and why.

use pacs_domain::model::{Change, DeprecationOutcome, SeriesSelector, StudySelector};
use pacs_domain::ports::RepositoryError;

use crate::context::{Ports, Tenant};
use crate::error::AppError;

/// `POST /series/deprecation` and `/series/recovery`: which series, who, why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeriesChange {
    pub selector: SeriesSelector,
    pub author: String,
    pub reason: Option<String>,
}

/// `POST /studies/deprecation` and `/studies/recovery`: which study, who, why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StudyChange {
    pub selector: StudySelector,
    pub author: String,
    pub reason: Option<String>,
}

/// The source document's words for a malformed management body (deprecation,
/// recovery and relocation share them).
pub const BAD_BODY: &str =
    "Invalid relocation request: the request's body wasn't formatted correctly";

/// A 400 in the source document's words, with what is wrong.
pub fn bad(detail: &str) -> AppError {
    AppError::invalid("bad_request", format!("{BAD_BODY} ({detail})"))
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

fn selector_key(tenant: &Tenant, kind: &str, s: &str) -> String {
    format!("{}/{kind}/{s}", tenant.name)
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

fn series_key(s: &SeriesSelector) -> String {
    match s {
        SeriesSelector::Uid(u) => format!("uid:{u}"),
        SeriesSelector::ContainerIdentifier(b) => format!("barcode:{b}"),
    }
}

fn study_key(s: &StudySelector) -> String {
    match s {
        StudySelector::Uid(u) => format!("uid:{u}"),
        StudySelector::AccessionNumber(a) => format!("accession:{a}"),
    }
}

/// `POST /series/deprecation`.
pub fn deprecate_series(
    ports: &Ports,
    tenant: &Tenant,
    r: &SeriesChange,
) -> Result<DeprecationOutcome, AppError> {
    let selector = r.selector.clone();
    let change = change(&r.author, &r.reason, true)?;
    let Some(_guard) =
        ports
            .in_flight
            .try_begin(selector_key(tenant, "series", &series_key(&selector)))
    else {
        return Err(AppError::conflict(
            "deprecation_pending",
            "Series has already a pending deprecation",
        ));
    };
    outcome(
        ports
            .deprecations
            .deprecate_series(&tenant.name, &selector, &change)
            .map_err(system_error)?,
    )
}

/// `POST /studies/deprecation`.
pub fn deprecate_study(
    ports: &Ports,
    tenant: &Tenant,
    r: &StudyChange,
) -> Result<DeprecationOutcome, AppError> {
    let selector = r.selector.clone();
    let change = change(&r.author, &r.reason, true)?;
    let Some(_guard) =
        ports
            .in_flight
            .try_begin(selector_key(tenant, "study", &study_key(&selector)))
    else {
        return Err(AppError::conflict(
            "deprecation_pending",
            "Study has already a pending deprecation",
        ));
    };
    outcome(
        ports
            .deprecations
            .deprecate_study(&tenant.name, &selector, &change)
            .map_err(system_error)?,
    )
}

/// `POST /series/recovery`.
pub fn recover_series(
    ports: &Ports,
    tenant: &Tenant,
    r: &SeriesChange,
) -> Result<DeprecationOutcome, AppError> {
    let selector = r.selector.clone();
    let change = change(&r.author, &r.reason, false)?;
    let Some(_guard) =
        ports
            .in_flight
            .try_begin(selector_key(tenant, "series", &series_key(&selector)))
    else {
        return Err(AppError::conflict(
            "deprecation_pending",
            "Series has already a pending deprecation",
        ));
    };
    outcome(
        ports
            .deprecations
            .recover_series(&tenant.name, &selector, &change)
            .map_err(system_error)?,
    )
}

/// `POST /studies/recovery`.
pub fn recover_study(
    ports: &Ports,
    tenant: &Tenant,
    r: &StudyChange,
) -> Result<DeprecationOutcome, AppError> {
    let selector = r.selector.clone();
    let change = change(&r.author, &r.reason, false)?;
    let Some(_guard) =
        ports
            .in_flight
            .try_begin(selector_key(tenant, "study", &study_key(&selector)))
    else {
        return Err(AppError::conflict(
            "deprecation_pending",
            "Study has already a pending deprecation",
        ));
    };
    outcome(
        ports
            .deprecations
            .recover_study(&tenant.name, &selector, &change)
            .map_err(system_error)?,
    )
}

//! Count, deprecation, recovery and relocation (source document "Count studies
//! API", "Deprecation APIs", "Study relocation API"; recovery per API.md §2).

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use pacs_app::deprecation::{self, BAD_BODY};
use pacs_app::{AppError, Ports, Tenant, count, relocation};
use pacs_domain::model::DeprecationOutcome;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::error::ApiError;
use crate::openapi::{BadRequest, Conflict, NotFound};
use crate::routes::json_body::{echo, object, parse};
use crate::routes::util::{blocking, query_pairs};
use crate::state::AppState;
use crate::wire::management::{
    DeprecationResponse, RELOCATION_KEYS, RelocationRequest, RelocationResponse, SERIES_KEYS,
    STUDY_KEYS, SeriesChangeRequest, StudyChangeRequest, StudyCount,
};
use crate::wire::params::CountQuery;

pub fn routes(cfg: &mut ServiceConfig<'_>) {
    cfg.service(count_studies)
        .service(deprecate_series)
        .service(deprecate_study)
        .service(recover_series)
        .service(recover_study)
        .service(relocate_study);
}

#[utoipa::path(
    tag = "management",
    operation_id = "countStudies",
    summary = "Count live studies",
    params(CountQuery),
    responses(
        (status = 200, description = "The count", body = StudyCount),
        (status = 400, response = BadRequest),
    )
)]
#[get("/studies/count")]
async fn count_studies(
    req: HttpRequest,
    tenant: web::ReqData<Tenant>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let pairs = query_pairs(&req)?;
    let (ports, tenant) = (state.ports.clone(), tenant.into_inner());
    let n = blocking(move || count::count(&ports, &tenant, &pairs)).await?;
    Ok(HttpResponse::Ok().json(StudyCount { study_count: n }))
}

/// Which body a deprecation or recovery reads, and which use case it runs.
enum Deprecation {
    Series(fn(&Ports, &Tenant, &deprecation::SeriesChange) -> Outcome),
    Study(fn(&Ports, &Tenant, &deprecation::StudyChange) -> Outcome),
}

type Outcome = Result<DeprecationOutcome, AppError>;

/// The body of every deprecation and recovery handler.
async fn run(
    body: web::Bytes,
    tenant: web::ReqData<Tenant>,
    state: web::Data<AppState>,
    op: Deprecation,
    message: &'static str,
) -> Result<HttpResponse, ApiError> {
    let map = object(&body, BAD_BODY)?;
    let (ports, tenant) = (state.ports.clone(), tenant.into_inner());
    let keys: &[&str] = match op {
        Deprecation::Series(f) => {
            let command = parse::<SeriesChangeRequest>(&map, BAD_BODY)?.command()?;
            blocking(move || f(&ports, &tenant, &command)).await?;
            &SERIES_KEYS
        }
        Deprecation::Study(f) => {
            let command = parse::<StudyChangeRequest>(&map, BAD_BODY)?.command()?;
            blocking(move || f(&ports, &tenant, &command)).await?;
            &STUDY_KEYS
        }
    };
    Ok(HttpResponse::Ok().json(DeprecationResponse {
        message,
        request: echo(&map, keys),
    }))
}

#[utoipa::path(
    tag = "management",
    operation_id = "deprecateSeries",
    summary = "Deprecate (hide) a series",
    description = "409: multiple_series (same ContainerIdentifier), deprecation_pending, system_error.",
    request_body(content((SeriesChangeRequest = "application/json"), (SeriesChangeRequest = "text/json"))),
    responses(
        (status = 200, description = "Done", body = DeprecationResponse),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    )
)]
#[post("/series/deprecation")]
async fn deprecate_series(
    b: web::Bytes,
    t: web::ReqData<Tenant>,
    s: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let op = Deprecation::Series(deprecation::deprecate_series);
    run(b, t, s, op, "deprecation successful").await
}

#[utoipa::path(
    tag = "management",
    operation_id = "deprecateStudy",
    summary = "Deprecate (hide) a study",
    description = "409: multiple_studies (same AccessionNumber), deprecation_pending, system_error.",
    request_body(content((StudyChangeRequest = "application/json"), (StudyChangeRequest = "text/json"))),
    responses(
        (status = 200, description = "Done", body = DeprecationResponse),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    )
)]
#[post("/studies/deprecation")]
async fn deprecate_study(
    b: web::Bytes,
    t: web::ReqData<Tenant>,
    s: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let op = Deprecation::Study(deprecation::deprecate_study);
    run(b, t, s, op, "deprecation successful").await
}

#[utoipa::path(
    tag = "management",
    operation_id = "recoverSeries",
    summary = "Recover a deprecated series",
    description = "409: live_data_exists: live data with the same UIDs was stored since.",
    request_body(content((SeriesChangeRequest = "application/json"), (SeriesChangeRequest = "text/json"))),
    responses(
        (status = 200, description = "Done", body = DeprecationResponse),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    )
)]
#[post("/series/recovery")]
async fn recover_series(
    b: web::Bytes,
    t: web::ReqData<Tenant>,
    s: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let op = Deprecation::Series(deprecation::recover_series);
    run(b, t, s, op, "recovery successful").await
}

#[utoipa::path(
    tag = "management",
    operation_id = "recoverStudy",
    summary = "Recover a deprecated study",
    description = "409: live_data_exists: live data with the same UIDs was stored since.",
    request_body(content((StudyChangeRequest = "application/json"), (StudyChangeRequest = "text/json"))),
    responses(
        (status = 200, description = "Done", body = DeprecationResponse),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    )
)]
#[post("/studies/recovery")]
async fn recover_study(
    b: web::Bytes,
    t: web::ReqData<Tenant>,
    s: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let op = Deprecation::Study(deprecation::recover_study);
    run(b, t, s, op, "recovery successful").await
}

#[utoipa::path(
    tag = "management",
    operation_id = "relocateStudy",
    summary = "Move a study's stored objects to another physical medium",
    description = "Synchronous: every object is copied and verified, the index switched, then the old \
                   copies removed; a failure leaves the study where it was. 404 study_not_found, \
                   medium_not_found; 409 multiple_studies, bucket_error (no S3 bucket is served by \
                   this version), relocation_pending, system_error.",
    request_body(content((RelocationRequest = "application/json"), (RelocationRequest = "text/json"))),
    responses(
        (status = 200, description = "Done", body = RelocationResponse),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    )
)]
#[post("/studies/relocation")]
async fn relocate_study(
    body: web::Bytes,
    t: web::ReqData<Tenant>,
    s: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let map = object(&body, BAD_BODY)?;
    let command = parse::<RelocationRequest>(&map, BAD_BODY)?.command()?;
    let (ports, tenant) = (s.ports.clone(), t.into_inner());
    blocking(move || relocation::relocate_study(&ports, &tenant, &command)).await?;
    Ok(HttpResponse::Ok().json(RelocationResponse {
        message: "relocation successful",
        request: echo(&map, &RELOCATION_KEYS),
    }))
}

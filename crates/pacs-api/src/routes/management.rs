//! Count, deprecation, recovery and relocation (source document "Count studies
//! API", "Deprecation APIs", "Study relocation API"; recovery per API.md §2).

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use pacs_app::deprecation::{self, BAD_BODY};
use pacs_app::{Tenant, count, relocation};
use pacs_domain::model::DeprecationAction;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::error::ApiError;
use crate::openapi::{BadRequest, Conflict, NotFound};
use crate::routes::json_body::{JsonBody, echo, object, parse};
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

/// Which body a deprecation or recovery reads.
enum Level {
    Series,
    Study,
}

/// The body of every deprecation and recovery handler.
async fn run(
    body: JsonBody,
    tenant: web::ReqData<Tenant>,
    state: web::Data<AppState>,
    (level, action): (Level, DeprecationAction),
    message: &'static str,
) -> Result<HttpResponse, ApiError> {
    let map = object(&body, BAD_BODY)?;
    let (command, keys): (_, &[&str]) = match level {
        Level::Series => (
            parse::<SeriesChangeRequest>(&map, BAD_BODY)?.command(action)?,
            &SERIES_KEYS,
        ),
        Level::Study => (
            parse::<StudyChangeRequest>(&map, BAD_BODY)?.command(action)?,
            &STUDY_KEYS,
        ),
    };
    let (ports, tenant) = (state.ports.clone(), tenant.into_inner());
    blocking(move || deprecation::change_deprecation(&ports, &tenant, &command)).await?;
    Ok(HttpResponse::Ok().json(DeprecationResponse {
        message,
        request: echo(&map, keys),
    }))
}

/// One deprecation or recovery resource; the body is [`run`].
macro_rules! deprecation {
    ($name:ident, $path:tt, $id:tt, $summary:tt, $text:tt, $body:ident, $op:expr, $message:tt) => {
        #[utoipa::path(
                    tag = "management",
                    operation_id = $id,
                    summary = $summary,
                    description = $text,
                    request_body(content(($body = "application/json"), ($body = "text/json"))),
                    responses(
                        (status = 200, description = "Done", body = DeprecationResponse),
                        (status = 400, response = BadRequest),
                        (status = 404, response = NotFound),
                        (status = 409, response = Conflict),
                    )
                )]
        #[post($path)]
        async fn $name(
            b: JsonBody,
            t: web::ReqData<Tenant>,
            s: web::Data<AppState>,
        ) -> Result<HttpResponse, ApiError> {
            run(b, t, s, $op, $message).await
        }
    };
}

deprecation!(
    deprecate_series,
    "/series/deprecation",
    "deprecateSeries",
    "Deprecate (hide) a series",
    "409: multiple_series (same ContainerIdentifier), deprecation_pending, system_error.",
    SeriesChangeRequest,
    (Level::Series, DeprecationAction::Deprecate),
    "deprecation successful"
);
deprecation!(
    deprecate_study,
    "/studies/deprecation",
    "deprecateStudy",
    "Deprecate (hide) a study",
    "409: multiple_studies (same AccessionNumber), deprecation_pending, system_error.",
    StudyChangeRequest,
    (Level::Study, DeprecationAction::Deprecate),
    "deprecation successful"
);
deprecation!(
    recover_series,
    "/series/recovery",
    "recoverSeries",
    "Recover a deprecated series",
    "409: live_data_exists: live data with the same UIDs was stored since.",
    SeriesChangeRequest,
    (Level::Series, DeprecationAction::Recover),
    "recovery successful"
);
deprecation!(
    recover_study,
    "/studies/recovery",
    "recoverStudy",
    "Recover a deprecated study",
    "409: live_data_exists: live data with the same UIDs was stored since.",
    StudyChangeRequest,
    (Level::Study, DeprecationAction::Recover),
    "recovery successful"
);

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
    body: JsonBody,
    t: web::ReqData<Tenant>,
    s: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let map = object(&body, BAD_BODY)?;
    let command = parse::<RelocationRequest>(&map, BAD_BODY)?.command()?;
    let (ports, tenant) = (s.ports.clone(), t.into_inner());
    relocation::relocate_study(&ports, &tenant, &command).await?;
    Ok(HttpResponse::Ok().json(RelocationResponse {
        message: "relocation successful",
        request: echo(&map, &RELOCATION_KEYS),
    }))
}

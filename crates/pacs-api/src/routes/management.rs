//! Count, deprecation, recovery and relocation (source document "Count studies
//! API", "Deprecation APIs", "Study relocation API"; recovery per API.md §2).

use actix_web::{HttpRequest, HttpResponse, web};
use pacs_app::deprecation::{SeriesRequest, StudyRequest};
use pacs_app::relocation::{self, RelocationRequest};
use pacs_app::{Tenant, count, deprecation};
use serde_json::json;

use crate::error::ApiError;
use crate::routes::json_body::{echo, object, parse};
use crate::routes::util::{blocking, query_pairs};
use crate::state::AppState;

const BAD_BODY: &str = "Invalid relocation request: the request's body wasn't formatted correctly";
const SERIES_KEYS: [&str; 4] = [
    "seriesInstanceUid",
    "containerIdentifier",
    "author",
    "reason",
];
const STUDY_KEYS: [&str; 4] = ["studyInstanceUid", "accessionNumber", "author", "reason"];
const RELOCATION_KEYS: [&str; 5] = [
    "studyInstanceUid",
    "accessionNumber",
    "bucketName",
    "physicalMediumName",
    "author",
];

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/studies/count").route(web::get().to(count_studies)))
        .service(web::resource("/series/deprecation").route(web::post().to(deprecate_series)))
        .service(web::resource("/studies/deprecation").route(web::post().to(deprecate_study)))
        .service(web::resource("/series/recovery").route(web::post().to(recover_series)))
        .service(web::resource("/studies/recovery").route(web::post().to(recover_study)))
        .service(web::resource("/studies/relocation").route(web::post().to(relocate_study)));
}

async fn count_studies(
    req: HttpRequest,
    tenant: web::ReqData<Tenant>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let pairs = query_pairs(&req)?;
    let (ports, tenant) = (state.ports.clone(), tenant.into_inner());
    let n = blocking(move || count::count(&ports, &tenant, &pairs)).await?;
    Ok(HttpResponse::Ok().json(json!({ "study_count": n })))
}

type SeriesOp = fn(
    &pacs_app::Ports,
    &Tenant,
    &SeriesRequest,
) -> Result<pacs_domain::model::DeprecationOutcome, pacs_app::AppError>;
type StudyOp = fn(
    &pacs_app::Ports,
    &Tenant,
    &StudyRequest,
) -> Result<pacs_domain::model::DeprecationOutcome, pacs_app::AppError>;

async fn run_series(
    body: web::Bytes,
    tenant: Tenant,
    state: web::Data<AppState>,
    op: SeriesOp,
    message: &'static str,
) -> Result<HttpResponse, ApiError> {
    let map = object(&body, BAD_BODY)?;
    let request: SeriesRequest = parse(&map, BAD_BODY)?;
    let ports = state.ports.clone();
    blocking(move || op(&ports, &tenant, &request)).await?;
    Ok(HttpResponse::Ok().json(json!({ "message": message, "request": echo(&map, &SERIES_KEYS) })))
}

async fn run_study(
    body: web::Bytes,
    tenant: Tenant,
    state: web::Data<AppState>,
    op: StudyOp,
    message: &'static str,
) -> Result<HttpResponse, ApiError> {
    let map = object(&body, BAD_BODY)?;
    let request: StudyRequest = parse(&map, BAD_BODY)?;
    let ports = state.ports.clone();
    blocking(move || op(&ports, &tenant, &request)).await?;
    Ok(HttpResponse::Ok().json(json!({ "message": message, "request": echo(&map, &STUDY_KEYS) })))
}

async fn deprecate_series(
    body: web::Bytes,
    t: web::ReqData<Tenant>,
    s: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    run_series(
        body,
        t.into_inner(),
        s,
        deprecation::deprecate_series,
        "deprecation successful",
    )
    .await
}

async fn deprecate_study(
    body: web::Bytes,
    t: web::ReqData<Tenant>,
    s: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    run_study(
        body,
        t.into_inner(),
        s,
        deprecation::deprecate_study,
        "deprecation successful",
    )
    .await
}

async fn recover_series(
    body: web::Bytes,
    t: web::ReqData<Tenant>,
    s: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    run_series(
        body,
        t.into_inner(),
        s,
        deprecation::recover_series,
        "recovery successful",
    )
    .await
}

async fn recover_study(
    body: web::Bytes,
    t: web::ReqData<Tenant>,
    s: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    run_study(
        body,
        t.into_inner(),
        s,
        deprecation::recover_study,
        "recovery successful",
    )
    .await
}

async fn relocate_study(
    body: web::Bytes,
    t: web::ReqData<Tenant>,
    s: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let map = object(&body, BAD_BODY)?;
    let request: RelocationRequest = parse(&map, BAD_BODY)?;
    let (ports, tenant) = (s.ports.clone(), t.into_inner());
    relocation::relocate_study(&ports, &tenant, &request).await?;
    Ok(HttpResponse::Ok().json(
        json!({ "message": "relocation successful", "request": echo(&map, &RELOCATION_KEYS) }),
    ))
}

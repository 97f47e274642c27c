//! QIDO-RS: `GET /qido/{AET}/…` for patients, studies, series and instances.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use pacs_app::Tenant;
use pacs_app::retrieve::check_aet;
use pacs_app::search::{SearchTarget, search};
use pacs_domain::model::QueryLevel;

use crate::error::ApiError;
use crate::routes::util::{blocking, query_pairs};
use crate::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/qido/{aet}/patients").route(web::get().to(patients)))
        .service(web::resource("/qido/{aet}/studies").route(web::get().to(studies)))
        .service(web::resource("/qido/{aet}/series").route(web::get().to(all_series)))
        .service(web::resource("/qido/{aet}/instances").route(web::get().to(all_instances)))
        .service(
            web::resource("/qido/{aet}/studies/{study}/series").route(web::get().to(study_series)),
        )
        .service(
            web::resource("/qido/{aet}/studies/{study}/instances")
                .route(web::get().to(study_instances)),
        )
        .service(
            web::resource("/qido/{aet}/studies/{study}/series/{series}/instances")
                .route(web::get().to(series_instances)),
        );
}

async fn run(
    req: HttpRequest,
    tenant: Tenant,
    state: web::Data<AppState>,
    aet: String,
    level: QueryLevel,
    study: Option<String>,
    series: Option<String>,
) -> Result<HttpResponse, ApiError> {
    check_aet(&tenant, &aet)?;
    let pairs = query_pairs(&req)?;
    let retrieve_base = state.wado_rs_root(&tenant.ae_title);
    let ports = state.ports.clone();
    let answer = blocking(move || {
        let target = SearchTarget {
            level,
            study: study.as_deref(),
            series: series.as_deref(),
        };
        search(&ports, &tenant, &target, &pairs, &retrieve_base)
    })
    .await?;
    let mut resp = HttpResponse::build(if answer.body.is_some() {
        StatusCode::OK
    } else {
        StatusCode::NO_CONTENT
    });
    for w in &answer.warnings {
        resp.append_header(("Warning", w.as_str()));
    }
    Ok(match answer.body {
        Some(body) => resp.content_type("application/dicom+json").body(body),
        None => resp.finish(),
    })
}

async fn patients(
    req: HttpRequest,
    path: web::Path<String>,
    t: web::ReqData<Tenant>,
    s: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    run(
        req,
        t.into_inner(),
        s,
        path.into_inner(),
        QueryLevel::Patient,
        None,
        None,
    )
    .await
}

async fn studies(
    req: HttpRequest,
    path: web::Path<String>,
    t: web::ReqData<Tenant>,
    s: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    run(
        req,
        t.into_inner(),
        s,
        path.into_inner(),
        QueryLevel::Study,
        None,
        None,
    )
    .await
}

async fn all_series(
    req: HttpRequest,
    path: web::Path<String>,
    t: web::ReqData<Tenant>,
    s: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    run(
        req,
        t.into_inner(),
        s,
        path.into_inner(),
        QueryLevel::Series,
        None,
        None,
    )
    .await
}

async fn all_instances(
    req: HttpRequest,
    path: web::Path<String>,
    t: web::ReqData<Tenant>,
    s: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    run(
        req,
        t.into_inner(),
        s,
        path.into_inner(),
        QueryLevel::Instance,
        None,
        None,
    )
    .await
}

async fn study_series(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    t: web::ReqData<Tenant>,
    s: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (aet, study) = path.into_inner();
    run(
        req,
        t.into_inner(),
        s,
        aet,
        QueryLevel::Series,
        Some(study),
        None,
    )
    .await
}

async fn study_instances(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    t: web::ReqData<Tenant>,
    s: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (aet, study) = path.into_inner();
    run(
        req,
        t.into_inner(),
        s,
        aet,
        QueryLevel::Instance,
        Some(study),
        None,
    )
    .await
}

async fn series_instances(
    req: HttpRequest,
    path: web::Path<(String, String, String)>,
    t: web::ReqData<Tenant>,
    s: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (aet, study, series) = path.into_inner();
    run(
        req,
        t.into_inner(),
        s,
        aet,
        QueryLevel::Instance,
        Some(study),
        Some(series),
    )
    .await
}

//! `POST /studies/createKos` and `GET /studies/kos?studyUid=`.

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use pacs_app::kos::{KosError, KosErrorCode, create, generate};
use pacs_app::{AppError, ErrorCode, Tenant};
use pacs_domain::ids::StudyInstanceUid;
use serde_json::Value;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::error::ApiError;
use crate::openapi::{BadRequest, Binary, NotFound};
use crate::routes::json_body::JsonBody;
use crate::routes::util::{blocking, param, query_pairs};
use crate::state::AppState;
use crate::wire::kos::{CreateKos, KosResult};
use crate::wire::params::StudyUidQuery;

pub fn routes(cfg: &mut ServiceConfig<'_>) {
    cfg.service(create_kos).service(get_kos);
}

#[utoipa::path(
    tag = "kos",
    operation_id = "createKos",
    summary = "Store a KOS manifest of a study in a new series of the study",
    description = "The source document's answer shape: {\"success\", \"sopInstanceUid\"} or \
                   {\"success\": false, \"errorCode\"}: STUDY_NOT_FOUND (404), MALFORMED_JSON (400), \
                   INTERNAL_IO_ERROR, INTERNAL_SQL_ERROR, INTERNAL_DICOM_ERROR, INTERNAL_GENERIC_ERROR (500).",
    request_body(content((CreateKos = "application/json"), (CreateKos = "text/json"))),
    responses(
        (status = 200, description = "Stored", body = KosResult),
        (status = 400, description = "MALFORMED_JSON", body = KosResult),
        (status = 404, description = "STUDY_NOT_FOUND", body = KosResult),
        (status = 500, description = "INTERNAL_*_ERROR", body = KosResult),
    )
)]
#[post("/studies/createKos")]
async fn create_kos(
    body: JsonBody,
    tenant: web::ReqData<Tenant>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let malformed = |m: String| KosError::new(KosErrorCode::MalformedJson, m);
    let parsed: Result<Value, _> = serde_json::from_slice(&body);
    let Ok(Value::Object(map)) = parsed else {
        return Err(malformed("the body is not a JSON object".into()).into());
    };
    let field = |k: &str| -> Result<Option<String>, KosError> {
        match map.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(malformed(format!("{k} must be a string"))),
        }
    };
    let (study, calling) = CreateKos::command(field("studyInstanceUid")?, field("callingAE")?)?;
    let tenant = tenant.into_inner();
    let base = state.wado_rs_root(&tenant.ae_title);
    let sop = create(&state.ports, &tenant, &study, calling, &base).await?;
    Ok(HttpResponse::Ok().json(KosResult {
        success: true,
        sop_instance_uid: Some(sop.to_string()),
        error_code: None,
    }))
}

#[utoipa::path(
    tag = "kos",
    operation_id = "generateKos",
    summary = "A KOS manifest of a study, not stored",
    description = "Content-Disposition: attachment; filename=\"<SOP Instance UID of the KOS>\".",
    params(StudyUidQuery),
    responses(
        (status = 200, description = "The KOS (DICOM Part 10)", content((Binary = "application/dicom"))),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
    )
)]
#[get("/studies/kos")]
async fn get_kos(
    req: HttpRequest,
    tenant: web::ReqData<Tenant>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let pairs = query_pairs(&req)?;
    let study = param(&pairs, "studyUid")
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| {
            ApiError::bad_request(ErrorCode::MissingParameter, "studyUid is required")
        })?;
    let study = StudyInstanceUid::new(study.trim()).map_err(AppError::from)?;
    let tenant = tenant.into_inner();
    let base = state.wado_rs_root(&tenant.ae_title);
    let ports = state.ports.clone();
    let (sop, bytes) = blocking(move || generate(&ports, &tenant, &study, &base)).await?;
    Ok(HttpResponse::Ok()
        .content_type("application/dicom")
        .insert_header((
            "Content-Disposition",
            format!("attachment; filename=\"{sop}\""),
        ))
        .body(bytes))
}

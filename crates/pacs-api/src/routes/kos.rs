//! `POST /studies/createKos` and `GET /studies/kos?studyUid=`.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use pacs_app::kos::{KosError, create, generate};
use pacs_app::{AppError, Tenant};
use pacs_domain::ids::StudyInstanceUid;
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::routes::util::{blocking, param, query_pairs};
use crate::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/studies/createKos").route(web::post().to(create_kos)))
        .service(web::resource("/studies/kos").route(web::get().to(get_kos)));
}

/// The source document's answer shape: `{"success": false, "errorCode": …}`.
fn failure(e: &KosError) -> HttpResponse {
    let status = match e.code {
        "STUDY_NOT_FOUND" => StatusCode::NOT_FOUND,
        "MALFORMED_JSON" => StatusCode::BAD_REQUEST,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    if status.is_server_error() {
        log::error!("createKos failed: {e}");
    }
    HttpResponse::build(status).json(json!({ "success": false, "errorCode": e.code }))
}

async fn create_kos(
    body: web::Bytes,
    tenant: web::ReqData<Tenant>,
    state: web::Data<AppState>,
) -> HttpResponse {
    let parsed: Result<Value, _> = serde_json::from_slice(&body);
    let Ok(Value::Object(map)) = parsed else {
        return failure(&KosError::new(
            "MALFORMED_JSON",
            "the body is not a JSON object",
        ));
    };
    let field = |k: &str| -> Result<Option<String>, KosError> {
        match map.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(KosError::new(
                "MALFORMED_JSON",
                format!("{k} must be a string"),
            )),
        }
    };
    let (study, calling) = match (field("studyInstanceUid"), field("callingAE")) {
        (Ok(s), Ok(c)) => (s, c),
        (Err(e), _) | (_, Err(e)) => return failure(&e),
    };
    let tenant = tenant.into_inner();
    let base = state.wado_rs_root(&tenant.ae_title);
    let outcome = create(
        &state.ports,
        &tenant,
        study.as_deref(),
        calling.as_deref(),
        &base,
    )
    .await;
    match outcome {
        Ok(sop) => HttpResponse::Ok().json(json!({ "success": true, "sopInstanceUid": sop })),
        Err(e) => failure(&e),
    }
}

async fn get_kos(
    req: HttpRequest,
    tenant: web::ReqData<Tenant>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let pairs = query_pairs(&req)?;
    let study = param(&pairs, "studyUid")
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| ApiError::bad_request("missing_parameter", "studyUid is required"))?;
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

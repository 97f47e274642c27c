//! Orders: `POST /orders/create` (text/json or application/json) and
//! `DELETE /orders/delete?studyUid=`; and `GET /studyInstances?studyUid=`.

use std::collections::BTreeMap;

use actix_web::{HttpRequest, HttpResponse, delete, get, post, web};
use pacs_app::fields::study_uid;
use pacs_app::{AppError, ErrorCode, Tenant, orders, study_instances};
use pacs_domain::ids::StudyInstanceUid;
use serde_json::Value;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::error::ApiError;
use crate::openapi::{BadRequest, Conflict, NotFound, UnsupportedMediaType};
use crate::routes::json_body::{JsonBody, object, require_json};
use crate::routes::util::{blocking, param, query_pairs};
use crate::state::AppState;
use crate::wire::orders::{OrderRequest, OrderResponse, StudyInstanceItem};
use crate::wire::params::StudyUidQuery;

pub fn routes(cfg: &mut ServiceConfig<'_>) {
    cfg.service(create_order)
        .service(delete_order)
        .service(get_study_instances);
}

/// The mandatory `studyUid` query parameter; `context` starts the message of a 400.
fn study_param(req: &HttpRequest, context: &str) -> Result<StudyInstanceUid, ApiError> {
    let pairs = query_pairs(req)?;
    let uid = param(&pairs, "studyUid")
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            AppError::invalid(
                ErrorCode::MissingParameter,
                format!("{context}: studyUid is mandatory"),
            )
        })?;
    Ok(study_uid(uid, "studyUid", context)?)
}

#[utoipa::path(
    tag = "orders",
    operation_id = "createOrder",
    summary = "Create an order (modality worklist)",
    description = "Content-Type text/json or application/json (else 415). 409 order_exists.",
    request_body(content((OrderRequest = "application/json"), (OrderRequest = "text/json"))),
    responses(
        (status = 200, description = "Created", body = OrderResponse),
        (status = 400, response = BadRequest),
        (status = 409, response = Conflict),
        (status = 415, response = UnsupportedMediaType),
    )
)]
#[post("/orders/create")]
async fn create_order(
    req: HttpRequest,
    body: JsonBody,
    tenant: web::ReqData<Tenant>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    require_json(&req)?;
    let map = object(&body, "orders/create")?;
    let mut fields = BTreeMap::new();
    for (k, v) in map {
        match v {
            Value::String(s) => {
                fields.insert(k, s);
            }
            Value::Null => {}
            other => {
                return Err(ApiError::bad_request(
                    ErrorCode::InvalidField,
                    format!("orders/create: {k} must be a string, not {other}"),
                ));
            }
        }
    }
    let (ports, tenant) = (state.ports.clone(), tenant.into_inner());
    let order = OrderRequest::command(fields)?;
    let order = blocking(move || orders::create_order(&ports, &tenant, order)).await?;
    Ok(HttpResponse::Ok().json(OrderResponse::new("order created", order)))
}

#[utoipa::path(
    tag = "orders",
    operation_id = "deleteOrder",
    summary = "Delete an order",
    params(StudyUidQuery),
    responses(
        (status = 200, description = "Deleted", body = OrderResponse),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
    )
)]
#[delete("/orders/delete")]
async fn delete_order(
    req: HttpRequest,
    tenant: web::ReqData<Tenant>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let study = study_param(&req, "orders/delete")?;
    let (ports, tenant) = (state.ports.clone(), tenant.into_inner());
    let order = blocking(move || orders::delete_order(&ports, &tenant, &study)).await?;
    Ok(HttpResponse::Ok().json(OrderResponse::new("order deleted", order)))
}

#[utoipa::path(
    tag = "orders",
    operation_id = "studyInstances",
    summary = "The live instances of a study",
    params(StudyUidQuery),
    responses(
        (status = 200, description = "One object per live instance", body = [StudyInstanceItem]),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
    )
)]
#[get("/studyInstances")]
async fn get_study_instances(
    req: HttpRequest,
    tenant: web::ReqData<Tenant>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let study = study_param(&req, "studyInstances")?;
    let (ports, tenant) = (state.ports.clone(), tenant.into_inner());
    let list = blocking(move || study_instances::study_instances(&ports, &tenant, &study)).await?;
    let items: Vec<StudyInstanceItem> = list.into_iter().map(Into::into).collect();
    Ok(HttpResponse::Ok().json(items))
}

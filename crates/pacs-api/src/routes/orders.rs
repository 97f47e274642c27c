//! Orders: `POST /orders/create` (text/json or application/json) and
//! `DELETE /orders/delete?studyUid=`; and `GET /studyInstances?studyUid=`.

use std::collections::BTreeMap;

use actix_web::{HttpRequest, HttpResponse, web};
use pacs_app::{Tenant, orders, study_instances};
use pacs_domain::model::Order;
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::routes::json_body::{object, require_json};
use crate::routes::util::{blocking, param, query_pairs};
use crate::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/orders/create").route(web::post().to(create_order)))
        .service(web::resource("/orders/delete").route(web::delete().to(delete_order)))
        .service(web::resource("/studyInstances").route(web::get().to(get_study_instances)));
}

fn order_json(o: &Order) -> Value {
    json!(o.fields)
}

async fn create_order(
    req: HttpRequest,
    body: web::Bytes,
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
                    "invalid_field",
                    format!("orders/create: {k} must be a string, not {other}"),
                ));
            }
        }
    }
    let (ports, tenant) = (state.ports.clone(), tenant.into_inner());
    let order = blocking(move || orders::create_order(&ports, &tenant, fields)).await?;
    Ok(HttpResponse::Ok().json(json!({ "message": "order created", "order": order_json(&order) })))
}

async fn delete_order(
    req: HttpRequest,
    tenant: web::ReqData<Tenant>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let pairs = query_pairs(&req)?;
    let study = param(&pairs, "studyUid").map(str::to_owned);
    let (ports, tenant) = (state.ports.clone(), tenant.into_inner());
    let order = blocking(move || orders::delete_order(&ports, &tenant, study.as_deref())).await?;
    Ok(HttpResponse::Ok().json(json!({ "message": "order deleted", "order": order_json(&order) })))
}

async fn get_study_instances(
    req: HttpRequest,
    tenant: web::ReqData<Tenant>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let pairs = query_pairs(&req)?;
    let study = param(&pairs, "studyUid").map(str::to_owned);
    let (ports, tenant) = (state.ports.clone(), tenant.into_inner());
    let list =
        blocking(move || study_instances::study_instances(&ports, &tenant, study.as_deref()))
            .await?;
    let items: Vec<Value> = list
        .iter()
        .map(|i| {
            json!({
                "acquisitionTime": i.acquisition_time,
                "bodyPartExamined": i.body_part_examined,
                "codeMeaning": i.code_meaning,
                "contentDate": i.content_date,
                "contentTime": i.content_time,
                "imageLaterality": i.image_laterality,
                "imageType": i.image_type,
                "laterality": i.laterality,
                "modality": i.modality,
                "numberOfFrames": i.number_of_frames,
                "protocolName": i.protocol_name,
                "seriesDescription": i.series_description,
                "seriesInstanceUid": i.series_instance_uid,
                "seriesNumber": i.series_number,
                "sopClassUid": i.sop_class_uid,
                "sopInstanceUid": i.sop_instance_uid,
                "studyDescription": i.study_description,
                "studyInstanceUid": i.study_instance_uid,
                "viewPosition": i.view_position,
            })
        })
        .collect();
    Ok(HttpResponse::Ok().json(items))
}

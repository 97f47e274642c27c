//! `GET /studyEvents?offsetId=N[&limit=M]`.

use actix_web::{HttpRequest, HttpResponse, web};
use pacs_app::Tenant;
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::routes::util::{blocking, param, query_pairs};
use crate::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/studyEvents").route(web::get().to(study_events)));
}

fn rfc3339(t: std::time::SystemTime) -> String {
    chrono::DateTime::<chrono::Utc>::from(t).to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

async fn study_events(
    req: HttpRequest,
    tenant: web::ReqData<Tenant>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let pairs = query_pairs(&req)?;
    let offset = param(&pairs, "offsetId").map(str::to_owned);
    let limit = param(&pairs, "limit").map(str::to_owned);
    let tenant = tenant.into_inner();
    let ports = state.ports.clone();
    let page = blocking(move || {
        pacs_app::events::read(&ports, &tenant, offset.as_deref(), limit.as_deref())
    })
    .await?;
    let events: Vec<Value> = page
        .events
        .iter()
        .map(|e| {
            json!({
                "id": e.id,
                "eventType": e.event.event_type.as_str(),
                "studyInstanceUid": e.event.study_uid.as_ref().map(|u| u.as_str()),
                "seriesInstanceUid": e.event.series_uid.as_ref().map(|u| u.as_str()),
                "patientId": e.event.patient_id.as_ref().map(|p| p.as_str()),
                "accessionNumber": e.event.accession_number,
                "occurredAt": rfc3339(e.occurred_at),
                "details": e.event.details,
            })
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({
        "events": events,
        "lastOffsetId": page.last_offset_id,
        "hasMore": page.has_more,
    })))
}

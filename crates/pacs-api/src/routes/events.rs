//! `GET /studyEvents?offsetId=N[&limit=M]`.

use actix_web::{HttpRequest, HttpResponse, get, web};
use pacs_app::Tenant;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::error::ApiError;
use crate::openapi::BadRequest;
use crate::routes::util::{blocking, param, query_pairs};
use crate::state::AppState;
use crate::wire::events::StudyEvents;
use crate::wire::params::EventsQuery;

pub fn routes(cfg: &mut ServiceConfig<'_>) {
    cfg.service(study_events);
}

#[utoipa::path(
    tag = "events",
    operation_id = "studyEvents",
    summary = "The tenant's study events after offsetId",
    params(EventsQuery),
    responses(
        (status = 200, description = "A page of events", body = StudyEvents),
        (status = 400, response = BadRequest),
    )
)]
#[get("/studyEvents")]
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
    Ok(HttpResponse::Ok().json(StudyEvents::from(page)))
}

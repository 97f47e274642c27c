//! Operations endpoints, no key needed: `GET /metrics` (Prometheus text format),
//! the OpenAPI document `GET /o3-dpacs-wado/openapi.json` and its Swagger UI
//! (`/o3-dpacs-wado/swagger-ui/`, served from the vendored crate, nothing
//! downloaded). Registered before the `/o3-dpacs-wado` scope so that it does
//! not shadow them. `/healthz` and `/readyz` are in `health.rs`.

use actix_web::{HttpResponse, get, web};
use pacs_domain::ports::StorageUsage;
use utoipa_actix_web::service_config::ServiceConfig;
use utoipa_swagger_ui::{Config, SwaggerUi};

use crate::metrics::{Metrics, Snapshot};
use crate::openapi::{Binary, Document, OPENAPI_PATH, SWAGGER_UI_PATH};
use crate::state::AppState;

pub fn routes(cfg: &mut ServiceConfig<'_>) {
    cfg.service(metrics).service(openapi_json).map(|c| {
        // The UI only: the document it shows is served by `openapi_json`.
        c.service(
            SwaggerUi::new(format!("{SWAGGER_UI_PATH}/{{_:.*}}"))
                .config(Config::from(OPENAPI_PATH)),
        )
    });
}

#[utoipa::path(
    tag = "operations",
    operation_id = "metrics",
    summary = "Prometheus metrics",
    description = "Text format 0.0.4: requests and latency per route pattern, instances and bytes \
                   per medium, database pool, job queue depth, DIMSE associations. No patient data.",
    responses((status = 200, description = "The metrics", content((Binary = "text/plain"))))
)]
#[get("/metrics")]
async fn metrics(state: web::Data<AppState>, metrics: web::Data<Metrics>) -> HttpResponse {
    let media: Vec<String> = state
        .ports
        .media
        .all()
        .map(|m| m.name().as_str().to_owned())
        .collect();
    let db = state.database.clone();
    let read = web::block(move || {
        let usage = db.usage_by_medium().map_err(|e| e.to_string());
        let (in_use, idle) = db.pool_state();
        (usage, in_use, idle, db.pool_max())
    })
    .await;
    let (usage, pool_in_use, pool_idle, pool_max) =
        read.unwrap_or_else(|e| (Err(e.to_string()), 0, 0, 0));
    if let Err(e) = &usage {
        log::warn!("metrics: storage usage not available: {e}");
    }
    let text = metrics.render(&Snapshot {
        usage,
        media,
        pool_in_use,
        pool_idle,
        pool_max,
        dimse_associations: state.dimse_associations.as_ref().map_or(0, |a| {
            i64::try_from(a.load(std::sync::atomic::Ordering::Relaxed)).unwrap_or(i64::MAX)
        }),
    });
    HttpResponse::Ok()
        .content_type(prometheus::TEXT_FORMAT)
        .body(text)
}

#[utoipa::path(
    tag = "operations",
    operation_id = "openapi",
    summary = "This OpenAPI document",
    responses((status = 200, description = "The document", body = Document))
)]
#[get("/o3-dpacs-wado/openapi.json")]
async fn openapi_json(doc: web::Data<Document>) -> HttpResponse {
    HttpResponse::Ok().json(&doc.0)
}

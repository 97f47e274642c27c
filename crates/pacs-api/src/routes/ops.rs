//! Operations endpoints, no key needed: `GET /metrics` (Prometheus text format),
//! the OpenAPI document `GET /o3-dpacs-wado/openapi.json` and its Swagger UI
//! (`/o3-dpacs-wado/swagger-ui/`, served from the vendored crate, nothing
//! downloaded). Registered before the `/o3-dpacs-wado` scope so that it does
//! not shadow them. `/healthz` and `/readyz` are in `health.rs`.

use actix_web::{HttpResponse, web};
use pacs_domain::ports::StorageUsage;
use utoipa_swagger_ui::SwaggerUi;

use crate::metrics::{Metrics, Snapshot};
use crate::openapi::{OPENAPI_PATH, SWAGGER_UI_PATH};
use crate::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/metrics").route(web::get().to(metrics)))
        .service(
            SwaggerUi::new(format!("{SWAGGER_UI_PATH}/{{_:.*}}"))
                .url(OPENAPI_PATH, crate::openapi::document().clone()),
        );
}

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
    });
    HttpResponse::Ok()
        .content_type(prometheus::TEXT_FORMAT)
        .body(text)
}

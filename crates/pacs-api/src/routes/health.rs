//! Liveness and readiness probes (no key needed).

use actix_web::{HttpResponse, web};
use serde_json::json;

use crate::state::AppState;

/// The process is alive.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

/// The database and every storage medium answer; otherwise 503 naming what is down.
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let state = state.into_inner();
    let db = state.clone();
    let mut down = match web::block(move || db.database.check()).await {
        Ok(Ok(())) => Vec::new(),
        Ok(Err(e)) => vec![json!({ "component": "database", "reason": e.to_string() })],
        Err(e) => vec![json!({ "component": "probe", "reason": e.to_string() })],
    };
    for m in state.ports.media.all() {
        if let Err(e) = m.check().await {
            down.push(
                json!({ "component": format!("medium:{}", m.name()), "reason": e.to_string() }),
            );
        }
    }
    if down.is_empty() {
        HttpResponse::Ok().json(json!({ "status": "ready" }))
    } else {
        HttpResponse::ServiceUnavailable().json(json!({
            "error": "not_ready",
            "message": "some dependencies are unavailable",
            "down": down,
        }))
    }
}

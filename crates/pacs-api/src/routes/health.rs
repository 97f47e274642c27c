//! Liveness and readiness probes (no key needed).

use actix_web::{HttpResponse, get, web};

use crate::state::AppState;
use crate::wire::health::{Down, Health, NotReady};

/// The process is alive.
#[utoipa::path(
    tag = "operations",
    operation_id = "healthz",
    summary = "The process is alive",
    responses((status = 200, description = "Alive", body = Health))
)]
#[get("/healthz")]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(Health { status: "ok" })
}

fn down(component: String, reason: impl ToString) -> Down {
    Down {
        component,
        reason: reason.to_string(),
    }
}

/// The database and every storage medium answer; otherwise 503 naming what is down.
#[utoipa::path(
    tag = "operations",
    operation_id = "readyz",
    summary = "The database and every storage medium answer",
    responses(
        (status = 200, description = "Ready", body = Health),
        (status = 503, description = "Something is down", body = NotReady),
    )
)]
#[get("/readyz")]
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let state = state.into_inner();
    let db = state.clone();
    let mut out = match web::block(move || db.database.check()).await {
        Ok(Ok(())) => Vec::new(),
        Ok(Err(e)) => vec![down("database".into(), e)],
        Err(e) => vec![down("probe".into(), e)],
    };
    for m in state.ports.media.all() {
        if let Err(e) = m.check().await {
            out.push(down(format!("medium:{}", m.name()), e));
        }
    }
    let down = out;
    if down.is_empty() {
        HttpResponse::Ok().json(Health { status: "ready" })
    } else {
        HttpResponse::ServiceUnavailable().json(NotReady {
            error: "not_ready",
            message: "some dependencies are unavailable",
            down,
        })
    }
}

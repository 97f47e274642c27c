//! HTTP routes, under the web context `/o3-dpacs-wado` (probes outside it).
//!
//! Every handler is registered with `.service(handler)` on utoipa-actix-web's
//! config, which adds its `#[utoipa::path]` description to the OpenAPI
//! document: the router and the document are built together.

pub mod bulkdata;
pub mod corrections;
pub mod events;
pub mod health;
pub mod json_body;
pub mod kos;
pub mod management;
pub mod ops;
pub mod orders;
pub mod parts;
pub mod pathology;
pub mod qido;
pub mod rendering;
pub mod root;
pub mod stow;
pub mod stream;
pub mod util;
pub mod wado;

use actix_web::web;
use utoipa_actix_web::scope;
use utoipa_actix_web::service_config::ServiceConfig;

/// Every route of the archive.
pub fn configure(cfg: &mut ServiceConfig<'_>) {
    cfg.service(health::healthz)
        .service(health::readyz)
        .configure(ops::routes)
        .service(
            scope::scope("/o3-dpacs-wado")
                .configure(stow::routes)
                .configure(qido::routes)
                .configure(wado::routes)
                .configure(bulkdata::routes)
                .configure(events::routes)
                .configure(management::routes)
                .configure(corrections::routes)
                .configure(orders::routes)
                .configure(rendering::routes)
                .configure(kos::routes)
                .configure(pathology::routes)
                .app_data(web::PayloadConfig::new(json_body::MAX_JSON)),
        );
}

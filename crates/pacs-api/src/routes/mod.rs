//! HTTP routes, under the web context `/o3-dpacs-wado` (probes outside it).

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
pub mod stow;
pub mod stream;
pub mod util;
pub mod wado;

use actix_web::web;

/// Every route of the archive.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/healthz").route(web::get().to(health::healthz)))
        .service(web::resource("/readyz").route(web::get().to(health::readyz)))
        .configure(ops::routes)
        .service(
            web::scope("/o3-dpacs-wado")
                .configure(stow::routes)
                .configure(qido::routes)
                .configure(wado::routes)
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

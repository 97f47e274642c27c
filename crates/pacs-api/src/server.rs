//! The composition root: builds the adapters from the configuration, wires them
//! into the use cases' ports and runs the HTTP server.

use std::sync::Arc;
use std::time::Duration;

use actix_web::middleware::{Condition, Logger, from_fn};
use actix_web::{App, HttpResponse, HttpServer, web};
use pacs_app::{AppError, ErrorCode, Media, Ports, Tenant};
use pacs_domain::ids::{AeTitle, TenantName};
use pacs_domain::model::MediumName;
use pacs_domain::ports::BlobStore;
use pacs_persistence::Database;
use pacs_storage::{FsMedium, S3Bucket};
use utoipa_actix_web::AppExt;

use crate::auth::{Keyring, generated_key_digest, parse_digest, require_key, sha256};
use crate::config::Settings;
use crate::cors::{AllowedOrigins, cors, foreign_preflight};
use crate::error::{ApiError, extractor_error};
use crate::state::AppState;

/// A startup failure, with the reason for the operator.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct StartupError(pub String);

fn fail(context: &str) -> impl Fn(String) -> StartupError + '_ {
    move |e| StartupError(format!("{context}: {e}"))
}

/// Connects to the database and applies pending migrations.
pub fn open_database(settings: &Settings) -> Result<Arc<Database>, StartupError> {
    let db = Database::connect(&settings.database.url, settings.database.pool_size)
        .map_err(|e| fail("database")(e.to_string()))?;
    let applied = db
        .migrate()
        .map_err(|e| fail("database migration")(e.to_string()))?;
    if applied > 0 {
        log::info!("applied {applied} database migration(s)");
    }
    Ok(Arc::new(db))
}

/// Removes what a previous run staged but never acknowledged.
fn sweep_staging(root: &std::path::Path, medium: &str) {
    if let Ok(n) = pacs_storage::clean_staging(root)
        && n > 0
    {
        log::info!("removed {n} unacknowledged staging file(s) of medium {medium}");
    }
}

fn open_media(settings: &Settings) -> Result<Media, StartupError> {
    let mut media: Vec<Arc<dyn BlobStore>> = Vec::new();
    for m in &settings.storage.media {
        let name = MediumName::new(&m.name).map_err(|e| fail("storage.media")(e.to_string()))?;
        let medium = FsMedium::open(name, &m.path, settings.storage.fsync)
            .map_err(|e| fail("storage.media")(e.to_string()))?;
        sweep_staging(medium.root(), &m.name);
        media.push(Arc::new(medium));
    }
    for b in &settings.storage.buckets {
        let name = MediumName::new(&b.name).map_err(|e| fail("storage.buckets")(e.to_string()))?;
        if media.iter().any(|m| m.name() == &name) {
            return Err(fail("storage.buckets")(format!(
                "{name}: a medium or bucket of that name is already configured"
            )));
        }
        let bucket = S3Bucket::connect(name, b.to_storage(&settings.server.data_dir))
            .map_err(|e| fail("storage.buckets")(e.to_string()))?;
        sweep_staging(bucket.staging_root(), &b.name);
        media.push(Arc::new(bucket));
    }
    let default = MediumName::new(&settings.storage.default_medium)
        .map_err(|e| fail("storage.default_medium")(e.to_string()))?;
    Media::new(media, default).map_err(fail("storage"))
}

/// Moves, on every filesystem medium, the files a crash left without their
/// row to the medium's `.orphans/` (`pacs_storage::sweep_orphans`); returns
/// how many. A failure is logged and the archive starts anyway: orphans only
/// take space.
fn sweep_orphans(settings: &Settings, db: &Database, started: std::time::SystemTime) -> usize {
    let grace = std::time::Duration::from_secs(settings.storage.orphan_grace_secs);
    let Some(cutoff) = started.checked_sub(grace) else {
        return 0;
    };
    let mut total = 0;
    for m in &settings.storage.media {
        let referenced = |keys: &[String]| {
            db.referenced_keys(&m.name, keys)
                .map_err(|e| std::io::Error::other(e.to_string()))
        };
        match pacs_storage::sweep_orphans(&m.path, cutoff, &referenced) {
            Ok(0) => {}
            Ok(n) => {
                log::warn!(
                    "moved {n} file(s) no row names to {}/.orphans (docs/operations.md)",
                    m.path.display()
                );
                total += n;
            }
            Err(e) => log::warn!("orphan sweep of medium {} stopped: {e}", m.name),
        }
    }
    total
}

/// The keyring of every tenant; keys of tenants configured without one are
/// generated once and printed, their digest kept in `server.data_dir`.
fn keyring(settings: &Settings) -> Result<Keyring, StartupError> {
    let mut ring = Keyring::default();
    for t in &settings.tenants {
        let tenant = Tenant {
            name: TenantName::new(&t.name).map_err(|e| fail("tenants.name")(e.to_string()))?,
            ae_title: AeTitle::new(&t.ae_title)
                .map_err(|e| fail("tenants.ae_title")(e.to_string()))?,
        };
        let digest = match (&t.api_key, &t.api_key_sha256) {
            (Some(key), _) => sha256(key),
            (None, Some(hash)) => parse_digest(hash)
                .ok_or_else(|| StartupError("tenants.api_key_sha256: not hex".into()))?,
            (None, None) => {
                let (digest, new_key) = generated_key_digest(&settings.server.data_dir, &t.name)
                    .map_err(|e| fail("server.data_dir")(e.to_string()))?;
                if let Some(key) = new_key {
                    // Shown once, on the console only; the archive keeps just its hash.
                    #[allow(clippy::print_stdout)]
                    {
                        println!("Generated API key for tenant {}: {key}", t.name);
                        println!(
                            "(only its SHA-256 is kept, in {}; save the key now)",
                            settings.server.data_dir.display()
                        );
                    }
                }
                digest
            }
        };
        ring.add(tenant, digest);
    }
    Ok(ring)
}

/// Starts the DICOM listener for every tenant and its nodes, and says where
/// it listens (before the HTTP ready line, which scripts wait for).
fn start_dimse(
    dimse: &crate::config::DimseSettings,
    settings: &Settings,
    ports: Ports,
) -> Result<pacs_dimse::Listener, StartupError> {
    let mut tenants = Vec::new();
    for t in &settings.tenants {
        let tenant = Tenant {
            name: TenantName::new(&t.name).map_err(|e| fail("tenants.name")(e.to_string()))?,
            ae_title: AeTitle::new(&t.ae_title)
                .map_err(|e| fail("tenants.ae_title")(e.to_string()))?,
        };
        let nodes = t
            .nodes
            .iter()
            .map(|n| {
                Ok(pacs_dimse::Node {
                    ae_title: AeTitle::new(&n.ae_title)
                        .map_err(|e| fail("tenants.nodes.ae_title")(e.to_string()))?,
                    host: n.host.clone(),
                    port: n.port,
                })
            })
            .collect::<Result<Vec<_>, StartupError>>()?;
        tenants.push(pacs_dimse::TenantNodes { tenant, nodes });
    }
    let listener = pacs_dimse::start(
        dimse.to_listener(),
        ports,
        pacs_dimse::Directory::new(tenants),
    )
    .map_err(|e| fail("dimse.bind")(e.to_string()))?;
    let addr = listener.local_addr();
    log::info!("pacs DICOM ready: listening on {addr}");
    #[allow(clippy::print_stdout)]
    {
        println!("pacs DICOM ready: listening on {addr}");
    }
    Ok(listener)
}

async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(AppError::not_found(ErrorCode::NotFound, "no such endpoint").into())
}

/// `http://` and the first bound address; an unspecified address (0.0.0.0)
/// becomes the machine's host name, which clients are likelier to reach.
fn bound_url(addr: std::net::SocketAddr) -> String {
    if addr.ip().is_unspecified() {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_owned())
            .ok()
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "localhost".into());
        format!("http://{host}:{}", addr.port())
    } else {
        format!("http://{addr}")
    }
}

/// Starts the server and runs it until SIGTERM/SIGINT.
pub async fn serve(settings: Settings) -> Result<(), StartupError> {
    // Files of this process are newer: the orphan sweep never sees them.
    let started = std::time::SystemTime::now();
    for unused in settings.unused_sections() {
        log::warn!("{unused}");
    }
    let database = {
        let s = settings.clone();
        tokio::task::spawn_blocking(move || open_database(&s))
            .await
            .map_err(|e| StartupError(e.to_string()))??
    };
    let media = open_media(&settings)?;
    let keyring = web::Data::new(keyring(&settings)?);
    let ports = Ports {
        instances: database.clone(),
        queries: database.clone(),
        retrieval: database.clone(),
        events: database.clone(),
        counter: database.clone(),
        deprecations: database.clone(),
        relocations: database.clone(),
        corrections: database.clone(),
        orders: database.clone(),
        media,
        in_flight: database
            .change_locks()
            .map(pacs_app::InFlight::shared)
            .unwrap_or_default(),
        rendering: pacs_app::rendering::Rendering::default(),
        limits: settings.limits.to_limits(),
    };
    let dimse = match &settings.dimse {
        Some(d) => Some(start_dimse(d, &settings, ports.clone())?),
        None => None,
    };
    let dimse_active = dimse.as_ref().map(pacs_dimse::Listener::active);
    // Bound before the application is built: the public URL may need the port.
    let listener = std::net::TcpListener::bind(&settings.server.bind)
        .map_err(|e| fail("server.bind")(e.to_string()))?;
    let local = listener
        .local_addr()
        .map_err(|e| fail("server.bind")(e.to_string()))?;
    let public_url = match &settings.server.public_url {
        Some(url) => url.trim_end_matches('/').to_owned(),
        None => bound_url(local),
    };
    let state = web::Data::new(AppState {
        ports,
        max_body_bytes: settings.server.max_body_bytes,
        mirax_limits: settings.pathology.limits(),
        database: database.clone(),
        public_url,
        dimse_associations: dimse_active,
    });
    let metrics = web::Data::new(crate::metrics::Metrics::new());
    let origins = web::Data::new(AllowedOrigins::new(&settings.server.cors_origins));
    let docs = web::Data::new(crate::auth::PublicDocs(settings.server.public_api_docs));
    let orphans = {
        let (s, db) = (settings.clone(), database.clone());
        tokio::task::spawn_blocking(move || sweep_orphans(&s, &db, started))
            .await
            .map_err(|e| StartupError(e.to_string()))?
    };
    metrics.orphans_removed(orphans);
    let mut server = HttpServer::new(move || {
        // The router and its OpenAPI document are built together.
        let (app, doc) = App::new()
            .into_utoipa_app()
            .openapi(crate::openapi::base())
            .app_data(state.clone())
            .app_data(metrics.clone())
            .app_data(keyring.clone())
            .app_data(origins.clone())
            .app_data(docs.clone())
            .app_data(web::PathConfig::default().error_handler(|e, _| extractor_error(e)))
            .app_data(web::QueryConfig::default().error_handler(|e, _| extractor_error(e)))
            .app_data(web::JsonConfig::default().error_handler(|e, _| extractor_error(e)))
            .configure(crate::routes::configure)
            .split_for_parts();
        app.app_data(web::Data::new(crate::openapi::Document(
            crate::openapi::finish(doc),
        )))
        .default_service(web::to(not_found))
        .wrap(from_fn(require_key))
        // Outside the key check: a preflight carries no key (crate::cors).
        .wrap(Condition::new(!origins.is_empty(), cors(&origins)))
        .wrap(from_fn(foreign_preflight))
        // Method and path only: query strings may carry patient data.
        .wrap(
            Logger::new("%{route}xi %s %Dms")
                .custom_request_replace("route", |req| format!("{} {}", req.method(), req.path())),
        )
        // Counts every answer, 401s included, by route pattern.
        .wrap(from_fn(crate::metrics::track))
        // Outermost: HEAD and trailing slashes are rewritten before anything
        // looks at the method or the path.
        .wrap(from_fn(crate::tolerance::tolerate))
    })
    // Responses are written in pieces (head, then streamed body): with Nagle's
    // algorithm a keep-alive connection's next small piece waited for the
    // client's delayed ACK, 40 ms per retrieval. Every socket sends at once.
    .on_connect(|conn, _| {
        if let Some(tcp) = conn.downcast_ref::<actix_web::rt::net::TcpStream>()
            && let Err(e) = tcp.set_nodelay(true)
        {
            log::warn!("TCP_NODELAY: {e}");
        }
    })
    // Signals are handled by `notify`, which tells systemd before stopping.
    .disable_signals()
    .shutdown_timeout(settings.server.shutdown_grace_secs)
    .client_request_timeout(Duration::from_secs(60));
    if settings.server.workers > 0 {
        server = server.workers(settings.server.workers);
    }
    let server = server
        .listen(listener)
        .map_err(|e| fail("server.bind")(e.to_string()))?;
    let addrs = server.addrs();
    let running = server.run();
    actix_web::rt::spawn(crate::notify::stop_on_signals(
        running.handle(),
        settings.server.shutdown_grace_secs,
    ));
    crate::notify::ready(&addrs);
    crate::notify::spawn_watchdog();
    for addr in &addrs {
        log::info!("pacs ready: listening on http://{addr}");
        #[allow(clippy::print_stdout)]
        {
            println!("pacs ready: listening on http://{addr}");
        }
    }
    let served = running.await;
    if let Some(listener) = dimse {
        let grace = Duration::from_secs(settings.server.shutdown_grace_secs);
        let _ = tokio::task::spawn_blocking(move || listener.stop(grace)).await;
    }
    served.map_err(|e| StartupError(format!("server: {e}")))?;
    log::info!("pacs stopped");
    Ok(())
}

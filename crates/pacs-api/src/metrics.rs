//! Prometheus metrics (`GET /metrics`, text format 0.0.4).
//!
//! Requests are counted and timed per route *pattern*
//! (`/o3-dpacs-wado/qido/{aet}/studies`), never per raw path nor query string:
//! those carry UIDs and patient values. What the archive holds (instances and
//! bytes per medium) is read from the index when the endpoint is scraped; the
//! pool, the job queue and the DIMSE listener are read the same way. No label
//! ever carries patient data: route patterns, methods, status codes, medium
//! names and fixed words only.

use std::time::{Duration, Instant};

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::web;
use pacs_domain::ports::MediumUsage;
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};

/// The route label of requests that matched no route (any path: one label).
pub const UNMATCHED: &str = "unmatched";

/// Latency buckets, in seconds: from a cached probe to a multi-gigabyte upload.
const BUCKETS: &[f64] = &[
    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0,
];

/// The process-wide request metrics (cheap to clone: the collectors are shared).
#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    orphans: IntCounter,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

/// What is read from the archive at scrape time.
#[derive(Debug)]
pub struct Snapshot {
    /// Usage per medium; `Err` when the database did not answer.
    pub usage: Result<Vec<MediumUsage>, String>,
    /// Every configured medium, so that an empty one shows as 0.
    pub media: Vec<String>,
    /// Pool connections in use and idle, and the pool's maximum.
    pub pool_in_use: u32,
    pub pool_idle: u32,
    pub pool_max: u32,
    /// DIMSE associations open now.
    pub dimse_associations: i64,
}

impl Metrics {
    pub fn new() -> Self {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new(
                "pacs_http_requests_total",
                "HTTP requests answered, by method, route pattern and status code",
            ),
            &["method", "route", "status"],
        )
        .expect("valid metric");
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "pacs_http_request_duration_seconds",
                "Time from receiving a request to sending its response head, by method and route pattern",
            )
            .buckets(BUCKETS.to_vec()),
            &["method", "route"],
        )
        .expect("valid metric");
        let build = IntGaugeVec::new(
            Opts::new("pacs_build_info", "The running pacs version (always 1)"),
            &["version"],
        )
        .expect("valid metric");
        build.with_label_values(&[env!("CARGO_PKG_VERSION")]).set(1);
        let orphans = IntCounter::new(
            "pacs_orphan_files_total",
            "Files no row named (a crash between storing and indexing) moved to a medium's .orphans/ at start",
        )
        .expect("valid metric");
        for c in [
            Box::new(requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(latency.clone()),
            Box::new(build),
            Box::new(orphans.clone()),
        ] {
            registry.register(c).expect("metric registered once");
        }
        Self {
            registry,
            requests,
            latency,
            orphans,
        }
    }

    /// Counts files the startup sweep moved to `.orphans/`.
    pub fn orphans_removed(&self, n: usize) {
        self.orphans.inc_by(u64::try_from(n).unwrap_or(u64::MAX));
    }

    /// Records one answered request.
    pub fn observe(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        self.requests
            .with_label_values(&[method, route, &status.to_string()])
            .inc();
        self.latency
            .with_label_values(&[method, route])
            .observe(elapsed.as_secs_f64());
    }

    /// The text exposition of the request metrics and of `snapshot`.
    pub fn render(&self, snapshot: &Snapshot) -> String {
        let mut families = self.registry.gather();
        families.extend(scrape_time(snapshot).gather());
        families.sort_by(|a, b| a.name().cmp(b.name()));
        let mut out = Vec::new();
        TextEncoder::new()
            .encode(&families, &mut out)
            .expect("text encoding of valid metrics");
        String::from_utf8(out).expect("the text format is UTF-8")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

fn gauge(registry: &Registry, name: &str, help: &str, value: i64) {
    let g = IntGauge::new(name, help).expect("valid metric");
    g.set(value);
    registry
        .register(Box::new(g))
        .expect("metric registered once");
}

fn gauge_vec(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> IntGaugeVec {
    let g = IntGaugeVec::new(Opts::new(name, help), labels).expect("valid metric");
    registry
        .register(Box::new(g.clone()))
        .expect("metric registered once");
    g
}

fn saturating(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// The gauges read at scrape time, in a registry of their own.
fn scrape_time(s: &Snapshot) -> Registry {
    let r = Registry::new();
    gauge(
        &r,
        "pacs_index_up",
        "1 when the database answered the storage usage query of this scrape, else 0",
        i64::from(s.usage.is_ok()),
    );
    let instances = gauge_vec(
        &r,
        "pacs_instances_stored",
        "Instances recorded in the index per storage medium; state=live (visible) or deprecated (hidden, still stored)",
        &["medium", "state"],
    );
    let bytes = gauge_vec(
        &r,
        "pacs_stored_bytes",
        "Bytes of the stored instances per storage medium (as received); state=live or deprecated",
        &["medium", "state"],
    );
    for m in &s.media {
        for state in ["live", "deprecated"] {
            instances.with_label_values(&[m.as_str(), state]).set(0);
            bytes.with_label_values(&[m.as_str(), state]).set(0);
        }
    }
    if let Ok(usage) = &s.usage {
        for u in usage {
            let m = u.medium.as_str();
            instances
                .with_label_values(&[m, "live"])
                .set(saturating(u.live_instances));
            instances
                .with_label_values(&[m, "deprecated"])
                .set(saturating(u.deprecated_instances));
            bytes
                .with_label_values(&[m, "live"])
                .set(saturating(u.live_bytes));
            bytes
                .with_label_values(&[m, "deprecated"])
                .set(saturating(u.deprecated_bytes));
        }
    }
    let pool = gauge_vec(
        &r,
        "pacs_db_pool_connections",
        "Database pool connections by state (in_use, idle)",
        &["state"],
    );
    pool.with_label_values(&["in_use"])
        .set(i64::from(s.pool_in_use));
    pool.with_label_values(&["idle"])
        .set(i64::from(s.pool_idle));
    gauge(
        &r,
        "pacs_db_pool_max_connections",
        "Most connections the database pool opens",
        i64::from(s.pool_max),
    );
    gauge(
        &r,
        "pacs_job_queue_depth",
        "Background jobs waiting. This version has no job queue yet (relocation runs within its request; forwarding is not built): always 0",
        0,
    );
    gauge(
        &r,
        "pacs_dimse_associations_active",
        "Open DIMSE associations (0 when [dimse] is not configured)",
        s.dimse_associations,
    );
    r
}

/// A bounded method label (any other method is `OTHER`).
fn method_label(m: &actix_web::http::Method) -> &'static str {
    use actix_web::http::Method;
    match *m {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::PATCH => "PATCH",
        _ => "OTHER",
    }
}

/// Middleware: counts and times every request by its route pattern.
/// A route pattern as the API document writes it: `{tag:.+}` (a segment
/// that may hold slashes) is `{tag}`.
fn documented_pattern(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len());
    let mut in_regex = false;
    for c in pattern.chars() {
        match c {
            ':' if !in_regex && out.rfind('{') > out.rfind('}') => in_regex = true,
            '}' if in_regex => {
                in_regex = false;
                out.push(c);
            }
            _ if in_regex => {}
            _ => out.push(c),
        }
    }
    out
}

pub async fn track(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let metrics = req.app_data::<web::Data<Metrics>>().cloned();
    let method = method_label(req.method());
    let route = req.match_pattern().map(|p| documented_pattern(&p));
    let start = Instant::now();
    let result = next.call(req).await;
    if let Some(m) = metrics {
        let status = match &result {
            Ok(r) => r.status().as_u16(),
            Err(e) => e.as_response_error().status_code().as_u16(),
        };
        m.observe(
            method,
            route.as_deref().unwrap_or(UNMATCHED),
            status,
            start.elapsed(),
        );
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn route_labels_are_the_documented_patterns() {
        assert_eq!(
            documented_pattern("/x/{aet}/bulkdata/{tag:.+}"),
            "/x/{aet}/bulkdata/{tag}"
        );
        assert_eq!(documented_pattern("/x/{a}/y"), "/x/{a}/y");
        assert_eq!(documented_pattern("/metrics"), "/metrics");
    }

    #[test]
    fn the_exposition_has_every_family_and_no_raw_path() {
        let m = Metrics::new();
        m.observe(
            "GET",
            "/o3-dpacs-wado/qido/{aet}/studies",
            200,
            Duration::from_millis(3),
        );
        let text = m.render(&Snapshot {
            usage: Ok(vec![MediumUsage {
                medium: "local".into(),
                live_instances: 2,
                live_bytes: 2048,
                deprecated_instances: 1,
                deprecated_bytes: 10,
            }]),
            media: vec!["local".into(), "spare".into()],
            pool_in_use: 1,
            pool_idle: 3,
            pool_max: 8,
            dimse_associations: 0,
        });
        for needle in [
            "pacs_http_requests_total{method=\"GET\",route=\"/o3-dpacs-wado/qido/{aet}/studies\",status=\"200\"} 1",
            "pacs_http_request_duration_seconds_bucket{method=\"GET\",route=\"/o3-dpacs-wado/qido/{aet}/studies\",le=\"0.005\"} 1",
            "pacs_instances_stored{medium=\"local\",state=\"live\"} 2",
            "pacs_instances_stored{medium=\"spare\",state=\"live\"} 0",
            "pacs_stored_bytes{medium=\"local\",state=\"deprecated\"} 10",
            "pacs_db_pool_connections{state=\"idle\"} 3",
            "pacs_db_pool_max_connections 8",
            "pacs_job_queue_depth 0",
            "pacs_dimse_associations_active 0",
            "pacs_index_up 1",
            "# TYPE pacs_http_request_duration_seconds histogram",
        ] {
            assert!(text.contains(needle), "{needle} missing from\n{text}");
        }
    }
}

//! Two `pacs serve` nodes on one PostgreSQL and one bucket, behind HAProxy run
//! with the sample configuration `deploy/haproxy/pacs.cfg`: four clients store
//! through the proxy while pollers read the event feed through the proxy and
//! through each node; one node is SIGKILLed midway. Nothing acknowledged is
//! lost, and every poller sees the feed in order with nothing missed or repeated.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::buckets::{bucket_toml, bulk_study, stow_all};
use crate::support::*;

/// HAProxy on a free port in front of `nodes`, stopped when dropped.
struct Proxy {
    child: Child,
    base: String,
}

impl Proxy {
    fn start(nodes: [&str; 2]) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let child = Command::new("haproxy")
            .args(["-db", "-f"])
            .arg(workspace_root().join("deploy/haproxy/pacs.cfg"))
            .env("PACS_PROXY_BIND", format!("127.0.0.1:{port}"))
            .env("PACS_NODE1", nodes[0])
            .env("PACS_NODE2", nodes[1])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|_| missing("haproxy", "tests/peers/install.sh"));
        let proxy = Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
        };
        // Ready once both nodes passed their health checks.
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut answered = 0;
        while answered < 4 {
            assert!(Instant::now() < deadline, "HAProxy did not serve /readyz");
            match try_request("GET", &format!("{}/readyz", proxy.base), None, &[], None) {
                Ok(a) if a.status == 200 => answered += 1,
                _ => std::thread::sleep(Duration::from_millis(200)),
            }
        }
        proxy
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn address(server: &Server) -> String {
    server.base.trim_start_matches("http://").to_owned()
}

/// One page of the tenant's events after `cursor`, through `base`; `None`
/// when the node does not answer.
fn events_page(base: &str, cursor: i64) -> Option<Vec<Value>> {
    let url = format!("{base}/o3-dpacs-wado/studyEvents?offsetId={cursor}&limit=1000");
    let a = try_request("GET", &url, Some(TENANT_A.key), &[], None).ok()?;
    (a.status == 200).then(|| a.json()["events"].as_array().expect("events").clone())
}

/// Reads the feed through `base` until `done` and a read finds nothing new;
/// returns the ids seen, in the order seen, and whether the node went away.
/// Through the proxy (`retry`), a failed read is read again, as a client
/// would: a request already on its way to the killed node fails once.
fn poll(base: String, retry: bool, done: Arc<AtomicBool>) -> (Vec<i64>, bool) {
    let (mut seen, mut cursor) = (Vec::new(), 0);
    let mut failures = 0;
    loop {
        let finished = done.load(Ordering::SeqCst);
        let Some(page) = events_page(&base, cursor) else {
            failures += 1;
            if !retry || failures > 50 {
                return (seen, true);
            }
            std::thread::sleep(Duration::from_millis(100));
            continue;
        };
        for e in &page {
            let id = e["id"].as_i64().expect("id");
            seen.push(id);
            cursor = id;
        }
        if finished && page.is_empty() {
            return (seen, false);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Stores `parts` through `base`, five per request; a request that fails
/// (the node behind it killed, 502/503 from the proxy) is sent again: STOW-RS
/// is idempotent. Returns the number of instances acknowledged.
fn store_all(base: &str, parts: &[Vec<u8>], acknowledged: &AtomicUsize) -> usize {
    let url = format!("{base}/o3-dpacs-wado/stowRsListener/CLIENT/studies");
    let deadline = Instant::now() + Duration::from_secs(240);
    let mut retried = 0;
    for batch in parts.chunks(5) {
        let (body, ct) = multipart_related(batch);
        loop {
            assert!(
                Instant::now() < deadline,
                "storing through the proxy took too long"
            );
            let headers = [
                ("Content-Type", ct.as_str()),
                ("Accept", "application/dicom+json"),
            ];
            match try_request(
                "POST",
                &url,
                Some(TENANT_A.key),
                &headers,
                Some(body.clone()),
            ) {
                Ok(a) if a.status == 200 => {
                    acknowledged.fetch_add(batch.len(), Ordering::SeqCst);
                    break;
                }
                Ok(a) if a.status >= 500 => retried += 1,
                Ok(a) => panic!("STOW through the proxy: {} {}", a.status, a.text()),
                Err(_) => retried += 1,
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    retried
}

#[test]
fn two_nodes_behind_haproxy_share_the_archive_and_survive_one_killed() {
    let data = data_dir();
    let bucket = format!("scale-out-{}", std::process::id());
    let endpoint = s3_bucket(&bucket);
    let options = |db: Option<String>| Options {
        extra_toml: bucket_toml("shared", &endpoint, &bucket),
        default_medium: Some("shared".into()),
        database_url: db,
        ..Options::default()
    };
    let mut node1 = Server::start_with(Backend::Postgres, options(None));
    let node2 = Server::start_with(Backend::Postgres, options(node1.database_url()));
    let proxy = Proxy::start([&address(&node1), &address(&node2)]);

    // Ingest on one node, retrieval on the other.
    let first = bulk_study(&data, 10);
    let a = stow(&node1, &TENANT_A, "NODE1", &first[..1]);
    assert_eq!(a.status, 200, "{}", a.text());
    assert_eq!(
        qido(&node2, &TENANT_A, "/studies").len(),
        1,
        "node 2 sees it"
    );

    let done = Arc::new(AtomicBool::new(false));
    let pollers: Vec<_> = [
        (proxy.base.clone(), true),
        (node1.base.clone(), false),
        (node2.base.clone(), false),
    ]
    .into_iter()
    .map(|(base, retry)| {
        let done = done.clone();
        std::thread::spawn(move || poll(base, retry, done))
    })
    .collect();
    let acknowledged = Arc::new(AtomicUsize::new(0));
    let clients: Vec<_> = (0..4)
        .map(|c| {
            let parts: Vec<Vec<u8>> = (0..3)
                .flat_map(|s| bulk_study(&data, 20 + c * 3 + s))
                .collect();
            let (base, acknowledged) = (proxy.base.clone(), acknowledged.clone());
            std::thread::spawn(move || (parts.len(), store_all(&base, &parts, &acknowledged)))
        })
        .collect();
    let total: usize = 4 * 3 * 30;
    let deadline = Instant::now() + Duration::from_secs(120);
    while acknowledged.load(Ordering::SeqCst) < total / 3 {
        assert!(Instant::now() < deadline, "the clients made no progress");
        std::thread::sleep(Duration::from_millis(10));
    }
    node1.kill();
    let mut retried = 0;
    for c in clients {
        let (n, r) = c.join().expect("client");
        assert_eq!(n, 90);
        retried += r;
    }
    done.store(true, Ordering::SeqCst);
    let seen: Vec<(Vec<i64>, bool)> = pollers
        .into_iter()
        .map(|p| p.join().expect("poller"))
        .collect();

    // Everything acknowledged is there, once, on the surviving node.
    let studies = qido(&node2, &TENANT_A, "/studies?limit=1000");
    assert_eq!(
        studies.len(),
        13,
        "the first study and twelve stored by the clients"
    );
    let instances: u64 = studies
        .iter()
        .map(|s| {
            s["00201208"]["Value"][0]
                .as_u64()
                .expect("NumberOfStudyRelatedInstances")
        })
        .sum();
    assert_eq!(instances as usize, total + 1);
    let mut feed = Vec::new();
    let mut cursor = 0;
    while let Some(page) = events_page(&node2.base, cursor).filter(|p| !p.is_empty()) {
        cursor = page.last().unwrap()["id"].as_i64().unwrap();
        feed.extend(page);
    }
    let stored = feed
        .iter()
        .filter(|e| e["eventType"] == "INSTANCE_STORED")
        .count();
    assert_eq!(
        stored,
        total + 1,
        "one INSTANCE_STORED per instance, none repeated"
    );
    let ids: Vec<i64> = feed.iter().map(|e| e["id"].as_i64().unwrap()).collect();

    let (through_proxy, proxy_lost) = &seen[0];
    assert!(!proxy_lost, "the proxy kept serving the feed");
    assert_eq!(
        through_proxy, &ids,
        "the feed through the proxy: nothing missed or repeated"
    );
    let (through_node2, node2_lost) = &seen[2];
    assert!(!node2_lost);
    assert_eq!(through_node2, &ids, "the feed through node 2");
    let (through_node1, node1_lost) = &seen[1];
    assert!(node1_lost, "node 1 was killed");
    assert_eq!(
        through_node1[..],
        ids[..through_node1.len()],
        "what node 1 served before it died is the feed's beginning"
    );
    eprintln!("scale-out: {retried} request(s) sent again after the kill");
    drop(proxy);
    drop(node2);
}

#[test]
fn a_relocation_running_on_one_node_is_pending_for_the_other() {
    let data = data_dir();
    let bucket = format!("pending-{}", std::process::id());
    let endpoint = s3_bucket(&bucket);
    let options = |db: Option<String>| Options {
        extra_toml: bucket_toml("cold", &endpoint, &bucket),
        default_medium: Some("local".into()),
        database_url: db,
        ..Options::default()
    };
    let node1 = Server::start_with(Backend::Postgres, options(None));
    let node2 = Server::start_with(Backend::Postgres, options(node1.database_url()));
    for n in 40..43 {
        let parts = bulk_study(&data, n);
        let study = stow_all(&node1, &parts)[0][0].clone();
        let body =
            serde_json::json!({"studyInstanceUid": study, "bucketName": "cold", "author": "a"});
        let url = node1.url("/studies/relocation");
        let sent = body.to_string().into_bytes();
        let first = std::thread::spawn(move || {
            let headers = [("Content-Type", "application/json")];
            request("POST", &url, Some(TENANT_A.key), &headers, Some(sent)).status
        });
        while bucket_keys(&endpoint, &bucket).is_empty() && !first.is_finished() {
            std::thread::sleep(Duration::from_millis(2));
        }
        let second = post_json(&node2, "/studies/relocation", &TENANT_A, &body);
        let running = !first.is_finished();
        assert_eq!(first.join().expect("relocation"), 200);
        if running {
            assert_eq!(second.assert_json_error(409), "relocation_pending");
            return;
        }
    }
    panic!("no relocation was still running when the other node was asked");
}

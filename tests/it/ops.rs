//! Operations: systemd notification and graceful stop, the service unit run as
//! systemd would run it, probes and Prometheus metrics, the OpenAPI document,
//! the audit log, and the example configuration.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use crate::support::*;

// ---------------------------------------------------------------- helpers

/// A notify socket as systemd offers one (`NOTIFY_SOCKET`): every datagram the
/// service sends, one message per datagram.
struct NotifySocket {
    path: PathBuf,
    messages: Receiver<String>,
    seen: Vec<String>,
}

impl NotifySocket {
    fn bind(dir: &Path) -> Self {
        let path = dir.join("notify.sock");
        let socket = UnixDatagram::bind(&path).expect("bind the notify socket");
        let (tx, messages) = channel();
        std::thread::spawn(move || {
            let mut buf = vec![0u8; 4096];
            while let Ok(n) = socket.recv(&mut buf) {
                if tx
                    .send(String::from_utf8_lossy(&buf[..n]).into_owned())
                    .is_err()
                {
                    break;
                }
            }
        });
        Self {
            path,
            messages,
            seen: Vec::new(),
        }
    }

    /// Waits for a message with the line `line` (e.g. `READY=1`).
    fn wait_for(&mut self, line: &str, timeout: Duration) -> String {
        if let Some(m) = self.seen.iter().find(|m| m.lines().any(|l| l == line)) {
            return m.clone();
        }
        let deadline = Instant::now() + timeout;
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.messages.recv_timeout(left) {
                Ok(m) => {
                    self.seen.push(m.clone());
                    if m.lines().any(|l| l == line) {
                        return m;
                    }
                }
                Err(_) => break,
            }
        }
        panic!("no {line} on the notify socket; got {:?}", self.seen);
    }

    /// How many messages so far carried `line`.
    fn count(&mut self, line: &str) -> usize {
        while let Ok(m) = self.messages.try_recv() {
            self.seen.push(m);
        }
        self.seen
            .iter()
            .filter(|m| m.lines().any(|l| l == line))
            .count()
    }
}

/// The configuration of a test archive (one tenant, TENANT_A).
fn config_toml(dir: &Path, db_url: &str) -> String {
    format!(
        r#"
[server]
bind = "127.0.0.1:0"
data_dir = "{d}/data"
shutdown_grace_secs = 20
[database]
url = "{db_url}"
pool_size = 4
[storage]
default_medium = "local"
fsync = false
[[storage.media]]
name = "local"
path = "{d}/archive"
[[tenants]]
name = "{n}"
ae_title = "{a}"
api_key = "{k}"
"#,
        d = dir.display(),
        n = TENANT_A.name,
        a = TENANT_A.ae,
        k = TENANT_A.key,
    )
}

fn database_url(backend: Backend, dir: &Path) -> (Option<PgDatabase>, String) {
    match backend {
        Backend::Sqlite => (None, format!("sqlite://{}/pacs.sqlite", dir.display())),
        Backend::Postgres => {
            let db = PgDatabase::create();
            let url = db.url();
            (Some(db), url)
        }
    }
}

/// Reads the child's stdout until the ready line; returns `http://ADDR`.
fn ready_address(child: &mut Child, log: &Path) -> String {
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            if let Some(addr) = line.strip_prefix("pacs ready: listening on ") {
                let _ = tx.send(addr.to_owned());
            }
        }
    });
    rx.recv_timeout(Duration::from_secs(60))
        .unwrap_or_else(|_| {
            let _ = child.kill();
            panic!(
                "pacs did not become ready: {}",
                std::fs::read_to_string(log).unwrap_or_default()
            )
        })
}

fn sigterm(child: &Child) {
    let ok = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill runs")
        .success();
    assert!(ok, "SIGTERM sent");
}

fn wait_exit(child: &mut Child, timeout: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(st) = child.try_wait().expect("try_wait") {
            return st;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("pacs did not exit within {timeout:?} after SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Kills the child if a test fails midway.
struct Guard(Option<Child>);

impl Drop for Guard {
    fn drop(&mut self) {
        if let Some(c) = self.0.as_mut()
            && let Ok(None) = c.try_wait()
        {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn host_port(base: &str) -> String {
    base.strip_prefix("http://").expect("http base").to_owned()
}

/// The status code and body of a raw HTTP/1.1 answer read to its end.
fn parse_answer(raw: &[u8]) -> (u16, String) {
    let text = String::from_utf8_lossy(raw).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP answer: {text:?}"));
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

// ---------------------------------------------------------------- systemd

#[test]
fn notify_ready_then_sigterm_finishes_the_upload_in_flight() {
    let data = data_dir();
    let dicom = std::fs::read(data.join("real/CT_small.dcm")).expect("test file");
    for backend in backends() {
        let dir = tempfile::tempdir().unwrap();
        let (_pg, db_url) = database_url(backend, dir.path());
        let config = dir.path().join("pacs.toml");
        std::fs::write(&config, config_toml(dir.path(), &db_url)).unwrap();
        let mut notify = NotifySocket::bind(dir.path());
        let log = dir.path().join("pacs.log");
        let child = Command::new(pacs_bin())
            .args(["serve", "--config"])
            .arg(&config)
            .env("NOTIFY_SOCKET", &notify.path)
            // As systemd sets it for WatchdogSec=0.4s: a ping every 0.2 s.
            .env("WATCHDOG_USEC", "400000")
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("start pacs");
        let mut guard = Guard(Some(child));
        let child = guard.0.as_mut().unwrap();
        let base = ready_address(child, &log);
        let ready = notify.wait_for("READY=1", Duration::from_secs(30));
        assert!(
            ready.contains(&format!("STATUS=listening on {}", host_port(&base))),
            "{ready}"
        );
        // READY=1 comes after the bind: the archive answers.
        assert_eq!(
            request("GET", &format!("{base}/healthz"), None, &[], None).status,
            200
        );
        std::thread::sleep(Duration::from_millis(700));
        assert!(
            notify.count("WATCHDOG=1") >= 2,
            "watchdog pings: {:?}",
            notify.seen
        );

        // An upload, sent slowly over a raw connection.
        let (body, content_type) = multipart_related(std::slice::from_ref(&dicom));
        let mut stream = TcpStream::connect(host_port(&base)).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .unwrap();
        // `Expect: 100-continue`: the interim answer proves that a worker took
        // the request in (accepted and parsed) before the stop signal.
        let head = format!(
            "POST /o3-dpacs-wado/stowRsListener/MOD01/studies HTTP/1.1\r\n\
             Host: {}\r\nAuthorization: {}\r\nContent-Type: {content_type}\r\n\
             Accept: application/dicom+json\r\nContent-Length: {}\r\n\
             Expect: 100-continue\r\nConnection: close\r\n\r\n",
            host_port(&base),
            TENANT_A.key,
            body.len()
        );
        stream.write_all(head.as_bytes()).unwrap();
        let mut interim = Vec::new();
        let mut byte = [0u8; 1];
        while !interim.ends_with(b"\r\n\r\n") {
            stream.read_exact(&mut byte).expect("the interim answer");
            interim.push(byte[0]);
        }
        assert!(
            String::from_utf8_lossy(&interim).starts_with("HTTP/1.1 100"),
            "{}",
            String::from_utf8_lossy(&interim)
        );
        let half = body.len() / 2;
        stream.write_all(&body[..half]).unwrap();
        stream.flush().unwrap();
        std::thread::sleep(Duration::from_millis(200));
        sigterm(child);
        notify.wait_for("STOPPING=1", Duration::from_secs(10));
        // The rest arrives after the stop began, in slow slices.
        for chunk in body[half..].chunks(4096) {
            stream.write_all(chunk).unwrap();
            std::thread::sleep(Duration::from_millis(20));
        }
        stream.flush().unwrap();
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).expect("read the answer");
        let (status, text) = parse_answer(&answer);
        assert_eq!(status, 200, "the upload in flight completes: {text}");
        assert!(text.contains("00081199"), "ReferencedSOPSequence: {text}");
        let status = wait_exit(child, Duration::from_secs(30));
        assert!(status.success(), "graceful stop exits 0: {status}");
        assert_eq!(notify.count("STOPPING=1"), 1);
        let stored = files_under(&dir.path().join("archive"))
            .into_iter()
            .filter(|p| !p.components().any(|c| c.as_os_str() == ".staging"))
            .count();
        assert_eq!(stored, 1, "the instance is on the medium");
        let log_text = std::fs::read_to_string(&log).unwrap();
        assert!(log_text.contains("SIGTERM received"), "{log_text}");
        assert!(log_text.contains("pacs stopped"), "{log_text}");
    }
}

/// The service unit's directives, in order.
fn unit_directives(text: &str) -> Vec<(String, String)> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with(';'))
        .filter(|l| !l.starts_with('['))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect()
}

fn directive<'a>(d: &'a [(String, String)], key: &str) -> Vec<&'a str> {
    d.iter()
        .filter(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .collect()
}

/// `WatchdogSec=` in microseconds (`30s`, `1min`, `500ms` or bare seconds).
fn usec(span: &str) -> u64 {
    let (n, unit) = span
        .find(|c: char| !c.is_ascii_digit())
        .map_or((span, ""), |i| span.split_at(i));
    let n: u64 = n.parse().expect("a number");
    n * match unit {
        "" | "s" | "sec" => 1_000_000,
        "ms" | "msec" => 1_000,
        "min" | "m" => 60_000_000,
        other => panic!("unit {other} not handled"),
    }
}

#[test]
fn the_service_unit_runs_the_binary_as_systemd_would() {
    let root = workspace_root();
    let unit = std::fs::read_to_string(root.join("deploy/systemd/pacs.service")).unwrap();
    let d = unit_directives(&unit);
    let one = |k: &str| {
        let v = directive(&d, k);
        assert_eq!(v.len(), 1, "{k}= once in the unit: {v:?}");
        v[0].to_owned()
    };
    // The unit's contract (the hardening is scored by systemd-analyze in CI).
    assert_eq!(one("Type"), "notify");
    assert_eq!(one("NoNewPrivileges"), "yes");
    assert_eq!(one("ProtectSystem"), "strict");
    assert_eq!(one("PrivateTmp"), "yes");
    assert_eq!(one("ProtectHome"), "yes");
    assert_eq!(one("CapabilityBoundingSet"), "", "no capability");
    let rw = one("ReadWritePaths");
    assert!(rw.split_whitespace().any(|p| p == "/var/lib/pacs"), "{rw}");
    let user = one("User");
    let sysusers = std::fs::read_to_string(root.join("deploy/sysusers.d/pacs.conf")).unwrap();
    assert!(
        sysusers
            .lines()
            .any(|l| l.split_whitespace().take(2).eq(["u", user.as_str()])),
        "deploy/sysusers.d declares {user}"
    );
    // Every path of the example configuration is writable under the unit.
    let example = std::fs::read_to_string(root.join("deploy/pacs.toml")).unwrap();
    for line in example.lines().filter(|l| !l.trim_start().starts_with('#')) {
        if let Some(p) = line.split('"').nth(1).filter(|p| p.contains("/var/lib/"))
            && !line.trim_start().starts_with("url")
        {
            assert!(
                rw.split_whitespace().any(|w| p.starts_with(w)),
                "{p} (deploy/pacs.toml) is not in ReadWritePaths={rw}"
            );
        }
    }

    eprintln!(
        "\n!!!!!!!!!! NOTE: this test does not start a real systemd service (no systemd \
         manager is used here, PID 1 is {:?}). It runs the unit's ExecStartPre= and \
         ExecStart= with its Environment=, WorkingDirectory= and WatchdogSec=, paths \
         redirected to a temporary directory, under a notify socket of its own. \
         systemd-analyze verify/security check the unit itself in CI. !!!!!!!!!!\n",
        std::fs::read_to_string("/proc/1/comm")
            .unwrap_or_default()
            .trim()
    );
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("var-lib-pacs");
    std::fs::create_dir_all(&state).unwrap();
    let key = "unit-test-key-0123456789";
    let config = example
        .replace("/var/lib/pacs", state.to_str().unwrap())
        .replace("bind = \"127.0.0.1:8080\"", "bind = \"127.0.0.1:0\"")
        .replace(
            "api_key_sha256 = \"0000000000000000000000000000000000000000000000000000000000000000\"",
            &format!("api_key_sha256 = \"{}\"", sha256_hex(key)),
        );
    let config_path = dir.path().join("pacs.toml");
    std::fs::write(&config_path, config).unwrap();
    let argv = |line: &str| -> Vec<String> {
        // Prefixes such as `-` or `+` change how systemd runs the command.
        line.trim_start_matches(['-', '@', ':', '+', '!'])
            .split_whitespace()
            .map(|w| match w {
                "/usr/local/bin/pacs" => pacs_bin().to_str().unwrap().to_owned(),
                "/etc/pacs/pacs.toml" => config_path.to_str().unwrap().to_owned(),
                other => other.to_owned(),
            })
            .collect()
    };
    let env: Vec<(String, String)> = directive(&d, "Environment")
        .iter()
        .flat_map(|v| v.split_whitespace())
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.trim_matches('"').to_owned()))
        .collect();
    let workdir = one("WorkingDirectory").replace("/var/lib/pacs", state.to_str().unwrap());
    let command = |args: &[String]| {
        let mut c = Command::new(&args[0]);
        c.args(&args[1..])
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .envs(env.iter().map(|(k, v)| (k, v)))
            .current_dir(&workdir);
        c
    };
    for pre in directive(&d, "ExecStartPre") {
        let out = command(&argv(pre)).output().expect("ExecStartPre runs");
        assert!(out.status.success(), "ExecStartPre={pre}: {out:?}");
    }
    let mut notify = NotifySocket::bind(dir.path());
    let log = dir.path().join("pacs.log");
    let child = command(&argv(&one("ExecStart")))
        .env("NOTIFY_SOCKET", &notify.path)
        .env("WATCHDOG_USEC", usec(&one("WatchdogSec")).to_string())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .expect("ExecStart runs");
    let mut guard = Guard(Some(child));
    let child = guard.0.as_mut().unwrap();
    let base = ready_address(child, &log);
    notify.wait_for("READY=1", Duration::from_secs(30));
    notify.wait_for("WATCHDOG=1", Duration::from_secs(5));
    assert!(
        state.join("pacs.sqlite").exists(),
        "the database is in the state directory"
    );
    assert_eq!(
        request("GET", &format!("{base}/readyz"), None, &[], None).status,
        200
    );
    let qido = get(&format!("{base}/o3-dpacs-wado/qido/PACS/studies"), key);
    assert_eq!(qido.status, 204, "{}", qido.text());
    sigterm(child);
    notify.wait_for("STOPPING=1", Duration::from_secs(10));
    let status = wait_exit(child, Duration::from_secs(40));
    assert!(status.success(), "{status}");
}

// ---------------------------------------------------------------- probes and metrics

/// The value of a metric line `name{labels} value` (exact label text).
fn metric(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

fn scrape(server: &Server) -> String {
    let a = request("GET", &format!("{}/metrics", server.base), None, &[], None);
    assert_eq!(a.status, 200, "{}", a.text());
    assert!(
        a.header("content-type")
            .is_some_and(|c| c.starts_with("text/plain; version=0.0.4")),
        "{:?}",
        a.headers
    );
    a.text()
}

#[test]
fn metrics_count_routes_and_storage_without_patient_data() {
    let data = data_dir();
    let file = std::fs::read(data.join("real/CT_small.dcm")).unwrap();
    const STUDY: &str = "1.3.6.1.4.1.5962.1.2.1.20040119072730.12322";
    const SERIES: &str = "1.3.6.1.4.1.5962.1.3.1.1.20040119072730.12322";
    const SOP: &str = "1.3.6.1.4.1.5962.1.1.1.1.1.20040119072730.12322";
    for backend in backends() {
        let server = Server::start(backend);
        let empty = scrape(&server);
        assert_eq!(
            metric(
                &empty,
                "pacs_instances_stored{medium=\"local\",state=\"live\"}"
            ),
            Some(0.0),
            "{empty}"
        );
        assert_eq!(
            stow(&server, &TENANT_A, "MOD01", std::slice::from_ref(&file)).status,
            200
        );
        let q = get(
            &server.url(&format!(
                "/qido/{}/studies?PatientID=1CT1&PatientName=CompressedSamples*",
                TENANT_A.ae
            )),
            TENANT_A.key,
        );
        assert_eq!(q.status, 200, "{}", q.text());
        let w = get(
            &server.url(&format!(
                "/wado-rs/{}/studies/{STUDY}/series/{SERIES}/instances/{SOP}/metadata",
                TENANT_A.ae
            )),
            TENANT_A.key,
        );
        assert_eq!(w.status, 200);
        request(
            "GET",
            &server.url(&format!("/qido/{}/studies", TENANT_A.ae)),
            None,
            &[],
            None,
        )
        .assert_json_error(401);
        get(&server.url("/no/such/path/1.2.3"), TENANT_A.key).assert_json_error(404);

        let text = scrape(&server);
        let count = |method: &str, route: &str, status: u16| {
            metric(
                &text,
                &format!(
                    "pacs_http_requests_total{{method=\"{method}\",route=\"{route}\",status=\"{status}\"}}"
                ),
            )
        };
        assert_eq!(
            count("POST", "/o3-dpacs-wado/stowRsListener/{aet}/studies", 200),
            Some(1.0),
            "{text}"
        );
        assert_eq!(
            count("GET", "/o3-dpacs-wado/qido/{aet}/studies", 200),
            Some(1.0)
        );
        assert_eq!(
            count("GET", "/o3-dpacs-wado/qido/{aet}/studies", 401),
            Some(1.0)
        );
        assert_eq!(
            count(
                "GET",
                "/o3-dpacs-wado/wado-rs/{aet}/studies/{study}/series/{series}/instances/{instance}/metadata",
                200
            ),
            Some(1.0)
        );
        assert_eq!(count("GET", "unmatched", 404), Some(1.0), "{text}");
        assert!(
            text.contains(
                "pacs_http_request_duration_seconds_count{method=\"GET\",route=\"/o3-dpacs-wado/qido/{aet}/studies\"} 2"
            ),
            "{text}"
        );
        let live = "pacs_instances_stored{medium=\"local\",state=\"live\"}";
        assert_eq!(metric(&text, live), Some(1.0), "{text}");
        assert_eq!(
            metric(&text, "pacs_stored_bytes{medium=\"local\",state=\"live\"}"),
            Some(file.len() as f64)
        );
        assert_eq!(metric(&text, "pacs_db_pool_max_connections"), Some(4.0));
        assert!(metric(&text, "pacs_db_pool_connections{state=\"idle\"}").is_some());
        assert_eq!(metric(&text, "pacs_job_queue_depth"), Some(0.0));
        assert_eq!(metric(&text, "pacs_dimse_associations_active"), Some(0.0));
        assert_eq!(metric(&text, "pacs_index_up"), Some(1.0));
        // Nothing of the patient, the study or the key.
        for secret in [
            STUDY,
            SERIES,
            SOP,
            "1CT1",
            "CompressedSamples",
            "/no/such/path",
            TENANT_A.key,
        ] {
            assert!(!text.contains(secret), "/metrics reveals {secret}");
        }
        // A deprecated series is hidden but still stored.
        let dep = post_json(
            &server,
            "/series/deprecation",
            &TENANT_A,
            &serde_json::json!({ "seriesInstanceUid": SERIES, "author": "ops-test", "reason": "test" }),
        );
        assert_eq!(dep.status, 200, "{}", dep.text());
        let text = scrape(&server);
        assert_eq!(metric(&text, live), Some(0.0));
        assert_eq!(
            metric(
                &text,
                "pacs_instances_stored{medium=\"local\",state=\"deprecated\"}"
            ),
            Some(1.0)
        );
    }
}

#[test]
fn readyz_names_an_unavailable_medium_and_probes_need_no_key() {
    let server = Server::start(Backend::Sqlite);
    let health = request("GET", &format!("{}/healthz", server.base), None, &[], None);
    assert_eq!(health.status, 200);
    assert_eq!(health.json()["status"], "ok");
    let archive = server.dir.path().join("archive");
    let moved = server.dir.path().join("archive-away");
    std::fs::rename(&archive, &moved).unwrap();
    let ready = request("GET", &format!("{}/readyz", server.base), None, &[], None);
    assert_eq!(ready.assert_json_error(503), "not_ready");
    let down = ready.json()["down"].clone();
    assert_eq!(down[0]["component"], "medium:local", "{down}");
    // The process itself is still alive.
    assert_eq!(
        request("GET", &format!("{}/healthz", server.base), None, &[], None).status,
        200
    );
    std::fs::rename(&moved, &archive).unwrap();
    let ready = request("GET", &format!("{}/readyz", server.base), None, &[], None);
    assert_eq!(ready.status, 200, "{}", ready.text());
}

// ---------------------------------------------------------------- OpenAPI

#[test]
fn the_openapi_document_and_swagger_ui_are_served_and_every_operation_is_routed() {
    // By default the document and its viewer need a key, as every route but
    // the probes and the metrics (issue 16, defect 11).
    let private = Server::start(Backend::Sqlite);
    for path in [
        "/openapi.json",
        "/swagger-ui/",
        "/swagger-ui/swagger-initializer.js",
    ] {
        let code = request("GET", &private.url(path), None, &[], None).assert_json_error(401);
        assert_eq!(code, "unauthorized", "{path}");
    }
    let with_key = request(
        "GET",
        &private.url("/openapi.json"),
        Some(TENANT_A.key),
        &[],
        None,
    );
    assert_eq!(with_key.status, 200, "{}", with_key.text());
    drop(private);

    let server = Server::start_with(
        Backend::Sqlite,
        Options {
            env: vec![("PACS__SERVER__PUBLIC_API_DOCS".into(), "true".into())],
            ..Options::default()
        },
    );
    let doc = request("GET", &server.url("/openapi.json"), None, &[], None);
    assert_eq!(doc.status, 200, "{}", doc.text());
    let doc = doc.json();
    assert_eq!(doc["openapi"], "3.1.0");
    let ui = request("GET", &server.url("/swagger-ui/"), None, &[], None);
    assert_eq!(ui.status, 200);
    assert!(
        ui.header("content-type")
            .is_some_and(|c| c.starts_with("text/html"))
    );
    assert!(ui.text().contains("swagger-ui-bundle.js"), "{}", ui.text());
    let bundle = request(
        "GET",
        &server.url("/swagger-ui/swagger-ui-bundle.js"),
        None,
        &[],
        None,
    );
    assert_eq!(
        bundle.status, 200,
        "Swagger UI is served from the vendored crate"
    );
    let config = request(
        "GET",
        &server.url("/swagger-ui/swagger-initializer.js"),
        None,
        &[],
        None,
    );
    assert!(
        config.text().contains("/o3-dpacs-wado/openapi.json"),
        "{}",
        config.text()
    );
    // Data endpoints still need a key.
    request("GET", &server.url("/studies/count"), None, &[], None).assert_json_error(401);

    // Every documented operation reaches a route of that pattern (the metrics
    // label the route each request matched).
    let mut expected = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        if path.contains("swagger-ui") {
            continue;
        }
        let concrete = path
            .replace("{aet}", TENANT_A.ae)
            .replace("{study}", "1.2.3")
            .replace("{series}", "1.2.3.4")
            .replace("{instance}", "1.2.3.4.5");
        for method in item.as_object().unwrap().keys() {
            let m = method.to_uppercase();
            let a = request(
                &m,
                &format!("{}{concrete}", server.base),
                Some(TENANT_A.key),
                &[],
                None,
            );
            assert!(a.status < 500, "{m} {path}: {} {}", a.status, a.text());
            expected.push((m, path.clone()));
        }
    }
    assert!(expected.len() > 30, "{expected:?}");
    let text = scrape(&server);
    for (m, path) in expected {
        assert!(
            text.contains(&format!(
                "pacs_http_requests_total{{method=\"{m}\",route=\"{path}\""
            )),
            "{m} {path} is documented but matched no route of that pattern"
        );
    }
    assert!(
        !text.contains("route=\"unmatched\""),
        "a documented path matched no route:\n{text}"
    );
}

// ---------------------------------------------------------------- audit

fn audit(server: &Server, args: &[&str]) -> std::process::Output {
    Command::new(pacs_bin())
        .args(["audit", "--config"])
        .arg(server.dir.path().join("pacs.toml"))
        .args(args)
        .output()
        .expect("pacs audit runs")
}

fn lines(out: &std::process::Output) -> Vec<serde_json::Value> {
    assert!(out.status.success(), "{out:?}");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

#[test]
fn the_audit_log_tells_operators_who_changed_what() {
    let data = data_dir();
    let file = std::fs::read(data.join("real/CT_small.dcm")).unwrap();
    const SERIES: &str = "1.3.6.1.4.1.5962.1.3.1.1.20040119072730.12322";
    for backend in backends() {
        let server = Server::start(backend);
        assert_eq!(
            stow(&server, &TENANT_A, "MOD01", std::slice::from_ref(&file)).status,
            200
        );
        // Storing is not a management change: nothing audited yet.
        assert!(lines(&audit(&server, &[])).is_empty());
        let dep = post_json(
            &server,
            "/series/deprecation",
            &TENANT_A,
            &serde_json::json!({ "seriesInstanceUid": SERIES, "author": "alice", "reason": "wrong side" }),
        );
        assert_eq!(dep.status, 200, "{}", dep.text());
        let created = post_json(
            &server,
            "/patients/create",
            &TENANT_B,
            &serde_json::json!({ "patientID": "AUDIT-PID-7", "patientName": "Doe^Jane", "userName": "bob" }),
        );
        assert_eq!(created.status, 200, "{}", created.text());

        let all = lines(&audit(&server, &[]));
        assert_eq!(all.len(), 2, "{all:?}");
        let first = &all[0];
        assert_eq!(first["tenant"], TENANT_A.name);
        assert_eq!(first["actor"], "alice");
        assert_eq!(first["action"], "SERIES_DEPRECATED");
        assert_eq!(first["seriesInstanceUid"], SERIES);
        assert_eq!(first["details"]["reason"], "wrong side");
        assert!(first["occurredAt"].as_str().unwrap().ends_with('Z'));
        assert_eq!(all[1]["tenant"], TENANT_B.name);
        assert_eq!(all[1]["actor"], "bob");
        // Patient IDs only when asked for.
        let plain = String::from_utf8_lossy(&audit(&server, &[]).stdout).into_owned();
        assert!(
            !plain.contains("AUDIT-PID-7") && !plain.contains("1CT1"),
            "{plain}"
        );
        let with = lines(&audit(&server, &["--with-patient-ids"]));
        assert_eq!(with[1]["patientId"], "AUDIT-PID-7");
        // By tenant, after an id, at most N.
        let beta = lines(&audit(&server, &["--tenant", TENANT_B.name]));
        assert_eq!(beta.len(), 1);
        assert_eq!(beta[0]["actor"], "bob");
        let first_id = first["id"].as_i64().unwrap();
        let after = lines(&audit(&server, &["--since-id", &first_id.to_string()]));
        assert_eq!(after.len(), 1);
        assert_eq!(after[0]["actor"], "bob");
        assert_eq!(lines(&audit(&server, &["--limit", "1"])).len(), 1);
        // No database: said, and none is created.
        let missing = server.dir.path().join("missing.toml");
        std::fs::write(
            &missing,
            format!(
                "[database]\nurl = \"sqlite://{}/nothing.sqlite\"\n",
                server.dir.path().display()
            ),
        )
        .unwrap();
        let out = Command::new(pacs_bin())
            .args(["audit", "--config"])
            .arg(&missing)
            .output()
            .unwrap();
        assert!(!out.status.success());
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("no database"),
            "{out:?}"
        );
        assert!(!server.dir.path().join("nothing.sqlite").exists());
        let bad = audit(&server, &["--tenant", "no such tenant!"]);
        assert!(!bad.status.success());
        assert!(
            String::from_utf8_lossy(&bad.stderr).contains("--tenant"),
            "{bad:?}"
        );
        // The server's log at info level holds no patient data of these changes.
        let log = server.log_text();
        for secret in ["AUDIT-PID-7", "Doe^Jane", "1CT1", "wrong side"] {
            assert!(!log.contains(secret), "the log reveals {secret}:\n{log}");
        }
    }
}

// ---------------------------------------------------------------- configuration

/// `section.key` names of the fields of each settings struct in config.rs.
fn config_rs_keys() -> Vec<String> {
    let src =
        std::fs::read_to_string(workspace_root().join("crates/pacs-api/src/config.rs")).unwrap();
    let section = |name: &str| -> Option<&'static str> {
        Some(match name {
            "ServerSettings" => "server",
            "DatabaseSettings" => "database",
            "StorageSettings" => "storage",
            "MediumSettings" => "storage.media[]",
            "BucketSettings" => "storage.buckets[]",
            "DimseSettings" => "dimse",
            "TenantSettings" => "tenants[]",
            "NodeSettings" => "tenants[].nodes[]",
            "ForwardSettings" => "tenants[].forward",
            "PathologySettings" => "pathology",
            "LimitsSettings" => "limits",
            _ => return None,
        })
    };
    let mut keys = Vec::new();
    let mut current: Option<&str> = None;
    for line in src.lines() {
        if let Some(rest) = line.strip_prefix("pub struct ") {
            let name = rest.split([' ', '{', '(']).next().unwrap_or("");
            current = section(name);
            if current.is_none() && name != "Settings" && name != "ConfigError" {
                panic!("config.rs has a new settings struct {name}: map it to its section here");
            }
            continue;
        }
        if line.starts_with('}') {
            current = None;
        }
        if let (Some(sec), Some(field)) = (current, line.trim().strip_prefix("pub "))
            && let Some((name, ty)) = field.split_once(':')
        {
            // Nested tables are sections of their own.
            if !ty.contains("Settings") {
                keys.push(format!("{sec}.{name}"));
            }
        }
    }
    assert!(keys.len() > 20, "{keys:?}");
    keys
}

/// `section.key` names in deploy/pacs.toml, active and commented (`#key =`).
fn example_keys(text: &str) -> Vec<String> {
    let mut keys = Vec::new();
    let mut section = String::new();
    for raw in text.lines() {
        let line = raw.strip_prefix('#').unwrap_or(raw).trim();
        if raw.starts_with("# ") || line.is_empty() {
            continue;
        }
        let header = line
            .strip_prefix("[[")
            .and_then(|l| l.split("]]").next())
            .map(|t| (t, true))
            .or_else(|| {
                line.strip_prefix('[')
                    .and_then(|l| l.split(']').next())
                    .map(|t| (t, false))
            });
        if let Some((table, array)) = header {
            let parts: Vec<&str> = table.split('.').collect();
            section = parts
                .iter()
                .enumerate()
                .map(|(i, p)| {
                    let last = i + 1 == parts.len();
                    if (last && array) || (!last && *p == "tenants") {
                        format!("{p}[]")
                    } else {
                        (*p).to_owned()
                    }
                })
                .collect::<Vec<_>>()
                .join(".");
            continue;
        }
        if let Some((k, _)) = line.split_once('=') {
            keys.push(format!("{section}.{}", k.trim()));
        }
    }
    keys
}

#[test]
fn the_example_configuration_has_every_key_and_is_valid() {
    let root = workspace_root();
    let example = std::fs::read_to_string(root.join("deploy/pacs.toml")).unwrap();
    let doc = std::fs::read_to_string(root.join("docs/configuration.md")).unwrap();
    let in_example = example_keys(&example);
    for key in config_rs_keys() {
        assert!(
            in_example.contains(&key),
            "{key} (config.rs) is missing from deploy/pacs.toml: {in_example:?}"
        );
        assert!(
            doc.contains(&format!("`{key}`")),
            "{key} (config.rs) is missing from docs/configuration.md"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let check = |text: &str| {
        let path = dir.path().join("pacs.toml");
        std::fs::write(&path, text).unwrap();
        Command::new(pacs_bin())
            .args(["check-config", "--config"])
            .arg(&path)
            .env_remove("PACS_CONFIG")
            .output()
            .unwrap()
    };
    let local = example.replace("/var/lib/pacs", dir.path().to_str().unwrap());
    let out = check(&local);
    assert!(out.status.success(), "deploy/pacs.toml as shipped: {out:?}");
    // Every optional key, uncommented, is accepted too (api_key replaces the hash).
    let all: String = local
        .lines()
        .map(|l| match l.strip_prefix('#') {
            Some(rest) if !rest.starts_with(' ') && !rest.is_empty() => rest,
            _ => l,
        })
        .filter(|l| !l.starts_with("api_key_sha256"))
        .collect::<Vec<_>>()
        .join("\n");
    let out = check(&all);
    assert!(
        out.status.success(),
        "every key uncommented: {out:?}\n{all}"
    );
    // And a misspelt one is named.
    let out = check(&local.replace("shutdown_grace_secs", "shutdown_grace_sec"));
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("shutdown_grace_sec"),
        "{out:?}"
    );
}

//! Test support: the real `pacs` binary on a free port with a fresh database
//! (SQLite, and PostgreSQL when `PACS_TEST_DATABASE_URL` is set) and a fresh
//! storage directory; an HTTP client; the test data.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Database engines the black-box tests run against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Fails the test because something it needs is missing, naming the command
/// that provides it. A test never passes without having run.
pub fn missing(what: &str, provider: &str) -> ! {
    panic!(
        "{what} is missing: run `tests/run.sh`, which provides everything the tests need \
         (or only `{provider}`)"
    )
}

/// Both engines. PostgreSQL is reached through `PACS_TEST_DATABASE_URL`, an
/// admin URL such as postgres://postgres@127.0.0.1:5432/postgres.
pub fn backends() -> Vec<Backend> {
    if std::env::var("PACS_TEST_DATABASE_URL").is_err() {
        missing(
            "PostgreSQL (PACS_TEST_DATABASE_URL is not set)",
            "export PACS_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres",
        );
    }
    match std::env::var("PACS_TEST_BACKENDS").as_deref() {
        Ok("postgres") => vec![Backend::Postgres],
        Ok("sqlite") => vec![Backend::Sqlite],
        _ => vec![Backend::Sqlite, Backend::Postgres],
    }
}

/// Whether test servers write new objects to an S3 bucket (`PACS_TEST_MEDIUM=bucket`)
/// instead of their filesystem medium: `tests/run.sh` runs the core suites
/// once more that way, so every feature is proven on a bucket unchanged.
pub fn default_medium_is_bucket() -> bool {
    std::env::var("PACS_TEST_MEDIUM").as_deref() == Ok("bucket")
}

/// The test data made by `tests/data/make-data.sh` (`PACS_TEST_DATA`,
/// default /tmp/pacs-data).
pub fn data_dir() -> PathBuf {
    let dir =
        PathBuf::from(std::env::var("PACS_TEST_DATA").unwrap_or_else(|_| "/tmp/pacs-data".into()));
    if !dir.join("real/catalog.tsv").exists() {
        missing(
            &format!("the test data in {}", dir.display()),
            &format!("tests/data/make-data.sh {}", dir.display()),
        );
    }
    dir
}

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is in the workspace")
        .to_path_buf()
}

/// The `pacs` binary built by `cargo build` (the test script builds it first).
pub fn pacs_bin() -> PathBuf {
    if let Ok(p) = std::env::var("PACS_BIN") {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().expect("test executable path");
    // target/<profile>/deps/it-<hash> → target/<profile>/pacs
    let bin = exe
        .parent()
        .and_then(Path::parent)
        .expect("target dir")
        .join("pacs");
    assert!(
        bin.exists(),
        "{} is missing: run `cargo build -p pacs-api` first",
        bin.display()
    );
    bin
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

fn unique(prefix: &str) -> String {
    format!(
        "{prefix}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    )
}

/// A throwaway PostgreSQL database, dropped with the value.
pub struct PgDatabase {
    admin: String,
    name: String,
}

impl PgDatabase {
    pub fn create() -> Self {
        let admin = std::env::var("PACS_TEST_DATABASE_URL").expect("PACS_TEST_DATABASE_URL");
        let name = unique("pacs_test");
        psql(&admin, &format!("CREATE DATABASE {name}"));
        Self { admin, name }
    }

    pub fn url(&self) -> String {
        let base = self
            .admin
            .rsplit_once('/')
            .map(|(b, _)| b)
            .unwrap_or(&self.admin);
        format!("{base}/{}", self.name)
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        psql(
            &self.admin,
            &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
        );
    }
}

pub fn psql(url: &str, sql: &str) -> String {
    let out = Command::new("psql")
        .args([url, "-v", "ON_ERROR_STOP=1", "-qtAc", sql])
        .output()
        .expect("psql runs");
    assert!(
        out.status.success(),
        "psql {sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// A tenant of a test server.
#[derive(Debug, Clone)]
pub struct TestTenant {
    pub name: &'static str,
    pub ae: &'static str,
    pub key: &'static str,
}

pub const TENANT_A: TestTenant = TestTenant {
    name: "alpha",
    ae: "PACSA",
    key: "key-alpha-0123456789",
};
pub const TENANT_B: TestTenant = TestTenant {
    name: "beta",
    ae: "PACSB",
    key: "key-beta-9876543210",
};

/// Runs `pacs serve --config config` and waits for its ready line; returns the
/// process, its base URL and the DICOM listener's address when it has one.
fn launch(
    config: &Path,
    log: &Path,
    stderr: std::fs::File,
    env: &[(String, String)],
) -> (Child, String, Option<String>) {
    let mut child = Command::new(pacs_bin())
        .args(["serve", "--config"])
        .arg(config)
        .env("RUST_LOG", "info")
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .expect("start pacs");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        // The DICOM listener's line comes before the HTTP one.
        let mut dimse = None;
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(addr) = line.strip_prefix("pacs DICOM ready: listening on ") {
                dimse = Some(addr.to_owned());
            }
            if let Some(addr) = line.strip_prefix("pacs ready: listening on ") {
                let _ = tx.send((addr.to_owned(), dimse.take()));
            }
        }
    });
    let (base, dimse) = rx
        .recv_timeout(Duration::from_secs(60))
        .unwrap_or_else(|_| {
            let _ = child.kill();
            panic!(
                "pacs did not become ready: {}",
                std::fs::read_to_string(log).unwrap_or_default()
            )
        });
    (child, base, dimse)
}

/// A running `pacs serve`, stopped (SIGTERM) when dropped.
pub struct Server {
    pub child: Child,
    pub base: String,
    /// `host:port` of the DICOM listener, when `[dimse]` is configured.
    pub dimse: Option<String>,
    pub dir: tempfile::TempDir,
    pub log: PathBuf,
    env: Vec<(String, String)>,
    /// The default medium's bucket (endpoint, bucket) when it is one.
    bucket: Option<(String, String)>,
    _pg: Option<PgDatabase>,
}

/// Options of a test server.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Appended to the configuration (after tenant beta's table).
    pub extra_toml: String,
    /// Lines added to the generated `[server]` table (which `extra_toml`
    /// cannot reopen), e.g. `cors_origins = [...]`.
    pub server_toml: String,
    /// Inserted in tenant alpha's table (its `[[tenants.nodes]]`).
    pub alpha_toml: String,
    /// Environment of the server process (e.g. `PACS__SERVER__MAX_BODY_BYTES`
    /// for keys of tables the generated configuration already declares).
    pub env: Vec<(String, String)>,
    /// `storage.default_medium` when not the run's default (a medium or a
    /// bucket that `extra_toml` declares).
    pub default_medium: Option<String>,
    /// The database of another test server (PostgreSQL): a second node of
    /// the same archive.
    pub database_url: Option<String>,
}

impl Server {
    pub fn start(backend: Backend) -> Self {
        Self::start_with(backend, Options::default())
    }

    pub fn start_with(backend: Backend, opts: Options) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let (pg, db_url) = match (backend, &opts.database_url) {
            (Backend::Postgres, Some(url)) => (None, url.clone()),
            _ => match backend {
                Backend::Sqlite => (
                    None,
                    format!("sqlite://{}/pacs.sqlite", dir.path().display()),
                ),
                Backend::Postgres => {
                    let db = PgDatabase::create();
                    let url = db.url();
                    (Some(db), url)
                }
            },
        };
        let (default_medium, bucket_toml, bucket) = if let Some(m) = &opts.default_medium {
            (m.as_str(), String::new(), None)
        } else if default_medium_is_bucket() {
            let bucket = unique("pacs-default").replace('_', "-");
            let endpoint = s3_bucket(&bucket);
            let toml = format!(
                "[[storage.buckets]]\nname = \"default-bucket\"\nendpoint = \"{endpoint}\"\n\
                 region = \"us-east-1\"\nbucket = \"{bucket}\"\naccess_key = \"pacs-test\"\n\
                 secret_key = \"pacs-test-secret\"\npath_style = true\n"
            );
            ("default-bucket", toml, Some((endpoint, bucket)))
        } else {
            ("local", String::new(), None)
        };
        let config = format!(
            r#"
[server]
bind = "127.0.0.1:0"
data_dir = "{d}/data"
shutdown_grace_secs = 10
{server_extra}
[database]
url = "{db_url}"
pool_size = 4
[storage]
default_medium = "{default_medium}"
fsync = false
[[storage.media]]
name = "local"
path = "{d}/archive"
[[tenants]]
name = "{an}"
ae_title = "{aa}"
api_key = "{ak}"
{alpha}
[[tenants]]
name = "{bn}"
ae_title = "{ba}"
api_key_sha256 = "{bh}"
{bucket_toml}
{extra}
"#,
            d = dir.path().display(),
            an = TENANT_A.name,
            aa = TENANT_A.ae,
            ak = TENANT_A.key,
            bn = TENANT_B.name,
            ba = TENANT_B.ae,
            bh = sha256_hex(TENANT_B.key),
            extra = opts.extra_toml,
            server_extra = opts.server_toml,
            alpha = opts.alpha_toml,
        );
        let config_path = dir.path().join("pacs.toml");
        std::fs::write(&config_path, config).expect("write config");
        let mut server = Self::spawn(dir, config_path, pg, &opts.env);
        server.bucket = bucket;
        server
    }

    fn spawn(
        dir: tempfile::TempDir,
        config: PathBuf,
        pg: Option<PgDatabase>,
        env: &[(String, String)],
    ) -> Self {
        let log = dir.path().join("pacs.log");
        let stderr = std::fs::File::create(&log).expect("log file");
        let (child, base, dimse) = launch(&config, &log, stderr, env);
        Self {
            child,
            base,
            dimse,
            dir,
            log,
            env: env.to_vec(),
            bucket: None,
            _pg: pg,
        }
    }

    /// Kills the process at once (SIGKILL: no shutdown at all), as a crash would.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts `pacs serve` again, stopped or crashed, on the same configuration,
    /// database and archive; the log goes on in the same file.
    pub fn restart(&mut self) {
        assert!(
            matches!(self.child.try_wait(), Ok(Some(_))),
            "the server still runs"
        );
        let stderr = std::fs::OpenOptions::new()
            .append(true)
            .open(&self.log)
            .expect("log file");
        let config = self.dir.path().join("pacs.toml");
        let (child, base, dimse) = launch(&config, &self.log, stderr, &self.env);
        self.child = child;
        self.base = base;
        self.dimse = dimse;
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}/o3-dpacs-wado{path}", self.base)
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Every stored object of the default medium: the files under the archive
    /// directory (not staging nor orphans, which sit in dot directories), or the
    /// keys of the default bucket.
    pub fn stored_files(&self) -> Vec<PathBuf> {
        if let Some((endpoint, bucket)) = &self.bucket {
            return bucket_keys(endpoint, bucket)
                .into_iter()
                .map(PathBuf::from)
                .collect();
        }
        let mut out = Vec::new();
        let root = self.dir.path().join("archive");
        let mut stack = vec![root.clone()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
                let p = e.path();
                if p.is_dir() {
                    if !p
                        .file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with("."))
                    {
                        stack.push(p);
                    }
                } else {
                    out.push(p);
                }
            }
        }
        out
    }

    /// The URL of the server's PostgreSQL database (None for SQLite).
    pub fn database_url(&self) -> Option<String> {
        self._pg.as_ref().map(PgDatabase::url)
    }

    /// The content of every stored object of the default medium.
    pub fn stored_contents(&self) -> Vec<Vec<u8>> {
        self.stored_files()
            .iter()
            .map(|p| match &self.bucket {
                Some((endpoint, bucket)) => {
                    let url = format!("{endpoint}/{bucket}/{}", p.display());
                    // moto checks no signature, but refuses anonymous reads.
                    let auth = "AWS4-HMAC-SHA256 Credential=pacs-test/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=0";
                    let a = request("GET", &url, Some(auth), &[], None);
                    assert_eq!(a.status, 200, "GET {url}: {}", a.text());
                    a.body
                }
                None => std::fs::read(p).expect("stored file"),
            })
            .collect()
    }

    /// Runs `sql` on the server's database (psql or sqlite3); its output, one
    /// row per line, columns separated by `|`.
    pub fn sql(&self, sql: &str) -> String {
        if let Some(pg) = &self._pg {
            return psql(&pg.url(), sql);
        }
        let out = Command::new("sqlite3")
            .arg(self.dir.path().join("pacs.sqlite"))
            .arg(sql)
            .output()
            .unwrap_or_else(|_| missing("sqlite3", "tests/peers/install.sh"));
        assert!(
            out.status.success(),
            "sqlite3 {sql}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// Sends SIGTERM and waits for the process to end; returns its exit status.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(Some(st)) = self.child.try_wait() {
                return st;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                return self.child.wait().expect("wait");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.terminate();
        }
    }
}

pub fn sha256_hex(s: &str) -> String {
    let out = Command::new("sha256sum")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().expect("stdin").write_all(s.as_bytes())?;
            c.wait_with_output()
        });
    let out = out.expect("sha256sum");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .expect("digest")
        .to_owned()
}

pub fn sha1_hex(bytes: &[u8]) -> String {
    use sha1::Digest;
    hex::encode(sha1::Sha1::digest(bytes))
}

/// An HTTP answer.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Asserts the JSON error shape of API.md §0 and returns the error code.
    pub fn assert_json_error(&self, status: u16) -> String {
        assert_eq!(
            self.status,
            status,
            "unexpected status; body: {}",
            self.text()
        );
        assert!(
            self.header("content-type")
                .is_some_and(|c| c.starts_with("application/json")),
            "error without JSON content type: {:?}",
            self.headers
        );
        let j = self.json();
        assert!(
            j["message"].as_str().is_some_and(|m| !m.is_empty()),
            "no message: {j}"
        );
        j["error"].as_str().expect("error code").to_owned()
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(120)))
        .build()
        .into()
}

/// Sends a request; `key` goes in `Authorization` when given.
pub fn request(
    method: &str,
    url: &str,
    key: Option<&str>,
    headers: &[(&str, &str)],
    body: Option<Vec<u8>>,
) -> Answer {
    try_request(method, url, key, headers, body).unwrap_or_else(|e| panic!("{method} {url}: {e}"))
}

/// [`request`], with a failed connection as an error instead of a panic.
pub fn try_request(
    method: &str,
    url: &str,
    key: Option<&str>,
    headers: &[(&str, &str)],
    body: Option<Vec<u8>>,
) -> Result<Answer, ureq::Error> {
    let mut builder = ureq::http::Request::builder().method(method).uri(url);
    if let Some(k) = key {
        builder = builder.header("Authorization", k);
    }
    for (k, v) in headers {
        builder = builder.header(*k, *v);
    }
    let agent = agent();
    let result = match body {
        Some(b) => agent.run(builder.body(b).expect("request")),
        None => agent.run(builder.body(()).expect("request")),
    };
    let mut resp = result?;
    let status = resp.status().as_u16();
    let headers = resp
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
        .collect();
    let mut body = Vec::new();
    resp.body_mut()
        .as_reader()
        .read_to_end(&mut body)
        .map_err(ureq::Error::Io)?;
    Ok(Answer {
        status,
        headers,
        body,
    })
}

pub fn get(url: &str, key: &str) -> Answer {
    request("GET", url, Some(key), &[], None)
}

/// One stored instance as WADO-RS returns it (answered 200, one part).
pub fn retrieve_instance(
    server: &Server,
    tenant: &TestTenant,
    study: &str,
    series: &str,
    sop: &str,
) -> Vec<u8> {
    let a = get(
        &server.url(&format!(
            "/wado-rs/{}/studies/{study}/series/{series}/instances/{sop}",
            tenant.ae
        )),
        tenant.key,
    );
    assert_eq!(a.status, 200, "instance {sop}: {}", a.text());
    let mut parts = split_multipart(&a.body, a.header("content-type").unwrap());
    assert_eq!(parts.len(), 1, "instance {sop}");
    parts.remove(0)
}

/// QIDO-RS `path` (e.g. `/studies?limit=10`) as `tenant`: the results (empty for 204).
pub fn qido(server: &Server, tenant: &TestTenant, path: &str) -> Vec<serde_json::Value> {
    let a = get(
        &server.url(&format!("/qido/{}{path}", tenant.ae)),
        tenant.key,
    );
    match a.status {
        204 => Vec::new(),
        200 => a.json().as_array().expect("a JSON array").clone(),
        s => panic!("{path}: {s} {}", a.text()),
    }
}

/// A multipart/related body of DICOM parts, and its Content-Type.
pub fn multipart_related(parts: &[Vec<u8>]) -> (Vec<u8>, String) {
    let boundary = "pacs-test-boundary-7d1e0c";
    let mut body = Vec::new();
    for p in parts {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Type: application/dicom\r\n\r\n").as_bytes(),
        );
        body.extend_from_slice(p);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (
        body,
        format!("multipart/related; type=\"application/dicom\"; boundary={boundary}"),
    )
}

/// STOW-RS of `parts` for `tenant` from calling AET `aet`.
pub fn stow(server: &Server, tenant: &TestTenant, aet: &str, parts: &[Vec<u8>]) -> Answer {
    let (body, ct) = multipart_related(parts);
    request(
        "POST",
        &server.url(&format!("/stowRsListener/{aet}/studies")),
        Some(tenant.key),
        &[
            ("Content-Type", ct.as_str()),
            ("Accept", "application/dicom+json"),
        ],
        Some(body),
    )
}

/// Splits a multipart body into its parts' bodies.
pub fn split_multipart(body: &[u8], content_type: &str) -> Vec<Vec<u8>> {
    let boundary = content_type
        .split(';')
        .find_map(|p| p.trim().strip_prefix("boundary="))
        .expect("boundary")
        .trim_matches('"');
    let delim = format!("--{boundary}");
    let mut parts = Vec::new();
    let mut rest = body;
    let find = |hay: &[u8], needle: &[u8]| hay.windows(needle.len()).position(|w| w == needle);
    while let Some(start) = find(rest, delim.as_bytes()) {
        rest = &rest[start + delim.len()..];
        if rest.starts_with(b"--") {
            break;
        }
        let headers_end = find(rest, b"\r\n\r\n").expect("part headers");
        let content = &rest[headers_end + 4..];
        let end = find(content, format!("\r\n{delim}").as_bytes()).expect("part end");
        parts.push(content[..end].to_vec());
        rest = &content[end + 2..];
    }
    parts
}

/// Runs a Python client script from `tests/clients`, returning its stdout.
pub fn python(script: &str, args: &[&str]) -> String {
    let path = workspace_root().join("tests/clients").join(script);
    let out = Command::new("python3")
        .arg(&path)
        .args(args)
        .env("PYTHONWARNINGS", "ignore")
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "{script} failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Every regular file under `dir`, sorted.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// POSTs a JSON body.
pub fn post_json(
    server: &Server,
    path: &str,
    tenant: &TestTenant,
    body: &serde_json::Value,
) -> Answer {
    request(
        "POST",
        &server.url(path),
        Some(tenant.key),
        &[("Content-Type", "application/json")],
        Some(body.to_string().into_bytes()),
    )
}

/// A copy of `src` with attributes changed (`variant.py`); `NEW` makes a fresh UID.
pub fn variant(src: &Path, changes: &[&str]) -> Vec<u8> {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("v.dcm");
    let mut args = vec![src.to_str().expect("path"), out.to_str().expect("path")];
    args.extend_from_slice(changes);
    python("variant.py", &args);
    std::fs::read(out).expect("variant written")
}

/// The tenant's events after `offset`.
pub fn events_after(server: &Server, tenant: &TestTenant, offset: i64) -> Vec<serde_json::Value> {
    let a = get(
        &server.url(&format!("/studyEvents?offsetId={offset}&limit=1000")),
        tenant.key,
    );
    assert_eq!(a.status, 200, "{}", a.text());
    a.json()["events"].as_array().expect("events").clone()
}

/// The last event id of the tenant (0 when none).
pub fn last_event(server: &Server, tenant: &TestTenant) -> i64 {
    events_after(server, tenant, 0)
        .last()
        .map_or(0, |e| e["id"].as_i64().expect("id"))
}

/// The `Error` lines dciodvfy (dicom3tools) reports on a DICOM file.
pub fn dciodvfy_errors(bytes: &[u8]) -> Vec<String> {
    if Command::new("dciodvfy").arg("-h").output().is_err() {
        missing("dciodvfy (dicom3tools)", "tests/peers/install.sh");
    }
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("object.dcm");
    std::fs::write(&f, bytes).unwrap();
    let out = Command::new("dciodvfy").arg(&f).output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    text.lines()
        .filter(|l| l.starts_with("Error"))
        .map(String::from)
        .collect()
}

/// Every object key of `bucket` (ListObjectsV2, unsigned: moto does not
/// check), without the readiness probe's `.pacs-probe`.
pub fn bucket_keys(endpoint: &str, bucket: &str) -> Vec<String> {
    let mut keys = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut url = format!("{endpoint}/{bucket}?list-type=2");
        if let Some(t) = &token {
            url.push_str(&format!("&continuation-token={}", percent_encode(t)));
        }
        let a = request("GET", &url, None, &[], None);
        assert_eq!(a.status, 200, "listing bucket {bucket}: {}", a.text());
        let xml = a.text();
        keys.extend(
            xml_values(&xml, "Key")
                .into_iter()
                .filter(|k| k != ".pacs-probe"),
        );
        token = xml_values(&xml, "NextContinuationToken").into_iter().next();
        if token.is_none() {
            return keys;
        }
    }
}

fn xml_values(xml: &str, tag: &str) -> Vec<String> {
    let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
    xml.split(&open)
        .skip(1)
        .filter_map(|rest| {
            rest.split_once(&close)
                .map(|(v, _)| v.replace("&amp;", "&"))
        })
        .collect()
}

fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Runs `tests/peers/s3.sh start` with its state in `dir` (on `port`, or a
/// free one); returns the endpoint. The server stops when this test binary ends.
fn start_s3(dir: &Path, port: Option<u16>) -> Result<String, String> {
    let mut cmd = Command::new("bash");
    cmd.arg(workspace_root().join("tests/peers/s3.sh"))
        .arg("start")
        .env("PACS_S3_DIR", dir)
        .env("PACS_S3_PARENT", std::process::id().to_string())
        .env_remove("PACS_S3_PORT")
        .stdin(Stdio::null());
    if let Some(p) = port {
        cmd.env("PACS_S3_PORT", p.to_string());
    }
    let out = cmd.output().map_err(|e| e.to_string())?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .last()
        .filter(|l| out.status.success() && l.starts_with("http://"))
        .map(str::to_owned)
        .ok_or_else(|| String::from_utf8_lossy(&out.stderr).into_owned())
}

fn s3_missing(why: &str) -> ! {
    panic!(
        "the S3 test server (moto) did not start: {why}\n\
         Install it with `tests/peers/install.sh --s3`"
    )
}

/// Creates `bucket` on the S3 server at `endpoint`.
pub fn create_bucket(endpoint: &str, bucket: &str) {
    // moto creates a bucket on an unsigned PUT.
    let made = try_request("PUT", &format!("{endpoint}/{bucket}"), None, &[], None)
        .unwrap_or_else(|e| panic!("creating bucket {bucket}: {e}"));
    assert_eq!(
        made.status,
        200,
        "creating bucket {bucket}: {}",
        made.text()
    );
}

/// An S3 server of one test's own, which the test may stop and start again
/// (on the same port; moto keeps objects in memory, so they go with it).
pub struct PrivateS3 {
    dir: tempfile::TempDir,
    pub endpoint: String,
    port: u16,
}

impl PrivateS3 {
    pub fn start() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let endpoint = start_s3(dir.path(), None).unwrap_or_else(|w| s3_missing(&w));
        let port = endpoint
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .expect("endpoint port");
        Self {
            dir,
            endpoint,
            port,
        }
    }

    /// Stops the server (SIGTERM; SIGKILL after 10 s).
    pub fn stop(&self) {
        let st = Command::new("bash")
            .arg(workspace_root().join("tests/peers/s3.sh"))
            .arg("stop")
            .env("PACS_S3_DIR", self.dir.path())
            .status()
            .expect("s3.sh stop");
        assert!(st.success(), "s3.sh stop failed");
    }

    /// Starts it again on the same port, empty.
    pub fn restart(&self) {
        start_s3(self.dir.path(), Some(self.port)).unwrap_or_else(|w| s3_missing(&w));
    }
}

impl Drop for PrivateS3 {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The endpoint of this test run's S3 server (moto, `tests/peers/s3.sh`),
/// started once and stopped when the run ends; with `bucket` created.
pub fn s3_bucket(bucket: &str) -> String {
    static ENDPOINT: std::sync::OnceLock<Result<String, String>> = std::sync::OnceLock::new();
    let endpoint = ENDPOINT.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("pacs-it-s3-{}", std::process::id()));
        start_s3(&dir, None)
    });
    let endpoint = match endpoint {
        Ok(e) => e.clone(),
        Err(why) => s3_missing(why),
    };
    create_bucket(&endpoint, bucket);
    endpoint
}

/// The server process's peak resident memory so far (VmHWM), in bytes.
pub fn peak_rss(server: &Server) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{}/status", server.child.id()))
        .expect("/proc/<pid>/status of the server");
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/<pid>/status");
    kib * 1024
}

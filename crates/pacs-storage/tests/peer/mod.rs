//! The S3-compatible server of the bucket tests: moto, started once per test
//! binary through `tests/peers/s3.sh` (which stops it once this process has
//! ended), with a fresh bucket for each test. When moto is not installed the
//! tests fail and name the command that installs it.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use pacs_storage::BucketSettings;
use s3::creds::Credentials;
use s3::{Bucket, BucketConfiguration, Region};

/// What installs the server (from the repository root).
const INSTALL: &str = "tests/peers/install.sh --s3";

/// rust-s3 sends a bucket's region as its LocationConstraint when creating it,
/// and S3 (moto too) refuses `us-east-1` there: the test buckets live elsewhere.
const REGION: &str = "eu-west-1";

/// moto takes any keys; these are sent and signed like real ones.
const ACCESS_KEY: &str = "pacs-test";
const SECRET_KEY: &str = "pacs-test-secret";

fn repository_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

static SERVER: OnceLock<Result<String, String>> = OnceLock::new();

/// The running server's endpoint (`http://127.0.0.1:PORT`), started on first use.
pub fn endpoint() -> &'static str {
    match SERVER.get_or_init(start) {
        Ok(endpoint) => endpoint,
        Err(why) => panic!("{why}"),
    }
}

fn start() -> Result<String, String> {
    let script = repository_root().join("tests/peers/s3.sh");
    let pid = std::process::id().to_string();
    let dir = std::env::temp_dir().join(format!("pacs-storage-s3-{pid}"));
    let out = Command::new("bash")
        .arg(&script)
        .arg("start")
        .env("PACS_S3_DIR", &dir)
        .env("PACS_S3_PARENT", &pid)
        .env_remove("PACS_S3_PORT")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        return Err(format!(
            "the S3 test server (moto) did not start: {}\n\
             Install it with `{INSTALL}` (run from the repository root).",
            stderr.trim()
        ));
    }
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .last()
        .filter(|l| l.starts_with("http://"))
        .map(str::to_owned)
        .ok_or_else(|| {
            format!(
                "tests/peers/s3.sh start printed no endpoint: {}",
                stderr.trim()
            )
        })
}

fn region(endpoint: &str) -> Region {
    Region::Custom {
        region: REGION.into(),
        endpoint: endpoint.into(),
    }
}

fn credentials() -> Credentials {
    Credentials::new(Some(ACCESS_KEY), Some(SECRET_KEY), None, None, None).unwrap()
}

/// A new empty bucket on the server.
pub async fn new_bucket() -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    let name = format!(
        "pacs-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    );
    Bucket::create_with_path_style(
        &name,
        region(endpoint()),
        credentials(),
        BucketConfiguration::default(),
    )
    .await
    .unwrap_or_else(|e| panic!("creating bucket {name}: {e}"));
    name
}

/// Settings of `bucket` on the server, staging under `staging`.
pub fn settings(bucket: &str, staging: &Path) -> BucketSettings {
    settings_at(endpoint(), bucket, staging)
}

pub fn settings_at(endpoint: &str, bucket: &str, staging: &Path) -> BucketSettings {
    BucketSettings {
        endpoint: endpoint.into(),
        region: REGION.into(),
        bucket: bucket.into(),
        access_key: Some(ACCESS_KEY.into()),
        secret_key: Some(SECRET_KEY.into()),
        path_style: true,
        staging_dir: Some(staging.to_path_buf()),
    }
}

/// A client of `bucket` of its own, to look at the objects behind a medium's back.
pub fn client(bucket: &str) -> Box<Bucket> {
    Bucket::new(bucket, region(endpoint()), credentials())
        .unwrap()
        .with_path_style()
}

/// An endpoint where nothing listens (a port just freed).
pub fn dead_endpoint() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

//! A real viewer nobody here wrote: OHIF (npm @ohif/app, its prebuilt dist/)
//! in headless Chromium, with its default configuration pointed at the one
//! DICOMweb root, served from another origin (`tests/clients/ohif.mjs`).

use std::path::PathBuf;
use std::process::Command;

use crate::support::*;

/// Where tests/peers/install.sh puts the viewer and playwright-core.
fn ohif_dir() -> PathBuf {
    let dir = std::env::var("PACS_OHIF_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            let home = std::env::var("XDG_DATA_HOME")
                .map(PathBuf::from)
                .unwrap_or_else(|_| {
                    PathBuf::from(std::env::var("HOME").expect("HOME")).join(".local/share")
                });
            home.join("pacs-peers/ohif-3.13.2")
        });
    if !dir.join("package/dist/index.html").exists()
        || !dir
            .join("node_modules/playwright-core/package.json")
            .exists()
    {
        missing(
            &format!("the OHIF viewer and playwright-core in {}", dir.display()),
            "tests/peers/install.sh",
        );
    }
    if !std::path::Path::new("/usr/bin/chromium").exists() {
        missing("Debian's chromium", "tests/peers/install.sh");
    }
    dir
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

#[test]
fn ohif_lists_and_shows_a_ct_study_from_the_one_root() {
    let ohif = ohif_dir();
    let ct = data_dir().join("real/CT_small.dcm");
    let study = "1.3.6.1.4.1.5962.1.2.1.20040119072730.12322";
    let port = free_port();
    let server = Server::start_with(
        Backend::Sqlite,
        Options {
            server_toml: format!("cors_origins = [\"http://127.0.0.1:{port}\"]"),
            ..Options::default()
        },
    );
    let a = stow(&server, &TENANT_A, "CT", &[std::fs::read(&ct).unwrap()]);
    assert_eq!(a.status, 200, "{}", a.text());
    let out_dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("ohif");
    let root = server.url(&format!("/dicomweb/{}", TENANT_A.ae));
    let out = Command::new("node")
        .arg(workspace_root().join("tests/clients/ohif.mjs"))
        .arg(&ohif)
        .arg(port.to_string())
        .arg(&root)
        .arg(TENANT_A.key)
        .arg(study)
        .arg("CompressedSamples^CT1")
        .arg(&out_dir)
        .output()
        .expect("node runs (the machine's Node.js)");
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "OHIF against {root} (screenshots in {}):\n{text}",
        out_dir.display()
    );
    assert!(text.contains("drawn:"), "{text}");
}

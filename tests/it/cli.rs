//! The command line of RUNNING.md: check-config, key generate, migrate, serve's
//! embedded default and graceful stop.

use std::process::Command;

use crate::support::*;

fn pacs(args: &[&str], dir: &std::path::Path) -> std::process::Output {
    Command::new(pacs_bin())
        .args(args)
        .current_dir(dir)
        .output()
        .expect("pacs runs")
}

#[test]
fn check_config_names_the_bad_key() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("pacs.toml");
    std::fs::write(
        &cfg,
        "[server]\nbind = \"127.0.0.1:0\"\nlisten_everywhere = true\n",
    )
    .unwrap();
    let out = pacs(
        &["check-config", "--config", cfg.to_str().unwrap()],
        dir.path(),
    );
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("listen_everywhere"),
        "{out:?}"
    );

    std::fs::write(&cfg, "[storage]\ndefault_medium = \"missing\"\n").unwrap();
    let out = pacs(
        &["check-config", "--config", cfg.to_str().unwrap()],
        dir.path(),
    );
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("storage.default_medium"),
        "{out:?}"
    );

    std::fs::write(&cfg, "[server]\nbind = \"127.0.0.1:0\"\n").unwrap();
    let out = pacs(
        &["check-config", "--config", cfg.to_str().unwrap()],
        dir.path(),
    );
    assert!(out.status.success(), "{out:?}");

    // Environment overrides use PACS__SECTION__KEY and are checked the same way.
    let out = Command::new(pacs_bin())
        .args(["check-config"])
        .current_dir(dir.path())
        .env("PACS__DATABASE__POOL_SIZE", "0")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("database.pool_size"),
        "{out:?}"
    );
}

#[test]
fn key_generate_prints_a_key_and_its_sha256() {
    let dir = tempfile::tempdir().unwrap();
    let out = pacs(&["key", "generate"], dir.path());
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    let value = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{name} = \"")))
            .map(|v| v.trim_end_matches('"').to_owned())
            .unwrap_or_else(|| panic!("no {name} in {text}"))
    };
    let (key, hash) = (value("api_key"), value("api_key_sha256"));
    assert!(key.len() >= 32);
    assert_eq!(sha256_hex(&key), hash);
}

#[test]
fn migrate_applies_migrations_once() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/m.sqlite", dir.path().display());
    for _ in 0..2 {
        let out = Command::new(pacs_bin())
            .arg("migrate")
            .current_dir(dir.path())
            .env("PACS__DATABASE__URL", &url)
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
    }
    assert!(dir.path().join("m.sqlite").exists());
}

#[test]
fn embedded_default_generates_a_key_once_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let start = || {
        let mut child = Command::new(pacs_bin())
            .arg("serve")
            .current_dir(dir.path())
            .env("PACS__SERVER__BIND", "127.0.0.1:0")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
            {
                let _ = tx.send(line);
            }
        });
        let mut lines = Vec::new();
        while let Ok(line) = rx.recv_timeout(std::time::Duration::from_secs(30)) {
            let ready = line.starts_with("pacs ready");
            lines.push(line);
            if ready {
                break;
            }
        }
        (child, lines)
    };
    let (mut first, lines) = start();
    let key = lines
        .iter()
        .find_map(|l| l.strip_prefix("Generated API key for tenant default: "))
        .expect("a generated key is printed")
        .to_owned();
    let addr = lines
        .last()
        .unwrap()
        .strip_prefix("pacs ready: listening on ")
        .unwrap()
        .to_owned();
    let a = get(&format!("{addr}/o3-dpacs-wado/qido/PACS/studies"), &key);
    assert_eq!(a.status, 204, "{}", a.text());
    assert!(
        dir.path().join("data/pacs.sqlite").exists(),
        "SQLite under ./data"
    );
    assert!(
        dir.path().join("data/archive").is_dir(),
        "archive under ./data"
    );
    Command::new("kill")
        .args(["-TERM", &first.id().to_string()])
        .status()
        .unwrap();
    let status = first.wait().unwrap();
    assert!(status.success(), "graceful stop: {status}");
    // The key is printed once: a restart keeps it and prints nothing new.
    let (mut second, lines) = start();
    assert!(
        !lines.iter().any(|l| l.contains("Generated API key")),
        "{lines:?}"
    );
    let addr = lines
        .last()
        .unwrap()
        .strip_prefix("pacs ready: listening on ")
        .unwrap()
        .to_owned();
    assert_eq!(
        get(&format!("{addr}/o3-dpacs-wado/qido/PACS/studies"), &key).status,
        204
    );
    let _ = second.kill();
}

#[test]
fn serve_warns_once_per_section_it_does_not_use_yet() {
    // Nodes without a DICOM listener accept nothing; the forward target is not built yet.
    let server = Server::start_with(
        Backend::Sqlite,
        Options {
            extra_toml: r#"
[[tenants.nodes]]
ae_title = "ORTHANC"
host = "127.0.0.1"
port = 4242
[tenants.forward]
series_node = "ORTHANC"
"#
            .into(),
            ..Options::default()
        },
    );
    let log = server.log_text();
    for section in [
        "[[tenants.nodes]] of tenant beta",
        "[tenants.forward] of tenant beta",
    ] {
        let lines: Vec<&str> = log
            .lines()
            .filter(|l| l.contains("WARN") && l.contains(section))
            .collect();
        assert_eq!(lines.len(), 1, "one warning for {section} in:\n{log}");
    }
    // With the listener configured, the nodes are in use: no warning for them.
    let listening = Server::start_with(
        Backend::Sqlite,
        Options {
            extra_toml:
                "[[tenants.nodes]]\nae_title = \"ORTHANC\"\n[dimse]\nbind = \"127.0.0.1:0\"\n"
                    .into(),
            ..Options::default()
        },
    );
    assert!(
        !listening.log_text().contains("[[tenants.nodes]]"),
        "{}",
        listening.log_text()
    );
    // Without those sections, no such warning.
    let plain = Server::start(Backend::Sqlite);
    assert!(
        !plain.log_text().contains("this version"),
        "{}",
        plain.log_text()
    );
}

//! The layering of ARCHITECTURE.md, checked on `cargo metadata`: dependencies
//! point inward, the domain knows no technology, each technology has one owner.

use std::collections::{BTreeMap, BTreeSet};

use cargo_metadata::{DependencyKind, MetadataCommand};

use crate::support::workspace_root;

/// Internal crates each crate may depend on (normal dependencies).
const ALLOWED: &[(&str, &[&str])] = &[
    ("pacs-domain", &[]),
    ("pacs-dicom-ops", &["pacs-domain"]),
    ("pacs-persistence", &["pacs-domain"]),
    ("pacs-storage", &["pacs-domain"]),
    ("pacs-app", &["pacs-domain", "pacs-dicom-ops"]),
    // The DICOM network adapter sits beside the HTTP one: it calls the use
    // cases and has pacs-dicom-ops encode what it sends and reads.
    ("pacs-dimse", &["pacs-domain", "pacs-app", "pacs-dicom-ops"]),
    (
        "pacs-api",
        &[
            "pacs-domain",
            "pacs-app",
            "pacs-persistence",
            "pacs-storage",
            "pacs-dimse",
        ],
    ),
];

/// External crates (by name prefix) and the only crate allowed to use them.
const OWNERS: &[(&str, &str)] = &[
    ("diesel", "pacs-persistence"),
    ("libsqlite3-sys", "pacs-persistence"),
    ("pq-sys", "pacs-persistence"),
    ("r2d2", "pacs-persistence"),
    ("actix", "pacs-api"),
    // The upper layer protocol is the network adapter's; every other
    // dicom-rs crate (data sets, command sets) is pacs-dicom-ops's.
    ("dicom-ul", "pacs-dimse"),
    ("dicom-", "pacs-dicom-ops"),
    ("jpeg-encoder", "pacs-dicom-ops"),
    ("rust-s3", "pacs-storage"),
];

/// What the domain must never depend on, even through an owner.
const DOMAIN_FORBIDDEN: &[&str] = &[
    "diesel",
    "actix",
    "dicom-",
    "rust-s3",
    "serde_json",
    "tokio",
    "r2d2",
];

fn normal_deps() -> BTreeMap<String, BTreeSet<String>> {
    let meta = MetadataCommand::new()
        .manifest_path(workspace_root().join("Cargo.toml"))
        .no_deps()
        .exec()
        .expect("cargo metadata");
    meta.workspace_packages()
        .into_iter()
        .map(|p| {
            let deps = p
                .dependencies
                .iter()
                .filter(|d| d.kind == DependencyKind::Normal || d.kind == DependencyKind::Build)
                .map(|d| d.name.clone())
                .collect();
            (p.name.to_string(), deps)
        })
        .collect()
}

#[test]
fn internal_dependencies_point_inward() {
    let deps = normal_deps();
    for (krate, allowed) in ALLOWED {
        let actual = deps
            .get(*krate)
            .unwrap_or_else(|| panic!("{krate} is missing from the workspace"));
        for d in actual.iter().filter(|d| d.starts_with("pacs-")) {
            assert!(
                allowed.contains(&d.as_str()),
                "{krate} must not depend on {d} (dependencies point inward)"
            );
        }
    }
}

#[test]
fn the_domain_knows_no_technology() {
    let deps = normal_deps();
    for d in &deps["pacs-domain"] {
        assert!(
            !DOMAIN_FORBIDDEN.iter().any(|f| d.starts_with(f)),
            "pacs-domain must not depend on {d}"
        );
    }
}

/// The use cases take typed commands and return typed results: the JSON
/// format is the HTTP edge's (pacs-api) and DICOM JSON pacs-dicom-ops's, so
/// another way in (DICOM networking) calls the same use cases.
#[test]
fn the_use_cases_know_no_json() {
    let deps = normal_deps();
    for d in &deps["pacs-app"] {
        assert!(
            d != "serde" && d != "serde_json",
            "pacs-app must not depend on {d}: wire types live in pacs-api"
        );
    }
}

#[test]
fn each_technology_has_one_owner() {
    for (krate, deps) in normal_deps() {
        for d in deps {
            if let Some((_, owner)) = OWNERS.iter().find(|(prefix, _)| d.starts_with(prefix)) {
                assert_eq!(
                    &krate, owner,
                    "{d} belongs in {owner}, but {krate} depends on it"
                );
            }
        }
    }
}

#[test]
fn workspace_has_the_documented_shape() {
    let root = workspace_root();
    for path in [
        "Cargo.toml",
        "README.md",
        "ARCHITECTURE.md",
        "rustfmt.toml",
        "migrations/sqlite",
        "migrations/postgres",
        "deploy",
        "docs",
        "crates/pacs-domain",
        "crates/pacs-dicom-ops",
        "crates/pacs-app",
        "crates/pacs-persistence",
        "crates/pacs-storage",
        "crates/pacs-api",
        "crates/pacs-dimse",
    ] {
        assert!(root.join(path).exists(), "{path} is missing");
    }
    // One change lands in both migration directories, same name.
    let names = |d: &str| -> BTreeSet<String> {
        std::fs::read_dir(root.join(d))
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect()
    };
    assert_eq!(names("migrations/sqlite"), names("migrations/postgres"));
}

/// A clone is all a contributor has: nothing tracked may reach outside the
/// repository for scripts, data or documents.
#[test]
fn nothing_refers_to_files_outside_the_repository() {
    let root = workspace_root();
    let outside = ["..", "/shared"].concat();
    let mut found = Vec::new();
    let mut stack = vec![root.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if path.is_dir() {
                if !name.starts_with('.') && name != "target" || name == ".ci" {
                    stack.push(path);
                }
                continue;
            }
            if let Ok(text) = std::fs::read_to_string(&path)
                && text.contains(&outside)
            {
                found.push(path.strip_prefix(&root).unwrap().display().to_string());
            }
        }
    }
    assert!(found.is_empty(), "files naming {outside}: {found:?}");
}

/// Normal dependencies that are linked for what they provide, not named in code:
/// the bundled SQLite and the PostgreSQL client library diesel links.
const LINKED_ONLY: &[&str] = &["libsqlite3-sys", "pq-sys"];

/// Every source file of one crate, concatenated (to look for a dependency's name).
fn crate_sources(dir: &std::path::Path) -> String {
    let mut text = String::new();
    let mut stack = vec![dir.join("src")];
    if dir.join("build.rs").exists() {
        text.push_str(&std::fs::read_to_string(dir.join("build.rs")).unwrap());
    }
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap().flatten() {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == "rs") {
                text.push_str(&std::fs::read_to_string(&p).unwrap());
            }
        }
    }
    text
}

#[test]
fn no_crate_declares_a_dependency_it_does_not_use() {
    let meta = MetadataCommand::new()
        .manifest_path(workspace_root().join("Cargo.toml"))
        .no_deps()
        .exec()
        .expect("cargo metadata");
    let mut unused = Vec::new();
    for p in meta.workspace_packages() {
        let dir = p.manifest_path.parent().unwrap().as_std_path().to_owned();
        if !dir.join("src").exists() {
            continue;
        }
        let text = crate_sources(&dir);
        for d in p
            .dependencies
            .iter()
            .filter(|d| d.kind == DependencyKind::Normal)
        {
            if LINKED_ONLY.contains(&d.name.as_str()) {
                continue;
            }
            let lib = d.rename.as_deref().unwrap_or(&d.name).replace('-', "_");
            let lib = lib.strip_prefix("rust_").unwrap_or(&lib).to_owned();
            if !text.contains(&format!("{lib}::")) && !text.contains(&format!("use {lib}")) {
                unused.push(format!("{} -> {}", p.name, d.name));
            }
        }
    }
    assert!(unused.is_empty(), "declared but never used: {unused:?}");
}

#[test]
fn every_workspace_dependency_is_used_by_a_member() {
    let root = std::fs::read_to_string(workspace_root().join("Cargo.toml")).unwrap();
    let table = root
        .split("[workspace.dependencies]")
        .nth(1)
        .expect("a [workspace.dependencies] table")
        .split("\n[")
        .next()
        .unwrap();
    let meta = MetadataCommand::new()
        .manifest_path(workspace_root().join("Cargo.toml"))
        .no_deps()
        .exec()
        .expect("cargo metadata");
    let used: BTreeSet<String> = meta
        .workspace_packages()
        .iter()
        .flat_map(|p| p.dependencies.iter().map(|d| d.name.clone()))
        .collect();
    let declared: Vec<&str> = table
        .lines()
        .filter_map(|l| l.split_once('=').map(|(k, _)| k.trim()))
        .filter(|k| !k.is_empty() && !k.starts_with('#'))
        .collect();
    let unused: Vec<&&str> = declared.iter().filter(|k| !used.contains(**k)).collect();
    assert!(
        unused.is_empty(),
        "declared for the workspace but used by no crate: {unused:?}"
    );
}

/// Every failure reaches HTTP through `pacs-api/src/error.rs`: no other file
/// answers with an error status or builds the error body itself. (STOW's 409
/// with a DICOM failure list and readiness's 503 are answers, not errors.)
#[test]
fn errors_become_http_in_one_place() {
    let error_statuses = [
        "BAD_REQUEST",
        "UNAUTHORIZED",
        "NOT_FOUND",
        "NOT_ACCEPTABLE",
        "PAYLOAD_TOO_LARGE",
        "UNSUPPORTED_MEDIA_TYPE",
        "RANGE_NOT_SATISFIABLE",
        "UNPROCESSABLE_ENTITY",
        "INTERNAL_SERVER_ERROR",
    ];
    let src = workspace_root().join("crates/pacs-api/src");
    let mut offenders = Vec::new();
    let mut stack = vec![src.clone()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap().flatten() {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            if p == src.join("error.rs") || p.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let text = std::fs::read_to_string(&p).unwrap();
            for status in error_statuses {
                if text.contains(&format!("StatusCode::{status}")) {
                    offenders.push(format!("{}: StatusCode::{status}", p.display()));
                }
            }
            if text.contains("ErrorBody {") && !text.contains("pub struct ErrorBody {") {
                offenders.push(format!("{}: builds ErrorBody", p.display()));
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "errors answered outside error.rs: {offenders:#?}"
    );
    // The use cases name failures, never HTTP statuses.
    let app = crate_sources(&workspace_root().join("crates/pacs-app"));
    for http in ["StatusCode", "status = 4", "status = 5", "actix"] {
        assert!(!app.contains(http), "pacs-app mentions {http}");
    }
}

/// dicom-object reserves a value's declared length before reading it: every
/// parse of an object goes through `pacs_dicom_ops::parse::open_bounded`,
/// which checks the lengths first (issue 16, defect 13).
#[test]
fn dicom_objects_are_parsed_only_through_open_bounded() {
    let guarded = workspace_root().join("crates/pacs-dicom-ops/src/parse.rs");
    let mut offenders = Vec::new();
    let mut stack = vec![workspace_root().join("crates")];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap().flatten() {
            let p = entry.path();
            if p.is_dir() {
                if !p.ends_with("target") {
                    stack.push(p);
                }
                continue;
            }
            if p == guarded || p.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let text = std::fs::read_to_string(&p).unwrap();
            for call in ["OpenFileOptions", "open_file(", "from_reader("] {
                if text.contains(call) {
                    offenders.push(format!("{}: {call}", p.display()));
                }
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "objects parsed without open_bounded: {offenders:#?}"
    );
}

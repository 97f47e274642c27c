//! Files a crash left on a filesystem medium without their row.
//!
//! A store commits its files (fsync, link under the final key) before the
//! index transaction; a crash in between leaves a file no row names. It was
//! never acknowledged, but a file can also lose its row another way (a
//! database restored from an older backup), so it is moved out of the key
//! space into `<root>/.orphans/`, not deleted: the operator decides. Several processes may
//! share a medium and one of them may be between those two steps right now,
//! so only files last modified before a cutoff (this process's start minus a
//! grace period, `storage.orphan_grace_secs`) are candidates. A file about to
//! be recorded by another commit gets a fresh mtime from `fs::link`; the
//! sweep moves a candidate aside (`<key>.orphan`, beside it), then checks its
//! mtime and the index once more before deleting it, and puts it back
//! otherwise; one left aside by a crash is settled by the next sweep.

use std::collections::HashSet;
use std::fs;
use std::io;
use std::path::Path;
use std::time::SystemTime;

/// Keys asked about at once.
const BATCH: usize = 500;

/// The suffix of a file set aside while the sweep decides.
const ASIDE: &str = ".orphan";

/// Where orphans go, under the medium's root (outside the key space).
pub const ORPHANS: &str = ".orphans";

/// Which of these keys does a row (live or deprecated) name?
pub type Referenced<'a> = &'a dyn Fn(&[String]) -> io::Result<HashSet<String>>;

/// Moves the files under `root` that no row names and that were last
/// modified before `cutoff` to `<root>/.orphans/<key>`; returns how many.
pub fn sweep_orphans(
    root: &Path,
    cutoff: SystemTime,
    referenced: Referenced<'_>,
) -> io::Result<usize> {
    let mut moved = 0;
    let mut batch = Vec::with_capacity(BATCH);
    let mut aside = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in fs::read_dir(&dir)? {
            let entry = entry?;
            let path = entry.path();
            let kind = entry.file_type()?;
            if kind.is_dir() {
                // Staging and orphans (dot directories at the root) hold no keys.
                if path.parent() != Some(root)
                    || !entry.file_name().to_string_lossy().starts_with('.')
                {
                    dirs.push(path);
                }
                continue;
            }
            if !kind.is_file() {
                continue;
            }
            let Some(key) = key_of(root, &path) else {
                continue;
            };
            if let Some(key) = key.strip_suffix(ASIDE) {
                aside.push(key.to_owned());
            } else if older(&path, cutoff)? {
                batch.push(key);
            }
            if batch.len() == BATCH {
                moved += sweep_batch(root, cutoff, &std::mem::take(&mut batch), referenced)?;
            }
        }
    }
    moved += sweep_batch(root, cutoff, &batch, referenced)?;
    // Set aside by a sweep that did not finish: back if named, else to .orphans.
    for chunk in aside.chunks(BATCH) {
        let named = referenced(chunk)?;
        for key in chunk {
            let (path, left) = (root.join(key), root.join(format!("{key}{ASIDE}")));
            if named.contains(key) {
                restore(&left, &path)?;
            } else {
                quarantine(root, key, &left)?;
                moved += 1;
            }
        }
    }
    Ok(moved)
}

fn older(path: &Path, cutoff: SystemTime) -> io::Result<bool> {
    match fs::metadata(path) {
        Ok(m) => Ok(m.modified()? < cutoff),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

/// The medium-relative key of `path` (`/`-separated), if it is UTF-8.
fn key_of(root: &Path, path: &Path) -> Option<String> {
    let rel = path.strip_prefix(root).ok()?;
    let parts: Option<Vec<&str>> = rel.components().map(|c| c.as_os_str().to_str()).collect();
    Some(parts?.join("/"))
}

fn sweep_batch(
    root: &Path,
    cutoff: SystemTime,
    keys: &[String],
    referenced: Referenced<'_>,
) -> io::Result<usize> {
    if keys.is_empty() {
        return Ok(0);
    }
    let named = referenced(keys)?;
    let mut moved = 0;
    for key in keys.iter().filter(|k| !named.contains(*k)) {
        let path = root.join(key);
        let aside = root.join(format!("{key}{ASIDE}"));
        match fs::rename(&path, &aside) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        }
        // Used again since it was listed (a commit touched it), or recorded
        // since: back where it was. Same key, same content, so a file a commit
        // linked there meanwhile is the same bytes.
        if !older(&aside, cutoff)? || referenced(std::slice::from_ref(key))?.contains(key) {
            restore(&aside, &path)?;
            continue;
        }
        quarantine(root, key, &aside)?;
        moved += 1;
    }
    Ok(moved)
}

/// Moves the file set aside at `aside` to `<root>/.orphans/<key>`.
fn quarantine(root: &Path, key: &str, aside: &Path) -> io::Result<()> {
    let target = root.join(ORPHANS).join(key);
    if let Some(dir) = target.parent() {
        fs::create_dir_all(dir)?;
    }
    fs::rename(aside, target)
}

fn restore(aside: &Path, path: &Path) -> io::Result<()> {
    match fs::hard_link(aside, path) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e),
    }
    fs::remove_file(aside)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn write(root: &Path, key: &str, age: Duration) {
        let path = root.join(key);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, key).unwrap();
        let f = fs::File::options().write(true).open(&path).unwrap();
        f.set_modified(SystemTime::now() - age).unwrap();
    }

    #[test]
    fn only_old_files_no_row_names_are_moved_aside() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let hour = Duration::from_secs(3600);
        write(root, "t/s/named.1", 2 * hour);
        write(root, "t/s/orphan.2", 2 * hour);
        write(root, "t/s/young.3", Duration::ZERO);
        write(root, ".staging/upload", 2 * hour);
        // Left aside by a sweep that stopped: one named (back), one not.
        write(root, "t/s/kept.4.orphan", 2 * hour);
        write(root, "t/s/lost.5.orphan", 2 * hour);
        let named: HashSet<String> = ["t/s/named.1", "t/s/kept.4"].map(String::from).into();
        let referenced = |keys: &[String]| {
            Ok(keys
                .iter()
                .filter(|k| named.contains(*k))
                .cloned()
                .collect())
        };
        let cutoff = SystemTime::now() - hour;
        assert_eq!(sweep_orphans(root, cutoff, &referenced).unwrap(), 2);
        for kept in [
            "t/s/named.1",
            "t/s/young.3",
            "t/s/kept.4",
            ".staging/upload",
        ] {
            assert!(root.join(kept).is_file(), "{kept}");
        }
        for moved in ["t/s/orphan.2", "t/s/lost.5"] {
            assert!(!root.join(moved).exists(), "{moved}");
            assert!(root.join(ORPHANS).join(moved).is_file(), "{moved}");
        }
        assert!(!root.join("t/s/kept.4.orphan").exists());
        // A second sweep finds nothing more (.orphans/ is not walked).
        assert_eq!(sweep_orphans(root, cutoff, &referenced).unwrap(), 0);
    }
}

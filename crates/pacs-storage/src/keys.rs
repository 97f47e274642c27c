//! How object names become medium-relative keys.

use pacs_domain::ports::{ObjectName, StorageError};

/// Characters kept as they are in a key component; anything else becomes `_`.
fn clean(component: &str) -> String {
    let cleaned: String = component
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    // A component made only of dots would climb the tree.
    if cleaned.chars().all(|c| c == '.') {
        format!("_{cleaned}")
    } else {
        cleaned
    }
}

/// Longest kept part of an object's own name in its key (ASCII after `clean`).
const MAX_NAME: usize = 200;

/// `tenant/group.../name.sha1[..16]`: readable by an operator, unique per content.
pub fn key_for(name: &ObjectName) -> String {
    let mut parts = Vec::with_capacity(name.groups.len() + 2);
    parts.push(clean(name.tenant.as_str()));
    parts.extend(name.groups.iter().map(|g| clean(g)));
    let digest = name.sha1.get(..16).unwrap_or(&name.sha1);
    // File names are at most 255 bytes: long names are cut (the digest and the
    // groups keep keys unique).
    let mut own = clean(&name.name);
    own.truncate(MAX_NAME);
    parts.push(format!("{own}.{}", clean(digest)));
    parts.join("/")
}

/// Rejects keys that could leave the medium's root.
pub fn check_key(key: &str) -> Result<(), StorageError> {
    let bad = key.is_empty()
        || key.starts_with('/')
        || key.contains('\\')
        || key
            .split('/')
            .any(|c| c.is_empty() || c == "." || c == "..");
    if bad {
        Err(StorageError::NotFound(key.to_owned()))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pacs_domain::ids::TenantName;

    #[test]
    fn keys_are_clean_and_unique_per_content() {
        let name = ObjectName {
            tenant: TenantName::new("t1").unwrap(),
            groups: vec!["1.2.3".into(), "..".into()],
            name: "slide one/../x.svs".into(),
            sha1: "0123456789abcdef0123".into(),
        };
        let key = key_for(&name);
        assert_eq!(key, "t1/1.2.3/_../slide_one_.._x.svs.0123456789abcdef");
        assert!(check_key(&key).is_ok());
        assert!(check_key("../etc/passwd").is_err());
        assert!(check_key("/etc/passwd").is_err());
        let long = ObjectName {
            name: "n".repeat(300),
            ..name
        };
        let key = key_for(&long);
        assert!(key.rsplit('/').next().unwrap().len() <= 255, "{key}");
    }
}

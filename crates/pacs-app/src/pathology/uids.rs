//! UIDs derived from a tenant's identifiers (API.md §4): the same accession
//! number or barcode always gives the same UID within a tenant, and different
//! UIDs in different tenants.

use pacs_domain::ids::TenantName;
use uuid::Uuid;

/// Fixed namespace of our name-based UUIDs (never change it: stored UIDs
/// depend on it).
const NAMESPACE: Uuid = uuid::uuid!("0e2a44da-6238-4130-be36-8601789cc673");

/// `2.25.` + the decimal value of the UUID v5 of (tenant, kind, value).
/// `kind` is `study`, `series`, `instance` or `specimen`.
pub fn derived_uid(tenant: &TenantName, kind: &str, value: &str) -> String {
    // Unit separators keep ("a", "b\x1fc") and ("a\x1fb", "c") apart.
    let name = format!("{}\u{1f}{kind}\u{1f}{value}", tenant.as_str());
    format!(
        "2.25.{}",
        Uuid::new_v5(&NAMESPACE, name.as_bytes()).as_u128()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_per_tenant_and_kind() {
        let a = TenantName::new("a").unwrap();
        let b = TenantName::new("b").unwrap();
        let uid = derived_uid(&a, "study", "ACC1");
        assert_eq!(uid, derived_uid(&a, "study", "ACC1"));
        assert_ne!(uid, derived_uid(&b, "study", "ACC1"));
        assert_ne!(uid, derived_uid(&a, "series", "ACC1"));
        assert!(uid.starts_with("2.25.") && uid.len() <= 64);
        assert!(pacs_domain::ids::StudyInstanceUid::new(&uid).is_ok());
    }
}

//! `pacs audit`: the audit log for operators, as JSON lines (one record per
//! line, oldest first). Patient IDs are left out unless asked for: the output
//! often ends up in tickets and terminals where patient data does not belong.

use std::time::SystemTime;

use pacs_domain::ids::TenantName;
use pacs_domain::ports::{AuditLog, AuditRecord};
use serde_json::{Map, Value, json};

use crate::config::Settings;

/// What to print.
#[derive(Debug, Clone)]
pub struct AuditQuery {
    pub tenant: Option<String>,
    pub since_id: i64,
    pub limit: u32,
}

/// Most records one call prints.
pub const MAX_LIMIT: u32 = 100_000;

fn rfc3339(t: SystemTime) -> String {
    chrono::DateTime::<chrono::Utc>::from(t).to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// A detail that names a patient (e.g. `sourcePatientId` of a merge).
fn is_patient_detail(key: &str) -> bool {
    key.to_ascii_lowercase().contains("patient")
}

/// One record as a JSON line.
pub fn line(r: &AuditRecord, with_patient_ids: bool) -> String {
    let e = &r.record;
    let details: Map<String, Value> = e
        .details
        .iter()
        .filter(|(k, _)| with_patient_ids || !is_patient_detail(k))
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    let mut v = json!({
        "id": r.id,
        "tenant": r.tenant.as_str(),
        "occurredAt": rfc3339(r.occurred_at),
        "actor": e.actor,
        "action": e.action.as_str(),
        "studyInstanceUid": e.study_uid.as_ref().map(|u| u.as_str()),
        "seriesInstanceUid": e.series_uid.as_ref().map(|u| u.as_str()),
        "details": details,
    });
    if with_patient_ids {
        v["patientId"] = json!(e.patient_id.as_ref().map(|p| p.as_str()));
    }
    v.to_string()
}

/// Reads the records `q` asks for (the database is not migrated: a read-only tool).
pub fn read(settings: &Settings, q: &AuditQuery) -> Result<Vec<AuditRecord>, String> {
    let tenant = q
        .tenant
        .as_deref()
        .map(TenantName::new)
        .transpose()
        .map_err(|e| format!("--tenant: {e}"))?;
    let url = &settings.database.url;
    if pacs_persistence::Backend::of_url(url) == pacs_persistence::Backend::Sqlite {
        let path = url.strip_prefix("sqlite://").unwrap_or(url);
        if !std::path::Path::new(path).exists() {
            // Connecting would create an empty database.
            return Err(format!("no database at {path}"));
        }
    }
    let db = pacs_persistence::Database::connect(url, 2).map_err(|e| format!("database: {e}"))?;
    db.audit_after(tenant.as_ref(), q.since_id, q.limit.clamp(1, MAX_LIMIT))
        .map_err(|e| {
            format!("reading the audit log: {e} (is the database migrated? `pacs migrate`)")
        })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use pacs_domain::ids::{PatientId, StudyInstanceUid};
    use pacs_domain::model::{EventType, NewAuditRecord};

    use super::*;

    #[test]
    fn patient_ids_are_printed_only_when_asked() {
        let r = AuditRecord {
            id: 7,
            tenant: TenantName::new("alpha").unwrap(),
            record: NewAuditRecord {
                actor: "dr who".into(),
                action: EventType::PatientsMerged,
                study_uid: Some(StudyInstanceUid::new("1.2.3").unwrap()),
                series_uid: None,
                patient_id: Some(PatientId::new("PID-1").unwrap()),
                details: BTreeMap::from([
                    ("sourcePatientId".to_owned(), "PID-0".to_owned()),
                    ("reason".to_owned(), "duplicate".to_owned()),
                ]),
            },
            occurred_at: SystemTime::UNIX_EPOCH,
        };
        let plain = line(&r, false);
        assert!(!plain.contains("PID-"), "{plain}");
        assert!(plain.contains("\"reason\":\"duplicate\""), "{plain}");
        assert!(
            plain.contains("\"occurredAt\":\"1970-01-01T00:00:00.000Z\""),
            "{plain}"
        );
        let full = line(&r, true);
        assert!(full.contains("\"patientId\":\"PID-1\""), "{full}");
        assert!(full.contains("\"sourcePatientId\":\"PID-0\""), "{full}");
    }
}

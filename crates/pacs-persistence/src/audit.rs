//! The audit log: who changed what, when, for which tenant (operators read it
//! with `pacs audit`). Written in the transaction of the change.

use diesel::prelude::*;
use pacs_domain::ids::{PatientId, SeriesInstanceUid, StudyInstanceUid, TenantName};
use pacs_domain::model::{EventType, NewAuditRecord};
use pacs_domain::ports::{AuditLog, AuditRecord, RepositoryError};

use crate::connection::{AnyConnection, Database};
use crate::events::parse;
use crate::schema::audit_log;
use crate::time::{from_db, to_db};

/// Appends `e` (in the transaction of the change it records).
pub(crate) fn record(
    c: &mut AnyConnection,
    tenant: &TenantName,
    e: &NewAuditRecord,
) -> QueryResult<()> {
    diesel::insert_into(audit_log::table)
        .values((
            audit_log::tenant.eq(tenant.as_str()),
            audit_log::actor.eq(&e.actor),
            audit_log::action.eq(e.action.as_str()),
            audit_log::study_uid.eq(e.study_uid.as_ref().map(|u| u.as_str())),
            audit_log::series_uid.eq(e.series_uid.as_ref().map(|u| u.as_str())),
            audit_log::patient_id.eq(e.patient_id.as_ref().map(|p| p.as_str())),
            audit_log::details
                .eq(serde_json::to_string(&e.details).unwrap_or_else(|_| "{}".into())),
            audit_log::occurred_at.eq(to_db(std::time::SystemTime::now())),
        ))
        .execute(c)?;
    Ok(())
}

type AuditTuple = (
    i64,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    String,
    chrono::NaiveDateTime,
);

impl AuditLog for Database {
    fn audit_after(
        &self,
        tenant: Option<&TenantName>,
        after: i64,
        limit: u32,
    ) -> Result<Vec<AuditRecord>, RepositoryError> {
        let rows: Vec<AuditTuple> = self.read(|c| {
            let mut q = audit_log::table
                .filter(audit_log::id.gt(after))
                .into_boxed();
            if let Some(t) = tenant {
                q = q.filter(audit_log::tenant.eq(t.as_str().to_owned()));
            }
            q.order(audit_log::id.asc())
                .limit(i64::from(limit))
                .select((
                    audit_log::id,
                    audit_log::tenant,
                    audit_log::actor,
                    audit_log::action,
                    audit_log::study_uid,
                    audit_log::series_uid,
                    audit_log::patient_id,
                    audit_log::details,
                    audit_log::occurred_at,
                ))
                .load(c)
        })?;
        rows.into_iter()
            .map(
                |(id, tenant, actor, action, study_uid, series_uid, patient_id, details, at)| {
                    let internal = |what: &str, e: &dyn std::fmt::Display| {
                        RepositoryError::internal(format!("invalid {what} in the audit log: {e}"))
                    };
                    Ok(AuditRecord {
                        id,
                        tenant: TenantName::new(&tenant).map_err(|e| internal("tenant", &e))?,
                        record: NewAuditRecord {
                            actor,
                            action: EventType::parse(&action)
                                .ok_or_else(|| internal("action", &action))?,
                            study_uid: parse(study_uid, StudyInstanceUid::new)?,
                            series_uid: parse(series_uid, SeriesInstanceUid::new)?,
                            patient_id: parse(patient_id, PatientId::new)?,
                            details: serde_json::from_str(&details).unwrap_or_default(),
                        },
                        occurred_at: from_db(at),
                    })
                },
            )
            .collect()
    }
}

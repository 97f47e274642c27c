//! The audit log: who changed what, when, for which tenant (operators read it
//! with `pacs audit`). Written in the transaction of the change.

use std::collections::BTreeMap;

use diesel::prelude::*;
use pacs_domain::ids::TenantName;
use pacs_domain::ports::{AuditLog, AuditRecord, RepositoryError};

use crate::connection::{AnyConnection, Database};
use crate::schema::audit_log;
use crate::time::{from_db, to_db};

/// One audit record to append.
#[derive(Debug, Default)]
pub(crate) struct AuditEntry<'a> {
    pub actor: &'a str,
    pub action: &'a str,
    pub study_uid: Option<&'a str>,
    pub series_uid: Option<&'a str>,
    pub patient_id: Option<&'a str>,
    pub details: BTreeMap<&'a str, String>,
}

pub(crate) fn record(
    c: &mut AnyConnection,
    tenant: &TenantName,
    e: &AuditEntry<'_>,
) -> QueryResult<()> {
    diesel::insert_into(audit_log::table)
        .values((
            audit_log::tenant.eq(tenant.as_str()),
            audit_log::actor.eq(e.actor),
            audit_log::action.eq(e.action),
            audit_log::study_uid.eq(e.study_uid),
            audit_log::series_uid.eq(e.series_uid),
            audit_log::patient_id.eq(e.patient_id),
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
        Ok(rows
            .into_iter()
            .map(
                |(id, tenant, actor, action, study_uid, series_uid, patient_id, details, at)| {
                    AuditRecord {
                        id,
                        tenant,
                        actor,
                        action,
                        study_uid,
                        series_uid,
                        patient_id,
                        details: serde_json::from_str(&details).unwrap_or_default(),
                        occurred_at: from_db(at),
                    }
                },
            )
            .collect())
    }
}

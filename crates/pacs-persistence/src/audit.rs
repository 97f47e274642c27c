//! The audit log: who changed what, when, for which tenant (operators read it
//! with `pacs audit`). Written in the transaction of the change.

use std::collections::BTreeMap;

use diesel::prelude::*;
use pacs_domain::ids::TenantName;

use crate::connection::AnyConnection;
use crate::schema::audit_log;
use crate::time::to_db;

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

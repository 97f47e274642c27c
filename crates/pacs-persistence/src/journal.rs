//! Writing a change's journal (its events and audit record), decided by the
//! use case, in the change's transaction.

use diesel::prelude::*;
use pacs_domain::ids::TenantName;
use pacs_domain::model::Journal;

use crate::connection::AnyConnection;

pub(crate) fn write(c: &mut AnyConnection, tenant: &TenantName, j: &Journal) -> QueryResult<()> {
    crate::events::append(c, tenant, &j.events)?;
    if let Some(a) = &j.audit {
        crate::audit::record(c, tenant, a)?;
    }
    Ok(())
}

//! Deprecation and recovery (the `DeprecationStore` port): rows are hidden by
//! pointing them at a deprecation record, never deleted; files stay.

use std::collections::BTreeMap;

use diesel::prelude::*;
use pacs_domain::ids::{SeriesInstanceUid, StudyInstanceUid, TenantName};
use pacs_domain::model::{Change, DeprecationOutcome, EventType, SeriesSelector, StudySelector};
use pacs_domain::ports::{DeprecationStore, RepositoryError};

use crate::audit::{AuditEntry, record};
use crate::connection::{AnyConnection, Database, Decision, TxError};
use crate::counters::{StudyRef, refresh_study, study_event, study_ref};
use crate::events::append;
use crate::ingest::insert_returning_id;
use crate::schema::{deprecations, instances, series, studies};
use crate::time::to_db;

fn new_record(
    c: &mut AnyConnection,
    tenant: &str,
    scope: &str,
    change: &Change,
) -> QueryResult<i64> {
    let now = to_db(std::time::SystemTime::now());
    let row = (
        deprecations::tenant.eq(tenant),
        deprecations::scope.eq(scope),
        deprecations::author.eq(&change.author),
        deprecations::reason.eq(change.reason.as_deref().unwrap_or("")),
        deprecations::created_at.eq(now),
    );
    insert_returning_id!(c, deprecations::table, row, deprecations::id)
}

fn audit(
    c: &mut AnyConnection,
    tenant: &TenantName,
    action: &str,
    study: &StudyRef,
    series: Option<&str>,
    change: &Change,
) -> QueryResult<()> {
    let mut details = BTreeMap::new();
    if let Some(r) = &change.reason {
        details.insert("reason", r.clone());
    }
    record(
        c,
        tenant,
        &AuditEntry {
            actor: &change.author,
            action,
            study_uid: Some(&study.uid),
            series_uid: series,
            patient_id: Some(&study.patient_id),
            details,
        },
    )
}

/// Series ids matching a selector, live (`deprecated` false) or the deprecated
/// ones not recovered, most recent deprecation first.
fn series_ids(
    c: &mut AnyConnection,
    tenant: &str,
    sel: &SeriesSelector,
    deprecated: bool,
) -> QueryResult<Vec<i64>> {
    let mut q = series::table
        .filter(series::tenant.eq(tenant))
        .select(series::id)
        .into_boxed();
    q = if deprecated {
        q.filter(series::deprecation_fk.is_not_null())
            .order(series::deprecation_fk.desc())
    } else {
        q.filter(series::deprecation_fk.is_null())
    };
    match sel {
        SeriesSelector::Uid(uid) => q
            .filter(series::series_uid.eq(uid.as_str().to_owned()))
            .load(c),
        SeriesSelector::ContainerIdentifier(barcode) => {
            let holders = instances::table
                .select(instances::series_fk)
                .filter(instances::tenant.eq(tenant))
                .filter(instances::container_identifier.eq(barcode.clone()));
            let mut ids: Vec<i64> = q.filter(series::id.eq_any(holders)).load(c)?;
            ids.dedup();
            Ok(ids)
        }
    }
}

pub(crate) fn study_ids(
    c: &mut AnyConnection,
    tenant: &str,
    sel: &StudySelector,
    deprecated: bool,
) -> QueryResult<Vec<i64>> {
    let mut q = studies::table
        .filter(studies::tenant.eq(tenant))
        .select(studies::id)
        .into_boxed();
    q = if deprecated {
        q.filter(studies::deprecation_fk.is_not_null())
            .order(studies::deprecation_fk.desc())
    } else {
        q.filter(studies::deprecation_fk.is_null())
    };
    match sel {
        StudySelector::Uid(uid) => q
            .filter(studies::study_uid.eq(uid.as_str().to_owned()))
            .load(c),
        StudySelector::AccessionNumber(acc) => {
            q.filter(studies::accession_number.eq(acc.clone())).load(c)
        }
    }
}

fn uid_of_series(c: &mut AnyConnection, id: i64) -> QueryResult<(String, i64)> {
    series::table
        .find(id)
        .select((series::series_uid, series::study_fk))
        .first(c)
}

fn series_uids(list: &[String]) -> Vec<SeriesInstanceUid> {
    list.iter()
        .filter_map(|u| SeriesInstanceUid::new(u).ok())
        .collect()
}

fn done(study: &StudyRef, series: &[String]) -> DeprecationOutcome {
    match StudyInstanceUid::new(&study.uid) {
        Ok(uid) => DeprecationOutcome::Done {
            study: uid,
            series: series_uids(series),
        },
        Err(_) => DeprecationOutcome::StudyNotFound,
    }
}

fn deprecate_series_tx(
    c: &mut AnyConnection,
    tenant: &TenantName,
    sel: &SeriesSelector,
    change: &Change,
) -> Result<Decision<DeprecationOutcome>, TxError> {
    let t = tenant.as_str();
    let ids = series_ids(c, t, sel, false)?;
    let id = match ids.as_slice() {
        [] => return Ok(Decision::Commit(DeprecationOutcome::SeriesNotFound)),
        [id] => *id,
        _ => return Ok(Decision::Commit(DeprecationOutcome::MultipleSeries)),
    };
    let (series_uid, study_id) = uid_of_series(c, id)?;
    let study_live: Option<i64> = studies::table
        .find(study_id)
        .filter(studies::deprecation_fk.is_null())
        .select(studies::id)
        .first(c)
        .optional()?;
    if study_live.is_none() {
        return Ok(Decision::Commit(DeprecationOutcome::StudyOfSeriesNotFound));
    }
    let record_id = new_record(c, t, "series", change)?;
    // Claim the series: a concurrent deprecation that got there first leaves
    // nothing to update, and this one is undone.
    let claimed = diesel::update(
        series::table
            .find(id)
            .filter(series::deprecation_fk.is_null()),
    )
    .set(series::deprecation_fk.eq(record_id))
    .execute(c)?;
    if claimed == 0 {
        return Ok(Decision::Rollback(DeprecationOutcome::SeriesNotFound));
    }
    diesel::update(
        instances::table
            .filter(instances::series_fk.eq(id))
            .filter(instances::deprecation_fk.is_null()),
    )
    .set(instances::deprecation_fk.eq(record_id))
    .execute(c)?;
    refresh_study(c, study_id)?;
    let study = study_ref(c, study_id)?;
    audit(
        c,
        tenant,
        "SERIES_DEPRECATED",
        &study,
        Some(&series_uid),
        change,
    )?;
    append(
        c,
        tenant,
        &[study_event(
            EventType::SeriesDeprecated,
            &study,
            Some(&series_uid),
            change,
        )],
    )?;
    Ok(Decision::Commit(done(&study, &[series_uid])))
}

fn deprecate_study_tx(
    c: &mut AnyConnection,
    tenant: &TenantName,
    sel: &StudySelector,
    change: &Change,
) -> Result<Decision<DeprecationOutcome>, TxError> {
    let t = tenant.as_str();
    let ids = study_ids(c, t, sel, false)?;
    let id = match ids.as_slice() {
        [] => return Ok(Decision::Commit(DeprecationOutcome::StudyNotFound)),
        [id] => *id,
        _ => return Ok(Decision::Commit(DeprecationOutcome::MultipleStudies)),
    };
    let record_id = new_record(c, t, "study", change)?;
    let claimed = diesel::update(
        studies::table
            .find(id)
            .filter(studies::deprecation_fk.is_null()),
    )
    .set(studies::deprecation_fk.eq(record_id))
    .execute(c)?;
    if claimed == 0 {
        return Ok(Decision::Rollback(DeprecationOutcome::StudyNotFound));
    }
    // One record for the whole study: every series hidden by it shares who,
    // when and why, and a recovery brings back exactly these.
    let live: Vec<(i64, String)> = series::table
        .filter(series::study_fk.eq(id))
        .filter(series::deprecation_fk.is_null())
        .select((series::id, series::series_uid))
        .load(c)?;
    let series_ids: Vec<i64> = live.iter().map(|s| s.0).collect();
    diesel::update(series::table.filter(series::id.eq_any(&series_ids)))
        .set(series::deprecation_fk.eq(record_id))
        .execute(c)?;
    diesel::update(
        instances::table
            .filter(instances::series_fk.eq_any(&series_ids))
            .filter(instances::deprecation_fk.is_null()),
    )
    .set(instances::deprecation_fk.eq(record_id))
    .execute(c)?;
    let study = study_ref(c, id)?;
    audit(c, tenant, "STUDY_DEPRECATED", &study, None, change)?;
    append(
        c,
        tenant,
        &[study_event(
            EventType::StudyDeprecated,
            &study,
            None,
            change,
        )],
    )?;
    let uids: Vec<String> = live.into_iter().map(|s| s.1).collect();
    Ok(Decision::Commit(done(&study, &uids)))
}

/// The first live SOP Instance UID among those `deprecation` hid in `series_ids`.
fn live_sop_clash(
    c: &mut AnyConnection,
    tenant: &str,
    series_ids: &[i64],
    deprecation: i64,
) -> QueryResult<Option<String>> {
    let hidden_ones = diesel::alias!(instances as hidden_ones);
    let hidden = hidden_ones
        .select(hidden_ones.field(instances::sop_uid))
        .filter(
            hidden_ones
                .field(instances::series_fk)
                .eq_any(series_ids.to_vec()),
        )
        .filter(hidden_ones.field(instances::deprecation_fk).eq(deprecation));
    instances::table
        .filter(instances::tenant.eq(tenant))
        .filter(instances::deprecation_fk.is_null())
        .filter(instances::sop_uid.eq_any(hidden))
        .select(instances::sop_uid)
        .first(c)
        .optional()
}

fn mark_recovered(c: &mut AnyConnection, record: i64, change: &Change) -> QueryResult<()> {
    diesel::update(deprecations::table.find(record))
        .set((
            deprecations::recovered_at.eq(Some(to_db(std::time::SystemTime::now()))),
            deprecations::recovered_by.eq(Some(&change.author)),
        ))
        .execute(c)?;
    Ok(())
}

fn recover_series_tx(
    c: &mut AnyConnection,
    tenant: &TenantName,
    sel: &SeriesSelector,
    change: &Change,
) -> Result<Decision<DeprecationOutcome>, TxError> {
    let t = tenant.as_str();
    let Some(&id) = series_ids(c, t, sel, true)?.first() else {
        return Ok(Decision::Commit(DeprecationOutcome::SeriesNotFound));
    };
    let (uid, study_id, record): (String, i64, Option<i64>) = series::table
        .find(id)
        .select((series::series_uid, series::study_fk, series::deprecation_fk))
        .first(c)?;
    let record = record.expect("selected as deprecated");
    let study_live: Option<i64> = studies::table
        .find(study_id)
        .filter(studies::deprecation_fk.is_null())
        .select(studies::id)
        .first(c)
        .optional()?;
    if study_live.is_none() {
        return Ok(Decision::Commit(DeprecationOutcome::StudyOfSeriesNotFound));
    }
    let live_twin: Option<i64> = series::table
        .filter(series::tenant.eq(t))
        .filter(series::series_uid.eq(&uid))
        .filter(series::deprecation_fk.is_null())
        .select(series::id)
        .first(c)
        .optional()?;
    if live_twin.is_some() {
        return Ok(Decision::Commit(DeprecationOutcome::LiveDataExists(
            format!("a live series {uid} was stored since"),
        )));
    }
    if let Some(sop) = live_sop_clash(c, t, &[id], record)? {
        return Ok(Decision::Commit(DeprecationOutcome::LiveDataExists(
            format!("a live instance {sop} was stored since"),
        )));
    }
    diesel::update(series::table.find(id))
        .set(series::deprecation_fk.eq(None::<i64>))
        .execute(c)?;
    diesel::update(
        instances::table
            .filter(instances::series_fk.eq(id))
            .filter(instances::deprecation_fk.eq(record)),
    )
    .set(instances::deprecation_fk.eq(None::<i64>))
    .execute(c)?;
    mark_recovered(c, record, change)?;
    refresh_study(c, study_id)?;
    let study = study_ref(c, study_id)?;
    audit(c, tenant, "SERIES_RECOVERED", &study, Some(&uid), change)?;
    append(
        c,
        tenant,
        &[study_event(
            EventType::SeriesRecovered,
            &study,
            Some(&uid),
            change,
        )],
    )?;
    Ok(Decision::Commit(done(&study, &[uid])))
}

fn recover_study_tx(
    c: &mut AnyConnection,
    tenant: &TenantName,
    sel: &StudySelector,
    change: &Change,
) -> Result<Decision<DeprecationOutcome>, TxError> {
    let t = tenant.as_str();
    let Some(&id) = study_ids(c, t, sel, true)?.first() else {
        return Ok(Decision::Commit(DeprecationOutcome::StudyNotFound));
    };
    let (uid, record): (String, Option<i64>) = studies::table
        .find(id)
        .select((studies::study_uid, studies::deprecation_fk))
        .first(c)?;
    let record = record.expect("selected as deprecated");
    let live_twin: Option<i64> = studies::table
        .filter(studies::tenant.eq(t))
        .filter(studies::study_uid.eq(&uid))
        .filter(studies::deprecation_fk.is_null())
        .select(studies::id)
        .first(c)
        .optional()?;
    if live_twin.is_some() {
        return Ok(Decision::Commit(DeprecationOutcome::LiveDataExists(
            format!("a live study {uid} was stored since"),
        )));
    }
    let hidden: Vec<(i64, String)> = series::table
        .filter(series::study_fk.eq(id))
        .filter(series::deprecation_fk.eq(record))
        .select((series::id, series::series_uid))
        .load(c)?;
    let ids: Vec<i64> = hidden.iter().map(|s| s.0).collect();
    let uids: Vec<String> = hidden.iter().map(|s| s.1.clone()).collect();
    let twin: Option<String> = series::table
        .filter(series::tenant.eq(t))
        .filter(series::deprecation_fk.is_null())
        .filter(series::series_uid.eq_any(&uids))
        .select(series::series_uid)
        .first(c)
        .optional()?;
    if let Some(s) = twin {
        return Ok(Decision::Commit(DeprecationOutcome::LiveDataExists(
            format!("a live series {s} was stored since"),
        )));
    }
    if let Some(sop) = live_sop_clash(c, t, &ids, record)? {
        return Ok(Decision::Commit(DeprecationOutcome::LiveDataExists(
            format!("a live instance {sop} was stored since"),
        )));
    }
    diesel::update(studies::table.find(id))
        .set(studies::deprecation_fk.eq(None::<i64>))
        .execute(c)?;
    diesel::update(series::table.filter(series::id.eq_any(&ids)))
        .set(series::deprecation_fk.eq(None::<i64>))
        .execute(c)?;
    diesel::update(
        instances::table
            .filter(instances::series_fk.eq_any(&ids))
            .filter(instances::deprecation_fk.eq(record)),
    )
    .set(instances::deprecation_fk.eq(None::<i64>))
    .execute(c)?;
    mark_recovered(c, record, change)?;
    refresh_study(c, id)?;
    let study = study_ref(c, id)?;
    audit(c, tenant, "STUDY_RECOVERED", &study, None, change)?;
    append(
        c,
        tenant,
        &[study_event(EventType::StudyRecovered, &study, None, change)],
    )?;
    Ok(Decision::Commit(done(&study, &uids)))
}

impl DeprecationStore for Database {
    fn deprecate_series(
        &self,
        tenant: &TenantName,
        series: &SeriesSelector,
        change: &Change,
    ) -> Result<DeprecationOutcome, RepositoryError> {
        self.decide(|c| deprecate_series_tx(c, tenant, series, change))
    }

    fn deprecate_study(
        &self,
        tenant: &TenantName,
        study: &StudySelector,
        change: &Change,
    ) -> Result<DeprecationOutcome, RepositoryError> {
        self.decide(|c| deprecate_study_tx(c, tenant, study, change))
    }

    fn recover_series(
        &self,
        tenant: &TenantName,
        series: &SeriesSelector,
        change: &Change,
    ) -> Result<DeprecationOutcome, RepositoryError> {
        self.decide(|c| recover_series_tx(c, tenant, series, change))
    }

    fn recover_study(
        &self,
        tenant: &TenantName,
        study: &StudySelector,
        change: &Change,
    ) -> Result<DeprecationOutcome, RepositoryError> {
        self.decide(|c| recover_study_tx(c, tenant, study, change))
    }
}

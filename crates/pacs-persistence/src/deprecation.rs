//! Deprecation and recovery (the `DeprecationStore` port): rows are hidden by
//! pointing them at a deprecation record, never deleted; files stay.

use diesel::prelude::*;
use pacs_domain::ids::{SeriesInstanceUid, TenantName};
use pacs_domain::model::{
    Change, Deprecated, DeprecationAction, DeprecationOutcome, DeprecationTarget, Recorder,
    SeriesSelector, StudySelector,
};
use pacs_domain::ports::{DeprecationStore, RepositoryError};

use crate::connection::{AnyConnection, Database, Decision, TxError};
use crate::counters::refresh_study;
use crate::inserts::insert_returning_id;
use crate::lookup::{corrupt, study_ids, study_ref};
use crate::schema::{deprecations, instances, series, studies};
use crate::time::to_db;

/// What one change did to the rows.
enum Step {
    /// Changed: the study row and the UIDs of the series concerned.
    Changed { study: i64, series: Vec<String> },
    /// Nothing to change: the outcome says why.
    Refused(DeprecationOutcome),
    /// A concurrent change got there first: what was written is undone.
    Undone(DeprecationOutcome),
}

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

/// Series ids matching a selector, live (`deprecated` false) or the deprecated
/// ones, most recent deprecation first.
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

/// A series row: its UID, its study and its deprecation record.
fn series_row(c: &mut AnyConnection, id: i64) -> QueryResult<(String, i64, Option<i64>)> {
    series::table
        .find(id)
        .select((series::series_uid, series::study_fk, series::deprecation_fk))
        .first(c)
}

fn study_is_live(c: &mut AnyConnection, id: i64) -> QueryResult<bool> {
    let live: Option<i64> = studies::table
        .find(id)
        .filter(studies::deprecation_fk.is_null())
        .select(studies::id)
        .first(c)
        .optional()?;
    Ok(live.is_some())
}

/// Points the still-live instances of `series_ids` at `record`, or (`record`
/// `None`) brings back those that `hidden_by` hid.
fn set_instances(
    c: &mut AnyConnection,
    series_ids: &[i64],
    hidden_by: Option<i64>,
    record: Option<i64>,
) -> QueryResult<usize> {
    let of_series = instances::table.filter(instances::series_fk.eq_any(series_ids.to_vec()));
    match hidden_by {
        None => diesel::update(of_series.filter(instances::deprecation_fk.is_null()))
            .set(instances::deprecation_fk.eq(record))
            .execute(c),
        Some(by) => diesel::update(of_series.filter(instances::deprecation_fk.eq(by)))
            .set(instances::deprecation_fk.eq(record))
            .execute(c),
    }
}

fn deprecate_series(
    c: &mut AnyConnection,
    t: &str,
    sel: &SeriesSelector,
    change: &Change,
) -> QueryResult<Step> {
    let id = match series_ids(c, t, sel, false)?.as_slice() {
        [] => return Ok(Step::Refused(DeprecationOutcome::SeriesNotFound)),
        [id] => *id,
        _ => return Ok(Step::Refused(DeprecationOutcome::MultipleSeries)),
    };
    let (uid, study, _) = series_row(c, id)?;
    if !study_is_live(c, study)? {
        return Ok(Step::Refused(DeprecationOutcome::StudyOfSeriesNotFound));
    }
    let record = new_record(c, t, "series", change)?;
    // Claim the series: a concurrent deprecation that got there first leaves
    // nothing to update, and this one is undone.
    let claimed = diesel::update(
        series::table
            .find(id)
            .filter(series::deprecation_fk.is_null()),
    )
    .set(series::deprecation_fk.eq(record))
    .execute(c)?;
    if claimed == 0 {
        return Ok(Step::Undone(DeprecationOutcome::SeriesNotFound));
    }
    set_instances(c, &[id], None, Some(record))?;
    refresh_study(c, study)?;
    Ok(Step::Changed {
        study,
        series: vec![uid],
    })
}

fn deprecate_study(
    c: &mut AnyConnection,
    t: &str,
    sel: &StudySelector,
    change: &Change,
) -> QueryResult<Step> {
    let id = match study_ids(c, t, sel, false)?.as_slice() {
        [] => return Ok(Step::Refused(DeprecationOutcome::StudyNotFound)),
        [id] => *id,
        _ => return Ok(Step::Refused(DeprecationOutcome::MultipleStudies)),
    };
    let record = new_record(c, t, "study", change)?;
    let claimed = diesel::update(
        studies::table
            .find(id)
            .filter(studies::deprecation_fk.is_null()),
    )
    .set(studies::deprecation_fk.eq(record))
    .execute(c)?;
    if claimed == 0 {
        return Ok(Step::Undone(DeprecationOutcome::StudyNotFound));
    }
    // One record for the whole study: every series hidden by it shares who,
    // when and why, and a recovery brings back exactly these.
    let live: Vec<(i64, String)> = series::table
        .filter(series::study_fk.eq(id))
        .filter(series::deprecation_fk.is_null())
        .select((series::id, series::series_uid))
        .order(series::id)
        .load(c)?;
    let (ids, uids): (Vec<i64>, Vec<String>) = live.into_iter().unzip();
    diesel::update(series::table.filter(series::id.eq_any(&ids)))
        .set(series::deprecation_fk.eq(record))
        .execute(c)?;
    set_instances(c, &ids, None, Some(record))?;
    Ok(Step::Changed {
        study: id,
        series: uids,
    })
}

/// Why the series `series_ids` (with their instances), hidden by `record`,
/// cannot come back: live data with their UIDs stored since.
fn live_twin(
    c: &mut AnyConnection,
    tenant: &str,
    series_ids: &[i64],
    series_uids: &[String],
    record: i64,
) -> QueryResult<Option<DeprecationOutcome>> {
    let twin: Option<String> = series::table
        .filter(series::tenant.eq(tenant))
        .filter(series::deprecation_fk.is_null())
        .filter(series::series_uid.eq_any(series_uids))
        .select(series::series_uid)
        .first(c)
        .optional()?;
    if let Some(s) = twin {
        return Ok(Some(DeprecationOutcome::LiveDataExists(format!(
            "a live series {s} was stored since"
        ))));
    }
    let hidden_ones = diesel::alias!(instances as hidden_ones);
    let hidden = hidden_ones
        .select(hidden_ones.field(instances::sop_uid))
        .filter(
            hidden_ones
                .field(instances::series_fk)
                .eq_any(series_ids.to_vec()),
        )
        .filter(hidden_ones.field(instances::deprecation_fk).eq(record));
    let sop: Option<String> = instances::table
        .filter(instances::tenant.eq(tenant))
        .filter(instances::deprecation_fk.is_null())
        .filter(instances::sop_uid.eq_any(hidden))
        .select(instances::sop_uid)
        .first(c)
        .optional()?;
    Ok(sop.map(|sop| {
        DeprecationOutcome::LiveDataExists(format!("a live instance {sop} was stored since"))
    }))
}

/// Brings back the series `ids` and their instances that `record` hid, and
/// closes the record.
fn bring_back(c: &mut AnyConnection, ids: &[i64], record: i64, change: &Change) -> QueryResult<()> {
    diesel::update(series::table.filter(series::id.eq_any(ids)))
        .set(series::deprecation_fk.eq(None::<i64>))
        .execute(c)?;
    set_instances(c, ids, Some(record), None)?;
    diesel::update(deprecations::table.find(record))
        .set((
            deprecations::recovered_at.eq(Some(to_db(std::time::SystemTime::now()))),
            deprecations::recovered_by.eq(Some(&change.author)),
        ))
        .execute(c)?;
    Ok(())
}

fn recover_series(
    c: &mut AnyConnection,
    t: &str,
    sel: &SeriesSelector,
    change: &Change,
) -> QueryResult<Step> {
    let Some(&id) = series_ids(c, t, sel, true)?.first() else {
        return Ok(Step::Refused(DeprecationOutcome::SeriesNotFound));
    };
    let (uid, study, record) = series_row(c, id)?;
    let record = record.expect("selected as deprecated");
    if !study_is_live(c, study)? {
        return Ok(Step::Refused(DeprecationOutcome::StudyOfSeriesNotFound));
    }
    let uids = vec![uid];
    if let Some(refused) = live_twin(c, t, &[id], &uids, record)? {
        return Ok(Step::Refused(refused));
    }
    bring_back(c, &[id], record, change)?;
    refresh_study(c, study)?;
    Ok(Step::Changed {
        study,
        series: uids,
    })
}

fn recover_study(
    c: &mut AnyConnection,
    t: &str,
    sel: &StudySelector,
    change: &Change,
) -> QueryResult<Step> {
    let Some(&id) = study_ids(c, t, sel, true)?.first() else {
        return Ok(Step::Refused(DeprecationOutcome::StudyNotFound));
    };
    let (uid, record): (String, Option<i64>) = studies::table
        .find(id)
        .select((studies::study_uid, studies::deprecation_fk))
        .first(c)?;
    let record = record.expect("selected as deprecated");
    let twin: Option<i64> = studies::table
        .filter(studies::tenant.eq(t))
        .filter(studies::study_uid.eq(&uid))
        .filter(studies::deprecation_fk.is_null())
        .select(studies::id)
        .first(c)
        .optional()?;
    if twin.is_some() {
        return Ok(Step::Refused(DeprecationOutcome::LiveDataExists(format!(
            "a live study {uid} was stored since"
        ))));
    }
    let hidden: Vec<(i64, String)> = series::table
        .filter(series::study_fk.eq(id))
        .filter(series::deprecation_fk.eq(record))
        .select((series::id, series::series_uid))
        .order(series::id)
        .load(c)?;
    let (ids, uids): (Vec<i64>, Vec<String>) = hidden.into_iter().unzip();
    if let Some(refused) = live_twin(c, t, &ids, &uids, record)? {
        return Ok(Step::Refused(refused));
    }
    diesel::update(studies::table.find(id))
        .set(studies::deprecation_fk.eq(None::<i64>))
        .execute(c)?;
    bring_back(c, &ids, record, change)?;
    refresh_study(c, id)?;
    Ok(Step::Changed {
        study: id,
        series: uids,
    })
}

impl DeprecationStore for Database {
    fn change_deprecation(
        &self,
        tenant: &TenantName,
        action: DeprecationAction,
        target: &DeprecationTarget,
        change: &Change,
        journal: Recorder<'_, Deprecated>,
    ) -> Result<DeprecationOutcome, RepositoryError> {
        let t = tenant.as_str();
        self.decide(|c| {
            let step = match (action, target) {
                (DeprecationAction::Deprecate, DeprecationTarget::Series(s)) => {
                    deprecate_series(c, t, s, change)?
                }
                (DeprecationAction::Deprecate, DeprecationTarget::Study(s)) => {
                    deprecate_study(c, t, s, change)?
                }
                (DeprecationAction::Recover, DeprecationTarget::Series(s)) => {
                    recover_series(c, t, s, change)?
                }
                (DeprecationAction::Recover, DeprecationTarget::Study(s)) => {
                    recover_study(c, t, s, change)?
                }
            };
            let (study, series) = match step {
                Step::Refused(outcome) => return Ok(Decision::Commit(outcome)),
                Step::Undone(outcome) => return Ok(Decision::Rollback(outcome)),
                Step::Changed { study, series } => (study, series),
            };
            let facts = Deprecated {
                study: study_ref(c, study)?,
                series: series
                    .iter()
                    .map(|u| SeriesInstanceUid::new(u).map_err(corrupt))
                    .collect::<QueryResult<_>>()?,
            };
            crate::journal::write(c, tenant, &journal(&facts))?;
            Ok::<_, TxError>(Decision::Commit(DeprecationOutcome::Done {
                study: facts.study.uid,
                series: facts.series,
            }))
        })
    }
}

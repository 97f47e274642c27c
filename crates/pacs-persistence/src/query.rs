//! QIDO matching against the index (the `QueryIndex` port).
//!
//! Keys of the query's level and the levels above it filter the joined rows
//! directly; keys one level below filter through a sub-select of matching ids
//! (e.g. `Modality` at study level: studies having such a series).

use std::collections::HashMap;

use diesel::prelude::*;
use pacs_domain::ids::TenantName;
use pacs_domain::model::{Matcher, Query, QueryKey, QueryLevel, QueryMatch};
use pacs_domain::ports::{QueryIndex, RepositoryError};

use crate::connection::{AnyConnection, Database};
use crate::rows::{InstanceRow, PatientRow, SeriesRow, StudyRow, live_instances};
use crate::schema::{instances, patients, series, studies};

/// DICOM wildcards to an SQL LIKE pattern with `\` as escape character.
pub(crate) fn like_pattern(dicom: &str) -> String {
    let mut out = String::with_capacity(dicom.len() + 4);
    for ch in dicom.chars() {
        match ch {
            '*' => out.push('%'),
            '?' => out.push('_'),
            '%' | '_' | '\\' => {
                out.push('\\');
                out.push(ch);
            }
            c => out.push(c),
        }
    }
    out
}

/// Builds the condition of a matcher on a text column, binds it to `$c` and
/// evaluates `$apply` (each matcher gives a condition of another type).
macro_rules! cond {
    ($col:expr, $m:expr, |$c:ident| $apply:expr) => {
        match $m {
            Matcher::Exact(v) => {
                let $c = $col.eq(v.clone());
                $apply
            }
            Matcher::Wildcard(p) => {
                let $c = $col.like(like_pattern(p)).escape('\\');
                $apply
            }
            Matcher::List(vs) => {
                let $c = $col.eq_any(vs.clone());
                $apply
            }
            Matcher::Range {
                from: Some(f),
                to: Some(t),
            } => {
                let $c = $col.ge(f.clone()).and($col.le(t.clone()));
                $apply
            }
            Matcher::Range {
                from: Some(f),
                to: None,
            } => {
                let $c = $col.ge(f.clone());
                $apply
            }
            Matcher::Range {
                from: None,
                to: Some(t),
            } => {
                let $c = $col.le(t.clone());
                $apply
            }
            Matcher::Range {
                from: None,
                to: None,
            } => {}
        }
    };
}

/// Person names match without regard to case (on the lower-cased column).
fn lowered(m: &Matcher) -> Matcher {
    match m {
        Matcher::Exact(v) => Matcher::Exact(v.to_lowercase()),
        Matcher::Wildcard(v) => Matcher::Wildcard(v.to_lowercase()),
        Matcher::List(vs) => Matcher::List(vs.iter().map(|v| v.to_lowercase()).collect()),
        other => other.clone(),
    }
}

/// Integer attributes (IS): single value or list.
fn ints(m: &Matcher) -> Vec<i32> {
    match m {
        Matcher::Exact(v) => v.trim().parse().into_iter().collect(),
        Matcher::List(vs) => vs.iter().filter_map(|v| v.trim().parse().ok()).collect(),
        _ => Vec::new(),
    }
}

/// The condition of a matcher on a column of one kind: `text` (any matcher),
/// `lowered` (person names, matched without regard to case) or `int` (IS
/// values: one or a list), bound to `$c` for `$apply`.
macro_rules! column_cond {
    (text, $col:expr, $m:expr, |$c:ident| $apply:expr) => {
        cond!($col, $m, |$c| $apply)
    };
    (lowered, $col:expr, $m:expr, |$c:ident| $apply:expr) => {
        cond!($col, &lowered($m), |$c| $apply)
    };
    (int, $col:expr, $m:expr, |$c:ident| $apply:expr) => {{
        let $c = $col.eq_any(ints($m));
        $apply;
    }};
}

/// Applies the matcher of `$key` when the key is one of the listed ones (each
/// with its column), and says whether it was.
macro_rules! key_columns {
    ($key:expr, $m:expr, |$c:ident| $apply:expr, [$($k:pat => $kind:ident $col:expr),* $(,)?]) => {
        match $key {
            $(
                $k => {
                    column_cond!($kind, $col, $m, |$c| $apply);
                    true
                }
            )*
            _ => false,
        }
    };
}

/// Applies the matcher of `$key` when the key belongs to the level (`patient`,
/// `study`, `series` or `instance`), and says whether it did.
macro_rules! level_key {
    (patient, $key:expr, $m:expr, |$c:ident| $apply:expr) => {
        key_columns!($key, $m, |$c| $apply, [
            QueryKey::PatientId => text patients::patient_id,
            QueryKey::IssuerOfPatientId => text patients::issuer,
            QueryKey::PatientName => lowered patients::patient_name_lc,
            QueryKey::PatientBirthDate => text patients::birth_date,
            QueryKey::PatientSex => text patients::sex,
        ])
    };
    (study, $key:expr, $m:expr, |$c:ident| $apply:expr) => {
        key_columns!($key, $m, |$c| $apply, [
            QueryKey::StudyInstanceUid => text studies::study_uid,
            QueryKey::StudyDate => text studies::study_date,
            QueryKey::StudyTime => text studies::study_time,
            QueryKey::AccessionNumber => text studies::accession_number,
            QueryKey::StudyId => text studies::study_id,
            QueryKey::StudyDescription => text studies::study_description,
            QueryKey::ReferringPhysicianName => text studies::referring_physician,
        ])
    };
    (series, $key:expr, $m:expr, |$c:ident| $apply:expr) => {
        key_columns!($key, $m, |$c| $apply, [
            QueryKey::SeriesInstanceUid => text series::series_uid,
            QueryKey::Modality | QueryKey::ModalitiesInStudy => text series::modality,
            QueryKey::SeriesNumber => int series::series_number,
            QueryKey::SeriesDescription => text series::series_description,
            QueryKey::BodyPartExamined => text series::body_part,
            QueryKey::StationName => text series::station_name,
            QueryKey::PerformedProcedureStepStartDate => text series::performed_start_date,
            QueryKey::PerformedProcedureStepStartTime => text series::performed_start_time,
        ])
    };
    (instance, $key:expr, $m:expr, |$c:ident| $apply:expr) => {
        key_columns!($key, $m, |$c| $apply, [
            QueryKey::SopInstanceUid => text instances::sop_uid,
            QueryKey::SopClassUid => text instances::sop_class_uid,
            QueryKey::InstanceNumber => int instances::instance_number,
            QueryKey::ContainerIdentifier => text instances::container_identifier,
        ])
    };
}

/// `ModalitiesInStudy` below study level: studies having a live series of that
/// modality. The outer query already joins `series`: match on an alias of it.
macro_rules! modalities_in_study {
    ($q:ident, $m:expr) => {{
        let other = diesel::alias!(series as other_series);
        cond!(other.field(series::modality), $m, |c| $q = $q.filter(
            studies::id.eq_any(
                other
                    .select(other.field(series::study_fk))
                    .filter(other.field(series::deprecation_fk).is_null())
                    .filter(c),
            )
        ));
    }};
}

/// Rows (`$id`) having a live row of `$below` (by its `$fk`) that satisfies
/// `$cond`: a key one level below the query's.
macro_rules! having_live {
    ($id:expr, $below:ident . $fk:ident, $cond:expr) => {
        $id.eq_any(
            $below::table
                .select($below::$fk)
                .filter($below::deprecation_fk.is_null())
                .filter($cond),
        )
    };
}

/// The patients' tenant (see [`has_patient_key`]) and the study a query is
/// scoped to, on a query that joins both.
macro_rules! scope {
    ($q:ident, $tenant:expr, $query:expr) => {
        if has_patient_key($query) {
            $q = $q.filter(patients::tenant.eq($tenant));
        }
        if let Some(study) = &$query.scope.study {
            $q = $q.filter(studies::study_uid.eq(study.as_str().to_owned()));
        }
    };
}

/// Patients are filtered by tenant only when a patient key is matched: the
/// constraint then lets the patient index drive the join; otherwise it tempts
/// SQLite into reading every patient of the tenant and sorting.
fn has_patient_key(query: &Query) -> bool {
    query
        .filters
        .iter()
        .any(|(k, _)| k.level() == QueryLevel::Patient)
}

fn page(query: &Query) -> (i64, i64) {
    let limit = query.limit.map(i64::from).unwrap_or(i64::MAX / 2);
    (limit, i64::from(query.offset))
}

fn query_studies(
    c: &mut AnyConnection,
    tenant: &str,
    query: &Query,
) -> QueryResult<Vec<(StudyRow, PatientRow)>> {
    let mut q = studies::table
        .inner_join(patients::table)
        .filter(studies::tenant.eq(tenant))
        .filter(studies::deprecation_fk.is_null())
        .filter(studies::num_series.gt(0))
        .select((StudyRow::as_select(), PatientRow::as_select()))
        .into_boxed();
    scope!(q, tenant, query);
    for (key, m) in &query.filters {
        let _ = level_key!(patient, key, m, |c| q = q.filter(c))
            || level_key!(study, key, m, |c| q = q.filter(c))
            || level_key!(series, key, m, |c| q =
                q.filter(having_live!(studies::id, series.study_fk, c)));
    }
    let (limit, offset) = page(query);
    q.order(studies::id.asc())
        .limit(limit)
        .offset(offset)
        .load(c)
}

fn query_series(
    c: &mut AnyConnection,
    tenant: &str,
    query: &Query,
) -> QueryResult<Vec<(SeriesRow, StudyRow, PatientRow)>> {
    let mut q = series::table
        .inner_join(studies::table.inner_join(patients::table))
        .filter(series::tenant.eq(tenant))
        .filter(series::deprecation_fk.is_null())
        .filter(studies::deprecation_fk.is_null())
        .select((
            SeriesRow::as_select(),
            StudyRow::as_select(),
            PatientRow::as_select(),
        ))
        .into_boxed();
    scope!(q, tenant, query);
    for (key, m) in &query.filters {
        if *key == QueryKey::ModalitiesInStudy {
            modalities_in_study!(q, m);
            continue;
        }
        let _ = level_key!(patient, key, m, |c| q = q.filter(c))
            || level_key!(study, key, m, |c| q = q.filter(c))
            || level_key!(series, key, m, |c| q = q.filter(c))
            || level_key!(instance, key, m, |c| q =
                q.filter(having_live!(series::id, instances.series_fk, c)));
    }
    let (limit, offset) = page(query);
    q.order(series::id.asc())
        .limit(limit)
        .offset(offset)
        .load(c)
}

type InstanceTuple = (InstanceRow, SeriesRow, StudyRow, PatientRow);

fn query_instances(
    c: &mut AnyConnection,
    tenant: &str,
    query: &Query,
) -> QueryResult<Vec<InstanceTuple>> {
    let mut q = live_instances!(tenant);
    scope!(q, tenant, query);
    if let Some(s) = &query.scope.series {
        q = q.filter(series::series_uid.eq(s.as_str().to_owned()));
    }
    for (key, m) in &query.filters {
        if *key == QueryKey::ModalitiesInStudy {
            modalities_in_study!(q, m);
            continue;
        }
        let _ = level_key!(patient, key, m, |c| q = q.filter(c))
            || level_key!(study, key, m, |c| q = q.filter(c))
            || level_key!(series, key, m, |c| q = q.filter(c))
            || level_key!(instance, key, m, |c| q = q.filter(c));
    }
    let (limit, offset) = page(query);
    q.order((
        series::id.asc(),
        instances::instance_number.asc(),
        instances::id.asc(),
    ))
    .limit(limit)
    .offset(offset)
    .load(c)
}

fn query_patients(
    c: &mut AnyConnection,
    tenant: &str,
    query: &Query,
) -> QueryResult<Vec<PatientRow>> {
    let mut q = patients::table
        .filter(patients::tenant.eq(tenant))
        .filter(patients::merged_into.is_null())
        .select(PatientRow::as_select())
        .into_boxed();
    for (key, m) in &query.filters {
        let _ = level_key!(patient, key, m, |c| q = q.filter(c))
            || level_key!(study, key, m, |c| q =
                q.filter(having_live!(patients::id, studies.patient_fk, c)));
    }
    let (limit, offset) = page(query);
    q.order(patients::id.asc())
        .limit(limit)
        .offset(offset)
        .load(c)
}

fn headers_of(c: &mut AnyConnection, ids: Vec<i64>) -> QueryResult<HashMap<i64, String>> {
    Ok(instances::table
        .filter(instances::id.eq_any(ids))
        .select((instances::id, instances::header_json))
        .load::<(i64, String)>(c)?
        .into_iter()
        .collect())
}

/// The first live instance of a study or series, whose header stands for it.
fn representative_header(
    c: &mut AnyConnection,
    study: i64,
    series_id: Option<i64>,
) -> QueryResult<Option<String>> {
    let mut q = instances::table
        .inner_join(series::table)
        .filter(series::study_fk.eq(study))
        .filter(instances::deprecation_fk.is_null())
        .filter(series::deprecation_fk.is_null())
        .select(instances::header_json)
        .into_boxed();
    if let Some(s) = series_id {
        q = q.filter(series::id.eq(s));
    }
    q.order(instances::id.asc()).first(c).optional()
}

fn studies_per_patient(c: &mut AnyConnection, ids: Vec<i64>) -> QueryResult<HashMap<i64, i64>> {
    use diesel::dsl::count_star;
    Ok(studies::table
        .filter(studies::patient_fk.eq_any(ids))
        .filter(studies::deprecation_fk.is_null())
        .filter(studies::num_series.gt(0))
        .group_by(studies::patient_fk)
        .select((studies::patient_fk, count_star()))
        .load::<(i64, i64)>(c)?
        .into_iter()
        .collect())
}

impl QueryIndex for Database {
    fn query(
        &self,
        tenant: &TenantName,
        query: &Query,
    ) -> Result<Vec<QueryMatch>, RepositoryError> {
        let t = tenant.as_str();
        match query.level {
            QueryLevel::Patient => {
                let (rows, counts) = self.read(|c| {
                    let rows = query_patients(c, t, query)?;
                    let counts = studies_per_patient(c, rows.iter().map(|p| p.id).collect())?;
                    Ok((rows, counts))
                })?;
                rows.iter()
                    .map(|p| {
                        Ok(QueryMatch {
                            patient: p.to_domain()?,
                            patient_num_studies: counts.get(&p.id).copied().unwrap_or(0),
                            study: None,
                            series: None,
                            instance: None,
                            header_json: None,
                        })
                    })
                    .collect()
            }
            QueryLevel::Study => {
                let rows = self.read(|c| {
                    let rows = query_studies(c, t, query)?;
                    let mut out = Vec::with_capacity(rows.len());
                    for (s, p) in rows {
                        let header = if query.with_header {
                            representative_header(c, s.id, None)?
                        } else {
                            None
                        };
                        out.push((s, p, header));
                    }
                    Ok(out)
                })?;
                rows.into_iter()
                    .map(|(s, p, header_json)| {
                        Ok(QueryMatch {
                            patient: p.to_domain()?,
                            patient_num_studies: 0,
                            study: Some((s.to_domain()?, s.stats())),
                            series: None,
                            instance: None,
                            header_json,
                        })
                    })
                    .collect()
            }
            QueryLevel::Series => {
                let rows = self.read(|c| {
                    let rows = query_series(c, t, query)?;
                    let mut out = Vec::with_capacity(rows.len());
                    for (se, st, p) in rows {
                        let header = if query.with_header {
                            representative_header(c, st.id, Some(se.id))?
                        } else {
                            None
                        };
                        out.push((se, st, p, header));
                    }
                    Ok(out)
                })?;
                rows.into_iter()
                    .map(|(se, st, p, header_json)| {
                        Ok(QueryMatch {
                            patient: p.to_domain()?,
                            patient_num_studies: 0,
                            study: Some((st.to_domain()?, st.stats())),
                            series: Some((se.to_domain()?, se.stats())),
                            instance: None,
                            header_json,
                        })
                    })
                    .collect()
            }
            QueryLevel::Instance => {
                let (rows, mut headers) = self.read(|c| {
                    let rows = query_instances(c, t, query)?;
                    let headers = if query.with_header {
                        headers_of(c, rows.iter().map(|r| r.0.id).collect())?
                    } else {
                        HashMap::new()
                    };
                    Ok((rows, headers))
                })?;
                rows.into_iter()
                    .map(|(i, se, st, p)| {
                        Ok(QueryMatch {
                            patient: p.to_domain()?,
                            patient_num_studies: 0,
                            study: Some((st.to_domain()?, st.stats())),
                            series: Some((se.to_domain()?, se.stats())),
                            instance: Some(i.to_domain()?),
                            header_json: headers.remove(&i.id),
                        })
                    })
                    .collect()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::like_pattern;

    #[test]
    fn wildcards_become_like_patterns() {
        assert_eq!(like_pattern("DOE*"), "DOE%");
        assert_eq!(like_pattern("D?E"), "D_E");
        assert_eq!(like_pattern("50%_a\\b*"), "50\\%\\_a\\\\b%");
    }
}

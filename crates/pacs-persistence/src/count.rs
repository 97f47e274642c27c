//! `GET /studies/count`: one indexed query.

use diesel::prelude::*;
use pacs_domain::ids::TenantName;
use pacs_domain::model::CountFilter;
use pacs_domain::ports::{RepositoryError, StudyCounter};

use crate::connection::Database;
use crate::schema::{series, studies};
use crate::time::to_db;

/// Studies having a live series whose `$col` is one of `$values`.
macro_rules! having_series {
    ($tenant:expr, $col:expr, $values:expr) => {
        studies::id.eq_any(
            series::table
                .select(series::study_fk)
                .filter(series::tenant.eq($tenant))
                .filter(series::deprecation_fk.is_null())
                .filter($col.eq_any($values)),
        )
    };
}

impl StudyCounter for Database {
    fn count_studies(&self, tenant: &TenantName, f: &CountFilter) -> Result<u64, RepositoryError> {
        let t = tenant.as_str();
        let n: i64 = self.read(|c| {
            let mut q = studies::table
                .filter(studies::tenant.eq(t))
                .filter(studies::deprecation_fk.is_null())
                .filter(studies::num_series.gt(0))
                .into_boxed();
            if let Some(from) = f.received_from {
                q = q.filter(studies::received_at.ge(to_db(from)));
            }
            if let Some(to) = f.received_to {
                q = q.filter(studies::received_at.lt(to_db(to)));
            }
            if let Some(min) = f.size_min {
                q = q.filter(studies::size_bytes.ge(min));
            }
            if let Some(max) = f.size_max {
                q = q.filter(studies::size_bytes.le(max));
            }
            if !f.aets.is_empty() {
                q = q.filter(having_series!(t, series::calling_aet, f.aets.clone()));
            }
            if !f.exclude_aets.is_empty() {
                q = q.filter(diesel::dsl::not(having_series!(
                    t,
                    series::calling_aet,
                    f.exclude_aets.clone()
                )));
            }
            if !f.stations.is_empty() {
                q = q.filter(having_series!(t, series::station_name, f.stations.clone()));
            }
            if !f.exclude_stations.is_empty() {
                q = q.filter(diesel::dsl::not(having_series!(
                    t,
                    series::station_name,
                    f.exclude_stations.clone()
                )));
            }
            q.count().get_result(c)
        })?;
        Ok(u64::try_from(n).unwrap_or(0))
    }
}

//! Study counters over live series and instances: recomputed after changes
//! that move or hide series, kept up to date by indexing.

use diesel::prelude::*;

use crate::connection::AnyConnection;
use crate::schema::{series, studies};
use crate::time::to_db;

/// Recomputes a study's number of live series and instances, size and
/// modalities from its live series.
pub(crate) fn refresh_study(c: &mut AnyConnection, study: i64) -> QueryResult<()> {
    let live: Vec<(Option<String>, i64, i64)> = series::table
        .filter(series::study_fk.eq(study))
        .filter(series::deprecation_fk.is_null())
        .select((series::modality, series::num_instances, series::size_bytes))
        .load(c)?;
    let mut modalities: Vec<&str> = live
        .iter()
        .filter_map(|(m, _, _)| m.as_deref())
        .filter(|m| !m.is_empty())
        .collect();
    modalities.sort_unstable();
    modalities.dedup();
    diesel::update(studies::table.find(study))
        .set((
            studies::num_series.eq(live.len() as i64),
            studies::num_instances.eq(live.iter().map(|s| s.1).sum::<i64>()),
            studies::size_bytes.eq(live.iter().map(|s| s.2).sum::<i64>()),
            studies::modalities.eq(modalities.join("\\")),
            studies::updated_at.eq(to_db(std::time::SystemTime::now())),
        ))
        .execute(c)?;
    Ok(())
}

/// Adds `modality` to a `\`-separated set, keeping it sorted.
pub(crate) fn add_modality(set: &str, modality: Option<&str>) -> String {
    let mut all: Vec<&str> = set.split('\\').filter(|m| !m.is_empty()).collect();
    if let Some(m) = modality.filter(|m| !m.is_empty() && !all.contains(m)) {
        all.push(m);
    }
    all.sort_unstable();
    all.join("\\")
}

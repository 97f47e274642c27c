//! Study counters over live series and instances, recomputed after changes
//! that move or hide series.

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

/// The study a change concerns, as events and the audit log name it.
pub(crate) struct StudyRef {
    pub uid: String,
    pub patient_id: String,
    pub accession: Option<String>,
}

pub(crate) fn study_ref(c: &mut AnyConnection, id: i64) -> QueryResult<StudyRef> {
    use crate::schema::patients;
    let (uid, patient_id, accession): (String, String, Option<String>) = studies::table
        .inner_join(patients::table)
        .filter(studies::id.eq(id))
        .select((
            studies::study_uid,
            patients::patient_id,
            studies::accession_number,
        ))
        .first(c)?;
    Ok(StudyRef {
        uid,
        patient_id,
        accession,
    })
}

/// An event about a study, with who made the change (and why).
pub(crate) fn study_event(
    kind: pacs_domain::model::EventType,
    study: &StudyRef,
    series: Option<&str>,
    change: &pacs_domain::model::Change,
) -> pacs_domain::model::NewEvent {
    let mut e = pacs_domain::model::NewEvent::new(kind).detail("author", change.author.clone());
    if let Some(r) = &change.reason {
        e = e.detail("reason", r.clone());
    }
    e.study_uid = Some(study.uid.clone());
    e.series_uid = series.map(str::to_owned);
    e.patient_id = Some(study.patient_id.clone());
    e.accession_number = study.accession.clone();
    e
}

//! The study event log: appended in the writer's transaction, read by pollers.

use diesel::prelude::*;
use pacs_domain::ids::{IdError, PatientId, SeriesInstanceUid, StudyInstanceUid, TenantName};
use pacs_domain::model::{EventType, NewEvent, StudyEvent};
use pacs_domain::ports::{EventLog, RepositoryError};

use crate::connection::{AnyConnection, Database};
use crate::schema::study_events;
use crate::time::{from_db, to_db};

#[derive(Insertable)]
#[diesel(table_name = study_events)]
struct EventRow<'a> {
    tenant: &'a str,
    event_type: &'a str,
    study_uid: Option<&'a str>,
    series_uid: Option<&'a str>,
    patient_id: Option<&'a str>,
    accession_number: Option<&'a str>,
    details: String,
    occurred_at: chrono::NaiveDateTime,
    seq: i64,
}

/// Appends `events` in a write transaction. Their ids (`seq`) continue the
/// tenant's own sequence: max + 1 is safe because every write transaction
/// holds the write lock, so ids are gap-free and follow commit order, also
/// across processes sharing one PostgreSQL.
pub(crate) fn append(
    conn: &mut AnyConnection,
    tenant: &TenantName,
    events: &[NewEvent],
) -> QueryResult<()> {
    if events.is_empty() {
        return Ok(());
    }
    let now = to_db(std::time::SystemTime::now());
    let last: Option<i64> = study_events::table
        .filter(study_events::tenant.eq(tenant.as_str()))
        .select(diesel::dsl::max(study_events::seq))
        .first(conn)?;
    let rows: Vec<EventRow<'_>> = (last.unwrap_or(0) + 1..)
        .zip(events)
        .map(|(seq, e)| EventRow {
            seq,
            tenant: tenant.as_str(),
            event_type: e.event_type.as_str(),
            study_uid: e.study_uid.as_ref().map(|u| u.as_str()),
            series_uid: e.series_uid.as_ref().map(|u| u.as_str()),
            patient_id: e.patient_id.as_ref().map(|p| p.as_str()),
            accession_number: e.accession_number.as_deref(),
            details: serde_json::to_string(&e.details).unwrap_or_else(|_| "{}".into()),
            occurred_at: now,
        })
        .collect();
    // One statement per chunk: fewer round trips
    // while the write lock is held.
    for chunk in rows.chunks(EVENT_CHUNK) {
        match conn {
            AnyConnection::Postgresql(c) => diesel::insert_into(study_events::table)
                .values(chunk)
                .execute(c)?,
            AnyConnection::Sqlite(c) => diesel::insert_into(study_events::table)
                .values(chunk)
                .execute(c)?,
        };
    }
    Ok(())
}

/// Events inserted at once: well under SQLite's limit of bound variables.
const EVENT_CHUNK: usize = 500;

type EventTuple = (
    i64,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    String,
    chrono::NaiveDateTime,
);

impl EventLog for Database {
    fn read_after(
        &self,
        tenant: &TenantName,
        after: i64,
        limit: u32,
    ) -> Result<Vec<StudyEvent>, RepositoryError> {
        let rows: Vec<EventTuple> = self.read(|c| {
            study_events::table
                .filter(study_events::tenant.eq(tenant.as_str()))
                .filter(study_events::seq.gt(after))
                .order(study_events::seq.asc())
                .limit(i64::from(limit))
                .select((
                    study_events::seq,
                    study_events::event_type,
                    study_events::study_uid,
                    study_events::series_uid,
                    study_events::patient_id,
                    study_events::accession_number,
                    study_events::details,
                    study_events::occurred_at,
                ))
                .load(c)
        })?;
        rows.into_iter()
            .map(
                |(id, kind, study_uid, series_uid, patient_id, accession_number, details, at)| {
                    let event_type = EventType::parse(&kind).ok_or_else(|| {
                        RepositoryError::internal(format!("unknown event type {kind} in the log"))
                    })?;
                    Ok(StudyEvent {
                        id,
                        event: NewEvent {
                            event_type,
                            study_uid: parse(study_uid, StudyInstanceUid::new)?,
                            series_uid: parse(series_uid, SeriesInstanceUid::new)?,
                            patient_id: parse(patient_id, PatientId::new)?,
                            accession_number,
                            details: serde_json::from_str(&details).unwrap_or_default(),
                        },
                        occurred_at: from_db(at),
                    })
                },
            )
            .collect()
    }
}

/// An identifier read back from the log (or the audit log).
pub(crate) fn parse<T>(
    value: Option<String>,
    new: impl Fn(&str) -> Result<T, IdError>,
) -> Result<Option<T>, RepositoryError> {
    value
        .map(|v| {
            new(&v).map_err(|e| RepositoryError::internal(format!("invalid {v:?} in the log: {e}")))
        })
        .transpose()
}

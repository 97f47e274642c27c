//! New patient and study rows, and inserting rows on either backend.

use diesel::prelude::*;
use pacs_domain::model::PatientAttributes;

use crate::connection::AnyConnection;
use crate::schema::{patients, studies};

/// Inserts a row and returns its id, on either backend (RETURNING does not
/// compile on the multi-backend connection, so each arm is typed for its own).
macro_rules! insert_returning_id {
    ($conn:expr, $table:expr, $values:expr, $id:expr) => {
        match $conn {
            $crate::connection::AnyConnection::Postgresql(c) => diesel::insert_into($table)
                .values($values)
                .returning($id)
                .get_result::<i64>(c),
            $crate::connection::AnyConnection::Sqlite(c) => diesel::insert_into($table)
                .values($values)
                .returning($id)
                .get_result::<i64>(c),
        }
    };
}
pub(crate) use insert_returning_id;

#[derive(Insertable)]
#[diesel(table_name = patients)]
struct NewPatientRow<'a> {
    tenant: &'a str,
    patient_id: &'a str,
    issuer: &'a str,
    patient_name: Option<&'a str>,
    patient_name_lc: Option<String>,
    birth_date: Option<&'a str>,
    sex: Option<&'a str>,
    created_at: chrono::NaiveDateTime,
    updated_at: chrono::NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = studies)]
pub(crate) struct NewStudyRow<'a> {
    pub tenant: &'a str,
    pub study_uid: &'a str,
    pub patient_fk: i64,
    pub study_date: Option<&'a str>,
    pub study_time: Option<&'a str>,
    pub accession_number: Option<&'a str>,
    pub study_id: Option<&'a str>,
    pub study_description: Option<&'a str>,
    pub referring_physician: Option<&'a str>,
    pub received_at: chrono::NaiveDateTime,
    pub updated_at: chrono::NaiveDateTime,
}

/// Lower-cased person name, for case-insensitive matching on both engines.
pub(crate) fn name_lc(name: Option<&str>) -> Option<String> {
    name.map(str::to_lowercase)
}

/// Inserts a patient row with these values; returns its id.
pub(crate) fn insert_patient(
    c: &mut AnyConnection,
    tenant: &str,
    p: &PatientAttributes,
    now: chrono::NaiveDateTime,
) -> QueryResult<i64> {
    let row = NewPatientRow {
        tenant,
        patient_id: p.patient_id.as_str(),
        issuer: p.issuer.as_deref().unwrap_or(""),
        patient_name: p.name.as_deref(),
        patient_name_lc: name_lc(p.name.as_deref()),
        birth_date: p.birth_date.as_deref(),
        sex: p.sex.as_deref(),
        created_at: now,
        updated_at: now,
    };
    insert_returning_id!(c, patients::table, &row, patients::id)
}

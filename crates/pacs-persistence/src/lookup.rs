//! Finding a change's rows: studies by selector, and the study a change
//! concerns as its journal names it.

use diesel::prelude::*;
use pacs_domain::ids::{PatientId, StudyInstanceUid};
use pacs_domain::model::{StudyRef, StudySelector};

use crate::connection::AnyConnection;
use crate::schema::{patients, studies};

/// A value read back from the index that does not parse (written by another program).
pub(crate) fn corrupt(e: impl std::error::Error + Send + Sync + 'static) -> diesel::result::Error {
    diesel::result::Error::DeserializationError(Box::new(e))
}

/// Study ids matching a selector, live (`deprecated` false) or the deprecated
/// ones, most recent deprecation first.
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

/// The study row `id` as a change's journal names it.
pub(crate) fn study_ref(c: &mut AnyConnection, id: i64) -> QueryResult<StudyRef> {
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
        uid: StudyInstanceUid::new(&uid).map_err(corrupt)?,
        patient_id: PatientId::new(&patient_id).map_err(corrupt)?,
        accession,
    })
}

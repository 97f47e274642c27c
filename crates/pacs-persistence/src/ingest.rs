//! Indexing received instances (the `InstanceIndex` port).

use std::collections::HashMap;

use diesel::prelude::*;
use pacs_domain::ids::{PatientId, SopInstanceUid, TenantName};
use pacs_domain::model::{
    BlobLocation, Indexed, MediumName, NewInstance, PatientKey, StoreOutcome, StorePolicy,
    StudyOwner, StudyRef, header_fingerprint,
};
use pacs_domain::ports::{InstanceIndex, RepositoryError};

use crate::connection::{AnyConnection, Database, TxError};
use crate::counters::add_modality;
use crate::inserts::{NewStudyRow, insert_patient, insert_returning_id};
use crate::lookup::corrupt;
use crate::rows::{PatientRow, StudyRow};
use crate::schema::{instances, patients, series, studies};
use crate::time::to_db;

/// A multi-row insert, on either backend.
macro_rules! insert_all {
    ($conn:expr, $table:expr, $rows:expr) => {
        match $conn {
            AnyConnection::Postgresql(c) => diesel::insert_into($table).values($rows).execute(c),
            AnyConnection::Sqlite(c) => diesel::insert_into($table).values($rows).execute(c),
        }
    };
}

#[derive(Insertable)]
#[diesel(table_name = series)]
struct NewSeriesRow<'a> {
    tenant: &'a str,
    study_fk: i64,
    series_uid: &'a str,
    modality: Option<&'a str>,
    series_number: Option<i32>,
    series_description: Option<&'a str>,
    body_part: Option<&'a str>,
    laterality: Option<&'a str>,
    protocol_name: Option<&'a str>,
    station_name: Option<&'a str>,
    performed_start_date: Option<&'a str>,
    performed_start_time: Option<&'a str>,
    calling_aet: &'a str,
    received_at: chrono::NaiveDateTime,
    updated_at: chrono::NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = instances)]
struct NewInstanceRow<'a> {
    tenant: &'a str,
    series_fk: i64,
    sop_uid: &'a str,
    sop_class_uid: &'a str,
    transfer_syntax: &'a str,
    instance_number: Option<i32>,
    number_of_frames: Option<i32>,
    pixel_rows: Option<i32>,
    pixel_columns: Option<i32>,
    content_date: Option<&'a str>,
    content_time: Option<&'a str>,
    acquisition_time: Option<&'a str>,
    image_type: Option<&'a str>,
    image_laterality: Option<&'a str>,
    view_position: Option<&'a str>,
    code_meaning: Option<&'a str>,
    container_identifier: Option<&'a str>,
    medium: &'a str,
    storage_key: &'a str,
    size_bytes: i64,
    sha1: &'a str,
    ingest_fingerprint: String,
    pixel_data_offset: Option<i64>,
    header_json: &'a str,
    received_at: chrono::NaiveDateTime,
    frame_index: Option<String>,
    total_pixel_matrix_rows: Option<i32>,
    total_pixel_matrix_columns: Option<i32>,
    slide_kind: Option<&'a str>,
    slide_key: Option<&'a str>,
    slide_size: Option<i64>,
    slide_sha1: Option<&'a str>,
    slide_name: Option<&'a str>,
}

/// Finds the patient (tenant, id, issuer) or creates it; returns its row id.
fn find_or_create_patient(
    c: &mut AnyConnection,
    tenant: &str,
    p: &pacs_domain::model::PatientAttributes,
    now: chrono::NaiveDateTime,
) -> QueryResult<(i64, bool)> {
    let issuer = p.issuer.as_deref().unwrap_or("");
    let found: Option<(i64, Option<i64>)> = patients::table
        .filter(patients::tenant.eq(tenant))
        .filter(patients::patient_id.eq(p.patient_id.as_str()))
        .filter(patients::issuer.eq(issuer))
        .select((patients::id, patients::merged_into))
        .first(c)
        .optional()?;
    if let Some((mut id, mut merged)) = found {
        // A merged patient's new studies go to the patient it was merged into.
        for _ in 0..16 {
            let Some(into) = merged else { break };
            id = into;
            merged = patients::table
                .find(into)
                .select(patients::merged_into)
                .first(c)?;
        }
        return Ok((id, false));
    }
    Ok((insert_patient(c, tenant, p, now)?, true))
}

/// What a batch resolved for one study UID: its row, the database's values
/// (their fingerprint), and the modalities it already had.
struct StudyState {
    id: i64,
    fingerprint: String,
    modalities: String,
    study: StudyRef,
    owner: StudyOwner,
    new_series: i64,
    added_instances: i64,
    added_bytes: i64,
}

/// The patient row `p` with the patients merged into it (at any depth), for
/// the rule deciding who may join its studies.
fn owner_of(c: &mut AnyConnection, p: &PatientRow) -> QueryResult<StudyOwner> {
    let key = |id: &str, issuer: &str| -> QueryResult<PatientKey> {
        Ok(PatientKey {
            patient_id: PatientId::new(id).map_err(corrupt)?,
            issuer: Some(issuer.to_owned()).filter(|i| !i.is_empty()),
        })
    };
    let mut merged = Vec::new();
    let mut frontier = vec![p.id];
    // Merge chains are short; the bound keeps a corrupt cycle from looping.
    for _ in 0..16 {
        if frontier.is_empty() {
            break;
        }
        let rows: Vec<(i64, String, String)> = patients::table
            .filter(patients::merged_into.eq_any(&frontier))
            .select((patients::id, patients::patient_id, patients::issuer))
            .load(c)?;
        frontier = rows.iter().map(|r| r.0).collect();
        for (_, id, issuer) in &rows {
            merged.push(key(id, issuer)?);
        }
    }
    Ok(StudyOwner {
        patient: key(&p.patient_id, &p.issuer)?,
        merged,
    })
}

/// The live study `uid`, or a new one for the instance's patient (found or created).
fn resolve_study(
    c: &mut AnyConnection,
    tenant: &str,
    (n, inst): (usize, &NewInstance),
    now: chrono::NaiveDateTime,
    steps: &mut Vec<Indexed>,
) -> QueryResult<StudyState> {
    let h = &inst.header;
    let study_uid = h.study.study_uid.as_str();
    let found: Option<(StudyRow, PatientRow)> = studies::table
        .inner_join(patients::table)
        .filter(studies::tenant.eq(tenant))
        .filter(studies::study_uid.eq(study_uid))
        .filter(studies::deprecation_fk.is_null())
        .select((StudyRow::as_select(), PatientRow::as_select()))
        .first(c)
        .optional()?;
    let state = |c: &mut AnyConnection,
                 id,
                 p: &PatientRow,
                 s: StudyAttrsRef<'_>,
                 modalities: String,
                 accession: Option<String>|
     -> QueryResult<StudyState> {
        let owner = owner_of(c, p)?;
        // The database's values for this study and patient, as they are now:
        // retrieval returns stored files untouched until they are corrected.
        let fingerprint = match (p.to_domain(), s) {
            (Ok(p), StudyAttrsRef::Row(row)) => match row.to_domain() {
                Ok(st) => header_fingerprint(&p, &st),
                Err(_) => header_fingerprint(&h.patient, &h.study),
            },
            (Ok(p), StudyAttrsRef::Header) => header_fingerprint(&p, &h.study),
            _ => header_fingerprint(&h.patient, &h.study),
        };
        Ok(StudyState {
            id,
            fingerprint,
            modalities,
            study: StudyRef {
                uid: h.study.study_uid.clone(),
                patient_id: PatientId::new(&p.patient_id).map_err(corrupt)?,
                accession,
            },
            owner,
            new_series: 0,
            added_instances: 0,
            added_bytes: 0,
        })
    };
    if let Some((s, p)) = found {
        let accession = s.accession_number.clone();
        return state(
            c,
            s.id,
            &p,
            StudyAttrsRef::Row(&s),
            s.modalities.clone(),
            accession,
        );
    }
    let (patient_fk, _) = find_or_create_patient(c, tenant, &h.patient, now)?;
    let row = NewStudyRow {
        tenant,
        study_uid,
        patient_fk,
        study_date: h.study.study_date.as_deref(),
        study_time: h.study.study_time.as_deref(),
        accession_number: h.study.accession_number.as_deref(),
        study_id: h.study.study_id.as_deref(),
        study_description: h.study.description.as_deref(),
        referring_physician: h.study.referring_physician.as_deref(),
        received_at: now,
        updated_at: now,
    };
    let id = insert_returning_id!(c, studies::table, &row, studies::id)?;
    steps.push(Indexed::StudyCreated { instance: n });
    // A new study takes its patient's current values (an existing patient keeps its own).
    let patient: PatientRow = patients::table
        .find(patient_fk)
        .select(PatientRow::as_select())
        .first(c)?;
    state(
        c,
        id,
        &patient,
        StudyAttrsRef::Header,
        String::new(),
        h.study.accession_number.clone(),
    )
}

/// Where a study's values come from: its row, or the header that creates it.
enum StudyAttrsRef<'a> {
    Row(&'a StudyRow),
    Header,
}

/// The live series `uid` as (id, study id), or a new one in `study_id`.
fn resolve_series(
    c: &mut AnyConnection,
    tenant: &str,
    inst: &NewInstance,
    study_id: i64,
    now: chrono::NaiveDateTime,
) -> QueryResult<(i64, i64, bool)> {
    let s = &inst.header.series;
    let found: Option<(i64, i64)> = series::table
        .filter(series::tenant.eq(tenant))
        .filter(series::series_uid.eq(s.series_uid.as_str()))
        .filter(series::deprecation_fk.is_null())
        .select((series::id, series::study_fk))
        .first(c)
        .optional()?;
    if let Some((id, study)) = found {
        return Ok((id, study, false));
    }
    let row = NewSeriesRow {
        tenant,
        study_fk: study_id,
        series_uid: s.series_uid.as_str(),
        modality: s.modality.as_deref(),
        series_number: s.series_number,
        series_description: s.description.as_deref(),
        body_part: s.body_part.as_deref(),
        laterality: s.laterality.as_deref(),
        protocol_name: s.protocol_name.as_deref(),
        station_name: s.station_name.as_deref(),
        performed_start_date: s.performed_start_date.as_deref(),
        performed_start_time: s.performed_start_time.as_deref(),
        calling_aet: inst.calling_aet.as_str(),
        received_at: now,
        updated_at: now,
    };
    Ok((
        insert_returning_id!(c, series::table, &row, series::id)?,
        study_id,
        true,
    ))
}

/// Rows inserted at once: well under SQLite's limit of bound variables.
const INSERT_CHUNK: usize = 200;

/// Another live instance with the Container Identifier of `inst`, if any
/// (checked under the write lock, so concurrent stores cannot both pass).
fn barcode_holder(
    c: &mut AnyConnection,
    t: &str,
    inst: &NewInstance,
) -> QueryResult<Option<StoreOutcome>> {
    let Some(barcode) = &inst.header.instance.container_identifier else {
        return Ok(None);
    };
    let other: Option<String> = instances::table
        .filter(instances::tenant.eq(t))
        .filter(instances::container_identifier.eq(barcode))
        .filter(instances::sop_uid.ne(inst.header.instance.sop_uid.as_str()))
        .filter(instances::deprecation_fk.is_null())
        .select(instances::sop_uid)
        .first(c)
        .optional()?;
    other
        .map(|sop| {
            Ok(StoreOutcome::BarcodeTaken {
                barcode: barcode.clone(),
                holder: SopInstanceUid::new(&sop).map_err(corrupt)?,
            })
        })
        .transpose()
}

/// Indexes a batch with a handful of statements per study and series, and one
/// multi-row insert for the instances and one for the events.
fn store_batch(
    c: &mut AnyConnection,
    tenant: &TenantName,
    batch: &[NewInstance],
    policy: &StorePolicy<'_>,
) -> QueryResult<Vec<StoreOutcome>> {
    let t = tenant.as_str();
    let mut outcomes: Vec<Option<StoreOutcome>> = vec![None; batch.len()];
    let mut steps = Vec::new();

    // Live instances with these SOP Instance UIDs (same content: nothing to do).
    let mut known: HashMap<String, String> = HashMap::new();
    for chunk in batch.chunks(INSERT_CHUNK) {
        let sops: Vec<&str> = chunk
            .iter()
            .map(|i| i.header.instance.sop_uid.as_str())
            .collect();
        let found: Vec<(String, String)> = instances::table
            .filter(instances::tenant.eq(t))
            .filter(instances::sop_uid.eq_any(sops))
            .filter(instances::deprecation_fk.is_null())
            .select((instances::sop_uid, instances::sha1))
            .load(c)?;
        known.extend(found);
    }

    let mut studies_seen: HashMap<String, StudyState> = HashMap::new();
    let mut series_seen: HashMap<String, (i64, i64, i64, i64)> = HashMap::new(); // id, study, +n, +bytes
    let mut rows = Vec::new();
    for (n, inst) in batch.iter().enumerate() {
        let h = &inst.header;
        let sop = h.instance.sop_uid.as_str();
        if policy.unique_barcodes
            && let Some(taken) = barcode_holder(c, t, inst)?
        {
            outcomes[n] = Some(taken);
            continue;
        }
        if let Some(sha1) = known.get(sop) {
            outcomes[n] = Some(if *sha1 == inst.blob.sha1 {
                StoreOutcome::AlreadyStored
            } else {
                StoreOutcome::Conflict(format!(
                    "SOP Instance UID {sop} is already stored with different content"
                ))
            });
            continue;
        }
        let now = to_db(inst.received_at);
        let study_uid = h.study.study_uid.as_str().to_owned();
        if !studies_seen.contains_key(&study_uid) {
            let st = resolve_study(c, t, (n, inst), now, &mut steps)?;
            studies_seen.insert(study_uid.clone(), st);
        }
        let study = studies_seen.get_mut(&study_uid).expect("resolved above");
        if let Err(why) = (policy.admit)(h, &study.owner) {
            outcomes[n] = Some(StoreOutcome::NotAdmitted(why));
            continue;
        }
        let series_uid = h.series.series_uid.as_str();
        if !series_seen.contains_key(series_uid) {
            let (id, of_study, created) = resolve_series(c, t, inst, study.id, now)?;
            if created {
                study.new_series += 1;
            }
            series_seen.insert(series_uid.to_owned(), (id, of_study, 0, 0));
        }
        let series_state = series_seen.get_mut(series_uid).expect("resolved above");
        if series_state.1 != study.id {
            outcomes[n] = Some(StoreOutcome::Conflict(format!(
                "Series Instance UID {series_uid} belongs to another study"
            )));
            continue;
        }
        let size = i64::try_from(inst.blob.size).unwrap_or(i64::MAX);
        series_state.2 += 1;
        series_state.3 += size;
        study.added_instances += 1;
        study.added_bytes += size;
        study.modalities = add_modality(&study.modalities, h.series.modality.as_deref());
        known.insert(sop.to_owned(), inst.blob.sha1.clone());
        let i = &h.instance;
        rows.push(NewInstanceRow {
            tenant: t,
            series_fk: series_state.0,
            sop_uid: sop,
            sop_class_uid: i.sop_class.as_str(),
            transfer_syntax: i.transfer_syntax.as_str(),
            instance_number: i.instance_number,
            number_of_frames: i.number_of_frames,
            pixel_rows: i.rows,
            pixel_columns: i.columns,
            content_date: i.content_date.as_deref(),
            content_time: i.content_time.as_deref(),
            acquisition_time: i.acquisition_time.as_deref(),
            image_type: i.image_type.as_deref(),
            image_laterality: i.image_laterality.as_deref(),
            view_position: i.view_position.as_deref(),
            code_meaning: i.code_meaning.as_deref(),
            container_identifier: i.container_identifier.as_deref(),
            medium: inst.blob.medium.as_str(),
            storage_key: &inst.blob.key,
            size_bytes: size,
            sha1: &inst.blob.sha1,
            ingest_fingerprint: study.fingerprint.clone(),
            pixel_data_offset: h.pixel_data_offset.and_then(|o| i64::try_from(o).ok()),
            header_json: &h.dicom_json,
            received_at: now,
            frame_index: h.frame_index.as_ref().map(|f| f.to_text()),
            total_pixel_matrix_rows: i.total_pixel_matrix_rows,
            total_pixel_matrix_columns: i.total_pixel_matrix_columns,
            slide_kind: inst.slide.as_ref().map(|s| s.kind.as_str()),
            slide_key: inst.slide.as_ref().map(|s| s.blob.key.as_str()),
            slide_size: inst
                .slide
                .as_ref()
                .map(|s| i64::try_from(s.blob.size).unwrap_or(i64::MAX)),
            slide_sha1: inst.slide.as_ref().map(|s| s.blob.sha1.as_str()),
            slide_name: inst.slide.as_ref().map(|s| s.name.as_str()),
        });
        steps.push(Indexed::Stored {
            instance: n,
            study: study.study.clone(),
        });
        outcomes[n] = Some(StoreOutcome::Stored);
    }

    for chunk in rows.chunks(INSERT_CHUNK) {
        insert_all!(c, instances::table, chunk)?;
    }
    let now = to_db(std::time::SystemTime::now());
    for (id, _, added, bytes) in series_seen.values().filter(|s| s.2 > 0) {
        diesel::update(series::table.find(*id))
            .set((
                series::num_instances.eq(series::num_instances + *added),
                series::size_bytes.eq(series::size_bytes + *bytes),
                series::updated_at.eq(now),
            ))
            .execute(c)?;
    }
    for st in studies_seen.values().filter(|s| s.added_instances > 0) {
        diesel::update(studies::table.find(st.id))
            .set((
                studies::num_instances.eq(studies::num_instances + st.added_instances),
                studies::num_series.eq(studies::num_series + st.new_series),
                studies::size_bytes.eq(studies::size_bytes + st.added_bytes),
                studies::modalities.eq(&st.modalities),
                studies::updated_at.eq(now),
            ))
            .execute(c)?;
    }
    crate::journal::write(c, tenant, &(policy.journal)(&steps))?;
    Ok(outcomes
        .into_iter()
        .map(|o| o.expect("every instance decided"))
        .collect())
}

impl InstanceIndex for Database {
    fn store(
        &self,
        tenant: &TenantName,
        batch: &[NewInstance],
        policy: &StorePolicy<'_>,
    ) -> Result<Vec<StoreOutcome>, RepositoryError> {
        self.write(|c| Ok::<_, TxError>(store_batch(c, tenant, batch, policy)?))
    }

    fn find_live(
        &self,
        tenant: &TenantName,
        sop: &SopInstanceUid,
    ) -> Result<Option<BlobLocation>, RepositoryError> {
        let row: Option<(String, String, i64, String)> = self.read(|c| {
            instances::table
                .filter(instances::tenant.eq(tenant.as_str()))
                .filter(instances::sop_uid.eq(sop.as_str()))
                .filter(instances::deprecation_fk.is_null())
                .select((
                    instances::medium,
                    instances::storage_key,
                    instances::size_bytes,
                    instances::sha1,
                ))
                .first(c)
                .optional()
        })?;
        row.map(|(medium, key, size, sha1)| {
            Ok(BlobLocation {
                medium: MediumName::new(&medium).map_err(RepositoryError::internal)?,
                key,
                size: u64::try_from(size).unwrap_or_default(),
                sha1,
            })
        })
        .transpose()
    }
}

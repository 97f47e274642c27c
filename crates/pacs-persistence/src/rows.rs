//! Rows read back from the index and their conversion to domain values.

use diesel::prelude::*;
use pacs_domain::ids::{
    PatientId, SeriesInstanceUid, SopClassUid, SopInstanceUid, StudyInstanceUid, TransferSyntaxUid,
};
use pacs_domain::model::{
    InstanceAttributes, PatientAttributes, SeriesAttributes, SeriesStats, StudyAttributes,
    StudyStats,
};
use pacs_domain::ports::RepositoryError;

use crate::schema::{instances, patients, series, studies};

fn corrupt(what: &str, e: impl std::fmt::Display) -> RepositoryError {
    RepositoryError::internal(format!("invalid {what} in the index: {e}"))
}

#[derive(Queryable, Selectable, Debug, Clone)]
#[diesel(table_name = patients)]
pub(crate) struct PatientRow {
    pub id: i64,
    pub patient_id: String,
    pub issuer: String,
    pub patient_name: Option<String>,
    pub birth_date: Option<String>,
    pub sex: Option<String>,
}

impl PatientRow {
    pub fn to_domain(&self) -> Result<PatientAttributes, RepositoryError> {
        Ok(PatientAttributes {
            patient_id: PatientId::new(&self.patient_id).map_err(|e| corrupt("PatientID", e))?,
            issuer: Some(self.issuer.clone()).filter(|i| !i.is_empty()),
            name: self.patient_name.clone(),
            birth_date: self.birth_date.clone(),
            sex: self.sex.clone(),
        })
    }
}

#[derive(Queryable, Selectable, Debug, Clone)]
#[diesel(table_name = studies)]
pub(crate) struct StudyRow {
    pub id: i64,
    pub study_uid: String,
    pub study_date: Option<String>,
    pub study_time: Option<String>,
    pub accession_number: Option<String>,
    pub study_id: Option<String>,
    pub study_description: Option<String>,
    pub referring_physician: Option<String>,
    pub modalities: String,
    pub num_series: i64,
    pub num_instances: i64,
    pub size_bytes: i64,
}

impl StudyRow {
    pub fn to_domain(&self) -> Result<StudyAttributes, RepositoryError> {
        Ok(StudyAttributes {
            study_uid: StudyInstanceUid::new(&self.study_uid)
                .map_err(|e| corrupt("study UID", e))?,
            study_date: self.study_date.clone(),
            study_time: self.study_time.clone(),
            accession_number: self.accession_number.clone(),
            study_id: self.study_id.clone(),
            description: self.study_description.clone(),
            referring_physician: self.referring_physician.clone(),
        })
    }

    pub fn stats(&self) -> StudyStats {
        StudyStats {
            modalities: self
                .modalities
                .split('\\')
                .filter(|m| !m.is_empty())
                .map(String::from)
                .collect(),
            num_series: self.num_series,
            num_instances: self.num_instances,
            size_bytes: self.size_bytes,
        }
    }
}

#[derive(Queryable, Selectable, Debug, Clone)]
#[diesel(table_name = series)]
pub(crate) struct SeriesRow {
    pub id: i64,
    pub series_uid: String,
    pub modality: Option<String>,
    pub series_number: Option<i32>,
    pub series_description: Option<String>,
    pub body_part: Option<String>,
    pub laterality: Option<String>,
    pub protocol_name: Option<String>,
    pub station_name: Option<String>,
    pub performed_start_date: Option<String>,
    pub performed_start_time: Option<String>,
    pub calling_aet: String,
    pub num_instances: i64,
}

impl SeriesRow {
    pub fn to_domain(&self) -> Result<SeriesAttributes, RepositoryError> {
        Ok(SeriesAttributes {
            series_uid: SeriesInstanceUid::new(&self.series_uid)
                .map_err(|e| corrupt("series UID", e))?,
            modality: self.modality.clone(),
            series_number: self.series_number,
            description: self.series_description.clone(),
            body_part: self.body_part.clone(),
            laterality: self.laterality.clone(),
            protocol_name: self.protocol_name.clone(),
            station_name: self.station_name.clone(),
            performed_start_date: self.performed_start_date.clone(),
            performed_start_time: self.performed_start_time.clone(),
        })
    }

    pub fn stats(&self) -> SeriesStats {
        SeriesStats {
            num_instances: self.num_instances,
            calling_aet: self.calling_aet.clone(),
        }
    }
}

#[derive(Queryable, Selectable, Debug, Clone)]
#[diesel(table_name = instances)]
pub(crate) struct InstanceRow {
    pub id: i64,
    pub sop_uid: String,
    pub sop_class_uid: String,
    pub transfer_syntax: String,
    pub instance_number: Option<i32>,
    pub number_of_frames: Option<i32>,
    pub pixel_rows: Option<i32>,
    pub pixel_columns: Option<i32>,
    pub content_date: Option<String>,
    pub content_time: Option<String>,
    pub acquisition_time: Option<String>,
    pub image_type: Option<String>,
    pub image_laterality: Option<String>,
    pub view_position: Option<String>,
    pub code_meaning: Option<String>,
    pub container_identifier: Option<String>,
    pub medium: String,
    pub storage_key: String,
    pub size_bytes: i64,
    pub sha1: String,
    pub ingest_fingerprint: String,
    pub pixel_data_offset: Option<i64>,
    pub frame_index: Option<String>,
    pub total_pixel_matrix_rows: Option<i32>,
    pub total_pixel_matrix_columns: Option<i32>,
    pub slide_kind: Option<String>,
    pub slide_key: Option<String>,
    pub slide_size: Option<i64>,
    pub slide_sha1: Option<String>,
    pub slide_name: Option<String>,
}

impl InstanceRow {
    /// The slide file stored beside this instance, if any (same medium).
    pub fn slide(&self) -> Result<Option<pacs_domain::model::SlideFile>, RepositoryError> {
        let (Some(kind), Some(key), Some(size), Some(sha1), Some(name)) = (
            &self.slide_kind,
            &self.slide_key,
            self.slide_size,
            &self.slide_sha1,
            &self.slide_name,
        ) else {
            return Ok(None);
        };
        Ok(Some(pacs_domain::model::SlideFile {
            kind: pacs_domain::model::SlideKind::parse(kind)
                .ok_or_else(|| corrupt("slide kind", kind))?,
            blob: pacs_domain::model::BlobLocation {
                medium: pacs_domain::model::MediumName::new(&self.medium)
                    .map_err(|e| corrupt("medium", e))?,
                key: key.clone(),
                size: u64::try_from(size).unwrap_or_default(),
                sha1: sha1.clone(),
            },
            name: name.clone(),
        }))
    }

    pub fn to_domain(&self) -> Result<InstanceAttributes, RepositoryError> {
        Ok(InstanceAttributes {
            sop_uid: SopInstanceUid::new(&self.sop_uid)
                .map_err(|e| corrupt("SOP Instance UID", e))?,
            sop_class: SopClassUid::new(&self.sop_class_uid)
                .map_err(|e| corrupt("SOP Class UID", e))?,
            transfer_syntax: TransferSyntaxUid::new(&self.transfer_syntax)
                .map_err(|e| corrupt("transfer syntax", e))?,
            instance_number: self.instance_number,
            number_of_frames: self.number_of_frames,
            rows: self.pixel_rows,
            columns: self.pixel_columns,
            content_date: self.content_date.clone(),
            content_time: self.content_time.clone(),
            acquisition_time: self.acquisition_time.clone(),
            image_type: self.image_type.clone(),
            image_laterality: self.image_laterality.clone(),
            view_position: self.view_position.clone(),
            code_meaning: self.code_meaning.clone(),
            container_identifier: self.container_identifier.clone(),
            total_pixel_matrix_rows: self.total_pixel_matrix_rows,
            total_pixel_matrix_columns: self.total_pixel_matrix_columns,
        })
    }
}

#[derive(Queryable, Selectable, Debug, Clone)]
#[diesel(table_name = crate::schema::orders)]
pub(crate) struct OrderRow {
    pub id: i64,
    pub study_uid: String,
    pub accession_number: String,
    pub patient_id: String,
    pub issuer: String,
    pub patient_name: Option<String>,
    pub birth_date: Option<String>,
    pub sex: Option<String>,
    pub scheduled_station_ae: String,
    pub start_date: String,
    pub start_time: String,
    pub modality: String,
    pub fields: String,
}

impl OrderRow {
    pub fn to_domain(&self) -> Result<pacs_domain::model::Order, RepositoryError> {
        Ok(pacs_domain::model::Order {
            study_uid: StudyInstanceUid::new(&self.study_uid)
                .map_err(|e| corrupt("order study UID", e))?,
            accession_number: self.accession_number.clone(),
            patient: PatientAttributes {
                patient_id: PatientId::new(&self.patient_id)
                    .map_err(|e| corrupt("order PatientID", e))?,
                issuer: Some(self.issuer.clone()).filter(|i| !i.is_empty()),
                name: self.patient_name.clone(),
                birth_date: self.birth_date.clone(),
                sex: self.sex.clone(),
            },
            scheduled_station_ae: self.scheduled_station_ae.clone(),
            start_date: self.start_date.clone(),
            start_time: self.start_time.clone(),
            modality: self.modality.clone(),
            fields: serde_json::from_str(&self.fields).unwrap_or_default(),
        })
    }
}

/// The live instances of a tenant joined with their series, study and patient
/// rows, as a boxed query to filter further.
macro_rules! live_instances {
    ($tenant:expr) => {{
        use $crate::schema::{instances, patients, series, studies};
        instances::table
            .inner_join(series::table.inner_join(studies::table.inner_join(patients::table)))
            .filter(instances::tenant.eq($tenant))
            .filter(instances::deprecation_fk.is_null())
            .filter(series::deprecation_fk.is_null())
            .filter(studies::deprecation_fk.is_null())
            .select((
                $crate::rows::InstanceRow::as_select(),
                $crate::rows::SeriesRow::as_select(),
                $crate::rows::StudyRow::as_select(),
                $crate::rows::PatientRow::as_select(),
            ))
            .into_boxed()
    }};
}
pub(crate) use live_instances;

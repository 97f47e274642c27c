//! Locating stored instances for retrieval (the `RetrieveIndex` port).

use std::collections::HashMap;

use diesel::prelude::*;
use pacs_domain::ids::{SeriesInstanceUid, SopInstanceUid, StudyInstanceUid, TenantName};
use pacs_domain::model::{BlobLocation, FrameIndex, MediumName, StoredInstance};
use pacs_domain::ports::{RepositoryError, RetrieveIndex};

use crate::connection::Database;
use crate::rows::{InstanceRow, PatientRow, SeriesRow, StudyRow, live_instances};
use crate::schema::{instances, series, studies};

type Row = (InstanceRow, SeriesRow, StudyRow, PatientRow);

fn to_stored((i, se, st, p): Row) -> Result<StoredInstance, RepositoryError> {
    let attrs = i.to_domain()?;
    Ok(StoredInstance {
        study_uid: st.to_domain()?.study_uid,
        series_uid: se.to_domain()?.series_uid,
        sop_uid: attrs.sop_uid,
        sop_class: attrs.sop_class,
        transfer_syntax: attrs.transfer_syntax,
        instance_number: i.instance_number,
        number_of_frames: i.number_of_frames,
        rows: i.pixel_rows,
        columns: i.pixel_columns,
        image_type: i.image_type.clone(),
        total_pixel_matrix_rows: i.total_pixel_matrix_rows,
        total_pixel_matrix_columns: i.total_pixel_matrix_columns,
        frame_index: i.frame_index.as_deref().and_then(FrameIndex::parse),
        container_identifier: i.container_identifier.clone(),
        slide: i.slide()?,
        blob: BlobLocation {
            medium: MediumName::new(&i.medium).map_err(RepositoryError::internal)?,
            key: i.storage_key,
            size: u64::try_from(i.size_bytes).unwrap_or_default(),
            sha1: i.sha1,
        },
        ingest_fingerprint: i.ingest_fingerprint,
        pixel_data_offset: i.pixel_data_offset.and_then(|o| u64::try_from(o).ok()),
        patient: p.to_domain()?,
        study: st.to_domain()?,
        header_json: None,
    })
}

impl RetrieveIndex for Database {
    fn locate(
        &self,
        tenant: &TenantName,
        study: &StudyInstanceUid,
        series_uid: Option<&SeriesInstanceUid>,
        sop: Option<&SopInstanceUid>,
        with_headers: bool,
    ) -> Result<Vec<StoredInstance>, RepositoryError> {
        let (rows, mut headers) = self.read(|c| {
            let mut q = live_instances!(tenant.as_str())
                .filter(studies::study_uid.eq(study.as_str().to_owned()));
            if let Some(s) = series_uid {
                q = q.filter(series::series_uid.eq(s.as_str().to_owned()));
            }
            if let Some(i) = sop {
                q = q.filter(instances::sop_uid.eq(i.as_str().to_owned()));
            }
            let rows: Vec<Row> = q
                .order((
                    series::id.asc(),
                    instances::instance_number.asc(),
                    instances::id.asc(),
                ))
                .load(c)?;
            let headers: HashMap<i64, String> = if with_headers {
                instances::table
                    .filter(instances::id.eq_any(rows.iter().map(|r| r.0.id).collect::<Vec<_>>()))
                    .select((instances::id, instances::header_json))
                    .load::<(i64, String)>(c)?
                    .into_iter()
                    .collect()
            } else {
                HashMap::new()
            };
            Ok((rows, headers))
        })?;
        rows.into_iter()
            .map(|row| {
                let id = row.0.id;
                let mut stored = to_stored(row)?;
                stored.header_json = headers.remove(&id);
                Ok(stored)
            })
            .collect()
    }

    fn locate_series(
        &self,
        tenant: &TenantName,
        series_uid: &SeriesInstanceUid,
    ) -> Result<Vec<StoredInstance>, RepositoryError> {
        let rows: Vec<Row> = self.read(|c| {
            live_instances!(tenant.as_str())
                .filter(series::series_uid.eq(series_uid.as_str().to_owned()))
                .order((instances::instance_number.asc(), instances::sop_uid.asc()))
                .load(c)
        })?;
        rows.into_iter().map(to_stored).collect()
    }

    fn locate_by_container(
        &self,
        tenant: &TenantName,
        barcode: &str,
    ) -> Result<Vec<StoredInstance>, RepositoryError> {
        let rows: Vec<Row> = self.read(|c| {
            live_instances!(tenant.as_str())
                .filter(instances::container_identifier.eq(barcode.to_owned()))
                .order((series::id.asc(), instances::id.asc()))
                .load(c)
        })?;
        rows.into_iter().map(to_stored).collect()
    }

    fn locate_instance(
        &self,
        tenant: &TenantName,
        sop: &SopInstanceUid,
    ) -> Result<Option<StoredInstance>, RepositoryError> {
        let row: Option<Row> = self.read(|c| {
            live_instances!(tenant.as_str())
                .filter(instances::sop_uid.eq(sop.as_str().to_owned()))
                .first(c)
                .optional()
        })?;
        row.map(to_stored).transpose()
    }
}

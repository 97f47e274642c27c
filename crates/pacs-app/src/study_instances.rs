//! `GET /studyInstances?studyUid=`: one record per live instance of a study,
//! with exactly the 19 attributes of the source document.

use pacs_domain::ids::{SeriesInstanceUid, SopClassUid, SopInstanceUid, StudyInstanceUid};
use pacs_domain::model::{Query, QueryLevel, QueryScope};

use crate::context::{Ports, Tenant};
use crate::error::{AppError, ErrorCode};

/// One instance, as the source document lists its attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StudyInstance {
    pub acquisition_time: Option<String>,
    pub body_part_examined: Option<String>,
    pub code_meaning: Option<String>,
    pub content_date: Option<String>,
    pub content_time: Option<String>,
    pub image_laterality: Option<String>,
    pub image_type: Option<String>,
    pub laterality: Option<String>,
    pub modality: Option<String>,
    pub number_of_frames: Option<i32>,
    pub protocol_name: Option<String>,
    pub series_description: Option<String>,
    pub series_instance_uid: SeriesInstanceUid,
    pub series_number: Option<i32>,
    pub sop_class_uid: SopClassUid,
    pub sop_instance_uid: SopInstanceUid,
    pub study_description: Option<String>,
    pub study_instance_uid: StudyInstanceUid,
    pub view_position: Option<String>,
}

pub fn study_instances(
    ports: &Ports,
    tenant: &Tenant,
    uid: &StudyInstanceUid,
) -> Result<Vec<StudyInstance>, AppError> {
    let query = Query {
        level: QueryLevel::Instance,
        scope: QueryScope {
            study: Some(uid.clone()),
            series: None,
        },
        filters: Vec::new(),
        limit: None,
        offset: 0,
        paged: true,
        with_header: false,
    };
    let matches = ports.queries.query(&tenant.name, &query)?;
    if matches.is_empty() {
        return Err(AppError::not_found(
            ErrorCode::StudyNotFound,
            format!("study {uid} not found"),
        ));
    }
    Ok(matches
        .into_iter()
        .filter_map(|m| {
            let (study, _) = m.study?;
            let (series, _) = m.series?;
            let i = m.instance?;
            Some(StudyInstance {
                acquisition_time: i.acquisition_time,
                body_part_examined: series.body_part,
                code_meaning: i.code_meaning,
                content_date: i.content_date,
                content_time: i.content_time,
                image_laterality: i.image_laterality,
                image_type: i.image_type,
                laterality: series.laterality,
                modality: series.modality,
                number_of_frames: i.number_of_frames,
                protocol_name: series.protocol_name,
                series_description: series.description,
                series_instance_uid: series.series_uid,
                series_number: series.series_number,
                sop_class_uid: i.sop_class,
                sop_instance_uid: i.sop_uid,
                study_description: study.description,
                study_instance_uid: study.study_uid,
                view_position: i.view_position,
            })
        })
        .collect())
}

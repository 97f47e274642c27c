//! `GET /studyEvents`.

use std::collections::BTreeMap;

use pacs_app::events::EventPage;
use pacs_domain::model::StudyEvent;
use serde::Serialize;
use utoipa::ToSchema;

/// One event of the study event log.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StudyEventItem {
    pub id: i64,
    pub event_type: String,
    pub study_instance_uid: Option<String>,
    pub series_instance_uid: Option<String>,
    pub patient_id: Option<String>,
    pub accession_number: Option<String>,
    /// RFC 3339, milliseconds, UTC
    #[schema(format = DateTime)]
    pub occurred_at: String,
    pub details: BTreeMap<String, String>,
}

/// A page of events.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StudyEvents {
    pub events: Vec<StudyEventItem>,
    pub last_offset_id: i64,
    pub has_more: bool,
}

fn rfc3339(t: std::time::SystemTime) -> String {
    chrono::DateTime::<chrono::Utc>::from(t).to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn text<T: ToString>(v: &Option<T>) -> Option<String> {
    v.as_ref().map(ToString::to_string)
}

impl From<&StudyEvent> for StudyEventItem {
    fn from(e: &StudyEvent) -> Self {
        Self {
            id: e.id,
            event_type: e.event.event_type.as_str().to_owned(),
            study_instance_uid: text(&e.event.study_uid),
            series_instance_uid: text(&e.event.series_uid),
            patient_id: text(&e.event.patient_id),
            accession_number: text(&e.event.accession_number),
            occurred_at: rfc3339(e.occurred_at),
            details: e.event.details.clone(),
        }
    }
}

impl From<EventPage> for StudyEvents {
    fn from(page: EventPage) -> Self {
        Self {
            events: page.events.iter().map(StudyEventItem::from).collect(),
            last_offset_id: page.last_offset_id,
            has_more: page.has_more,
        }
    }
}

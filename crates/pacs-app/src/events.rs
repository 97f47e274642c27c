//! Reading the study event log (`GET /studyEvents`).

use pacs_domain::model::StudyEvent;

use crate::context::{Ports, Tenant};
use crate::error::{AppError, ErrorCode};

pub const DEFAULT_LIMIT: u32 = 100;
pub const MAX_LIMIT: u32 = 1000;

/// A page of events after `offset_id`, and whether more follow.
#[derive(Debug)]
pub struct EventPage {
    pub events: Vec<StudyEvent>,
    pub last_offset_id: i64,
    pub has_more: bool,
}

/// Parses `offsetId` / `limit` and reads the page.
pub fn read(
    ports: &Ports,
    tenant: &Tenant,
    offset_id: Option<&str>,
    limit: Option<&str>,
) -> Result<EventPage, AppError> {
    let offset_id = offset_id
        .ok_or_else(|| AppError::invalid(ErrorCode::MissingParameter, "offsetId is required"))?
        .trim()
        .parse::<i64>()
        .ok()
        .filter(|n| *n >= 0)
        .ok_or_else(|| {
            AppError::invalid(
                ErrorCode::InvalidParameter,
                "offsetId must be a non-negative integer",
            )
        })?;
    let limit = match limit {
        None => DEFAULT_LIMIT,
        Some(l) => l
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| {
                AppError::invalid(
                    ErrorCode::InvalidParameter,
                    format!("limit must be an integer from 1 to {MAX_LIMIT}"),
                )
            })?,
    };
    let mut events = ports
        .events
        .read_after(&tenant.name, offset_id, limit + 1)?;
    let has_more = events.len() > limit as usize;
    events.truncate(limit as usize);
    let last_offset_id = events.last().map_or(offset_id, |e| e.id);
    Ok(EventPage {
        events,
        last_offset_id,
        has_more,
    })
}

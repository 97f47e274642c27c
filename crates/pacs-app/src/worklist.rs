//! Modality Worklist: the orders of `/orders/create` answered to a worklist
//! C-FIND (PS3.4 K.6). Deleted orders are gone from the table, so they
//! vanish from the worklist. Matching: Scheduled Station AE Title, Modality,
//! Scheduled Station Name, the step's start date and time (ranges), Patient
//! ID, Patient Name (wildcards, any case), Accession Number, Study Instance UID.

use pacs_dicom_ops::Tag;
use pacs_dicom_ops::find::FindKeys;

use crate::context::{Ports, Tenant};
use crate::error::AppError;

/// A worklist query: its keys and the transfer syntax of the answers.
#[derive(Debug, Clone)]
pub struct WorklistRequest<'a> {
    pub keys: &'a FindKeys,
    pub transfer_syntax: &'a str,
}

const SCHEDULED_PROCEDURE_STEP_SEQUENCE: Tag = Tag(0x0040, 0x0100);

/// `*` and `?` wildcards (PS3.4 C.2.2.2.4).
fn wildcard(pattern: &[char], value: &[char]) -> bool {
    match pattern.split_first() {
        None => value.is_empty(),
        Some(('*', rest)) => (0..=value.len()).any(|i| wildcard(rest, &value[i..])),
        Some(('?', rest)) => !value.is_empty() && wildcard(rest, &value[1..]),
        Some((c, rest)) => value.first() == Some(c) && wildcard(rest, &value[1..]),
    }
}

/// Single value, wildcard or list matching of text; `fold`: without regard to case.
fn text_matches(pattern: &str, value: &str, fold: bool) -> bool {
    let norm = |s: &str| if fold { s.to_uppercase() } else { s.to_owned() };
    let (pattern, value) = (norm(pattern), norm(value.trim()));
    if pattern.contains(['*', '?']) {
        let p: Vec<char> = pattern.chars().collect();
        let v: Vec<char> = value.chars().collect();
        return wildcard(&p, &v);
    }
    pattern.split('\\').any(|p| p.trim() == value)
}

/// Single value or range (`from-to`, either end open) matching of a date or time.
fn range_matches(pattern: &str, value: &str) -> bool {
    match pattern.split_once('-') {
        Some((from, to)) => {
            (from.is_empty() || value >= from)
                && (to.is_empty() || value <= to || value.starts_with(to))
        }
        None => value == pattern,
    }
}

/// Answers a worklist query for `tenant`: one item per matching order, at
/// most `limits.qido_max_results`, the earliest scheduled first.
pub fn worklist(
    ports: &Ports,
    tenant: &Tenant,
    request: &WorklistRequest<'_>,
) -> Result<Vec<Vec<u8>>, AppError> {
    let orders = ports
        .orders
        .list_orders(&tenant.name, ports.limits.qido_max_results)?;
    let value = |keys: &[(Tag, String)], tag: Tag| {
        keys.iter()
            .find(|(t, _)| *t == tag)
            .map(|(_, v)| v.clone())
            .filter(|v| !v.is_empty() && v != "*")
    };
    let top = &request.keys.keys;
    let step: &[(Tag, String)] = request
        .keys
        .items
        .iter()
        .find(|(t, _)| *t == SCHEDULED_PROCEDURE_STEP_SEQUENCE)
        .map_or(&[], |(_, k)| k.as_slice());
    let mut out = Vec::new();
    for order in &orders {
        let station_name = order
            .fields
            .get("ScheduledStationName")
            .map_or("", String::as_str);
        let checks = [
            (
                value(top, Tag(0x0010, 0x0020)),
                order.patient.patient_id.as_str(),
                false,
            ),
            (
                value(top, Tag(0x0010, 0x0010)),
                order.patient.name.as_deref().unwrap_or(""),
                true,
            ),
            (
                value(top, Tag(0x0008, 0x0050)),
                order.accession_number.as_str(),
                false,
            ),
            (
                value(top, Tag(0x0020, 0x000D)),
                order.study_uid.as_str(),
                false,
            ),
            (
                value(step, Tag(0x0040, 0x0001)),
                order.scheduled_station_ae.as_str(),
                false,
            ),
            (
                value(step, Tag(0x0008, 0x0060)),
                order.modality.as_str(),
                false,
            ),
            (value(step, Tag(0x0040, 0x0010)), station_name, false),
        ];
        let text_ok = checks
            .iter()
            .all(|(p, v, fold)| p.as_deref().is_none_or(|p| text_matches(p, v, *fold)));
        let date_ok =
            value(step, Tag(0x0040, 0x0002)).is_none_or(|p| range_matches(&p, &order.start_date));
        let time_ok =
            value(step, Tag(0x0040, 0x0003)).is_none_or(|p| range_matches(&p, &order.start_time));
        if text_ok && date_ok && time_ok {
            out.push(
                pacs_dicom_ops::worklist::write_worklist_item(
                    order,
                    request.keys,
                    request.transfer_syntax,
                )
                .map_err(AppError::from)?,
            );
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_lists_and_ranges_match_as_in_dicom() {
        assert!(text_matches("SUR*", "SURNAME^NAME", true));
        assert!(text_matches("sur?ame*", "SURNAME^NAME", true));
        assert!(!text_matches("NAME*", "SURNAME^NAME", true));
        assert!(text_matches("CT\\MR", "MR", false));
        assert!(!text_matches("ct", "CT", false));
        assert!(range_matches("20221201-20221231", "20221205"));
        assert!(range_matches("-20221205", "20221205"));
        assert!(!range_matches("20221206-", "20221205"));
        assert!(range_matches("120000-", "155430"));
    }
}

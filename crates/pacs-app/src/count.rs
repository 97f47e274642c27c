//! `GET /studies/count`: parsing the filters of the source document.

use std::time::{Duration, SystemTime};

use pacs_domain::model::CountFilter;

use crate::context::{Ports, Tenant};
use crate::error::{AppError, ErrorCode};

fn invalid(message: String) -> AppError {
    AppError::invalid(ErrorCode::InvalidParameter, message)
}

/// Midnight UTC of a `YYYYMMDD` date.
fn day(value: &str, name: &str) -> Result<SystemTime, AppError> {
    let date = chrono::NaiveDate::parse_from_str(value, "%Y%m%d")
        .ok()
        .filter(|_| value.len() == 8)
        .ok_or_else(|| invalid(format!("{name}: {value:?} is not a date (YYYYMMDD)")))?;
    let secs = date
        .and_hms_opt(0, 0, 0)
        .expect("midnight exists")
        .and_utc()
        .timestamp();
    Ok(if secs >= 0 {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs as u64)
    } else {
        SystemTime::UNIX_EPOCH - Duration::from_secs(secs.unsigned_abs())
    })
}

/// `A-B`, `A-` or `-B`.
fn range<'a>(value: &'a str, name: &str) -> Result<(&'a str, &'a str), AppError> {
    let (from, to) = value
        .split_once('-')
        .ok_or_else(|| invalid(format!("{name}: {value:?} is not a range (FROM-TO)")))?;
    if from.is_empty() && to.is_empty() {
        return Err(invalid(format!("{name}: a range needs at least one end")));
    }
    Ok((from.trim(), to.trim()))
}

fn kilobytes(value: &str, name: &str) -> Result<i64, AppError> {
    value
        .parse::<i64>()
        .ok()
        .filter(|n| *n >= 0)
        .ok_or_else(|| invalid(format!("{name}: {value:?} is not a size in KB")))
}

/// Parses the count filters (repeated parameters OR together).
pub fn parse(params: &[(String, String)]) -> Result<CountFilter, AppError> {
    let mut f = CountFilter::default();
    let mut seen_received = false;
    let mut seen_size = false;
    for (name, value) in params {
        match name.as_str() {
            "receivedAt" => {
                if std::mem::replace(&mut seen_received, true) {
                    return Err(invalid("receivedAt: give it once".into()));
                }
                let (from, to) = range(value, name)?;
                if !from.is_empty() {
                    f.received_from = Some(day(from, name)?);
                }
                if !to.is_empty() {
                    f.received_to = Some(day(to, name)?);
                }
                if let (Some(a), Some(b)) = (f.received_from, f.received_to)
                    && a > b
                {
                    return Err(invalid(format!(
                        "receivedAt: {value} ends before it starts"
                    )));
                }
            }
            "studySize" => {
                if std::mem::replace(&mut seen_size, true) {
                    return Err(invalid("studySize: give it once".into()));
                }
                let (lo, hi) = range(value, name)?;
                let lo = if lo.is_empty() {
                    0
                } else {
                    kilobytes(lo, name)?
                };
                f.size_min = Some(lo.saturating_mul(1024));
                if !hi.is_empty() {
                    let hi = kilobytes(hi, name)?;
                    if hi < lo {
                        return Err(invalid(format!("studySize: {value} ends before it starts")));
                    }
                    // Sizes count in whole KB (floor): HI KB is up to HI*1024 + 1023 bytes.
                    f.size_max = Some(hi.saturating_add(1).saturating_mul(1024) - 1);
                }
            }
            "aet" => f.aets.push(value.clone()),
            "excludeAet" => f.exclude_aets.push(value.clone()),
            "stationName" => f.stations.push(value.clone()),
            "excludeStationName" | "excludeStation" => f.exclude_stations.push(value.clone()),
            other => return Err(invalid(format!("unknown parameter {other:?}"))),
        }
    }
    Ok(f)
}

/// The number of the tenant's studies (with at least one live series) matching.
pub fn count(ports: &Ports, tenant: &Tenant, params: &[(String, String)]) -> Result<u64, AppError> {
    let filter = parse(params)?;
    Ok(ports.counter.count_studies(&tenant.name, &filter)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn ranges_and_lists() {
        let f = parse(&p(&[
            ("receivedAt", "20210101-20211231"),
            ("studySize", "0-10"),
            ("aet", "A"),
            ("aet", "B"),
        ]))
        .unwrap();
        assert!(f.received_from.unwrap() < f.received_to.unwrap());
        assert_eq!((f.size_min, f.size_max), (Some(0), Some(11 * 1024 - 1)));
        assert_eq!(f.aets, vec!["A", "B"]);
        let f = parse(&p(&[("studySize", "5-"), ("excludeStation", "X")])).unwrap();
        assert_eq!((f.size_min, f.size_max), (Some(5 * 1024), None));
        assert_eq!(f.exclude_stations, vec!["X"]);
    }

    #[test]
    fn malformed_filters_are_refused() {
        for bad in [
            ("receivedAt", "2021"),
            ("receivedAt", "20211301-"),
            ("receivedAt", "-"),
            ("studySize", "a-b"),
            ("studySize", "10-5"),
            ("nope", "1"),
        ] {
            assert!(parse(&p(&[bad])).is_err(), "{bad:?}");
        }
    }
}

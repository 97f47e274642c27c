//! Checking the fields of management requests: mandatory, UIDs, dates, sexes.

use pacs_domain::ids::{PatientId, StudyInstanceUid};

use crate::error::AppError;

/// The value of a mandatory text field; missing or blank is a 400 naming it.
pub fn required<'a>(
    value: &'a Option<String>,
    name: &str,
    context: &str,
) -> Result<&'a str, AppError> {
    match value.as_deref().map(str::trim) {
        Some(v) if !v.is_empty() => Ok(v),
        _ => Err(AppError::invalid(
            "missing_field",
            format!("{context}: {name} is mandatory"),
        )),
    }
}

/// An optional text field; blank counts as absent.
pub fn optional(value: &Option<String>) -> Option<String> {
    value
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

pub fn study_uid(value: &str, name: &str, context: &str) -> Result<StudyInstanceUid, AppError> {
    StudyInstanceUid::new(value)
        .map_err(|e| AppError::invalid("invalid_field", format!("{context}: {name}: {e}")))
}

pub fn patient_id(value: &str, name: &str, context: &str) -> Result<PatientId, AppError> {
    PatientId::new_required(value)
        .map_err(|e| AppError::invalid("invalid_field", format!("{context}: {name}: {e}")))
}

/// A DICOM date (DA, `YYYYMMDD`) that exists in the calendar.
pub fn date(value: Option<String>, name: &str, context: &str) -> Result<Option<String>, AppError> {
    match value {
        None => Ok(None),
        Some(v) if v.len() == 8 && chrono::NaiveDate::parse_from_str(&v, "%Y%m%d").is_ok() => {
            Ok(Some(v))
        }
        Some(v) => Err(AppError::invalid(
            "invalid_field",
            format!("{context}: {name} {v:?} is not a date (YYYYMMDD)"),
        )),
    }
}

/// A DICOM time (TM, `HHMMSS` with optional fraction).
pub fn time(value: Option<String>, name: &str, context: &str) -> Result<Option<String>, AppError> {
    match value {
        None => Ok(None),
        Some(v) => {
            let (hms, frac) = v.split_once('.').unwrap_or((&v, "0"));
            let ok = (2..=6).contains(&hms.len())
                && hms.len() % 2 == 0
                && hms.bytes().all(|b| b.is_ascii_digit())
                && frac.bytes().all(|b| b.is_ascii_digit());
            if ok {
                Ok(Some(v))
            } else {
                Err(AppError::invalid(
                    "invalid_field",
                    format!("{context}: {name} {v:?} is not a time (HHMMSS)"),
                ))
            }
        }
    }
}

/// Patient's Sex (CS): M, F or O.
pub fn sex(value: Option<String>, name: &str, context: &str) -> Result<Option<String>, AppError> {
    match value.map(|v| v.to_ascii_uppercase()) {
        None => Ok(None),
        Some(v) if matches!(v.as_str(), "M" | "F" | "O") => Ok(Some(v)),
        Some(v) => Err(AppError::invalid(
            "invalid_field",
            format!("{context}: {name} {v:?} must be M, F or O"),
        )),
    }
}

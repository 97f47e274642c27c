//! Checking the fields of management requests: mandatory, UIDs, dates, sexes.

use pacs_domain::ids::{PatientId, StudyInstanceUid};

use crate::error::{AppError, ErrorCode};

/// The value of a mandatory text field; missing or blank is a 400 naming it.
pub fn required<'a>(
    value: &'a Option<String>,
    name: &str,
    context: &str,
) -> Result<&'a str, AppError> {
    match value.as_deref().map(str::trim) {
        Some(v) if !v.is_empty() => Ok(v),
        _ => Err(AppError::invalid(
            ErrorCode::MissingField,
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
        .map_err(|e| AppError::invalid(ErrorCode::InvalidField, format!("{context}: {name}: {e}")))
}

pub fn patient_id(value: &str, name: &str, context: &str) -> Result<PatientId, AppError> {
    PatientId::new_required(value)
        .map_err(|e| AppError::invalid(ErrorCode::InvalidField, format!("{context}: {name}: {e}")))
}

/// A DICOM date (DA, `YYYYMMDD`) that exists in the calendar.
pub fn date(value: Option<String>, name: &str, context: &str) -> Result<Option<String>, AppError> {
    match value {
        None => Ok(None),
        Some(v) if v.len() == 8 && chrono::NaiveDate::parse_from_str(&v, "%Y%m%d").is_ok() => {
            Ok(Some(v))
        }
        Some(v) => Err(AppError::invalid(
            ErrorCode::InvalidField,
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
                    ErrorCode::InvalidField,
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
            ErrorCode::InvalidField,
            format!("{context}: {name} {v:?} must be M, F or O"),
        )),
    }
}

/// A Person Name (PN, PS3.5 §6.2): at most three component groups
/// (alphabetic, ideographic, phonetic) separated by `=`, each of at most five
/// `^`-separated components and at most 64 characters; one value (no `\`), no
/// control character but ESC (ISO 2022 escapes). Longer values could not be
/// written back into the stored objects.
pub fn person_name(
    value: Option<String>,
    name: &str,
    context: &str,
) -> Result<Option<String>, AppError> {
    let Some(v) = value else { return Ok(None) };
    let bad = |why: String| {
        Err(AppError::invalid(
            ErrorCode::InvalidField,
            format!("{context}: {name}: {why}"),
        ))
    };
    let groups: Vec<&str> = v.split('=').collect();
    if groups.len() > 3 {
        return bad(format!("{} component groups, at most 3", groups.len()));
    }
    for g in &groups {
        let chars = g.chars().count();
        if chars > 64 {
            return bad(format!(
                "a component group of {chars} characters, at most 64"
            ));
        }
        if g.split('^').count() > 5 {
            return bad("more than 5 components in a group".into());
        }
    }
    if let Some(c) = v
        .chars()
        .find(|c| *c == '\\' || (c.is_control() && *c != '\u{1b}'))
    {
        return bad(format!("the character {c:?} is not allowed"));
    }
    Ok(Some(v))
}

#[cfg(test)]
mod tests {
    use super::person_name;

    #[test]
    fn person_names_follow_ps3_5() {
        let ok = |v: &str| person_name(Some(v.into()), "patientName", "t").is_ok();
        assert!(ok("DOE^JANE^Q^DR^III"));
        assert!(ok("Yamada^Tarou=山田^太郎=やまだ^たろう"));
        assert!(ok(&"A".repeat(64)));
        assert!(!ok(&"A".repeat(65)));
        assert!(!ok(&"A".repeat(70_000)));
        assert!(!ok("A=B=C=D"));
        assert!(!ok("A^B^C^D^E^F"));
        assert!(!ok("DOE\\SMITH"));
        assert!(!ok("DOE\nJANE"));
        assert!(person_name(None, "patientName", "t").unwrap().is_none());
    }
}

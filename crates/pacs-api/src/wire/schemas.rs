//! Field schemas no derive can infer from a `String`: the value rules of
//! PS3.5 the API checks (UIDs, Patient IDs, dates, sexes, mandatory text).
//! Used with `#[schema(schema_with = …)]`.

use utoipa::openapi::schema::{Object, ObjectBuilder, Type};

fn string() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::String)
}

/// A UID (PS3.5 §9.1).
pub fn uid() -> Object {
    string()
        .max_length(Some(64))
        .pattern(Some(r"^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*$"))
        .build()
}

/// A Patient ID: at most 64 characters, not blank, no backslash nor control character.
pub fn patient_id() -> Object {
    string()
        .min_length(Some(1))
        .max_length(Some(64))
        .pattern(Some(
            r"^[^\\\x00-\x1F\x7F-\x9F]*[^\\\s\x00-\x1F\x7F-\x9F][^\\\x00-\x1F\x7F-\x9F]*$",
        ))
        .build()
}

/// A DICOM date that can exist (YYYYMMDD; the calendar is checked too).
pub fn date() -> Object {
    string()
        .pattern(Some("^[0-9]{4}(0[1-9]|1[0-2])(0[1-9]|[12][0-9]|3[01])$"))
        .description(Some("YYYYMMDD"))
        .build()
}

/// Mandatory text: not blank.
pub fn text() -> Object {
    string().min_length(Some(1)).pattern(Some(r"\S")).build()
}

/// Patient's Sex.
pub fn sex() -> Object {
    string().enum_values(Some(["M", "F", "O"])).build()
}

/// One of the archive's error codes, listed from the one enum that holds them.
pub fn error_code() -> Object {
    string()
        .enum_values(Some(pacs_app::ErrorCode::ALL.iter().map(|c| c.as_str())))
        .build()
}

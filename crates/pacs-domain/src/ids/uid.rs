//! DICOM Unique Identifiers (PS3.5 §9.1).

use super::IdError;

/// Longest UID PS3.5 §9.1 allows.
pub const MAX_UID_LEN: usize = 64;

/// Checks a UID against PS3.5 §9.1: 1..=64 characters, components of digits
/// separated by single dots, no leading zero in a component of more than one digit.
/// Trailing NUL and space padding (as found in files) are removed first.
pub fn validate_uid(raw: &str) -> Result<&str, IdError> {
    let uid = raw.trim_end_matches(['\0', ' ']);
    if uid.is_empty() {
        return Err(IdError::Empty { kind: "UID" });
    }
    if uid.len() > MAX_UID_LEN {
        return Err(IdError::TooLong {
            kind: "UID",
            max: MAX_UID_LEN,
            len: uid.len(),
        });
    }
    for component in uid.split('.') {
        let bytes = component.as_bytes();
        if bytes.is_empty() {
            return Err(IdError::Invalid {
                kind: "UID",
                reason: "empty component",
            });
        }
        if !bytes.iter().all(u8::is_ascii_digit) {
            return Err(IdError::Invalid {
                kind: "UID",
                reason: "only digits and dots are allowed",
            });
        }
        if bytes.len() > 1 && bytes[0] == b'0' {
            return Err(IdError::Invalid {
                kind: "UID",
                reason: "component with a leading zero",
            });
        }
    }
    Ok(uid)
}

macro_rules! uid_type {
    ($(#[$doc:meta])* $name:ident, $label:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// The only constructor: validates `raw` as a UID (PS3.5 §9.1).
            pub fn new(raw: &str) -> Result<Self, IdError> {
                validate_uid(raw)
                    .map(|uid| Self(uid.to_owned()))
                    .map_err(|e| e.of_kind($label))
            }

            /// The UID as text, without padding.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl std::str::FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::new(s)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

uid_type!(
    /// Study Instance UID (0020,000D).
    StudyInstanceUid,
    "StudyInstanceUID"
);
uid_type!(
    /// Series Instance UID (0020,000E).
    SeriesInstanceUid,
    "SeriesInstanceUID"
);
uid_type!(
    /// SOP Instance UID (0008,0018).
    SopInstanceUid,
    "SOPInstanceUID"
);
uid_type!(
    /// SOP Class UID (0008,0016).
    SopClassUid,
    "SOPClassUID"
);
uid_type!(
    /// Transfer Syntax UID (0002,0010).
    TransferSyntaxUid,
    "TransferSyntaxUID"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_valid_uids_and_strips_padding() {
        assert_eq!(
            StudyInstanceUid::new("1.2.840.10008\0").unwrap().as_str(),
            "1.2.840.10008"
        );
        assert!(SopInstanceUid::new("0.0.10").is_ok());
        assert!(SopInstanceUid::new(&format!("1.{}", "9".repeat(62))).is_ok());
    }

    #[test]
    fn rejects_invalid_uids() {
        for bad in [
            "",
            "1..2",
            ".1",
            "1.",
            "1.02",
            "1.2a",
            "1-2",
            &format!("1.{}", "9".repeat(63)),
        ] {
            assert!(
                SeriesInstanceUid::new(bad).is_err(),
                "{bad:?} should be rejected"
            );
        }
        let err = StudyInstanceUid::new("1.02").unwrap_err();
        assert!(err.to_string().contains("StudyInstanceUID"), "{err}");
    }
}

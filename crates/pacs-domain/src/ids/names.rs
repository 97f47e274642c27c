//! Identifiers that are not UIDs: AE titles, patient IDs, tenant names.

use super::IdError;

fn has_control(s: &str) -> bool {
    // ESC is allowed in LO values because ISO 2022 character sets switch with it.
    s.chars().any(|c| c.is_control() && c != '\u{1b}')
}

/// Application Entity title (AE VR, PS3.5 §6.2): 1..=16 characters, no backslash,
/// no control characters; leading and trailing spaces are not significant.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AeTitle(String);

impl AeTitle {
    pub const MAX_LEN: usize = 16;

    pub fn new(raw: &str) -> Result<Self, IdError> {
        let ae = raw.trim_matches([' ', '\0']);
        if ae.is_empty() {
            return Err(IdError::Empty { kind: "AE title" });
        }
        if ae.chars().count() > Self::MAX_LEN {
            return Err(IdError::TooLong {
                kind: "AE title",
                max: Self::MAX_LEN,
                len: ae.len(),
            });
        }
        if ae.contains('\\') || ae.chars().any(|c| c.is_control() || !c.is_ascii()) {
            return Err(IdError::Invalid {
                kind: "AE title",
                reason: "only printable ASCII without backslash is allowed",
            });
        }
        Ok(Self(ae.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Patient ID (0010,0020), LO VR: at most 64 characters, no backslash, no control
/// characters. It may be empty: the attribute is Type 2 and real devices send it so.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PatientId(String);

impl PatientId {
    pub const MAX_LEN: usize = 64;

    pub fn new(raw: &str) -> Result<Self, IdError> {
        let id = raw.trim_matches([' ', '\0']);
        if id.chars().count() > Self::MAX_LEN {
            return Err(IdError::TooLong {
                kind: "PatientID",
                max: Self::MAX_LEN,
                len: id.len(),
            });
        }
        if id.contains('\\') || has_control(id) {
            return Err(IdError::Invalid {
                kind: "PatientID",
                reason: "backslash and control characters are not allowed",
            });
        }
        Ok(Self(id.to_owned()))
    }

    /// A patient ID that must not be empty (management APIs name patients by it).
    pub fn new_required(raw: &str) -> Result<Self, IdError> {
        let id = Self::new(raw)?;
        if id.0.is_empty() {
            return Err(IdError::Empty { kind: "PatientID" });
        }
        Ok(id)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Name of a tenant: 1..=64 of `A-Z a-z 0-9 . _ -`. Every row and file belongs to one.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TenantName(String);

impl TenantName {
    pub const MAX_LEN: usize = 64;

    pub fn new(raw: &str) -> Result<Self, IdError> {
        if raw.is_empty() {
            return Err(IdError::Empty {
                kind: "tenant name",
            });
        }
        if raw.len() > Self::MAX_LEN {
            return Err(IdError::TooLong {
                kind: "tenant name",
                max: Self::MAX_LEN,
                len: raw.len(),
            });
        }
        if !raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        {
            return Err(IdError::Invalid {
                kind: "tenant name",
                reason: "only letters, digits, '.', '_' and '-' are allowed",
            });
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

macro_rules! display_as_str {
    ($($t:ty),*) => {$(
        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    )*};
}
display_as_str!(AeTitle, PatientId, TenantName);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ae_title_rules() {
        assert_eq!(AeTitle::new(" STORESCU ").unwrap().as_str(), "STORESCU");
        assert!(AeTitle::new("").is_err());
        assert!(AeTitle::new("    ").is_err());
        assert!(AeTitle::new("ABCDEFGHIJKLMNOPQ").is_err());
        assert!(AeTitle::new("A\\B").is_err());
        assert!(AeTitle::new("A\nB").is_err());
    }

    #[test]
    fn patient_id_rules() {
        assert!(PatientId::new("").unwrap().is_empty());
        assert!(PatientId::new_required("").is_err());
        assert!(PatientId::new(&"x".repeat(65)).is_err());
        assert!(PatientId::new("a\\b").is_err());
        assert_eq!(PatientId::new("PID-1 ").unwrap().as_str(), "PID-1");
    }

    #[test]
    fn tenant_name_rules() {
        assert!(TenantName::new("default").is_ok());
        assert!(TenantName::new("a/b").is_err());
        assert!(TenantName::new("").is_err());
    }
}

//! The attributes the archive indexes, per level of the DICOM information model.
//!
//! Text values are kept as they were received, with padding removed; `None` means
//! absent or empty. The database holds these values and they are the truth: every
//! retrieval writes the current patient and study values into the header it returns.

use crate::ids::{
    PatientId, SeriesInstanceUid, SopClassUid, SopInstanceUid, StudyInstanceUid, TransferSyntaxUid,
};

/// Patient module values.
#[derive(Clone, PartialEq, Eq)]
pub struct PatientAttributes {
    pub patient_id: PatientId,
    /// Issuer of Patient ID (0010,0021); part of the patient's identity.
    pub issuer: Option<String>,
    pub name: Option<String>,
    pub birth_date: Option<String>,
    pub sex: Option<String>,
}

// Patient data never goes to logs: Debug shows only that values are present.
impl std::fmt::Debug for PatientAttributes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PatientAttributes").finish_non_exhaustive()
    }
}

/// General Study module values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StudyAttributes {
    pub study_uid: StudyInstanceUid,
    pub study_date: Option<String>,
    pub study_time: Option<String>,
    pub accession_number: Option<String>,
    pub study_id: Option<String>,
    pub description: Option<String>,
    pub referring_physician: Option<String>,
}

impl StudyAttributes {
    /// A study known only by its UID.
    pub fn with_uid(study_uid: StudyInstanceUid) -> Self {
        Self {
            study_uid,
            study_date: None,
            study_time: None,
            accession_number: None,
            study_id: None,
            description: None,
            referring_physician: None,
        }
    }
}

/// General Series (and General Equipment) module values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeriesAttributes {
    pub series_uid: SeriesInstanceUid,
    pub modality: Option<String>,
    pub series_number: Option<i32>,
    pub description: Option<String>,
    pub body_part: Option<String>,
    pub laterality: Option<String>,
    pub protocol_name: Option<String>,
    /// Station Name (0008,1010): the modality that produced the series.
    pub station_name: Option<String>,
    pub performed_start_date: Option<String>,
    pub performed_start_time: Option<String>,
}

/// SOP Common, General Image and related values of one instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceAttributes {
    pub sop_uid: SopInstanceUid,
    pub sop_class: SopClassUid,
    pub transfer_syntax: TransferSyntaxUid,
    pub instance_number: Option<i32>,
    pub number_of_frames: Option<i32>,
    pub rows: Option<i32>,
    pub columns: Option<i32>,
    pub content_date: Option<String>,
    pub content_time: Option<String>,
    pub acquisition_time: Option<String>,
    /// Image Type (0008,0008) with its values joined by `\`.
    pub image_type: Option<String>,
    pub image_laterality: Option<String>,
    pub view_position: Option<String>,
    /// Code Meaning of the first item of Concept Name Code Sequence (documents, KOS, SR).
    pub code_meaning: Option<String>,
    /// Container Identifier (0040,0512): the slide barcode in pathology.
    pub container_identifier: Option<String>,
    /// Total Pixel Matrix Rows/Columns (0048,0006/0007): the size of a whole
    /// slide level (VL Whole Slide Microscopy), to find the baseline and the
    /// smallest level.
    pub total_pixel_matrix_rows: Option<i32>,
    pub total_pixel_matrix_columns: Option<i32>,
}

/// Everything the index keeps of one received object, read from its header.
#[derive(Debug, Clone)]
pub struct InstanceHeader {
    pub patient: PatientAttributes,
    pub study: StudyAttributes,
    pub series: SeriesAttributes,
    pub instance: InstanceAttributes,
    /// The header (every element before Pixel Data, bulk values left out) as a
    /// DICOM JSON object, so that QIDO `includefield` and WADO-RS metadata are
    /// answered without reading files.
    pub dicom_json: String,
    /// Byte offset of the Pixel Data element in the stored file, when it has one
    /// and the file is not deflated.
    pub pixel_data_offset: Option<u64>,
    /// Where each frame lies in the file (same conditions).
    pub frame_index: Option<super::FrameIndex>,
}

/// The values of `patient` and `study` that retrieval writes into returned headers,
/// as one comparable text. The index records it when an instance is stored; while
/// the current values give the same text, nothing was corrected and the stored
/// file is returned as it is.
pub fn header_fingerprint(patient: &PatientAttributes, study: &StudyAttributes) -> String {
    let fields: [&str; 11] = [
        patient.patient_id.as_str(),
        patient.issuer.as_deref().unwrap_or(""),
        patient.name.as_deref().unwrap_or(""),
        patient.birth_date.as_deref().unwrap_or(""),
        patient.sex.as_deref().unwrap_or(""),
        study.study_uid.as_str(),
        study.accession_number.as_deref().unwrap_or(""),
        study.study_date.as_deref().unwrap_or(""),
        study.study_time.as_deref().unwrap_or(""),
        study.description.as_deref().unwrap_or(""),
        study.referring_physician.as_deref().unwrap_or(""),
    ];
    fields.join("\u{1f}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn patient(name: &str) -> PatientAttributes {
        PatientAttributes {
            patient_id: PatientId::new("P1").unwrap(),
            issuer: None,
            name: Some(name.into()),
            birth_date: None,
            sex: None,
        }
    }

    #[test]
    fn fingerprint_changes_with_any_rewritten_value() {
        let study = StudyAttributes::with_uid(StudyInstanceUid::new("1.2.3").unwrap());
        let a = header_fingerprint(&patient("DOE^JOHN"), &study);
        assert_eq!(a, header_fingerprint(&patient("DOE^JOHN"), &study));
        assert_ne!(a, header_fingerprint(&patient("DOE^JANE"), &study));
        let mut other = study.clone();
        other.accession_number = Some("A1".into());
        assert_ne!(a, header_fingerprint(&patient("DOE^JOHN"), &other));
    }

    #[test]
    fn patient_debug_hides_values() {
        assert!(!format!("{:?}", patient("DOE^JOHN")).contains("DOE"));
    }
}

//! The patient and study values the database owns. Retrieval writes them into
//! every header it returns (files stay untouched), so what WADO returns always
//! matches what QIDO says, also after move, merge or update corrections.

use dicom_core::{Tag, VR};
use dicom_dictionary_std::tags;
use pacs_domain::model::{PatientAttributes, StudyAttributes};

type Getter = for<'a> fn(&'a PatientAttributes, &'a StudyAttributes) -> Option<&'a str>;

/// (tag, VR, value in the database). Must cover exactly the fields of
/// `pacs_domain::model::header_fingerprint`.
pub const OVERRIDES: [(Tag, VR, Getter); 11] = [
    (tags::PATIENT_ID, VR::LO, |p, _| Some(p.patient_id.as_str())),
    (tags::ISSUER_OF_PATIENT_ID, VR::LO, |p, _| {
        p.issuer.as_deref()
    }),
    (tags::PATIENT_NAME, VR::PN, |p, _| p.name.as_deref()),
    (tags::PATIENT_BIRTH_DATE, VR::DA, |p, _| {
        p.birth_date.as_deref()
    }),
    (tags::PATIENT_SEX, VR::CS, |p, _| p.sex.as_deref()),
    (tags::STUDY_INSTANCE_UID, VR::UI, |_, s| {
        Some(s.study_uid.as_str())
    }),
    (tags::ACCESSION_NUMBER, VR::SH, |_, s| {
        s.accession_number.as_deref()
    }),
    (tags::STUDY_DATE, VR::DA, |_, s| s.study_date.as_deref()),
    (tags::STUDY_TIME, VR::TM, |_, s| s.study_time.as_deref()),
    (tags::STUDY_DESCRIPTION, VR::LO, |_, s| {
        s.description.as_deref()
    }),
    (tags::REFERRING_PHYSICIAN_NAME, VR::PN, |_, s| {
        s.referring_physician.as_deref()
    }),
];

//! Storage Commitment Push Model data sets (PS3.4 J.3): the request of an
//! N-ACTION and the result an N-EVENT-REPORT carries.

use dicom_core::value::DataSetSequence;
use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;

use crate::error::DicomError;
use crate::find::{check_lengths, transfer_syntax};

/// A commitment request: its Transaction UID and the (SOP class, SOP
/// instance) pairs it asks about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitmentRequest {
    pub transaction_uid: String,
    pub references: Vec<(String, String)>,
}

fn uid(obj: &InMemDicomObject, tag: dicom_core::Tag) -> Option<String> {
    let s = obj.get(tag)?.to_str().ok()?;
    let s = s.trim_end_matches(['\0', ' ']).trim();
    (!s.is_empty()).then(|| s.to_owned())
}

/// Reads the data set of a Storage Commitment N-ACTION-RQ.
pub fn read_commitment_request(
    bytes: &[u8],
    ts_uid: &str,
) -> Result<CommitmentRequest, DicomError> {
    let (ts, explicit) = transfer_syntax(ts_uid)?;
    check_lengths(bytes, explicit)?;
    let obj = InMemDicomObject::read_dataset_with_ts(bytes, &ts)
        .map_err(|e| DicomError::Parse(format!("commitment request: {e}")))?;
    let transaction_uid =
        uid(&obj, tags::TRANSACTION_UID).ok_or(DicomError::Missing("TransactionUID"))?;
    let items = obj
        .get(tags::REFERENCED_SOP_SEQUENCE)
        .and_then(|e| e.items())
        .ok_or(DicomError::Missing("ReferencedSOPSequence"))?;
    let references = items
        .iter()
        .map(|i| {
            Ok((
                uid(i, tags::REFERENCED_SOP_CLASS_UID)
                    .ok_or(DicomError::Missing("ReferencedSOPClassUID"))?,
                uid(i, tags::REFERENCED_SOP_INSTANCE_UID)
                    .ok_or(DicomError::Missing("ReferencedSOPInstanceUID"))?,
            ))
        })
        .collect::<Result<_, DicomError>>()?;
    Ok(CommitmentRequest {
        transaction_uid,
        references,
    })
}

fn reference(class: &str, instance: &str, failure: Option<u16>) -> InMemDicomObject {
    let mut item = InMemDicomObject::new_empty();
    item.put(DataElement::new(
        tags::REFERENCED_SOP_CLASS_UID,
        VR::UI,
        PrimitiveValue::from(class),
    ));
    item.put(DataElement::new(
        tags::REFERENCED_SOP_INSTANCE_UID,
        VR::UI,
        PrimitiveValue::from(instance),
    ));
    if let Some(reason) = failure {
        item.put(DataElement::new(
            tags::FAILURE_REASON,
            VR::US,
            PrimitiveValue::from(reason),
        ));
    }
    item
}

/// The data set of the N-EVENT-REPORT answering a commitment request: the
/// instances committed, and those not with their Failure Reason.
pub fn write_commitment_result(
    transaction_uid: &str,
    committed: &[(String, String)],
    failed: &[(String, String, u16)],
    ts_uid: &str,
) -> Result<Vec<u8>, DicomError> {
    let (ts, _) = transfer_syntax(ts_uid)?;
    let mut obj = InMemDicomObject::new_empty();
    obj.put(DataElement::new(
        tags::TRANSACTION_UID,
        VR::UI,
        PrimitiveValue::from(transaction_uid),
    ));
    if !committed.is_empty() {
        let items: Vec<_> = committed
            .iter()
            .map(|(c, i)| reference(c, i, None))
            .collect();
        obj.put(DataElement::new(
            tags::REFERENCED_SOP_SEQUENCE,
            VR::SQ,
            DataSetSequence::from(items),
        ));
    }
    if !failed.is_empty() {
        let items: Vec<_> = failed
            .iter()
            .map(|(c, i, r)| reference(c, i, Some(*r)))
            .collect();
        obj.put(DataElement::new(
            tags::FAILED_SOP_SEQUENCE,
            VR::SQ,
            DataSetSequence::from(items),
        ));
    }
    let mut out = Vec::new();
    obj.write_dataset_with_ts(&mut out, &ts)
        .map_err(|e| DicomError::Encode(format!("commitment result: {e}")))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_result_reads_back_as_a_request_does() {
        let ts = "1.2.840.10008.1.2";
        let bytes = write_commitment_result(
            "1.2.3",
            &[("1.2.840.10008.5.1.4.1.1.2".into(), "1.2.3.4".into())],
            &[("1.2.840.10008.5.1.4.1.1.2".into(), "1.2.3.5".into(), 0x0112)],
            ts,
        )
        .unwrap();
        let back = read_commitment_request(&bytes, ts).unwrap();
        assert_eq!(back.transaction_uid, "1.2.3");
        assert_eq!(
            back.references,
            vec![("1.2.840.10008.5.1.4.1.1.2".to_owned(), "1.2.3.4".to_owned())]
        );
    }
}

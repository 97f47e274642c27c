//! The two ways into DICOMweb: the vendor's split roots (`/qido/{AET}`,
//! `/wado-rs/{AET}`, `/stowRsListener/{CALLING_AET}`) and the one root
//! `/dicomweb/{AET}` that generic clients (OHIF, Orthanc, dicomweb-client)
//! take as a single base URL. The same handlers serve both; the root decides
//! only what differs on the wire.

use pacs_domain::ids::AeTitle;

use crate::state::AppState;

/// The base URL a DICOMweb request came through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Root {
    /// The vendor's paths, answered as they always were.
    Vendor,
    /// `/dicomweb/{AET}`: empty searches are `200 []` (Orthanc's client cannot
    /// read an empty 204), and retrieve URLs point back into this root.
    DicomWeb,
}

/// The calling AE title recorded for instances stored through the one root,
/// whose URL names the archive, not the sender (docs/dicomweb.md).
pub const DICOMWEB_CALLING_AET: &str = "DICOMWEB";

impl Root {
    /// Where the instances found through this root are retrieved.
    pub fn retrieve_base(self, state: &AppState, ae: &AeTitle) -> String {
        match self {
            Root::Vendor => state.wado_rs_root(ae),
            Root::DicomWeb => state.dicomweb_root(ae),
        }
    }
}

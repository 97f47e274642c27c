//! Path and query parameters as the document describes them. Handlers read
//! the query string themselves (repeated keys, the API's own 400 wording);
//! these types only say what is accepted.
#![allow(dead_code, non_snake_case)]

use utoipa::IntoParams;

/// `{aet}` of a QIDO-RS or WADO-RS path.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct AetPath {
    /// The archive's AE title for the tenant (`tenants[].ae_title`); another one: 404
    #[param(example = "PACS")]
    aet: String,
}

/// `{study}`: a Study Instance UID.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct StudyPath {
    /// Study Instance UID
    #[param(
        pattern = r"^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*$",
        max_length = 64,
        example = "1.2.840.113619.2.55.3"
    )]
    study: String,
}

/// `{series}`: a Series Instance UID.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct SeriesPath {
    /// Series Instance UID
    #[param(
        pattern = r"^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*$",
        max_length = 64,
        example = "1.2.840.113619.2.55.3.1"
    )]
    series: String,
}

/// `{instance}`: a SOP Instance UID.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct InstancePath {
    /// SOP Instance UID
    #[param(
        pattern = r"^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*$",
        max_length = 64,
        example = "1.2.840.113619.2.55.3.1.1"
    )]
    instance: String,
}

/// `{frames}` of a frame resource.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct FramesPath {
    /// Frame numbers from 1, comma-separated
    #[param(pattern = "^[1-9][0-9]*(,[1-9][0-9]*)*$", example = "1")]
    frames: String,
}

/// `{tag}` of a bulk data resource.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct BulkTagPath {
    /// The value, as the metadata's BulkDataURI ends: GGGGEEEE (7FE00010 for Pixel Data), or inside sequences GGGGEEEE/item/GGGGEEEE (items from 0)
    #[param(
        pattern = "^[0-9A-Fa-f]{8}(/[0-9]+/[0-9A-Fa-f]{8})*$",
        example = "60003000"
    )]
    tag: String,
}

/// `{aet}` of a STOW-RS or slide upload: the sender.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct CallingAetPath {
    /// CALLING_AET: the AE title the instances are recorded as received from
    #[param(example = "MODALITY")]
    aet: String,
}

/// QIDO-RS: matching keys by keyword (any other attribute keyword or tag is
/// accepted too), paging and returned fields.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct QidoQuery {
    /// Attributes to return besides the defaults: keywords or tags, comma-separated, or `all` (repeatable)
    includefield: Option<Vec<String>>,
    /// At most this many results (at most 10,000)
    #[param(minimum = 0)]
    limit: Option<u32>,
    /// Skip this many results
    #[param(minimum = 0)]
    offset: Option<u32>,
    /// Accepted and ignored
    fuzzymatching: Option<String>,
    /// Patient ID (0010,0020); wildcards * and ?
    PatientID: Option<String>,
    /// Patient's Name (0010,0010), case-insensitive; wildcards
    PatientName: Option<String>,
    /// YYYYMMDD or a range A-B
    PatientBirthDate: Option<String>,
    /// One UID or a list separated by , or \
    StudyInstanceUID: Option<String>,
    /// YYYYMMDD or a range A-B, A- or -B
    StudyDate: Option<String>,
    /// Accession Number (0008,0050)
    AccessionNumber: Option<String>,
    /// A modality of the study's series
    ModalitiesInStudy: Option<String>,
    /// One UID or a list
    SeriesInstanceUID: Option<String>,
    /// Modality (0008,0060)
    Modality: Option<String>,
    /// One UID or a list
    SOPInstanceUID: Option<String>,
}

/// Rendered and thumbnail resources (PS3.18 §10.4.1.1.3).
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImageQuery {
    /// center,width[,function]: the VOI window (default: the object's, else min/max)
    window: Option<String>,
    /// width,height (1 to 8192) to fit into; default the image's size (128,128 for thumbnails)
    viewport: Option<String>,
    /// JPEG quality
    #[param(minimum = 1, maximum = 100)]
    quality: Option<u8>,
}

/// `GET /preview`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PreviewQuery {
    /// SOP Instance UID (or seriesUID, not both)
    #[param(pattern = r"^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*$", max_length = 64)]
    objectUID: Option<String>,
    /// Series Instance UID: its instance with the lowest InstanceNumber
    #[param(pattern = r"^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*$", max_length = 64)]
    seriesUID: Option<String>,
    /// Fit into size×size pixels (default 256)
    #[param(minimum = 16, maximum = 2048)]
    size: Option<u32>,
}

/// `?studyUid=` of the KOS, order and study instance resources.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StudyUidQuery {
    /// Study Instance UID
    #[param(pattern = r"^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*$", max_length = 64)]
    studyUid: String,
}

/// `GET /wholeslide`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BarcodeQuery {
    /// The slide's barcode
    barcode: String,
}

/// WADO-URI (PS3.18 §9).
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WadoUriQuery {
    /// Must be WADO
    #[param(pattern = "^WADO$")]
    requestType: String,
    /// Study Instance UID
    studyUID: String,
    /// Series Instance UID
    seriesUID: String,
    /// SOP Instance UID
    objectUID: String,
    /// image/jpeg (the default; also image/* or */*), image/png or application/dicom, or a list in preference order; another one: 406
    contentType: Option<String>,
    /// With application/dicom: only the stored transfer syntax (or *); another one: 406
    transferSyntax: Option<String>,
    /// JPEG: fit into this height
    #[param(minimum = 1, maximum = 8192)]
    rows: Option<u32>,
    /// JPEG: fit into this width
    #[param(minimum = 1, maximum = 8192)]
    columns: Option<u32>,
    /// JPEG: VOI window center (with windowWidth)
    windowCenter: Option<f64>,
    /// JPEG: VOI window width, positive (with windowCenter)
    windowWidth: Option<f64>,
    /// JPEG: the frame (from 1)
    #[param(minimum = 1, maximum = 4_294_967_295_u64)]
    frameNumber: Option<u32>,
    /// JPEG quality
    #[param(minimum = 1, maximum = 100)]
    imageQuality: Option<u8>,
}

/// `GET /studyEvents`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventsQuery {
    /// Events with a greater id (0 for the first)
    #[param(minimum = 0)]
    offsetId: u64,
    /// At most this many events (1–1000, default 100)
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
}

/// `GET /studies/count`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CountQuery {
    /// YYYYMMDD-YYYYMMDD: first reception, from inclusive, to exclusive; either end may be empty
    receivedAt: Option<String>,
    /// LO-HI in KB (1024 bytes), both inclusive; HI may be empty
    studySize: Option<String>,
    /// Keep studies with a series received from one of these calling AETs (repeatable)
    aet: Option<Vec<String>>,
    /// Drop studies with a series received from one of these (repeatable)
    excludeAet: Option<Vec<String>>,
    /// Keep studies with a series of one of these StationNames (repeatable)
    stationName: Option<Vec<String>>,
    /// Drop studies with a series of one of these StationNames (repeatable)
    excludeStationName: Option<Vec<String>>,
    /// Alias of excludeStationName (repeatable)
    excludeStation: Option<Vec<String>>,
}

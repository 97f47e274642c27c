//! The OpenAPI 3.1 document of every HTTP endpoint, served at
//! `/o3-dpacs-wado/openapi.json` (with Swagger UI at `/o3-dpacs-wado/swagger-ui/`).
//!
//! It is written here, next to nothing else, rather than derived from handler
//! annotations: one table of operations (`operations()`) built with utoipa's
//! builders, and the JSON schemas of the answers (`schemas()`). A test reads the
//! route registrations in `routes/*.rs` and fails when a route is missing here,
//! so a new endpoint cannot be forgotten silently. When adding a route: add an
//! `op(…)` below with its parameters, body, answers and errors.

use std::sync::OnceLock;

use serde_json::{Value, json};
use utoipa::openapi::path::{HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::schema::{Components, ComponentsBuilder, Schema};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityRequirement, SecurityScheme};
use utoipa::openapi::tag::TagBuilder;
use utoipa::openapi::{
    ContentBuilder, InfoBuilder, OpenApi, OpenApiBuilder, Paths, Ref, RefOr, Required,
    ResponseBuilder,
};

/// Where the document is served (no key needed).
pub const OPENAPI_PATH: &str = "/o3-dpacs-wado/openapi.json";
/// Where Swagger UI is served (no key needed).
pub const SWAGGER_UI_PATH: &str = "/o3-dpacs-wado/swagger-ui";

/// Whether `path` is the document or a file of its viewer.
pub fn is_doc_path(path: &str) -> bool {
    path == OPENAPI_PATH
        || path
            .strip_prefix(SWAGGER_UI_PATH)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

const CTX: &str = "/o3-dpacs-wado";
const DICOM_JSON: &str = "application/dicom+json";
const JSON: &str = "application/json";
const MULTIPART_DICOM: &str = "multipart/related; type=\"application/dicom\"";
const API_KEY: &str = "apiKey";

/// The document, built once.
pub fn document() -> &'static OpenApi {
    static DOC: OnceLock<OpenApi> = OnceLock::new();
    DOC.get_or_init(build)
}

fn build() -> OpenApi {
    let mut paths = Paths::new();
    for o in operations() {
        paths.add_path_operation(&o.path, vec![o.method], o.builder.build());
    }
    let info = InfoBuilder::new()
        .title("pacs")
        .version(env!("CARGO_PKG_VERSION"))
        .description(Some(
            "A medical image archive: the vendor \"PACS APIs\" and DICOMweb (STOW-RS, \
             QIDO-RS, WADO-RS, WADO-URI) under /o3-dpacs-wado. Every request there carries \
             `Authorization: {APIkey}` (or `Bearer {APIkey}`); the key selects the tenant. \
             Errors are `{\"error\": code, \"message\": sentence}`. See docs/api-conformance.md.",
        ))
        .build();
    OpenApiBuilder::new()
        .info(info)
        .paths(paths)
        .components(Some(components()))
        .security(Some([SecurityRequirement::new(
            API_KEY,
            Vec::<String>::new(),
        )]))
        .tags(Some(
            [
                (
                    "operations",
                    "Probes, metrics and this document (no key needed)",
                ),
                (
                    "dicomweb",
                    "STOW-RS, QIDO-RS, WADO-RS and WADO-URI (PS3.18)",
                ),
                ("management", "Count, deprecation and recovery"),
                ("patients", "Patient and study corrections"),
                ("orders", "Orders and the instances of a study"),
                ("events", "The study event log"),
                ("images", "Previews"),
                ("kos", "Key Object Selection manifests"),
                (
                    "pathology",
                    "Slide files (non-DICOM and MIRAX) and whole slides",
                ),
            ]
            .map(|(name, text)| TagBuilder::new().name(name).description(Some(text)).build()),
        ))
        .build()
}

/// One operation being described.
struct Op {
    method: HttpMethod,
    path: String,
    builder: OperationBuilder,
}

fn op(method: HttpMethod, path: &str, tag: &str, id: &str, summary: &str) -> Op {
    let full = if path.starts_with('/') && !path.starts_with(CTX) && !is_top_level(path) {
        format!("{CTX}{path}")
    } else {
        path.to_owned()
    };
    Op {
        method,
        path: full,
        builder: OperationBuilder::new()
            .tag(tag)
            .operation_id(Some(id))
            .summary(Some(summary)),
    }
}

/// Paths that live outside the web context.
fn is_top_level(path: &str) -> bool {
    matches!(path, "/healthz" | "/readyz" | "/metrics")
}

fn schema(v: Value) -> RefOr<Schema> {
    serde_json::from_value(v.clone())
        .unwrap_or_else(|e| panic!("not a schema utoipa knows ({e}): {v}"))
}

fn string() -> Value {
    json!({ "type": "string" })
}

/// A UID (PS3.5 §9.1).
fn uid() -> Value {
    json!({
        "type": "string",
        "maxLength": 64,
        "pattern": "^(0|[1-9][0-9]*)(\\.(0|[1-9][0-9]*))*$",
    })
}

/// A Patient ID: at most 64 characters, not blank, no backslash nor control character.
fn patient_id() -> Value {
    json!({
        "type": "string",
        "minLength": 1,
        "maxLength": 64,
        "pattern": "^[^\\\\\\x00-\\x1F\\x7F-\\x9F]*[^\\\\\\s\\x00-\\x1F\\x7F-\\x9F][^\\\\\\x00-\\x1F\\x7F-\\x9F]*$",
    })
}

/// A DICOM date that can exist (YYYYMMDD; the calendar is checked too).
fn date() -> Value {
    json!({
        "type": "string",
        "pattern": "^[0-9]{4}(0[1-9]|1[0-2])(0[1-9]|[12][0-9]|3[01])$",
        "description": "YYYYMMDD",
    })
}

/// Mandatory text: not blank.
fn text() -> Value {
    json!({ "type": "string", "minLength": 1, "pattern": "\\S" })
}

fn reference(name: &str) -> RefOr<Schema> {
    RefOr::Ref(Ref::from_schema_name(name))
}

impl Op {
    fn describe(mut self, text: &str) -> Self {
        self.builder = self.builder.description(Some(text));
        self
    }

    /// No key needed: overrides the document's security requirement.
    fn public(mut self) -> Self {
        self.builder = self
            .builder
            .securities(Some(Vec::<SecurityRequirement>::new()));
        self
    }

    fn param(
        mut self,
        name: &str,
        place: ParameterIn,
        required: bool,
        text: &str,
        s: Value,
    ) -> Self {
        let p = ParameterBuilder::new()
            .name(name)
            .parameter_in(place)
            .required(if required {
                Required::True
            } else {
                Required::False
            })
            .description(Some(text))
            .schema(Some(schema(s)));
        self.builder = self.builder.parameter(p.build());
        self
    }

    fn path_param(self, name: &str, text: &str, example: &str) -> Self {
        self.param(
            name,
            ParameterIn::Path,
            true,
            text,
            json!({ "type": "string", "examples": [example] }),
        )
    }

    fn aet(self) -> Self {
        self.path_param(
            "aet",
            "The archive's AE title for the tenant (`tenants[].ae_title`); another one: 404",
            "PACS",
        )
    }

    fn uid_param(self, name: &str, text: &str, example: &str) -> Self {
        let mut s = uid();
        s["examples"] = json!([example]);
        self.param(name, ParameterIn::Path, true, text, s)
    }

    fn study(self) -> Self {
        self.uid_param("study", "Study Instance UID", "1.2.840.113619.2.55.3")
    }

    fn series(self) -> Self {
        self.uid_param("series", "Series Instance UID", "1.2.840.113619.2.55.3.1")
    }

    fn instance(self) -> Self {
        self.uid_param("instance", "SOP Instance UID", "1.2.840.113619.2.55.3.1.1")
    }

    fn query(self, name: &str, text: &str) -> Self {
        self.param(name, ParameterIn::Query, false, text, string())
    }

    fn query_typed(self, name: &str, text: &str, s: Value) -> Self {
        self.param(name, ParameterIn::Query, false, text, s)
    }

    fn query_list(self, name: &str, text: &str) -> Self {
        self.param(
            name,
            ParameterIn::Query,
            false,
            &format!("{text} (repeatable)"),
            json!({ "type": "array", "items": string() }),
        )
    }

    fn header(self, name: &str, text: &str) -> Self {
        self.param(name, ParameterIn::Header, false, text, string())
    }

    fn json_body(mut self, schema_name: &str, media: &[&str]) -> Self {
        let mut body = RequestBodyBuilder::new().required(Some(Required::True));
        for m in media {
            body = body.content(
                *m,
                ContentBuilder::new()
                    .schema(Some(reference(schema_name)))
                    .build(),
            );
        }
        self.builder = self.builder.request_body(Some(body.build()));
        self
    }

    fn binary_body(mut self, media: &str, text: &str) -> Self {
        let body = RequestBodyBuilder::new()
            .required(Some(Required::True))
            .description(Some(text))
            .content(
                media,
                ContentBuilder::new()
                    .schema(Some(schema(json!({
                        "type": "string",
                        "contentMediaType": media,
                    }))))
                    .build(),
            );
        self.builder = self.builder.request_body(Some(body.build()));
        self
    }

    /// A successful answer; `body` is a schema name, `None` for no body.
    fn ok(mut self, status: u16, text: &str, media: &str, body: Option<&str>) -> Self {
        let mut r = ResponseBuilder::new().description(text);
        if let Some(name) = body {
            r = r.content(
                media,
                ContentBuilder::new().schema(Some(reference(name))).build(),
            );
        }
        self.builder = self.builder.response(status.to_string(), r.build());
        self
    }

    /// A successful answer of bytes (`media` may be several, comma-separated).
    fn ok_bytes(mut self, status: u16, text: &str, media: &[&str]) -> Self {
        let mut r = ResponseBuilder::new().description(text);
        for m in media {
            r = r.content(
                *m,
                ContentBuilder::new()
                    .schema(Some(schema(
                        json!({ "type": "string", "contentMediaType": m }),
                    )))
                    .build(),
            );
        }
        self.builder = self.builder.response(status.to_string(), r.build());
        self
    }

    /// Error answers, each `{"error", "message"}` (components/responses).
    fn errors(mut self, statuses: &[u16]) -> Self {
        for s in statuses {
            self.builder = self.builder.response(
                s.to_string(),
                RefOr::Ref(Ref::from_response_name(error_name(*s))),
            );
        }
        self
    }

    /// The errors of every operation under the web context: no key (401) and a
    /// dependency down (503).
    fn keyed(self) -> Self {
        self.errors(&[401, 503])
    }
}

fn error_name(status: u16) -> &'static str {
    match status {
        400 => "BadRequest",
        401 => "Unauthorized",
        404 => "NotFound",
        406 => "NotAcceptable",
        409 => "Conflict",
        413 => "PayloadTooLarge",
        415 => "UnsupportedMediaType",
        416 => "RangeNotSatisfiable",
        422 => "Unprocessable",
        503 => "Unavailable",
        other => panic!("no error response defined for {other}"),
    }
}

const ERRORS: &[(u16, &str)] = &[
    (
        400,
        "Malformed request: bad JSON, a missing or invalid field or parameter, an invalid UID",
    ),
    (401, "Missing or unknown API key"),
    (
        404,
        "Unknown object (or another tenant's), or unknown AE title",
    ),
    (406, "The requested representation is not available"),
    (409, "Conflict with the archive's data (see the operation)"),
    (413, "The body is larger than server.max_body_bytes"),
    (415, "Wrong Content-Type"),
    (416, "The requested byte range is outside the content"),
    (
        422,
        "The pixel data cannot be decoded (e.g. 12-bit JPEG Extended): cannot_render",
    ),
    (503, "The database or a storage medium is unavailable"),
];

/// QIDO-RS matching keys (any other attribute keyword or tag is accepted too).
const QIDO_KEYS: &[(&str, &str)] = &[
    ("PatientID", "Patient ID (0010,0020); wildcards * and ?"),
    (
        "PatientName",
        "Patient's Name (0010,0010), case-insensitive; wildcards",
    ),
    ("PatientBirthDate", "YYYYMMDD or a range A-B"),
    ("StudyInstanceUID", "One UID or a list separated by , or \\"),
    ("StudyDate", "YYYYMMDD or a range A-B, A- or -B"),
    ("AccessionNumber", "Accession Number (0008,0050)"),
    ("ModalitiesInStudy", "A modality of the study's series"),
    ("SeriesInstanceUID", "One UID or a list"),
    ("Modality", "Modality (0008,0060)"),
    ("SOPInstanceUID", "One UID or a list"),
];

fn qido(o: Op) -> Op {
    let mut o = o
        .aet()
        .query_list(
            "includefield",
            "Attributes to return besides the defaults: keywords or tags, comma-separated, or `all`",
        )
        .query_typed(
            "limit",
            "At most this many results (at most 10,000)",
            json!({ "type": "integer", "minimum": 0 }),
        )
        .query_typed(
            "offset",
            "Skip this many results",
            json!({ "type": "integer", "minimum": 0 }),
        )
        .query("fuzzymatching", "Accepted and ignored");
    for (k, text) in QIDO_KEYS {
        o = o.query(k, text);
    }
    o.describe(
        "PS3.18 QIDO-RS. Match by attribute keyword or tag (`PatientID=…`, `00100020=…`); \
         any other valid attribute is ignored with a `Warning: 299` header, an unknown name is 400.",
    )
    .ok(
        200,
        "Matches, in DICOM JSON",
        DICOM_JSON,
        Some("DicomDatasets"),
    )
    .ok(204, "Nothing matches", DICOM_JSON, None)
    .errors(&[400, 404])
    .keyed()
}

fn wado_rs(o: Op, single: bool) -> Op {
    let mut media = vec![MULTIPART_DICOM];
    if single {
        media.push("application/dicom");
    }
    o.header(
        "Accept",
        if single {
            "multipart/related; type=\"application/dicom\" (default) or application/dicom"
        } else {
            "multipart/related; type=\"application/dicom\" (default)"
        },
    )
    .describe(
        "PS3.18 WADO-RS: the stored objects as received (no transcoding); after a correction \
         the header carries the database's current values.",
    )
    .ok_bytes(200, "The instances", &media)
    .errors(&[400, 404, 406])
    .keyed()
}

/// The instance path of the frame and image resources.
const INSTANCE: &str = "/wado-rs/{aet}/studies/{study}/series/{series}/instances/{instance}";

fn int_range(min: u64, max: u64) -> Value {
    json!({ "type": "integer", "minimum": min, "maximum": max })
}

/// A rendered or thumbnail resource (PS3.18 §10.4.1.1.3).
fn image(o: Op, thumbnail: bool) -> Op {
    o.aet()
        .header(
            "Accept",
            "image/jpeg (the default), image/*, */*, or multipart/related; type=\"image/jpeg\"",
        )
        .query(
            "window",
            "center,width[,function]: the VOI window (default: the object's, else min/max)",
        )
        .query(
            "viewport",
            if thumbnail {
                "width,height (1 to 8192) to fit into; default 128,128"
            } else {
                "width,height (1 to 8192) to fit into; default the image's size"
            },
        )
        .query_typed("quality", "JPEG quality", int_range(1, 100))
        .describe(if thumbnail {
            "One JPEG image representing the resource (a study's or series' representative instance)."
        } else {
            "JPEG rendering: one image bare, several (a series, a study, a frame list) as multipart/related."
        })
        .ok_bytes(
            200,
            "The image(s)",
            &["image/jpeg", "multipart/related; type=\"image/jpeg\""],
        )
        .errors(&[400, 404, 406, 422])
        .keyed()
}

fn frames_param(o: Op) -> Op {
    o.param(
        "frames",
        ParameterIn::Path,
        true,
        "Frame numbers from 1, comma-separated",
        json!({ "type": "string", "pattern": "^[1-9][0-9]*(,[1-9][0-9]*)*$", "examples": ["1"] }),
    )
}

fn wado_metadata(o: Op) -> Op {
    o.describe("DICOM JSON of the stored headers (bulk data and Pixel Data left out)")
        .ok(200, "Metadata", DICOM_JSON, Some("DicomDatasets"))
        .errors(&[400, 404])
        .keyed()
}

fn stow(o: Op) -> Op {
    o.aet_calling()
        .binary_body(
            "multipart/related",
            "multipart/related; type=\"application/dicom\": one DICOM Part 10 file per part",
        )
        .describe(
            "PS3.18 STOW-RS. Parts are streamed to storage; the answer is the PS3.18 store \
             response. 200: every instance stored; 202: some failed; 409: none stored.",
        )
        .ok(
            200,
            "Every instance stored",
            DICOM_JSON,
            Some("DicomDataset"),
        )
        .ok(
            202,
            "Some instances failed",
            DICOM_JSON,
            Some("DicomDataset"),
        )
        .ok(
            409,
            "No instance stored (FailedSOPSequence says why)",
            DICOM_JSON,
            Some("DicomDataset"),
        )
        .errors(&[400, 413, 415])
        .keyed()
}

impl Op {
    fn aet_calling(self) -> Self {
        self.path_param(
            "aet",
            "CALLING_AET: the AE title the instances are recorded as received from",
            "MODALITY",
        )
    }
}

fn deprecation(o: Op, request: &str, deprecate: bool) -> Op {
    let conflicts = if deprecate {
        "multiple_series / multiple_studies (same ContainerIdentifier / AccessionNumber), \
         deprecation_pending, system_error"
    } else {
        "live_data_exists: live data with the same UIDs was stored since"
    };
    o.json_body(request, &[JSON, "text/json"])
        .describe(&format!("409: {conflicts}."))
        .ok(200, "Done", JSON, Some("DeprecationResponse"))
        .errors(&[400, 404, 409])
        .keyed()
}

fn correction(o: Op, request: &str, text: &str) -> Op {
    o.json_body(request, &[JSON, "text/json"])
        .describe(text)
        .ok(200, "Done", JSON, Some("CorrectionResponse"))
        .errors(&[400, 404, 409])
        .keyed()
}

/// Every operation of the archive.
fn operations() -> Vec<Op> {
    use HttpMethod::{Delete, Get, Post};
    vec![
        // Operations.
        op(Get, "/healthz", "operations", "healthz", "The process is alive")
            .public()
            .ok(200, "Alive", JSON, Some("Health")),
        op(
            Get,
            "/readyz",
            "operations",
            "readyz",
            "The database and every storage medium answer",
        )
        .public()
        .ok(200, "Ready", JSON, Some("Health"))
        .ok(503, "Something is down", JSON, Some("NotReady")),
        op(Get, "/metrics", "operations", "metrics", "Prometheus metrics")
            .public()
            .describe(
                "Text format 0.0.4: requests and latency per route pattern, instances and bytes \
                 per medium, database pool, job queue depth, DIMSE associations. No patient data.",
            )
            .ok_bytes(200, "The metrics", &["text/plain"]),
        op(
            Get,
            "/openapi.json",
            "operations",
            "openapi",
            "This OpenAPI document",
        )
        .public()
        .ok(200, "The document", JSON, Some("Document")),
        op(
            Get,
            "/swagger-ui/{file}",
            "operations",
            "swaggerUi",
            "Swagger UI (vendored) for this document",
        )
        .public()
        .path_param("file", "A file of the UI; empty for its index", "index.html")
        .ok_bytes(200, "A file of the UI", &["text/html", "text/javascript", "text/css"])
        .errors(&[404]),
        // STOW-RS.
        stow(op(
            Post,
            "/stowRsListener/{aet}/studies",
            "dicomweb",
            "stow",
            "Store instances (STOW-RS)",
        )),
        stow(
            op(
                Post,
                "/stowRsListener/{aet}/studies/{study}",
                "dicomweb",
                "stowStudy",
                "Store instances of one study (STOW-RS)",
            )
            .study(),
        ),
        // QIDO-RS.
        qido(op(
            Get,
            "/qido/{aet}/patients",
            "dicomweb",
            "qidoPatients",
            "Search patients",
        )),
        qido(op(
            Get,
            "/qido/{aet}/studies",
            "dicomweb",
            "qidoStudies",
            "Search studies",
        )),
        qido(op(
            Get,
            "/qido/{aet}/series",
            "dicomweb",
            "qidoSeries",
            "Search series",
        )),
        qido(op(
            Get,
            "/qido/{aet}/instances",
            "dicomweb",
            "qidoInstances",
            "Search instances",
        )),
        qido(
            op(
                Get,
                "/qido/{aet}/studies/{study}/series",
                "dicomweb",
                "qidoStudySeries",
                "Search the series of a study",
            )
            .study(),
        ),
        qido(
            op(
                Get,
                "/qido/{aet}/studies/{study}/instances",
                "dicomweb",
                "qidoStudyInstances",
                "Search the instances of a study",
            )
            .study(),
        ),
        qido(
            op(
                Get,
                "/qido/{aet}/studies/{study}/series/{series}/instances",
                "dicomweb",
                "qidoSeriesInstances",
                "Search the instances of a series",
            )
            .study()
            .series(),
        ),
        // WADO-RS.
        wado_rs(
            op(
                Get,
                "/wado-rs/{aet}/studies/{study}",
                "dicomweb",
                "wadoStudy",
                "Retrieve a study",
            )
            .aet()
            .study(),
            false,
        ),
        wado_metadata(
            op(
                Get,
                "/wado-rs/{aet}/studies/{study}/metadata",
                "dicomweb",
                "wadoStudyMetadata",
                "Metadata of a study",
            )
            .aet()
            .study(),
        ),
        wado_rs(
            op(
                Get,
                "/wado-rs/{aet}/studies/{study}/series/{series}",
                "dicomweb",
                "wadoSeries",
                "Retrieve a series",
            )
            .aet()
            .study()
            .series(),
            false,
        ),
        wado_metadata(
            op(
                Get,
                "/wado-rs/{aet}/studies/{study}/series/{series}/metadata",
                "dicomweb",
                "wadoSeriesMetadata",
                "Metadata of a series",
            )
            .aet()
            .study()
            .series(),
        ),
        wado_rs(
            op(
                Get,
                "/wado-rs/{aet}/studies/{study}/series/{series}/instances/{instance}",
                "dicomweb",
                "wadoInstance",
                "Retrieve an instance",
            )
            .aet()
            .study()
            .series()
            .instance(),
            true,
        ),
        wado_metadata(
            op(
                Get,
                "/wado-rs/{aet}/studies/{study}/series/{series}/instances/{instance}/metadata",
                "dicomweb",
                "wadoInstanceMetadata",
                "Metadata of an instance",
            )
            .aet()
            .study()
            .series()
            .instance(),
        ),
        // Frames, rendered and thumbnail resources, preview.
        frames_param(
            op(
                Get,
                &format!("{INSTANCE}/frames/{{frames}}"),
                "dicomweb",
                "wadoFrames",
                "Retrieve frames",
            )
            .aet()
            .study()
            .series()
            .instance(),
        )
        .header(
            "Accept",
            "multipart/related; type=\"application/octet-stream\" (native pixels; \
             transfer-syntax=* for the stored bytes), or the stored frames' own type",
        )
        .describe("PS3.18 WADO-RS frames: one part per frame, each with its transfer-syntax.")
        .ok_bytes(
            200,
            "The frames",
            &["multipart/related; type=\"application/octet-stream\""],
        )
        .errors(&[400, 404, 406, 422])
        .keyed(),
        image(
            frames_param(
                op(
                    Get,
                    &format!("{INSTANCE}/frames/{{frames}}/rendered"),
                    "dicomweb",
                    "renderedFrames",
                    "Rendered frames",
                )
                .study()
                .series()
                .instance(),
            ),
            false,
        ),
        image(
            frames_param(
                op(
                    Get,
                    &format!("{INSTANCE}/frames/{{frames}}/thumbnail"),
                    "dicomweb",
                    "thumbnailFrames",
                    "Thumbnail of frames",
                )
                .study()
                .series()
                .instance(),
            ),
            true,
        ),
        image(
            op(
                Get,
                &format!("{INSTANCE}/rendered"),
                "dicomweb",
                "renderedInstance",
                "Rendered instance",
            )
            .study()
            .series()
            .instance(),
            false,
        ),
        image(
            op(
                Get,
                &format!("{INSTANCE}/thumbnail"),
                "dicomweb",
                "thumbnailInstance",
                "Thumbnail of an instance",
            )
            .study()
            .series()
            .instance(),
            true,
        ),
        image(
            op(
                Get,
                "/wado-rs/{aet}/studies/{study}/series/{series}/rendered",
                "dicomweb",
                "renderedSeries",
                "Rendered series",
            )
            .study()
            .series(),
            false,
        ),
        image(
            op(
                Get,
                "/wado-rs/{aet}/studies/{study}/series/{series}/thumbnail",
                "dicomweb",
                "thumbnailSeries",
                "Thumbnail of a series",
            )
            .study()
            .series(),
            true,
        ),
        image(
            op(
                Get,
                "/wado-rs/{aet}/studies/{study}/rendered",
                "dicomweb",
                "renderedStudy",
                "Rendered study",
            )
            .study(),
            false,
        ),
        image(
            op(
                Get,
                "/wado-rs/{aet}/studies/{study}/thumbnail",
                "dicomweb",
                "thumbnailStudy",
                "Thumbnail of a study",
            )
            .study(),
            true,
        ),
        op(
            Get,
            "/preview",
            "images",
            "preview",
            "A JPEG preview of an instance or a series",
        )
        .query_typed("objectUID", "SOP Instance UID (or seriesUID, not both)", uid())
        .query_typed(
            "seriesUID",
            "Series Instance UID: its instance with the lowest InstanceNumber",
            uid(),
        )
        .query_typed("size", "Fit into size×size pixels (default 256)", int_range(16, 2048))
        .describe("400: neither or both of objectUID and seriesUID; 404: unknown, or no pixel data.")
        .ok_bytes(200, "The preview", &["image/jpeg"])
        .errors(&[400, 404, 422])
        .keyed(),
        // Key objects.
        op(
            Post,
            "/studies/createKos",
            "kos",
            "createKos",
            "Store a KOS manifest of a study in a new series of the study",
        )
        .json_body("CreateKos", &[JSON, "text/json"])
        .describe(
            "The source document's answer shape: {\"success\", \"sopInstanceUid\"} or \
             {\"success\": false, \"errorCode\"}: STUDY_NOT_FOUND (404), MALFORMED_JSON (400), \
             INTERNAL_IO_ERROR, INTERNAL_SQL_ERROR, INTERNAL_DICOM_ERROR, INTERNAL_GENERIC_ERROR (500).",
        )
        .ok(200, "Stored", JSON, Some("KosResult"))
        .ok(400, "MALFORMED_JSON", JSON, Some("KosResult"))
        .ok(404, "STUDY_NOT_FOUND", JSON, Some("KosResult"))
        .ok(500, "INTERNAL_*_ERROR", JSON, Some("KosResult"))
        .keyed(),
        op(
            Get,
            "/studies/kos",
            "kos",
            "generateKos",
            "A KOS manifest of a study, not stored",
        )
        .param("studyUid", ParameterIn::Query, true, "Study Instance UID", uid())
        .describe("Content-Disposition: attachment; filename=\"<SOP Instance UID of the KOS>\".")
        .ok_bytes(200, "The KOS (DICOM Part 10)", &["application/dicom"])
        .errors(&[400, 404])
        .keyed(),
        // Digital pathology.
        op(
            Post,
            "/pathoRsListener/{aet}/studies",
            "pathology",
            "storeSlide",
            "Store a slide file or MIRAX zip with its metadata or sidecar",
        )
        .aet_calling()
        .binary_body(
            "multipart/form-data",
            "Parts: metadata (JSON: attributes, hierarchy) or sidecar (a DICOM object this \
             archive generated), file (the slide; a MIRAX slide as application/zip), fileHash \
             (SHA-1 hex; for MIRAX of the .mrxs entry), fileLength (bytes)",
        )
        .describe(
            "The file is streamed to storage while its SHA-1 and length are computed. 400: a \
             missing or invalid part, an unknown keyword or invalid value, a MIRAX zip without \
             .mrxs or with unsafe entries, a sidecar not of this archive. 409: fileHash or \
             fileLength mismatch, or data in conflict with what is stored (nothing is kept).",
        )
        .ok(200, "Stored, or already stored", JSON, Some("SlideStored"))
        .errors(&[400, 409, 413])
        .keyed(),
        op(
            Get,
            "/wholeslide",
            "pathology",
            "getWholeSlide",
            "The whole slide of a barcode (Container Identifier)",
        )
        .param("barcode", ParameterIn::Query, true, "The slide's barcode", string())
        .header("Range", "One byte range (bytes=first-last); several ranges get the whole")
        .describe(
            "A slide file as stored, a MIRAX slide as its zip, a DICOM WSI as its baseline \
             instance (a zip when the baseline spans several instances). Content-Disposition \
             names the file. 400: no or empty barcode; 404: none; 409: several slides.",
        )
        .ok_bytes(
            200,
            "The slide",
            &["application/octet-stream", "application/zip", "application/dicom"],
        )
        .ok_bytes(
            206,
            "The requested range",
            &["application/octet-stream", "application/zip", "application/dicom"],
        )
        .errors(&[400, 404, 409, 416])
        .keyed(),
        // WADO-URI.
        op(Get, "/wado", "dicomweb", "wadoUri", "Retrieve an object (WADO-URI)")
            .param(
                "requestType",
                ParameterIn::Query,
                true,
                "Must be WADO",
                json!({ "type": "string", "enum": ["WADO"] }),
            )
            .param("studyUID", ParameterIn::Query, true, "Study Instance UID", string())
            .param("seriesUID", ParameterIn::Query, true, "Series Instance UID", string())
            .param("objectUID", ParameterIn::Query, true, "SOP Instance UID", string())
            .query(
                "contentType",
                "image/jpeg (the default; also image/* or */*) or application/dicom; another one: 406",
            )
            .query(
                "transferSyntax",
                "With application/dicom: only the stored transfer syntax (or *); another one: 406",
            )
            .query_typed("rows", "JPEG: fit into this height", int_range(1, 8192))
            .query_typed("columns", "JPEG: fit into this width", int_range(1, 8192))
            .query_typed(
                "windowCenter",
                "JPEG: VOI window center (with windowWidth)",
                json!({ "type": "number" }),
            )
            .query_typed(
                "windowWidth",
                "JPEG: VOI window width, positive (with windowCenter)",
                json!({ "type": "number" }),
            )
            .query_typed("frameNumber", "JPEG: the frame (from 1)", int_range(1, 4_294_967_295))
            .query_typed("imageQuality", "JPEG quality", int_range(1, 100))
            .describe("PS3.18 WADO-URI (§9)")
            .ok_bytes(200, "The object, or its rendering", &["image/jpeg", "application/dicom"])
            .errors(&[400, 404, 406, 422])
            .keyed(),
        // Events.
        op(
            Get,
            "/studyEvents",
            "events",
            "studyEvents",
            "The tenant's study events after offsetId",
        )
        .param(
            "offsetId",
            ParameterIn::Query,
            true,
            "Events with a greater id (0 for the first)",
            json!({ "type": "integer", "minimum": 0 }),
        )
        .query_typed(
            "limit",
            "At most this many events (1–1000, default 100)",
            json!({ "type": "integer", "minimum": 1, "maximum": 1000 }),
        )
        .ok(200, "A page of events", JSON, Some("StudyEvents"))
        .errors(&[400])
        .keyed(),
        // Management.
        op(
            Get,
            "/studies/count",
            "management",
            "countStudies",
            "Count live studies",
        )
        .query(
            "receivedAt",
            "YYYYMMDD-YYYYMMDD: first reception, from inclusive, to exclusive; either end may be empty",
        )
        .query(
            "studySize",
            "LO-HI in KB (1024 bytes), both inclusive; HI may be empty",
        )
        .query_list("aet", "Keep studies with a series received from one of these calling AETs")
        .query_list("excludeAet", "Drop studies with a series received from one of these")
        .query_list("stationName", "Keep studies with a series of one of these StationNames")
        .query_list(
            "excludeStationName",
            "Drop studies with a series of one of these StationNames",
        )
        .query_list("excludeStation", "Alias of excludeStationName")
        .ok(200, "The count", JSON, Some("StudyCount"))
        .errors(&[400])
        .keyed(),
        deprecation(
            op(
                Post,
                "/series/deprecation",
                "management",
                "deprecateSeries",
                "Deprecate (hide) a series",
            ),
            "SeriesDeprecation",
            true,
        ),
        deprecation(
            op(
                Post,
                "/studies/deprecation",
                "management",
                "deprecateStudy",
                "Deprecate (hide) a study",
            ),
            "StudyDeprecation",
            true,
        ),
        deprecation(
            op(
                Post,
                "/series/recovery",
                "management",
                "recoverSeries",
                "Recover a deprecated series",
            ),
            "SeriesRecovery",
            false,
        ),
        deprecation(
            op(
                Post,
                "/studies/recovery",
                "management",
                "recoverStudy",
                "Recover a deprecated study",
            ),
            "StudyRecovery",
            false,
        ),
        op(
            Post,
            "/studies/relocation",
            "management",
            "relocateStudy",
            "Move a study's stored objects to another physical medium",
        )
        .json_body("StudyRelocation", &[JSON, "text/json"])
        .describe(
            "Synchronous: every object is copied and verified, the index switched, then the old \
             copies removed; a failure leaves the study where it was. 404 study_not_found, \
             medium_not_found; 409 multiple_studies, bucket_error (no S3 bucket is served by \
             this version), relocation_pending, system_error.",
        )
        .ok(200, "Done", JSON, Some("RelocationResponse"))
        .errors(&[400, 404, 409])
        .keyed(),
        // Corrections.
        correction(
            op(
                Post,
                "/patients/create",
                "patients",
                "createPatient",
                "Create a patient",
            ),
            "CreatePatient",
            "409 patient_exists: the ID is taken for that issuer.",
        ),
        correction(
            op(
                Post,
                "/patients/update",
                "patients",
                "updatePatient",
                "Update a patient's demographics",
            ),
            "UpdatePatient",
            "404 patient_not_found; 409 multiple_patients (same ID, several issuers).",
        ),
        correction(
            op(
                Post,
                "/patients/merge",
                "patients",
                "mergePatients",
                "Merge a patient into another",
            ),
            "MergePatients",
            "409 source_patient_not_found, multiple_source_patients, no_study_for_source, \
             multiple_target_patients.",
        ),
        correction(
            op(
                Post,
                "/studies/move",
                "patients",
                "moveStudy",
                "Move a study to another patient",
            ),
            "MoveStudy",
            "404: unknown study.",
        ),
        correction(
            op(
                Post,
                "/studies/reconcile",
                "patients",
                "reconcileStudies",
                "Move the series of a study into another",
            ),
            "ReconcileStudies",
            "404: unknown source; 409 patient_mismatch.",
        ),
        correction(
            op(
                Post,
                "/studies/swap",
                "patients",
                "swapStudies",
                "Swap the series of two studies",
            ),
            "SwapStudies",
            "404: either study unknown.",
        ),
        // Orders.
        op(
            Post,
            "/orders/create",
            "orders",
            "createOrder",
            "Create an order (modality worklist)",
        )
        .json_body("OrderRequest", &[JSON, "text/json"])
        .describe("Content-Type text/json or application/json (else 415). 409 order_exists.")
        .ok(200, "Created", JSON, Some("OrderResponse"))
        .errors(&[400, 409, 415])
        .keyed(),
        op(
            Delete,
            "/orders/delete",
            "orders",
            "deleteOrder",
            "Delete an order",
        )
        .param(
            "studyUid",
            ParameterIn::Query,
            true,
            "The order's StudyInstanceUID",
            uid(),
        )
        .ok(200, "Deleted", JSON, Some("OrderResponse"))
        .errors(&[400, 404])
        .keyed(),
        op(
            Get,
            "/studyInstances",
            "orders",
            "studyInstances",
            "The live instances of a study",
        )
        .param(
            "studyUid",
            ParameterIn::Query,
            true,
            "Study Instance UID",
            uid(),
        )
        .ok(200, "One object per live instance", JSON, Some("StudyInstances"))
        .errors(&[400, 404])
        .keyed(),
    ]
}

fn components() -> Components {
    let mut c = ComponentsBuilder::new().security_scheme(
        API_KEY,
        SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
            "Authorization",
            "The tenant's API key, bare or as `Bearer {key}`",
        ))),
    );
    for (name, s) in schemas() {
        c = c.schema(name, schema(s));
    }
    for (status, text) in ERRORS {
        c = c.response(
            error_name(*status),
            ResponseBuilder::new()
                .description(*text)
                .content(
                    JSON,
                    ContentBuilder::new()
                        .schema(Some(reference("Error")))
                        .build(),
                )
                .build(),
        );
    }
    c.build()
}

/// `base` (an object schema) with one more required field per variant:
/// `oneOf` (exactly one variant) or `anyOf` (at least one).
fn variants(kind: &str, base: &Value, extra_required: &[&str]) -> Value {
    let items: Vec<Value> = extra_required
        .iter()
        .map(|field| {
            let mut v = base.clone();
            let mut required = v["required"].as_array().cloned().unwrap_or_default();
            required.push(json!(field));
            v["required"] = Value::Array(required);
            v
        })
        .collect();
    json!({ kind: items })
}

/// A deprecation or recovery body: exactly one of `uid_field` and `other`,
/// `author`, and `reason` (mandatory to deprecate).
fn change_schema(uid_field: &str, other: &str, deprecate: bool) -> Value {
    let required: &[&str] = if deprecate {
        &["author", "reason"]
    } else {
        &["author"]
    };
    let base = json!({
        "type": "object",
        "required": required,
        "properties": {
            uid_field: uid(),
            other: text(),
            "author": text(),
            "reason": text(),
        },
    });
    variants("oneOf", &base, &[uid_field, other])
}

fn nullable_string() -> Value {
    json!({ "type": ["string", "null"] })
}

fn object(required: &[&str], properties: Value) -> Value {
    json!({ "type": "object", "required": required, "properties": properties })
}

/// The JSON schemas of the bodies, by component name.
fn schemas() -> Vec<(&'static str, Value)> {
    let patient_fields = |required: &[&str], ids: &[&str]| {
        let mut props = serde_json::Map::new();
        for k in ids
            .iter()
            .chain(&["patientName", "patientBirthDate", "patientSex", "userName"])
        {
            let s = match *k {
                "patientBirthDate" | "studyDate" => date(),
                "patientSex" => json!({ "type": "string", "enum": ["M", "F", "O"] }),
                "patientID" | "sourcePatientID" | "targetPatientID" => patient_id(),
                "studyInstanceUid" | "sourceStudyInstanceUID" | "targetStudyInstanceUID" => uid(),
                "userName" | "operatorName" | "patientName" => text(),
                _ => string(),
            };
            props.insert((*k).to_owned(), s);
        }
        object(required, Value::Object(props))
    };
    let study_instance_keys = [
        "acquisitionTime",
        "bodyPartExamined",
        "codeMeaning",
        "contentDate",
        "contentTime",
        "imageLaterality",
        "imageType",
        "laterality",
        "modality",
        "numberOfFrames",
        "protocolName",
        "seriesDescription",
        "seriesInstanceUid",
        "seriesNumber",
        "sopClassUid",
        "sopInstanceUid",
        "studyDescription",
        "studyInstanceUid",
        "viewPosition",
    ];
    let mut instance_props = serde_json::Map::new();
    for k in study_instance_keys {
        let s = match k {
            "numberOfFrames" | "seriesNumber" => json!({ "type": ["integer", "null"] }),
            "seriesInstanceUid" | "sopClassUid" | "sopInstanceUid" | "studyInstanceUid" => string(),
            _ => nullable_string(),
        };
        instance_props.insert(k.to_owned(), s);
    }
    vec![
        (
            "Error",
            json!({
                "type": "object",
                "required": ["error", "message"],
                "properties": {
                    "error": { "type": "string", "description": "A stable machine code" },
                    "message": { "type": "string", "description": "A sentence for people" },
                },
            }),
        ),
        (
            "Document",
            json!({ "type": "object", "description": "An OpenAPI 3.1 document" }),
        ),
        (
            "Health",
            object(
                &["status"],
                json!({ "status": { "type": "string", "enum": ["ok", "ready"] } }),
            ),
        ),
        (
            "NotReady",
            object(
                &["error", "message", "down"],
                json!({
                    "error": { "type": "string", "enum": ["not_ready"] },
                    "message": string(),
                    "down": {
                        "type": "array",
                        "items": object(&["component", "reason"], json!({
                            "component": { "type": "string", "description": "database, or medium:NAME" },
                            "reason": string(),
                        })),
                    },
                }),
            ),
        ),
        (
            "DicomAttribute",
            json!({
                "type": "object",
                "required": ["vr"],
                "properties": {
                    "vr": { "type": "string", "pattern": "^[A-Z]{2}$" },
                    "Value": { "type": "array" },
                    "InlineBinary": string(),
                    "BulkDataURI": string(),
                },
            }),
        ),
        (
            "DicomDataset",
            json!({
                "type": "object",
                "description": "A DICOM JSON data set (PS3.18 F.2): attributes by tag",
                "propertyNames": { "type": "string", "pattern": "^[0-9A-F]{8}$" },
                "additionalProperties": { "$ref": "#/components/schemas/DicomAttribute" },
            }),
        ),
        (
            "DicomDatasets",
            json!({ "type": "array", "items": { "$ref": "#/components/schemas/DicomDataset" } }),
        ),
        (
            "StudyCount",
            object(
                &["study_count"],
                json!({ "study_count": { "type": "integer", "minimum": 0 } }),
            ),
        ),
        (
            "SeriesDeprecation",
            change_schema("seriesInstanceUid", "containerIdentifier", true),
        ),
        (
            "SeriesRecovery",
            change_schema("seriesInstanceUid", "containerIdentifier", false),
        ),
        (
            "StudyDeprecation",
            change_schema("studyInstanceUid", "accessionNumber", true),
        ),
        (
            "StudyRecovery",
            change_schema("studyInstanceUid", "accessionNumber", false),
        ),
        (
            "StudyRelocation",
            json!({ "allOf": [
                variants(
                    "oneOf",
                    &json!({
                        "type": "object",
                        "required": ["author"],
                        "properties": {
                            "studyInstanceUid": uid(),
                            "accessionNumber": text(),
                            "bucketName": text(),
                            "physicalMediumName": text(),
                            "author": text(),
                        },
                    }),
                    &["studyInstanceUid", "accessionNumber"],
                ),
                { "oneOf": [
                    { "type": "object", "required": ["physicalMediumName"] },
                    { "type": "object", "required": ["bucketName"] },
                ] },
            ] }),
        ),
        (
            "RelocationResponse",
            object(
                &["message", "request"],
                json!({
                    "message": { "type": "string", "enum": ["relocation successful"] },
                    "request": { "type": "object", "description": "The fields received" },
                }),
            ),
        ),
        (
            "DeprecationResponse",
            object(
                &["message", "request"],
                json!({
                    "message": { "type": "string", "enum": ["deprecation successful", "recovery successful"] },
                    "request": { "type": "object", "description": "The identifying fields, author and reason received" },
                }),
            ),
        ),
        (
            "CreatePatient",
            patient_fields(
                &["patientID", "patientName", "userName"],
                &["patientID", "idIssuer"],
            ),
        ),
        (
            "UpdatePatient",
            patient_fields(
                &["patientID", "patientName", "userName"],
                &["patientID", "operatorName"],
            ),
        ),
        (
            "MergePatients",
            // Who: userName, or operatorName alone.
            variants(
                "anyOf",
                &patient_fields(
                    &["sourcePatientID", "targetPatientID"],
                    &["sourcePatientID", "targetPatientID", "operatorName"],
                ),
                &["userName", "operatorName"],
            ),
        ),
        (
            "MoveStudy",
            patient_fields(
                &[
                    "studyInstanceUid",
                    "targetPatientID",
                    "patientName",
                    "userName",
                ],
                &["studyInstanceUid", "targetPatientID"],
            ),
        ),
        (
            "ReconcileStudies",
            patient_fields(
                &[
                    "sourceStudyInstanceUID",
                    "targetStudyInstanceUID",
                    "patientID",
                    "userName",
                ],
                &[
                    "sourceStudyInstanceUID",
                    "targetStudyInstanceUID",
                    "patientID",
                    "accessionNumber",
                    "studyDescription",
                    "studyDate",
                ],
            ),
        ),
        (
            "SwapStudies",
            object(
                &[
                    "sourceStudyInstanceUID",
                    "targetStudyInstanceUID",
                    "userName",
                ],
                json!({
                    "sourceStudyInstanceUID": uid(),
                    "targetStudyInstanceUID": uid(),
                    "userName": text(),
                }),
            ),
        ),
        (
            "Patient",
            object(
                &[
                    "patientID",
                    "patientName",
                    "patientBirthDate",
                    "patientSex",
                    "idIssuer",
                ],
                json!({
                    "patientID": string(),
                    "patientName": nullable_string(),
                    "patientBirthDate": nullable_string(),
                    "patientSex": nullable_string(),
                    "idIssuer": nullable_string(),
                }),
            ),
        ),
        (
            "CorrectionResponse",
            object(
                &["message", "patient", "studies"],
                json!({
                    "message": string(),
                    "patient": { "$ref": "#/components/schemas/Patient" },
                    "studies": { "type": "array", "items": string(), "description": "Study Instance UIDs changed" },
                }),
            ),
        ),
        (
            "OrderRequest",
            json!({
                "type": "object",
                "description": "DICOM keywords as keys, text values; every field is kept for the worklist",
                "required": [
                    "PatientID", "StudyInstanceUID", "PatientName", "ScheduledStationAETitle",
                    "ScheduledProcedureStepDescription", "ScheduledProcedureStepStartDate",
                    "ScheduledProcedureStepStartTime", "Modality", "AccessionNumber",
                ],
                "properties": {
                    "PatientID": patient_id(),
                    "StudyInstanceUID": uid(),
                    "PatientName": text(),
                    "ScheduledStationAETitle": {
                        "type": "string", "minLength": 1, "maxLength": 16,
                        "pattern": "^[^\\\\\\x00-\\x1F]*$",
                    },
                    "ScheduledProcedureStepDescription": text(),
                    "ScheduledProcedureStepStartDate": date(),
                    "ScheduledProcedureStepStartTime": {
                        "type": "string", "pattern": "^([0-9]{2}){1,3}(\\.[0-9]{1,6})?$",
                        "description": "HH[MM[SS[.FFFFFF]]]",
                    },
                    "Modality": { "type": "string", "pattern": "^[A-Z0-9_ ]{1,16}$" },
                    "AccessionNumber": text(),
                    "PatientBirthDate": date(),
                    "PatientSex": { "type": "string", "enum": ["M", "F", "O"] },
                },
                "additionalProperties": { "type": ["string", "null"] },
            }),
        ),
        (
            "OrderResponse",
            object(
                &["message", "order"],
                json!({
                    "message": { "type": "string", "enum": ["order created", "order deleted"] },
                    "order": { "type": "object", "additionalProperties": string() },
                }),
            ),
        ),
        (
            "StudyInstance",
            json!({
                "type": "object",
                "required": study_instance_keys,
                "properties": Value::Object(instance_props),
                "additionalProperties": false,
            }),
        ),
        (
            "StudyInstances",
            json!({ "type": "array", "items": { "$ref": "#/components/schemas/StudyInstance" } }),
        ),
        (
            "CreateKos",
            object(
                &["studyInstanceUid", "callingAE"],
                json!({ "studyInstanceUid": uid(), "callingAE": text() }),
            ),
        ),
        (
            "SlideStored",
            json!({
                "type": "object",
                "required": [
                    "studyInstanceUid", "seriesInstanceUid", "sopInstanceUid",
                    "containerIdentifier", "fileName", "slideType", "alreadyStored",
                ],
                "properties": {
                    "studyInstanceUid": uid(),
                    "seriesInstanceUid": uid(),
                    "sopInstanceUid": uid(),
                    "containerIdentifier": string(),
                    "fileName": string(),
                    "slideType": { "type": "string", "enum": ["file", "mirax"] },
                    "alreadyStored": { "type": "boolean" },
                },
            }),
        ),
        (
            "KosResult",
            json!({
                "type": "object",
                "required": ["success"],
                "properties": {
                    "success": { "type": "boolean" },
                    "sopInstanceUid": uid(),
                    "errorCode": {
                        "type": "string",
                        "enum": [
                            "STUDY_NOT_FOUND", "MALFORMED_JSON", "INTERNAL_IO_ERROR",
                            "INTERNAL_SQL_ERROR", "INTERNAL_DICOM_ERROR", "INTERNAL_GENERIC_ERROR",
                        ],
                    },
                },
            }),
        ),
        (
            "StudyEvent",
            object(
                &[
                    "id",
                    "eventType",
                    "studyInstanceUid",
                    "seriesInstanceUid",
                    "patientId",
                    "accessionNumber",
                    "occurredAt",
                    "details",
                ],
                json!({
                    "id": { "type": "integer" },
                    "eventType": string(),
                    "studyInstanceUid": nullable_string(),
                    "seriesInstanceUid": nullable_string(),
                    "patientId": nullable_string(),
                    "accessionNumber": nullable_string(),
                    "occurredAt": { "type": "string", "format": "date-time" },
                    "details": { "type": "object", "additionalProperties": string() },
                }),
            ),
        ),
        (
            "StudyEvents",
            object(
                &["events", "lastOffsetId", "hasMore"],
                json!({
                    "events": { "type": "array", "items": { "$ref": "#/components/schemas/StudyEvent" } },
                    "lastOffsetId": { "type": "integer" },
                    "hasMore": { "type": "boolean" },
                }),
            ),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    /// `(METHOD, path)` of every route registered in `routes/*.rs`, read from
    /// the source: `web::resource("…")` followed by `.route(web::get()…)`.
    /// Routes of `mod.rs`, `ops.rs` and `health.rs` are top level; the others are
    /// in the web context.
    fn registered_routes() -> BTreeSet<(String, String)> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/routes");
        let mut out = BTreeSet::new();
        for entry in std::fs::read_dir(&dir).expect("routes directory") {
            let path = entry.expect("entry").path();
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let text = std::fs::read_to_string(&path).expect("route file");
            // Files whose routes are registered outside the web context.
            let top_level = path
                .file_name()
                .is_some_and(|n| n == "mod.rs" || n == "ops.rs" || n == "health.rs");
            // `let i = "…";` prefixes used by `format!("{i}/…")` paths.
            let lets: Vec<(String, String)> = text
                .lines()
                .filter_map(|l| l.trim().strip_prefix("let "))
                .filter_map(|l| l.split_once(" = \""))
                .filter_map(|(name, v)| {
                    Some((name.trim().to_owned(), v.split_once("\";")?.0.to_owned()))
                })
                .collect();
            let mut rest = text.as_str();
            while let Some(i) = rest.find("web::resource(") {
                rest = &rest[i + "web::resource(".len()..];
                let arg = rest.trim_start();
                let (literal, formatted) = match arg.strip_prefix("format!(") {
                    Some(f) => (f.trim_start(), true),
                    None => (arg, false),
                };
                let Some(literal) = literal.strip_prefix('"') else {
                    panic!(
                        "{}: web::resource( not followed by a string literal or format!; \
                         teach this test the new style",
                        path.display()
                    );
                };
                let mut route = literal[..literal.find('"').expect("closing quote")].to_owned();
                if formatted {
                    for (name, value) in &lets {
                        route = route.replace(&format!("{{{name}}}"), value);
                    }
                    route = route.replace("{{", "{").replace("}}", "}");
                }
                let route = route.as_str();
                let until_next = rest.find("web::resource(").unwrap_or(rest.len());
                let chain = &rest[..until_next];
                let mut methods = 0;
                for m in ["get", "post", "put", "delete", "patch", "head"] {
                    if chain.contains(&format!("web::{m}()")) {
                        methods += 1;
                        let full = if top_level {
                            route.to_owned()
                        } else {
                            format!("{CTX}{route}")
                        };
                        out.insert((m.to_uppercase(), full));
                    }
                }
                assert!(methods > 0, "{}: no method for {route}", path.display());
            }
        }
        out
    }

    fn documented() -> BTreeSet<(String, String)> {
        let doc = serde_json::to_value(document()).expect("serializable");
        let mut out = BTreeSet::new();
        for (path, item) in doc["paths"].as_object().expect("paths") {
            for method in item.as_object().expect("path item").keys() {
                out.insert((method.to_uppercase(), path.clone()));
            }
        }
        out
    }

    #[test]
    fn every_registered_route_is_documented() {
        let routes = registered_routes();
        assert!(
            routes.len() > 30,
            "the route scan found too little: {routes:?}"
        );
        let documented = documented();
        let missing: Vec<_> = routes.difference(&documented).collect();
        assert!(
            missing.is_empty(),
            "routes missing from the OpenAPI document (crates/pacs-api/src/openapi.rs): {missing:?}"
        );
        // And the document names nothing that does not exist (besides the
        // operations routes registered by routes/ops.rs itself).
        let extra: Vec<_> = documented
            .difference(&routes)
            .filter(|(_, p)| !is_doc_path(p))
            .collect();
        assert!(extra.is_empty(), "documented but not routed: {extra:?}");
    }

    #[test]
    fn the_document_is_openapi_3_1_and_loses_nothing() {
        let doc = serde_json::to_value(document()).expect("serializable");
        assert_eq!(doc["openapi"], "3.1.0");
        // Every schema written in JSON above survives utoipa's model unchanged:
        // a misspelt keyword would be dropped here.
        for (name, s) in schemas() {
            assert_eq!(
                doc["components"]["schemas"][name], s,
                "schema {name} changed through utoipa's model"
            );
        }
        // Every $ref points at a component.
        let text = doc.to_string();
        for part in text.split("\"$ref\":\"#/components/").skip(1) {
            let target = &part[..part.find('"').expect("end of ref")];
            let (kind, name) = target.split_once('/').expect("kind/name");
            assert!(
                doc["components"][kind][name].is_object(),
                "dangling $ref {target}"
            );
        }
        // Every keyed operation can answer 401; public ones need no key.
        for (path, item) in doc["paths"].as_object().expect("paths") {
            for (method, operation) in item.as_object().expect("item") {
                let public = operation["security"] == json!([]);
                assert_eq!(
                    public,
                    !path.starts_with(CTX) || is_doc_path(path),
                    "{method} {path}: public iff outside the web context or the document"
                );
                if !public {
                    assert!(operation["responses"]["401"].is_object(), "{method} {path}");
                }
            }
        }
    }

    #[test]
    fn doc_paths_are_recognized() {
        assert!(is_doc_path("/o3-dpacs-wado/openapi.json"));
        assert!(is_doc_path("/o3-dpacs-wado/swagger-ui/"));
        assert!(is_doc_path("/o3-dpacs-wado/swagger-ui/index.css"));
        assert!(!is_doc_path("/o3-dpacs-wado/swagger-uix"));
        assert!(!is_doc_path("/o3-dpacs-wado/studies/count"));
    }
}

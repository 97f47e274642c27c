//! The OpenAPI 3.1 document of every HTTP endpoint, served at
//! `/o3-dpacs-wado/openapi.json` (with Swagger UI at `/o3-dpacs-wado/swagger-ui/`).
//!
//! It is generated: each handler carries `#[utoipa::path]`, the wire types
//! derive `ToSchema`, and the router is built through utoipa-actix-web
//! (`routes::configure`), so a route exists only with its description. Written
//! here is only what no derive can say: the document's header (title, tags,
//! key scheme), the shared error answers, the DICOM JSON and binary bodies,
//! and one rule applied to every operation ([`finish`]).

use std::borrow::Cow;

use serde_json::{Value, json};
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::schema::Schema;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityRequirement, SecurityScheme};
use utoipa::openapi::tag::TagBuilder;
use utoipa::openapi::{
    ComponentsBuilder, ContentBuilder, InfoBuilder, OpenApi, OpenApiBuilder, Paths, Ref, RefOr,
};
use utoipa::{PartialSchema, ToResponse, ToSchema};

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

/// The web context: every path under it needs a key, except the document's.
pub const CTX: &str = "/o3-dpacs-wado";
const API_KEY: &str = "apiKey";

/// The document as served, built with the router.
#[derive(Clone)]
pub struct Document(pub OpenApi);

/// The document before the routes add their operations: title, tags, key
/// scheme, error answers and the hand-written schemas.
pub fn base() -> OpenApi {
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
    let mut components = ComponentsBuilder::new().security_scheme(
        API_KEY,
        SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
            "Authorization",
            "The tenant's API key, bare or as `Bearer {key}`",
        ))),
    );
    for (name, response) in error_responses() {
        components = components.response(name, response);
    }
    let mut schemas = Vec::new();
    <crate::wire::ErrorBody as ToSchema>::schemas(&mut schemas);
    schemas.push(("Error".into(), crate::wire::ErrorBody::schema()));
    DicomDatasets::schemas(&mut schemas);
    schemas.push((DicomDatasets::name().into(), DicomDatasets::schema()));
    schemas.push((Document::name().into(), Document::schema()));
    let doc = OpenApiBuilder::new()
        .info(info)
        .paths(Paths::new())
        .components(Some(components.schemas_from_iter(schemas).build()))
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
        .build();
    let mut doc = doc;
    doc.paths
        .paths
        .extend(<SwaggerUiDoc as utoipa::OpenApi>::openapi().paths.paths);
    doc
}

/// The rule of every operation, applied once the routes are described:
/// public (no key) outside the web context and for the document itself, and
/// otherwise able to answer 401 (no key) and 503 (a dependency down).
pub fn finish(mut doc: OpenApi) -> OpenApi {
    for (path, item) in doc.paths.paths.iter_mut() {
        let public = !path.starts_with(CTX) || is_doc_path(path);
        for op in [
            &mut item.get,
            &mut item.post,
            &mut item.put,
            &mut item.delete,
            &mut item.patch,
            &mut item.head,
        ]
        .into_iter()
        .flatten()
        {
            if public {
                op.security = Some(Vec::new());
            } else {
                for name in [Unauthorized::NAME, Unavailable::NAME] {
                    let status = error_status(name).to_string();
                    op.responses
                        .responses
                        .entry(status)
                        .or_insert_with(|| RefOr::Ref(Ref::from_response_name(name)));
                }
            }
        }
    }
    doc
}

/// Swagger UI's files, served by utoipa-swagger-ui (no handler of ours).
#[derive(utoipa::OpenApi)]
#[openapi(paths(swagger_ui))]
struct SwaggerUiDoc;

#[utoipa::path(
    get,
    path = "/o3-dpacs-wado/swagger-ui/{file}",
    tag = "operations",
    operation_id = "swaggerUi",
    summary = "Swagger UI (vendored) for this document",
    params(("file" = String, Path, description = "A file of the UI; empty for its index", example = "index.html")),
    responses(
        (status = 200, description = "A file of the UI", content(
            (Binary = "text/html"), (Binary = "text/javascript"), (Binary = "text/css"))),
        (status = 404, response = NotFound),
    )
)]
#[allow(dead_code)]
fn swagger_ui() {}

fn schema(v: Value) -> RefOr<Schema> {
    serde_json::from_value(v.clone())
        .unwrap_or_else(|e| panic!("not a schema utoipa knows ({e}): {v}"))
}

/// Declares the error answers: one `components/responses` entry each, all
/// `{"error", "message"}`, referenced from operations as `response = Name`.
macro_rules! errors {
    ($($name:ident = $status:literal, $text:literal;)*) => {
        $(
            pub struct $name;
            impl $name {
                pub const NAME: &'static str = stringify!($name);
            }
            impl<'r> ToResponse<'r> for $name {
                fn response() -> (&'r str, RefOr<Response>) {
                    (Self::NAME, RefOr::T(error_response($text)))
                }
            }
        )*
        fn error_responses() -> Vec<(&'static str, Response)> {
            vec![$(($name::NAME, error_response($text))),*]
        }
        fn error_status(name: &str) -> u16 {
            match name {
                $(stringify!($name) => $status,)*
                _ => unreachable!("{name} is declared by errors!"),
            }
        }
    };
}

fn error_response(text: &str) -> Response {
    ResponseBuilder::new()
        .description(text)
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(RefOr::Ref(Ref::from_schema_name("Error"))))
                .build(),
        )
        .build()
}

errors! {
    BadRequest = 400, "Malformed request: bad JSON, a missing or invalid field or parameter, an invalid UID";
    Unauthorized = 401, "Missing or unknown API key";
    NotFound = 404, "Unknown object (or another tenant's), or unknown AE title";
    NotAcceptable = 406, "The requested representation is not available";
    Conflict = 409, "Conflict with the archive's data (see the operation)";
    PayloadTooLarge = 413, "The body is larger than server.max_body_bytes";
    UnsupportedMediaType = 415, "Wrong Content-Type";
    RangeNotSatisfiable = 416, "The requested byte range is outside the content";
    Unprocessable = 422, "The pixel data cannot be decoded (e.g. 12-bit JPEG Extended): cannot_render";
    Unavailable = 503, "The database or a storage medium is unavailable";
}

/// Declares a body whose schema is written here, in JSON Schema.
macro_rules! hand_schema {
    ($(#[$doc:meta])* $name:ident, $refs:expr, $json:expr) => {
        $(#[$doc])*
        pub struct $name;
        impl PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                schema($json)
            }
        }
        impl ToSchema for $name {
            fn name() -> Cow<'static, str> {
                Cow::Borrowed(stringify!($name))
            }
            fn schemas(out: &mut Vec<(String, RefOr<Schema>)>) {
                let refs: &[(&str, fn() -> RefOr<Schema>)] = $refs;
                for (name, s) in refs {
                    out.push(((*name).to_owned(), s()));
                }
            }
        }
    };
}

hand_schema!(
    /// One attribute of a DICOM JSON data set (PS3.18 F.2).
    DicomAttribute,
    &[],
    json!({
        "type": "object",
        "required": ["vr"],
        "properties": {
            "vr": { "type": "string", "pattern": "^[A-Z]{2}$" },
            "Value": { "type": "array" },
            "InlineBinary": { "type": "string" },
            "BulkDataURI": { "type": "string" },
        },
    })
);

hand_schema!(
    /// A DICOM JSON data set: attributes by tag.
    DicomDataset,
    &[("DicomAttribute", DicomAttribute::schema)],
    json!({
        "type": "object",
        "description": "A DICOM JSON data set (PS3.18 F.2): attributes by tag",
        "propertyNames": { "type": "string", "pattern": "^[0-9A-F]{8}$" },
        "additionalProperties": { "$ref": "#/components/schemas/DicomAttribute" },
    })
);

hand_schema!(
    /// Several DICOM JSON data sets (QIDO-RS matches, WADO-RS metadata).
    DicomDatasets,
    &[
        ("DicomAttribute", DicomAttribute::schema),
        ("DicomDataset", DicomDataset::schema)
    ],
    json!({ "type": "array", "items": { "$ref": "#/components/schemas/DicomDataset" } })
);

hand_schema!(
    /// Bytes of the content type the answer names (DICOM, JPEG, a zip...).
    Binary,
    &[],
    json!({ "type": "string", "contentMediaType": "application/octet-stream" })
);

hand_schema!(
    /// A multipart body (STOW-RS parts, slide uploads): described in words.
    Multipart,
    &[],
    json!({ "type": "string", "contentMediaType": "multipart/related" })
);

impl PartialSchema for Document {
    fn schema() -> RefOr<Schema> {
        schema(json!({ "type": "object", "description": "An OpenAPI 3.1 document" }))
    }
}

impl ToSchema for Document {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("Document")
    }
}

#[cfg(test)]
mod tests {
    use std::sync::OnceLock;

    use actix_web::{App, HttpResponse, test as atest, web};
    use utoipa_actix_web::AppExt;

    use super::*;

    /// The document exactly as the server builds it.
    fn document() -> &'static Value {
        static DOC: OnceLock<Value> = OnceLock::new();
        DOC.get_or_init(|| {
            let (_, doc) = App::new()
                .into_utoipa_app()
                .openapi(base())
                .configure(crate::routes::configure)
                .split_for_parts();
            serde_json::to_value(finish(doc)).expect("serializable")
        })
    }

    /// Every documented operation reaches a route of the actual router (the
    /// router's fallback answers 418 here); the converse holds by
    /// construction, as routes are registered through their descriptions.
    #[actix_web::test]
    async fn every_documented_operation_is_routed() {
        let app = atest::init_service(
            App::new()
                .into_utoipa_app()
                .openapi(base())
                .configure(crate::routes::configure)
                .split_for_parts()
                .0
                .default_service(web::to(HttpResponse::ImATeapot)),
        )
        .await;
        let doc = document();
        let mut n = 0;
        for (path, item) in doc["paths"].as_object().expect("paths") {
            let concrete = path
                .replace("{file}", "index.html")
                .replace("{frames}", "1")
                .replace(['{', '}'], "");
            for method in item.as_object().expect("item").keys() {
                let req = atest::TestRequest::default()
                    .method(method.to_uppercase().parse().expect("method"))
                    .uri(&concrete)
                    .to_request();
                let resp = atest::call_service(&app, req).await;
                assert_ne!(
                    resp.status(),
                    418,
                    "{method} {path} is documented but no route answers it"
                );
                n += 1;
            }
        }
        assert!(n > 30, "only {n} operations documented");
        if let Ok(out) = std::env::var("PACS_DUMP_OPENAPI") {
            std::fs::write(out, serde_json::to_string_pretty(doc).expect("json")).expect("dump");
        }
    }

    #[test]
    fn the_document_is_openapi_3_1_and_every_ref_resolves() {
        let doc = document();
        assert_eq!(doc["openapi"], "3.1.0");
        assert_eq!(
            doc["components"]["securitySchemes"][API_KEY]["in"],
            "header"
        );
        let text = doc.to_string();
        for part in text.split("\"$ref\":\"#/components/").skip(1) {
            let target = &part[..part.find('"').expect("end of ref")];
            let (kind, name) = target.split_once('/').expect("kind/name");
            assert!(
                doc["components"][kind][name].is_object(),
                "dangling $ref {target}"
            );
        }
        // The hand-written schemas survive utoipa's model unchanged: a
        // misspelt keyword would be dropped.
        assert_eq!(
            doc["components"]["schemas"]["DicomDataset"]["propertyNames"]["pattern"],
            "^[0-9A-F]{8}$"
        );
        // Every keyed operation can answer 401; public ones need no key; every
        // one has an id (ops-checks.sh selects operations by id).
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
                assert!(operation["operationId"].is_string(), "{method} {path}");
                assert!(operation["tags"].is_array(), "{method} {path}");
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

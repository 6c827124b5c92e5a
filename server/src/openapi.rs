//! `GET /openapi.json` (open): the OpenAPI document of every route the
//! router serves, generated, never written by hand: operations come from
//! the handlers' `#[utoipa::path]` annotations, schemas from the wire types
//! (`app::model`, `ToSchema` behind app's `ssr` feature) and the server's
//! own bodies. The router and the document are built from one declaration
//! (`utoipa_axum`'s `OpenApiRouter`), so a route registered the documented
//! way cannot be served without being documented.
//!
//! # Adding a route
//!
//! 1. Annotate the handler, e.g.
//!    ```ignore
//!    #[utoipa::path(
//!        delete,
//!        path = "/catalog/downloads/{name}",
//!        tag = "catalog",
//!        params(("name" = String, Path, description = "Entry name or ref")),
//!        responses(
//!            (status = 200, description = "Cancelled", body = DownloadState),
//!            (status = 401, description = "Login required", body = ErrorBody),
//!            (status = 404, description = "No such download", body = ErrorBody),
//!        ),
//!        security(("cookie" = []), ("bearer" = [])),
//!    )]
//!    ```
//!    with its request body (`request_body = T`, or `content_type` for
//!    forms and bytes), path and query parameters, every success and every
//!    error response (errors are [`ErrorBody`]), and `security(...)` when it
//!    takes an `Operator` (leave it out for open routes).
//! 2. Derive `ToSchema` on new body types: in `app/src/model/` with
//!    `#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]`, so the
//!    browser build does not link utoipa; in the server, plainly.
//! 3. Register it in its module's `router()` with
//!    `.routes(routes!(handler))`, never with `.route(...)` or by merging a
//!    plain `axum::Router`: those serve without documenting.
//!    `server/tests/api/openapi.rs` fails, naming the route, when the
//!    router answers a path and method the document lacks.

use std::sync::Arc;

use axum::{
    http::header,
    response::{IntoResponse, Response},
    Extension,
};
use utoipa::{
    openapi::{
        security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme},
        OpenApi as Document,
    },
    Modify, OpenApi, ToSchema,
};

use crate::error::{ErrorBody, ErrorDetail, InvalidField};

/// Where the document is served.
pub const PATH: &str = "/openapi.json";

/// What the collected routes do not say: title, tags, the security
/// schemes, and schemas no operation names directly.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "bty-web images",
        description = "The image catalog of bty-web: listing, byte serving, uploads, \
            catalog entries and imports, download and hash jobs, the audit log, the live \
            stream and the server-rendered pages. Errors are `{\"detail\": …}`. \
            Authenticated routes take the session cookie `bty-token` (from `POST /ui/login`) \
            or an API bearer token.",
    ),
    tags(
        (name = "images", description = "The open listing and byte routes, and uploads"),
        (name = "catalog", description = "Catalog entries, imports and the unified view"),
        (name = "jobs", description = "Download and hash jobs"),
        (name = "events", description = "The audit log and the live stream"),
        (name = "pages", description = "Server-rendered pages and their form posts (HTML, 303)"),
        (name = "service", description = "Health, version, metrics and this document"),
    ),
    components(schemas(
        ErrorBody,
        ErrorDetail,
        InvalidField,
        app::model::Job,
        app::model::Event,
        app::model::CatalogPage,
        app::model::LiveSnapshot,
        app::model::CacheUsage,
    )),
    modifiers(&SecuritySchemes)
)]
struct ApiDoc;

/// `cookie` (the `bty-token` session) and `bearer` (API tokens).
struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut Document) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "cookie",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                "bty-token",
                "The session cookie `POST /ui/login` sets",
            ))),
        );
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("An API token"))
                    .build(),
            ),
        );
    }
}

/// Raw bytes, for the byte routes' bodies (a JSON array of numbers
/// otherwise).
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct Binary(#[allow(dead_code)] Vec<u8>);

/// The full document: the routes the router collected, over [`ApiDoc`],
/// with axum's wildcard segments (`{*name}`) written as OpenAPI parameters
/// and an `operationId` unique to each operation.
pub fn document(collected: Document) -> Document {
    let mut document = ApiDoc::openapi().merge_from(collected);
    let paths = std::mem::take(&mut document.paths.paths);
    document.paths.paths = paths
        .into_iter()
        .map(|(path, item)| (openapi_path(&path), item))
        .collect();
    unique_operation_ids(&mut document);
    document.info.version = env!("CARGO_PKG_VERSION").to_owned();
    document
}

/// One handler serving GET and HEAD gives both its name; the pages have
/// none. Each gets `<handler>_<method>` or `<method>_<path>` then.
fn unique_operation_ids(document: &mut Document) {
    let mut seen = std::collections::HashSet::new();
    for (path, item) in document.paths.paths.iter_mut() {
        let operations = [
            ("get", &mut item.get),
            ("head", &mut item.head),
            ("post", &mut item.post),
            ("put", &mut item.put),
            ("delete", &mut item.delete),
            ("patch", &mut item.patch),
            ("options", &mut item.options),
            ("trace", &mut item.trace),
        ];
        for (method, operation) in operations {
            let Some(operation) = operation else { continue };
            let id = match operation.operation_id.take() {
                Some(id) if !seen.contains(&id) => id,
                Some(id) => format!("{id}_{method}"),
                None => format!("{method}{}", path.replace(['/', '.', '-'], "_")),
            };
            seen.insert(id.clone());
            operation.operation_id = Some(id);
        }
    }
}

/// An axum route template as OpenAPI writes it: `{*name}` becomes `{name}`.
pub fn openapi_path(template: &str) -> String {
    template.replace("{*", "{")
}

/// The serialized document, handed to [`get_openapi`] as an extension.
#[derive(Clone)]
pub struct OpenApiJson(pub Arc<str>);

impl OpenApiJson {
    pub fn of(document: &Document) -> Self {
        // A document of plain strings and maps always serializes.
        let json = document.to_pretty_json().unwrap_or_default();
        OpenApiJson(json.into())
    }
}

/// This document.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "service",
    responses((
        status = 200,
        description = "The OpenAPI document of every route",
        content_type = "application/json",
        body = Object,
    ))
)]
pub async fn get_openapi(Extension(OpenApiJson(json)): Extension<OpenApiJson>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        json.to_string(),
    )
        .into_response()
}

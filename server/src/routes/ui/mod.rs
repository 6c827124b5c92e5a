//! The server-rendered UI: Leptos pages under `/ui/`, their form targets
//! (`login`: log in and out; `tokens`: create and revoke API tokens), and
//! the site's static files. Every page a handler answers with goes through
//! [`render_page`]; what goes wrong there is a [`UiError`].

mod login;
mod tokens;

use std::sync::Arc;

use app::{
    ssr::{PageDataHandle, ServingNode},
    App,
};
use axum::{
    body::Body,
    http::StatusCode,
    response::{Html, IntoResponse, Response},
    Router,
};
use leptos::prelude::provide_context;
use leptos_axum::{AxumRouteListing, LeptosRoutes};
use utoipa::{
    openapi::{
        path::{HttpMethod, Operation, OperationBuilder, ParameterBuilder, ParameterIn},
        security::SecurityRequirement,
        Content, ObjectBuilder, ResponseBuilder, Type,
    },
    IntoParams,
};
use utoipa_axum::router::OpenApiRouter;

use crate::{pages::Pages, state::AppState};

/// `/ui/` paths reachable without a session.
pub const OPEN_PATHS: [&str; 2] = [login::LOGIN, login::LOGOUT];
/// Where the site's static files (the bundles, the stylesheet) are served:
/// open to all, past the authentication middleware.
pub const STATIC_PREFIX: &str = "/pkg/";

/// The form posts, and the Leptos pages with the static files as fallback.
/// The pages come from the app's own route list, and so does their
/// documentation: one `text/html` operation per page and method.
pub fn router(state: &AppState) -> OpenApiRouter<AppState> {
    let listings = leptos_axum::generate_route_list(App);
    let pages = Router::new()
        .leptos_routes_with_context(state, listings.clone(), page_context(state), shell(state))
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(
            app::shell,
        ));
    let mut router = OpenApiRouter::from(pages)
        .merge(login::router())
        .merge(tokens::router());
    let paths = &mut router.get_openapi_mut().paths;
    for listing in &listings {
        for (method, operation) in page_operations(listing) {
            paths.add_path_operation(listing.path(), vec![method], operation);
        }
    }
    router
}

/// The documentation of one Leptos page, for each method it answers.
fn page_operations(listing: &AxumRouteListing) -> Vec<(HttpMethod, Operation)> {
    let text = || ObjectBuilder::new().schema_type(Type::String).build();
    let query = |name: &str, description: &str| {
        ParameterBuilder::new()
            .name(name)
            .parameter_in(ParameterIn::Query)
            .description(Some(description))
            .schema(Some(text()))
            .build()
    };
    let parameters = match listing.path() {
        "/ui/images" => vec![
            query(
                "section",
                "list, fetch, upload-catalog, upload-image or upload-image-from-url",
            ),
            query("error", "A message for the page's error slot"),
            query("q", "Catalog filter"),
            query("page", "Catalog page, 1-based"),
        ],
        "/ui/events" => app::model::EventsFilter::into_params(|| Some(ParameterIn::Query)),
        _ => Vec::new(),
    };
    let open = listing.path() == login::LOGIN;
    listing
        .methods()
        .map(|method| {
            let method = match method {
                leptos_router::Method::Post => HttpMethod::Post,
                leptos_router::Method::Put => HttpMethod::Put,
                leptos_router::Method::Delete => HttpMethod::Delete,
                leptos_router::Method::Patch => HttpMethod::Patch,
                leptos_router::Method::Get => HttpMethod::Get,
            };
            let mut operation = OperationBuilder::new()
                .tag("pages")
                .summary(Some(format!("The page {}", listing.path())))
                .parameters(Some(parameters.clone()))
                .response(
                    "200",
                    ResponseBuilder::new()
                        .description("The server-rendered page")
                        .content("text/html", Content::new(Some(text()))),
                );
            if !open {
                operation = operation
                    .response(
                        "303",
                        ResponseBuilder::new().description("To `/ui/login` without a session"),
                    )
                    .security(SecurityRequirement::new("cookie", Vec::<String>::new()));
            }
            (method, operation.build())
        })
        .collect()
}

/// What every rendered page gets as context: the page data service, and
/// the name of this replica for the footer.
fn page_context(state: &AppState) -> impl Fn() + Clone + Send + Sync + 'static {
    let handle = PageDataHandle(Arc::new(Pages(state.clone())));
    let node = ServingNode(state.node.id().to_owned());
    move || {
        provide_context(handle.clone());
        provide_context(node.clone());
    }
}

fn shell(
    state: &AppState,
) -> impl Fn() -> leptos::prelude::AnyView + Clone + Send + Sync + 'static {
    use leptos::prelude::IntoAny;
    let options = state.leptos_options.clone();
    move || app::shell(options.clone()).into_any()
}

/// Renders the page that `request` asks for (its extensions carry what a
/// form's outcome adds) and answers it with `status`.
async fn render_page(
    state: &AppState,
    request: axum::http::request::Builder,
    status: StatusCode,
) -> Result<Response, UiError> {
    let request = request
        .body(Body::empty())
        .map_err(|error| UiError::Internal(error.into()))?;
    let render = leptos_axum::render_app_async_with_context(page_context(state), shell(state));
    let mut response = render(request).await;
    *response.status_mut() = status;
    Ok(response)
}

/// What went wrong serving a page or a form: the cause is logged, and the
/// browser gets a short page that says the server failed (never the cause).
#[derive(Debug, thiserror::Error)]
pub enum UiError {
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<sea_orm::DbErr> for UiError {
    fn from(error: sea_orm::DbErr) -> Self {
        UiError::Internal(error.into())
    }
}

impl IntoResponse for UiError {
    fn into_response(self) -> Response {
        let UiError::Internal(error) = self;
        tracing::error!(error = format!("{error:#}"), "page request failed");
        let page = "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
            <title>Server error - bty-web</title></head><body><h1>Server error</h1>\
            <p>The server could not complete this request; its log says why. \
            <a href=\"/ui/images\">Back to the images</a></p></body></html>";
        (StatusCode::INTERNAL_SERVER_ERROR, Html(page)).into_response()
    }
}

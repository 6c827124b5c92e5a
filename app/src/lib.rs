//! The bty-web user interface, shared by the server (which renders it) and
//! the browser (which hydrates it), plus the wire types both sides speak.

pub mod api;
pub mod components;
pub mod live;
pub mod model;
pub mod pages;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::{
    components::{Route, Router, Routes},
    path, SsrMode,
};

/// The name the build gives the site's `.js`, `.wasm` and `.css` files.
pub const OUTPUT_NAME: &str = "bty-web";

/// Server-only glue: how the server hands page data to the components it
/// renders. The browser never sees these types.
#[cfg(feature = "ssr")]
pub mod ssr {
    use std::{future::Future, pin::Pin, sync::Arc};

    use crate::model::{
        EventsFilter, EventsPage, ImagesPage, LoginNotice, TokenNotice, TokensPage,
    };

    /// A boxed future, so the trait stays object safe.
    pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

    /// The service functions pages are rendered from. The server implements
    /// it over the same code its JSON routes call.
    pub trait PageData: Send + Sync + 'static {
        /// Everything `/ui/images` shows, for the given operator, with the
        /// catalog filtered by `query` and cut to page `page` (1-based).
        fn images_page(
            &self,
            operator: String,
            query: String,
            page: usize,
        ) -> BoxFuture<Result<ImagesPage, String>>;

        /// One page (newest first, at most [`crate::model::EVENTS_PAGE_SIZE`])
        /// of the audit log for `/ui/events`, narrowed by `filter`.
        fn events_page(
            &self,
            operator: String,
            filter: EventsFilter,
        ) -> BoxFuture<Result<EventsPage, String>>;

        /// The operator's API tokens for `/ui/tokens`, with `notice` (the
        /// outcome of the create form, when it was just posted).
        fn tokens_page(
            &self,
            operator: String,
            notice: TokenNotice,
        ) -> BoxFuture<Result<TokensPage, String>>;
    }

    /// The handle the server provides as Leptos context for every request.
    #[derive(Clone)]
    pub struct PageDataHandle(pub Arc<dyn PageData>);

    /// Put into the request extensions by the server's session check on
    /// `/ui/*`: the logged-in operator's name.
    #[derive(Clone, Debug)]
    pub struct CurrentOperator(pub String);

    /// Put into the request extensions by `POST /ui/login` when it renders
    /// the form again after a failed attempt.
    #[derive(Clone, Debug)]
    pub struct LoginAttempt(pub LoginNotice);

    /// Put into the request extensions by `POST /ui/tokens` when it renders
    /// the page with the new secret or the form's error.
    #[derive(Clone, Debug)]
    pub struct TokenFormOutcome(pub TokenNotice);

    /// The request being rendered, as leptos_axum provides it.
    fn request_parts() -> Option<http::request::Parts> {
        leptos::prelude::use_context::<http::request::Parts>()
    }

    /// The logged-in operator of the request being rendered.
    pub fn current_operator() -> Option<String> {
        request_parts()?
            .extensions
            .get::<CurrentOperator>()
            .map(|op| op.0.clone())
    }

    /// The failed login attempt being rendered again, if any.
    pub fn login_attempt() -> Option<LoginNotice> {
        request_parts()?
            .extensions
            .get::<LoginAttempt>()
            .map(|attempt| attempt.0.clone())
    }

    /// The outcome of the token form being rendered, if any.
    pub fn token_notice() -> Option<TokenNotice> {
        request_parts()?
            .extensions
            .get::<TokenFormOutcome>()
            .map(|outcome| outcome.0.clone())
    }

    /// The page data service.
    pub fn page_data() -> Option<Arc<dyn PageData>> {
        leptos::prelude::use_context::<PageDataHandle>().map(|handle| handle.0)
    }
}

/// The HTML document around the app, rendered on the server.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <link rel="icon" href="data:,"/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// The routed application.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Stylesheet id="leptos" href=format!("/pkg/{OUTPUT_NAME}.css")/>
        <Title text="bty-web images"/>
        <Router>
            <Routes fallback=pages::NotFound>
                <Route path=path!("/ui/login") view=pages::LoginPage ssr=SsrMode::Async/>
                <Route path=path!("/ui/images") view=pages::ImagesPage ssr=SsrMode::Async/>
                <Route path=path!("/ui/events") view=pages::EventsPage ssr=SsrMode::Async/>
                <Route path=path!("/ui/tokens") view=pages::TokensPage ssr=SsrMode::Async/>
            </Routes>
        </Router>
    }
}

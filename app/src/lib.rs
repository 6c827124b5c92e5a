//! The bty-web user interface, shared by the server (which renders it) and
//! the browser (which hydrates it), plus the wire types both sides speak.
//! Comments cite the reference's fixed defects (`D19`) and sections
//! ("reference §2.2") as `docs/decisions.md` lists them.

pub mod api;
pub mod components;
pub mod live;
pub mod model;
pub mod nav;
pub mod pages;

use leptos::prelude::*;

use crate::components::erased::IntoErased;
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

    /// Provided as context by the server for every page: the name of the
    /// replica that renders it (`BTY_NODE_ID`), which the footer shows.
    #[derive(Clone, Debug)]
    pub struct ServingNode(pub String);

    /// The replica rendering this page.
    pub fn serving_node() -> Option<String> {
        leptos::prelude::use_context::<ServingNode>().map(|node| node.0)
    }
}

/// The browser bundles, one per page: a page loads only its own code (the
/// pages link to each other with full loads, `rel="external"`). Each is the
/// frontend crate built with one `page-*` feature; `scripts/build.sh` names
/// the files `pkg/<name>.{js,wasm}`. The Images page keeps the site's own
/// name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bundle {
    Images,
    Events,
    Tokens,
    /// The login form, and every page the router does not know.
    Login,
}

impl Bundle {
    /// Every bundle, in the order `scripts/build.sh` builds them.
    pub const ALL: [Bundle; 4] = [
        Bundle::Images,
        Bundle::Events,
        Bundle::Tokens,
        Bundle::Login,
    ];

    /// The bundle that hydrates the page at `path`.
    pub fn for_path(path: &str) -> Bundle {
        match path.trim_end_matches('/') {
            "/ui/images" => Bundle::Images,
            "/ui/events" => Bundle::Events,
            "/ui/tokens" => Bundle::Tokens,
            _ => Bundle::Login,
        }
    }

    /// The name of its `.js` and `.wasm` files under `pkg/`.
    pub fn output_name(self) -> &'static str {
        match self {
            Bundle::Images => OUTPUT_NAME,
            Bundle::Events => "bty-web-events",
            Bundle::Tokens => "bty-web-tokens",
            Bundle::Login => "bty-web-login",
        }
    }
}

/// The HTML document around the app, rendered on the server. It loads the
/// bundle of the page being rendered.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    let options = {
        let mut options = options;
        if let Some(parts) = use_context::<http::request::Parts>() {
            options.output_name = Bundle::for_path(parts.uri.path()).output_name().into();
        }
        options
    };
    // After the app, outside what a bundle hydrates: the server alone
    // writes it, so no bundle carries the replica's name or its code.
    #[cfg(feature = "ssr")]
    let footer = ssr::serving_node().map(|node| view! { <Footer node/> });
    #[cfg(not(feature = "ssr"))]
    let footer: Option<()> = None;
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
                {footer}
            </body>
        </html>
    }
}

/// The page footer: the version, and the replica that rendered the page
/// (several may serve one site behind a load balancer).
#[component]
pub fn Footer(
    /// The replica's name.
    node: String,
) -> impl IntoView {
    view! {
        <footer class="site-footer">
            <span>"bty-web " {env!("CARGO_PKG_VERSION")}</span>
            <span class="site-footer-node" title="The replica that rendered this page">
                "node " <span class="bty-node">{node}</span>
            </span>
        </footer>
    }
}

/// The routed application, as the server renders it.
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

/// What a browser bundle hydrates: [`App`] as the server rendered it for
/// one page, without the router (see [`nav`]) and without the head's tags
/// (the stylesheet link and the title are static: they stay as the server
/// wrote them, and they render nothing into the body): the page `page`
/// makes, once the page's address is provided.
fn browser_root<V: IntoView>(page: impl FnOnce() -> V) -> V {
    #[cfg(feature = "hydrate")]
    nav::provide_page_address();
    page()
}

/// The login form, or the page the server did not find.
fn login_or_not_found() -> components::erased::ErasedView {
    if nav::page_path().trim_end_matches('/') == "/ui/login" {
        view! { <pages::LoginPage/> }.erased()
    } else {
        view! { <pages::NotFound/> }.erased()
    }
}

/// The Images page's bundle.
#[component]
pub fn ImagesApp() -> impl IntoView {
    browser_root(|| view! { <pages::ImagesPage/> })
}

/// The Events page's bundle.
#[component]
pub fn EventsApp() -> impl IntoView {
    browser_root(|| view! { <pages::EventsPage/> })
}

/// The API tokens page's bundle.
#[component]
pub fn TokensApp() -> impl IntoView {
    browser_root(|| view! { <pages::TokensPage/> })
}

/// The login page's bundle, which also hydrates the not-found page.
#[component]
pub fn LoginApp() -> impl IntoView {
    browser_root(login_or_not_found)
}

/// Every page in one bundle, picked by the path as [`Bundle::for_path`]
/// picks the bundle (the frontend crate without a `page-*` feature).
#[component]
pub fn AllPagesApp() -> impl IntoView {
    browser_root(|| match Bundle::for_path(&nav::page_path()) {
        Bundle::Images => view! { <pages::ImagesPage/> }.erased(),
        Bundle::Events => view! { <pages::EventsPage/> }.erased(),
        Bundle::Tokens => view! { <pages::TokensPage/> }.erased(),
        Bundle::Login => login_or_not_found(),
    })
}

#[cfg(test)]
mod tests {
    use super::Bundle;

    #[test]
    fn each_page_loads_its_own_bundle() {
        assert_eq!(Bundle::for_path("/ui/images").output_name(), "bty-web");
        assert_eq!(Bundle::for_path("/ui/images/").output_name(), "bty-web");
        assert_eq!(Bundle::for_path("/ui/events"), Bundle::Events);
        assert_eq!(Bundle::for_path("/ui/tokens"), Bundle::Tokens);
        assert_eq!(Bundle::for_path("/ui/login"), Bundle::Login);
        assert_eq!(Bundle::for_path("/ui/nowhere"), Bundle::Login);
        let names: Vec<_> = Bundle::ALL.iter().map(|b| b.output_name()).collect();
        assert_eq!(
            names,
            [
                "bty-web",
                "bty-web-events",
                "bty-web-tokens",
                "bty-web-login"
            ]
        );
    }
}

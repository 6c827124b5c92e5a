//! The frame every page sits in: the dark top bar (brand, navigation, live
//! indicator, operator, log out), the flash slot, and the card that pages
//! are built from.

use leptos::prelude::*;

use crate::components::erased::{ErasedChildren, IntoErased};
use crate::nav::{page_path, use_query_map};

use super::icons::{Glyph, Icon};
use crate::live::LiveConnection;

/// Messages raised in the browser (a failed button action), shown in the
/// flash slot beside the `?error=` one.
#[derive(Clone, Copy, Debug)]
pub struct Flash(RwSignal<Option<String>>);

impl Flash {
    /// Shows a message, replacing the previous one.
    pub fn show(&self, message: String) {
        // The page may have gone while a request was in flight.
        let _ = self.0.try_set(Some(message));
    }

    /// Hides the message.
    pub fn clear(&self) {
        let _ = self.0.try_set(None);
    }
}

/// The flash of the page being rendered, when inside a [`Layout`].
pub fn use_flash() -> Option<Flash> {
    use_context::<Flash>()
}

/// The page frame. Links leave the single-page router (`rel="external"`):
/// every page is rendered on the server from its own data.
#[component]
pub fn Layout(
    /// The logged-in operator; without one the top bar shows only the brand.
    operator: Option<String>,
    /// The page's live stream, for the indicator (pages that follow one).
    #[prop(optional_no_strip)]
    live: Option<RwSignal<LiveConnection>>,
    children: ErasedChildren,
) -> impl IntoView {
    let flash = Flash(RwSignal::new(None));
    provide_context(flash);
    let query = use_query_map();
    let query_error = Memo::new(move |_| query.read().get("error").filter(|e| !e.is_empty()));
    let logged_in = operator.is_some();
    let path = page_path();
    let nav_class = move |prefix: &str| {
        if path.starts_with(prefix) {
            "topnav-link active"
        } else {
            "topnav-link"
        }
    };

    view! {
        <header class="topbar">
            <nav class="topbar-inner" aria-label="Main">
                <a class="brand" href="/ui/images" rel="external">
                    <Icon glyph=Glyph::Disc/>
                    <span>"bty-web"</span>
                </a>
                {logged_in
                    .then(|| {
                        view! {
                            <a class=nav_class("/ui/images") href="/ui/images" rel="external">
                                <Icon glyph=Glyph::Image/>
                                <span>"Images"</span>
                            </a>
                            <a class=nav_class("/ui/events") href="/ui/events" rel="external">
                                <Icon glyph=Glyph::Activity/>
                                <span>"Events"</span>
                            </a>
                            <a class=nav_class("/ui/tokens") href="/ui/tokens" rel="external">
                                <Icon glyph=Glyph::Key/>
                                <span>"API tokens"</span>
                            </a>
                        }
                    })}
                <span class="topbar-spacer"></span>
                {live.map(|connection| view! { <LiveIndicator connection/> })}
                {operator
                    .map(|name| {
                        view! {
                            <span class="topbar-user" title="Logged in operator">
                                <Icon glyph=Glyph::User/>
                                <span class="bty-operator">{name}</span>
                            </span>
                            <form class="logout-form" method="post" action="/ui/logout">
                                <button type="submit" class="btn btn-topbar">
                                    <Icon glyph=Glyph::LogOut/>
                                    <span>"Log out"</span>
                                </button>
                            </form>
                        }
                    })}
            </nav>
        </header>
        <main class="container">
            <div class="bty-flash">
                {move || {
                    query_error
                        .get()
                        .map(|error| view! { <div class="alert alert-danger">{error}</div> })
                }}
                {move || {
                    flash
                        .0
                        .get()
                        .map(|message| {
                            view! {
                                <div class="alert alert-danger alert-dismissible bty-client-error" role="alert">
                                    <span>{message}</span>
                                    <button
                                        type="button"
                                        class="btn-close"
                                        aria-label="Dismiss"
                                        on:click=move |_| flash.clear()
                                    >
                                        <Icon glyph=Glyph::X/>
                                    </button>
                                </div>
                            }
                        })
                }}
            </div>
            {children.render()}
        </main>
    }
    .erased()
}

/// The top bar's stream indicator: a dot and a word, `data-state` for tests.
#[component]
pub fn LiveIndicator(
    /// The stream's state.
    connection: RwSignal<LiveConnection>,
) -> impl IntoView {
    let state = move || connection.get();
    view! {
        <span
            id="bty-live"
            class="live-indicator"
            data-state=move || state().as_str()
            title=move || format!("Live updates: {}", state().label())
        >
            <span class="live-dot" aria-hidden="true"></span>
            <span class="live-label">{move || state().label()}</span>
        </span>
    }
    .erased()
}

/// A link in a card's header.
#[derive(Clone, Debug)]
pub struct HeaderLink {
    pub href: String,
    pub label: &'static str,
}

/// A card with an icon header; `class` adds hooks for styling and tests.
#[component]
pub fn Card(
    /// The header's picture.
    glyph: Glyph,
    /// The header's text.
    #[prop(into)]
    title: String,
    /// Extra classes on the card.
    #[prop(optional, into)]
    class: String,
    /// A link on the right of the header.
    #[prop(optional)]
    link: Option<HeaderLink>,
    /// Something shown on the right of the header (before the link).
    #[prop(optional_no_strip)]
    aside: Option<ViewFn>,
    children: ErasedChildren,
) -> impl IntoView {
    view! {
        <section class=format!("card {class}").trim_end().to_string()>
            <header class="card-header">
                <Icon glyph/>
                <h2 class="card-title">{title}</h2>
                {aside.map(|aside| aside.run())}
                {link
                    .map(|link| {
                        view! {
                            <a class="card-link" href=link.href rel="external">
                                <span>{link.label}</span>
                                <Icon glyph=Glyph::ExternalLink/>
                            </a>
                        }
                    })}
            </header>
            <div class="card-body">{children.render()}</div>
        </section>
    }
    .erased()
}

/// A page whose data could not be loaded (for instance the session ended):
/// what went wrong, and the way back in.
#[component]
pub fn LoadFailure(
    /// What could not be shown, e.g. "Images unavailable".
    #[prop(into)]
    title: String,
    /// Why.
    error: String,
) -> impl IntoView {
    view! {
        <Layout operator=None>
            <Card glyph=Glyph::AlertTriangle title class="bty-load-failure">
                <div class="alert alert-danger">{error}</div>
                <p>
                    <a class="btn btn-primary" href="/ui/login" rel="external">
                        <Icon glyph=Glyph::LogIn/>
                        <span>"Log in"</span>
                    </a>
                </p>
            </Card>
        </Layout>
    }
    .erased()
}

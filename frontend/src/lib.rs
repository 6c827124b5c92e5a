//! The browser entry point: hydrates the server-rendered page with `app`.
//!
//! Built once per page (`scripts/build.sh`), with one `page-*` feature that
//! picks the page's bundle ([`app::Bundle`]); without one, the bundle
//! hydrates every page (what the wasm clippy run checks).

/// Called by the generated JavaScript once the WASM module has loaded.
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    #[cfg(feature = "page-images")]
    leptos::mount::hydrate_body(app::ImagesApp);
    #[cfg(feature = "page-events")]
    leptos::mount::hydrate_body(app::EventsApp);
    #[cfg(feature = "page-tokens")]
    leptos::mount::hydrate_body(app::TokensApp);
    #[cfg(feature = "page-login")]
    leptos::mount::hydrate_body(app::LoginApp);
    #[cfg(not(any(
        feature = "page-images",
        feature = "page-events",
        feature = "page-tokens",
        feature = "page-login"
    )))]
    leptos::mount::hydrate_body(app::AllPagesApp);
}

#[cfg(any(
    all(
        feature = "page-images",
        any(
            feature = "page-events",
            feature = "page-tokens",
            feature = "page-login"
        )
    ),
    all(
        feature = "page-events",
        any(feature = "page-tokens", feature = "page-login")
    ),
    all(feature = "page-tokens", feature = "page-login"),
))]
compile_error!("build the frontend with at most one page-* feature");

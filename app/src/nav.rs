//! The address of the page being shown, as the components read it.
//!
//! On the server the router has it (the request's URL). The browser bundles
//! have no router (it was an eighth of the Images page's bundle): every page
//! has a bundle of its own and the pages link to each other with full loads
//! (`rel="external"`), so all the browser needs is the query of the one page
//! it shows, kept current when a link within the page changes it (the
//! section pills) and on back and forward. [`provide_page_address`] does
//! that; links to another path are left to the browser.

use leptos::prelude::*;
use leptos_router::params::ParamsMap;

/// The page's query (`?section=…&q=…`), reactive.
pub fn use_query_map() -> Memo<ParamsMap> {
    #[cfg(feature = "hydrate")]
    {
        use_context::<PageAddress>()
            .expect("provide_page_address() runs before the page")
            .query
    }
    #[cfg(not(feature = "hydrate"))]
    {
        leptos_router::hooks::use_query_map()
    }
}

/// The page's path (`/ui/images`), as it was loaded.
pub fn page_path() -> String {
    #[cfg(feature = "hydrate")]
    {
        location().pathname().unwrap_or_default()
    }
    #[cfg(not(feature = "hydrate"))]
    {
        use leptos_router::hooks::use_location;
        use_location().pathname.get_untracked()
    }
}

/// The pairs of a query string (`?a=1&b=x+y`, the `?` optional), `+` read
/// as a space and each part passed through `decode`, as the browser's
/// `URLSearchParams` reads them. (`ParamsMap::insert` then percent-decodes
/// the values once more, as it did under the router.)
pub fn query_pairs(search: &str, decode: impl Fn(&str) -> String) -> Vec<(String, String)> {
    search
        .trim_start_matches('?')
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let decode = |text: &str| decode(&text.replace('+', " "));
            (decode(key), decode(value))
        })
        .collect()
}

/// The browser's copy of the address (see the module doc).
#[cfg(feature = "hydrate")]
#[derive(Clone, Copy)]
struct PageAddress {
    query: Memo<ParamsMap>,
}

/// Sets up the page's address for the components below: its query from the
/// address bar, followed as same-page links and history moves change it.
#[cfg(feature = "hydrate")]
pub fn provide_page_address() {
    use wasm_bindgen::{closure::Closure, JsCast};

    let search = RwSignal::new(location().search().unwrap_or_default());
    let query = Memo::new(move |_| {
        search.with(|search| {
            query_pairs(search, decode)
                .into_iter()
                .collect::<ParamsMap>()
        })
    });
    provide_context(PageAddress { query });

    let on_click =
        Closure::<dyn Fn(web_sys::MouseEvent)>::new(move |event: web_sys::MouseEvent| {
            if let Some(url) = same_page_link(&event) {
                event.prevent_default();
                if let Ok(history) = window().history() {
                    let to = format!("{}{}{}", url.pathname(), url.search(), url.hash());
                    let _ =
                        history.push_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&to));
                }
                search.set(url.search());
                window().scroll_to_with_x_and_y(0.0, 0.0);
            }
        });
    let on_popstate = Closure::<dyn Fn()>::new(move || {
        search.set(location().search().unwrap_or_default());
    });
    // Both live as long as the page.
    let _ = document().add_event_listener_with_callback("click", on_click.as_ref().unchecked_ref());
    let _ =
        window().add_event_listener_with_callback("popstate", on_popstate.as_ref().unchecked_ref());
    on_click.forget();
    on_popstate.forget();
}

#[cfg(feature = "hydrate")]
fn location() -> web_sys::Location {
    window().location()
}

#[cfg(feature = "hydrate")]
fn decode(text: &str) -> String {
    js_sys::decode_uri_component(text)
        .map(String::from)
        .unwrap_or_else(|_| text.to_string())
}

/// The URL of a plain left click on a link to this same page with another
/// query: one the page follows itself, as the router did. Anything else
/// (another page, `rel="external"`, a `target`, a download, a modifier key)
/// is the browser's.
#[cfg(feature = "hydrate")]
fn same_page_link(event: &web_sys::MouseEvent) -> Option<web_sys::Url> {
    use wasm_bindgen::JsCast;

    if event.default_prevented()
        || event.button() != 0
        || event.meta_key()
        || event.alt_key()
        || event.ctrl_key()
        || event.shift_key()
    {
        return None;
    }
    let link = event
        .target()?
        .dyn_into::<web_sys::Element>()
        .ok()?
        .closest("a[href]")
        .ok()??;
    let rel = link.get_attribute("rel").unwrap_or_default();
    if link.has_attribute("download")
        || link.get_attribute("target").is_some_and(|t| !t.is_empty())
        || rel.split_ascii_whitespace().any(|part| part == "external")
    {
        return None;
    }
    let here = location();
    let url = web_sys::Url::new_with_base(&link.get_attribute("href")?, &here.href().ok()?).ok()?;
    (url.origin() == here.origin().ok()? && url.pathname() == here.pathname().ok()?).then_some(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_are_read_as_forms_encode_them() {
        let decode = |text: &str| text.replace("%20", " ");
        let pairs = |search| query_pairs(search, decode);
        assert_eq!(
            pairs("?section=fetch&q=deb+12&empty=&flag"),
            [
                ("section".to_string(), "fetch".to_string()),
                ("q".to_string(), "deb 12".to_string()),
                ("empty".to_string(), String::new()),
                ("flag".to_string(), String::new()),
            ]
        );
        assert_eq!(pairs(""), []);
        assert_eq!(pairs("a=x%20y"), [("a".to_string(), "x y".to_string())]);
    }
}

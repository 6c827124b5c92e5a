//! The few browser facilities the components use directly (a confirmation
//! dialog, the clipboard). Server builds get inert stand-ins: these are only
//! ever called from event handlers, which never run during rendering.

/// Asks the operator to confirm a destructive action. False when the
/// dialog cannot be shown.
#[cfg(feature = "hydrate")]
pub fn confirm(message: &str) -> bool {
    web_sys::window()
        .and_then(|window| window.confirm_with_message(message).ok())
        .unwrap_or(false)
}

/// Copies text to the clipboard. False when the page has no clipboard
/// access (plain HTTP to a host other than localhost is not a secure
/// context, and `navigator.clipboard` is missing there).
#[cfg(feature = "hydrate")]
pub fn copy_text(text: &str) -> bool {
    use wasm_bindgen::JsCast;

    let Some(window) = web_sys::window() else {
        return false;
    };
    let navigator = window.navigator();
    // Looked up by name: calling `navigator.clipboard()` where it is
    // undefined would throw inside the WASM module.
    let clipboard = js_sys::Reflect::get(&navigator, &"clipboard".into())
        .ok()
        .filter(|value| !value.is_undefined() && !value.is_null())
        .and_then(|value| value.dyn_into::<web_sys::Clipboard>().ok());
    match clipboard {
        Some(clipboard) => {
            // The promise settles later; a rejection only means nothing was copied.
            let _promise = clipboard.write_text(text);
            true
        }
        None => false,
    }
}

/// Server build: there is no one to ask.
#[cfg(not(feature = "hydrate"))]
pub fn confirm(_message: &str) -> bool {
    false
}

/// Server build: there is no clipboard.
#[cfg(not(feature = "hydrate"))]
pub fn copy_text(_text: &str) -> bool {
    false
}

/// Puts `url` in the address bar without loading it, so a reload shows
/// the same view.
#[cfg(feature = "hydrate")]
pub fn replace_url(url: &str) {
    if let Some(history) = web_sys::window().and_then(|window| window.history().ok()) {
        let _ = history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(url));
    }
}

/// Server build: there is no address bar.
#[cfg(not(feature = "hydrate"))]
pub fn replace_url(_url: &str) {}

/// The data the server rendered this page from, read from the document at
/// once. The pages load it with a `Resource` under `Suspense`, and leptos
/// writes the page's one resource (numbered 0) into the document as JSON,
/// `__RESOLVED_RESOURCES[0]`, for hydration. A browser bundle that reads it
/// here instead needs none of the async resource machinery (a thirteenth of
/// the Images page's bundle); the view is the same, as `Suspense` adds no
/// markup of its own around what it shows.
#[cfg(feature = "hydrate")]
pub fn rendered_page_data<T: serde::de::DeserializeOwned>() -> Result<T, String> {
    serde_json::from_str::<Result<T, String>>(&rendered_page_json()?)
        .map_err(|error| format!("unreadable page data: {error}"))?
}

/// [`rendered_page_data`] for a type the browser reads by hand
/// ([`crate::model::json`]): no serde parser of its own in the bundle.
#[cfg(feature = "hydrate")]
pub fn rendered_page<T: crate::model::json::FromJson>() -> Result<T, String> {
    use crate::model::json;
    json::parse(&rendered_page_json()?)
        .and_then(|value| json::read_result(&value))
        .map_err(|error| format!("unreadable page data: {error}"))?
}

/// The page data's JSON text (see [`rendered_page_data`]).
#[cfg(feature = "hydrate")]
fn rendered_page_json() -> Result<String, String> {
    const MISSING: &str = "the page came without its data; reload it";
    let resources =
        js_sys::Reflect::get(&leptos::prelude::window(), &"__RESOLVED_RESOURCES".into())
            .map_err(|_| MISSING.to_string())?;
    js_sys::Reflect::get_u32(&resources, 0)
        .ok()
        .and_then(|value| value.as_string())
        .ok_or_else(|| MISSING.to_string())
}

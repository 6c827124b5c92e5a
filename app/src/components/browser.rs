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

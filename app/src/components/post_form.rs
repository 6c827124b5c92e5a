//! A plain POST form with one submit button: it works without the WASM (the
//! browser posts it, the server answers 303 back to the page), and once
//! hydrated the button shows that the request is under way and a second
//! press is ignored.

use leptos::prelude::*;

use crate::components::erased::{ErasedChildren, IntoErased};

use super::icons::{Glyph, Icon};

/// What the form's submit button says and shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SubmitLabel {
    /// The button's picture.
    pub glyph: Glyph,
    /// Its words.
    pub idle: &'static str,
    /// Its words while the request is under way.
    pub busy: &'static str,
}

/// The form: its fields (the children), then the button.
#[component]
pub fn PostForm(
    /// Where the form posts to.
    action: &'static str,
    /// Sends `multipart/form-data` (for a file field) instead of URL-encoding.
    #[prop(optional)]
    multipart: bool,
    /// Extra classes on the form.
    #[prop(optional)]
    class: &'static str,
    /// The submit button.
    submit: SubmitLabel,
    /// The submit button's `id`.
    #[prop(optional)]
    button_id: Option<&'static str>,
    /// The fields; none for a form that is only a button.
    #[prop(optional)]
    children: Option<ErasedChildren>,
) -> impl IntoView {
    let submitting = RwSignal::new(false);
    // The submit event only comes once the browser's own checks (required
    // fields) have passed, so the busy state means a request really left.
    let on_submit = move |event: leptos::ev::SubmitEvent| {
        if submitting.get_untracked() {
            event.prevent_default();
            return;
        }
        submitting.set(true);
    };
    #[cfg(feature = "hydrate")]
    reset_when_restored(submitting);

    view! {
        <form
            class=format!("bty-form {class}").trim_end().to_string()
            method="post"
            action=action
            enctype=multipart.then_some("multipart/form-data")
            on:submit=on_submit
        >
            {children.map(ErasedChildren::render)}
            <div class="bty-form-actions">
                // Not `disabled`: a stopped request would leave the button
                // dead; a second press is ignored by the handler instead.
                <button
                    type="submit"
                    class="btn btn-primary bty-submit"
                    class:busy=move || submitting.get()
                    id=button_id
                    aria-busy=move || submitting.get().then_some("true")
                >
                    {move || {
                        if submitting.get() {
                            view! { <span class="spinner" aria-hidden="true"></span> }.erased()
                        } else {
                            view! { <Icon glyph=submit.glyph/> }.erased()
                        }
                    }}
                    <span>{move || if submitting.get() { submit.busy } else { submit.idle }}</span>
                </button>
            </div>
        </form>
    }
    .erased()
}

/// A page the browser keeps in its back-forward cache comes back exactly
/// as it was left, busy button included: make the button usable again.
#[cfg(feature = "hydrate")]
fn reset_when_restored(submitting: RwSignal<bool>) {
    let handle = window_event_listener_untyped("pageshow", move |event| {
        let restored = js_sys::Reflect::get(&event, &"persisted".into())
            .ok()
            .and_then(|value| value.as_bool())
            .unwrap_or(false);
        if restored {
            let _ = submitting.try_set(false);
        }
    });
    on_cleanup(move || handle.remove());
}

//! The small icon button that copies a value (a SHA-256, a new token's
//! secret) to the clipboard and shows a check mark for a moment.

use leptos::prelude::*;

use super::browser;
use super::icons::{Glyph, Icon};

/// Copies `text`; `class` names the button for styles and tests, `label`
/// is its title and accessible name.
#[component]
pub fn CopyButton(text: String, class: &'static str, label: &'static str) -> impl IntoView {
    let copied = RwSignal::new(false);
    let on_copy = {
        let text = text.clone();
        move |_| {
            if browser::copy_text(&text) {
                copied.set(true);
                #[cfg(feature = "hydrate")]
                set_timeout(
                    move || {
                        let _ = copied.try_set(false);
                    },
                    std::time::Duration::from_millis(1500),
                );
            }
        }
    };
    view! {
        <button
            type="button"
            class=format!("btn btn-icon {class}")
            class:copied=move || copied.get()
            title=label
            aria-label=label
            on:click=on_copy
        >
            {move || {
                if copied.get() {
                    view! { <Icon glyph=Glyph::Check/> }
                } else {
                    view! { <Icon glyph=Glyph::Copy/> }
                }
            }}
        </button>
    }
}

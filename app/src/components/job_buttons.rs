//! The buttons of a job row: Cancel (a queued or running job) and Retry (a
//! failed or cancelled download). Each calls the API once at a time and
//! leaves the outcome to the live stream; a refusal goes to the flash slot.

use leptos::prelude::*;

use super::icons::{Glyph, Icon};
use super::layout::use_flash;
use crate::api;
use crate::model::JobKind;

/// Cancels a queued or running job by name.
#[component]
pub fn CancelButton(kind: JobKind, name: String) -> impl IntoView {
    let pending = RwSignal::new(false);
    let flash = use_flash();
    let on_click = {
        let name = name.clone();
        move |_| {
            if pending.get_untracked() {
                return;
            }
            pending.set(true);
            let name = name.clone();
            leptos::task::spawn_local(async move {
                let result = match kind {
                    JobKind::Hash => api::cancel_hash(&name).await,
                    JobKind::Download => api::cancel_download(&name).await,
                };
                let _ = pending.try_set(false);
                if let (Err(error), Some(flash)) = (result, flash) {
                    flash.show(format!("Cancel {name} failed: {error}"));
                }
            });
        }
    };
    view! {
        <button
            type="button"
            class="btn btn-sm btn-outline-danger bty-job-cancel"
            data-name=name
            disabled=move || pending.get()
            on:click=on_click
        >
            <Icon glyph=Glyph::X/>
            <span>"Cancel"</span>
        </button>
    }
    .into_any()
}

/// Queues a failed or cancelled download again (the same request that
/// started it); the new state arrives through the live stream.
#[component]
pub fn RetryButton(name: String) -> impl IntoView {
    let pending = RwSignal::new(false);
    let flash = use_flash();
    let on_click = {
        let name = name.clone();
        move |_| {
            if pending.get_untracked() {
                return;
            }
            pending.set(true);
            let name = name.clone();
            leptos::task::spawn_local(async move {
                let result = api::enqueue_download(&name).await;
                let _ = pending.try_set(false);
                match (result, flash) {
                    (Err(error), Some(flash)) => {
                        flash.show(format!("Retry {name} failed: {error}"))
                    }
                    (Err(error), None) => leptos::logging::warn!("Retry {name} failed: {error}"),
                    (Ok(()), Some(flash)) => flash.clear(),
                    (Ok(()), None) => {}
                }
            });
        }
    };
    view! {
        <button
            type="button"
            class="btn btn-sm btn-outline-primary bty-job-retry"
            data-name=name
            disabled=move || pending.get()
            on:click=on_click
        >
            <Icon glyph=Glyph::RotateCcw/>
            <span>"Retry"</span>
        </button>
    }
    .into_any()
}

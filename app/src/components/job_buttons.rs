//! The buttons of a job row: Cancel (a queued or running job) and Retry (a
//! failed or cancelled download). Each calls the API once at a time and
//! leaves the outcome to the live stream; a refusal goes to the flash slot.

use leptos::prelude::*;

use crate::components::erased::IntoErased;

use super::icons::{Glyph, Icon};
use super::layout::use_flash;
use crate::api;
use crate::model::JobKind;

/// What a job row's button asks of the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobCommand {
    /// Cancel a queued or running job.
    Cancel(JobKind),
    /// Queue a failed or cancelled download again (the request that
    /// started it).
    Retry,
}

impl JobCommand {
    fn label(self) -> &'static str {
        match self {
            JobCommand::Cancel(_) => "Cancel",
            JobCommand::Retry => "Retry",
        }
    }

    /// Classes: the look, then the hook tests and styles use.
    fn class(self) -> &'static str {
        match self {
            JobCommand::Cancel(_) => "btn btn-sm btn-outline-danger bty-job-cancel",
            JobCommand::Retry => "btn btn-sm btn-outline-primary bty-job-retry",
        }
    }

    fn glyph(self) -> Glyph {
        match self {
            JobCommand::Cancel(_) => Glyph::X,
            JobCommand::Retry => Glyph::RotateCcw,
        }
    }

    async fn send(self, name: &str) -> Result<(), String> {
        match self {
            JobCommand::Cancel(JobKind::Download) => api::cancel_download(name).await,
            // The hash route cancels a name's hash or inspection.
            JobCommand::Cancel(_) => api::cancel_hash(name).await,
            JobCommand::Retry => api::enqueue_download(name).await,
        }
    }
}

/// A job row's button for `command` on the job named `name`.
#[component]
pub fn JobButton(command: JobCommand, name: String) -> impl IntoView {
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
                let result = command.send(&name).await;
                let _ = pending.try_set(false);
                let verb = command.label();
                match (result, flash) {
                    (Err(error), Some(flash)) => {
                        flash.show(format!("{verb} {name} failed: {error}"))
                    }
                    (Err(error), None) => leptos::logging::warn!("{verb} {name} failed: {error}"),
                    (Ok(()), Some(flash)) if command == JobCommand::Retry => flash.clear(),
                    (Ok(()), _) => {}
                }
            });
        }
    };
    view! {
        <button
            type="button"
            class=command.class()
            data-name=name
            disabled=move || pending.get()
            on:click=on_click
        >
            <Icon glyph=command.glyph()/>
            <span>{command.label()}</span>
        </button>
    }
    .erased()
}

//! The Upload image section: the card with the drop zone and the uploads
//! table, then the live unified catalog, where each upload's row shows up
//! with its SHA once the server has it.

use leptos::prelude::*;

use crate::components::erased::IntoErased;

use super::{UploadStatus, Uploads};
use crate::components::catalog::{CatalogTable, EmptyCatalog};
use crate::components::format::{
    first_chars, format_eta, format_progress_bytes, format_rate, short_sha,
};
use crate::components::icons::{Glyph, Icon};
use crate::components::jobs::{ProgressBar, TransferHead, ERROR_PREVIEW_CHARS};
use crate::components::layout::{use_flash, Card};
use crate::live::LiveState;
use crate::model::image_suffixes;

/// The section: uploads first, the catalog they land in below.
#[component]
pub fn UploadSection(
    /// The catalog shown below.
    live: LiveState,
    /// The page's uploads.
    uploads: Uploads,
) -> impl IntoView {
    let has_rows = move || live.has_entries();
    view! {
        <Card
            glyph=Glyph::Upload
            title="Upload image"
            class="bty-section bty-section-upload-image bty-upload-card card-table"
        >
            <div class="bty-upload-intro">
                <DropZone uploads/>
            </div>
            <UploadsTable uploads/>
        </Card>
        <Show when=has_rows fallback=move || view! { <EmptyCatalog live/> }.erased()>
            <CatalogTable live/>
        </Show>
    }
    .erased()
}

/// Where files are dropped, with the picker inside. Disabled until the
/// page is hydrated: before that, nothing would send the files.
#[component]
fn DropZone(uploads: Uploads) -> impl IntoView {
    let flash = use_flash();
    let ready = RwSignal::new(false);
    Effect::new(move |_| ready.set(true));
    #[cfg(feature = "hydrate")]
    super::transfer::ignore_drops_beside_the_zone();
    // Drag events come from every child the pointer crosses: count them so
    // the highlight stays on until the pointer really leaves the zone.
    let depth = RwSignal::new(0_i32);
    let dragging = move || depth.get() > 0;

    let on_drag_enter = move |event: leptos::ev::DragEvent| {
        event.prevent_default();
        depth.update(|depth| *depth += 1);
    };
    let on_drag_over = move |event: leptos::ev::DragEvent| {
        // Without this the browser would open the file instead of dropping it.
        event.prevent_default();
        #[cfg(feature = "hydrate")]
        super::transfer::accept_drag(&event);
        if depth.get_untracked() == 0 {
            depth.set(1);
        }
    };
    let on_drag_leave = move |_: leptos::ev::DragEvent| {
        depth.update(|depth| *depth = (*depth - 1).max(0));
    };
    let on_drop = move |event: leptos::ev::DragEvent| {
        event.prevent_default();
        depth.set(0);
        #[cfg(feature = "hydrate")]
        super::transfer::upload_files(uploads, super::transfer::dropped_files(&event), flash);
    };
    let on_change = move |event: leptos::ev::Event| {
        #[cfg(feature = "hydrate")]
        {
            let input = event_target::<web_sys::HtmlInputElement>(&event);
            super::transfer::upload_files(uploads, super::transfer::picked_files(&input), flash);
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (event, uploads, flash);
    };

    view! {
        <div
            id="bty-dropzone"
            class="bty-dropzone"
            class:dragover=dragging
            data-ready=move || if ready.get() { "true" } else { "false" }
            on:dragenter=on_drag_enter
            on:dragover=on_drag_over
            on:dragleave=on_drag_leave
            on:drop=on_drop
        >
            <Icon glyph=Glyph::Upload/>
            <p class="bty-dropzone-title">
                "Drop image files here or "
                <label for="upload-file" class="bty-dropzone-choose">
                    "choose files"
                </label>
            </p>
            <input
                type="file"
                id="upload-file"
                name="file"
                class="visually-hidden"
                multiple
                accept=image_suffixes(",")
                disabled=move || !ready.get()
                on:change=on_change
            />
            <label for="upload-file" class="btn btn-primary bty-dropzone-button">
                <Icon glyph=Glyph::Upload/>
                <span>"Choose files"</span>
            </label>
            <p class="bty-dropzone-hint text-muted">
                "Several files at once; each is uploaded on its own and hashed on arrival. "
                "Supported formats: "
                {image_suffixes(", ")}
                "."
            </p>
            <noscript>
                "Uploading needs JavaScript: enable it, or copy the files into the image root."
            </noscript>
        </div>
    }
    .erased()
}

/// One row per upload of this page, oldest first.
#[component]
fn UploadsTable(uploads: Uploads) -> impl IntoView {
    let list = uploads.list();
    // Rows are added and removed by id; their progress redraws in place.
    let ids = Memo::new(move |_| list.with(|list| list.iter().map(|u| u.id).collect::<Vec<_>>()));
    let is_empty = move || ids.with(Vec::is_empty);
    let any_finished = move || uploads.any_finished();
    view! {
        <div class="bty-uploads-toolbar">
            <h3 class="bty-uploads-title">"Uploads"</h3>
            <button
                type="button"
                class="btn btn-sm btn-outline-secondary bty-uploads-clear"
                disabled=move || !any_finished()
                on:click=move |_| uploads.clear_finished()
            >
                <Icon glyph=Glyph::Trash/>
                <span>"Clear finished"</span>
            </button>
        </div>
        <div class="table-responsive">
            <table class="table table-striped bty-uploads-table">
                <TransferHead last="Result"/>
                <tbody class="bty-uploads-tbody">
                    <Show when=is_empty>
                        <tr class="bty-uploads-empty">
                            <td colspan="7" class="text-muted">"No uploads yet."</td>
                        </tr>
                    </Show>
                    <For each=move || ids.get() key=|id| *id let:id>
                        <UploadRow id uploads/>
                    </For>
                </tbody>
            </table>
        </div>
    }
    .erased()
}

/// One upload, redrawn in place as it progresses.
#[component]
fn UploadRow(id: u64, uploads: Uploads) -> impl IntoView {
    let Some(initial) = uploads.with_upload_untracked(id, Clone::clone) else {
        return ().erased();
    };
    let upload = Memo::new(move |previous: Option<&super::Upload>| {
        uploads
            .with_upload(id, Clone::clone)
            // A row being removed keeps its last state.
            .or_else(|| previous.cloned())
            .unwrap_or_else(|| initial.clone())
    });
    let name = upload.with_untracked(|u| u.name.clone());
    let cancel_name = name.clone();
    let status = Memo::new(move |_| upload.with(|u| u.status));
    let percent = Signal::derive(move || upload.with(super::Upload::percent));
    let tone = Signal::derive(move || status.get().tone());
    let bytes = move || upload.with(|u| format_progress_bytes(u.bytes_sent, Some(u.bytes_total)));
    let rate = move || upload.with(|u| u.rate_bps.map(format_rate).unwrap_or_default());
    let eta = move || upload.with(|u| u.eta_seconds().map(format_eta).unwrap_or_default());

    view! {
        <tr
            class="bty-upload-row"
            data-upload-id=id.to_string()
            data-name=name.clone()
            data-status=move || status.get().as_str()
        >
            <td class="bty-upload-name">{name.clone()}</td>
            <td>
                <span class=move || {
                    format!("badge bty-upload-status badge-status-{}", status.get().as_str())
                }>{move || status.get().as_str()}</span>
            </td>
            <td class="col-progress">
                <ProgressBar percent tone/>
            </td>
            <td class="bty-upload-bytes">{bytes}</td>
            <td class="bty-upload-rate">{rate}</td>
            <td class="bty-upload-eta">{eta}</td>
            <td class="bty-upload-result">
                {move || match status.get() {
                    UploadStatus::Uploading => view! { <CancelUpload id uploads name=cancel_name.clone()/> }.erased(),
                    UploadStatus::Completed => match upload.with(|u| u.sha256.clone()) {
                        Some(sha) => view! {
                            <code class="bty-upload-sha" title=sha.clone()>{short_sha(&sha)}</code>
                        }
                        .erased(),
                        None => view! { <span class="text-muted">"stored"</span> }.erased(),
                    },
                    UploadStatus::Failed => {
                        let error = upload.with(|u| u.error.clone()).unwrap_or_default();
                        view! {
                            <div class="bty-upload-error" title=error.clone()>
                                {first_chars(&error, ERROR_PREVIEW_CHARS)}
                            </div>
                        }
                        .erased()
                    }
                    UploadStatus::Cancelled => view! { <span class="text-muted">"-"</span> }.erased(),
                }}
            </td>
        </tr>
    }
    .erased()
}

/// Aborts one running upload.
#[component]
fn CancelUpload(id: u64, uploads: Uploads, name: String) -> impl IntoView {
    let on_click = move |_| {
        #[cfg(feature = "hydrate")]
        super::transfer::cancel(uploads, id);
        #[cfg(not(feature = "hydrate"))]
        let _ = (uploads, id);
    };
    view! {
        <button
            type="button"
            class="btn btn-sm btn-outline-danger bty-upload-cancel"
            data-name=name
            on:click=on_click
        >
            <Icon glyph=Glyph::X/>
            <span>"Cancel"</span>
        </button>
    }
    .erased()
}

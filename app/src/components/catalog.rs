//! The unified catalog table of the List section: one row per image, with
//! its names, content SHA, format, sources, cache state and actions.

use leptos::prelude::*;

use crate::components::erased::IntoErased;

use super::actions::{row_actions, ActionButton};
use super::catalog_controls::CatalogControls;
use super::copy_button::CopyButton;
use super::format::{format_bytes, short_sha};
use super::icons::{Glyph, Icon};
use super::layout::Card;
use crate::live::LiveState;
use crate::model::{image_suffixes, CatalogRow, InspectionState, Source, SourceKind};

/// The table, redrawn as the live catalog changes.
#[component]
pub fn CatalogTable(
    /// The state the rows come from.
    live: LiveState,
) -> impl IntoView {
    let rows = move || live.catalog.with(|catalog| catalog.rows.clone());
    let no_match = move || live.catalog.with(|catalog| catalog.rows.is_empty());
    view! {
        <Card glyph=Glyph::Database title="Unified catalog" class="bty-catalog-card card-table">
            <CatalogControls live/>
            <div class="table-responsive">
                <table class="table table-striped bty-catalog-table">
                    <thead>
                        <tr>
                            <th>"Name(s)"</th>
                            <th>"Content SHA"</th>
                            <th>"Format"</th>
                            <th>"Sources"</th>
                            <th>"Cached"</th>
                            <th>"Action"</th>
                        </tr>
                    </thead>
                    <tbody class="bty-catalog-tbody">
                        // A row's whole content is its key: a changed row is
                        // drawn again, the others stay (catalog updates are rare).
                        // The row itself, not its `Debug` text, which brought
                        // the derived formatting into the browser bundle.
                        <For each=rows key=CatalogRow::clone let:row>
                            <CatalogRowView row/>
                        </For>
                        <Show when=no_match>
                            <tr class="bty-catalog-nomatch">
                                <td colspan="6" class="text-muted">"No entries match the filter."</td>
                            </tr>
                        </Show>
                    </tbody>
                </table>
            </div>
        </Card>
    }
    .erased()
}

/// One catalog row.
#[component]
pub fn CatalogRowView(
    /// The row drawn.
    row: CatalogRow,
) -> impl IntoView {
    let actions = row_actions(&row);
    let notes = inspection_notes(&row);
    let names = row
        .names
        .iter()
        .enumerate()
        .map(|(index, name)| {
            let name = name.clone();
            if index == 0 {
                view! { <strong class="bty-name">{name}</strong> }.erased()
            } else {
                view! { <span class="bty-name bty-name-alias">{name}</span> }.erased()
            }
        })
        .collect_view();
    let sources = row
        .sources
        .iter()
        .map(|source| view! { <SourceLine source=source.clone()/> })
        .collect_view();

    view! {
        <tr class="bty-catalog-row" data-ref=row.image_ref.clone()>
            <td class="bty-names">{names}</td>
            <td class="bty-sha-cell">
                {match row.sha256.clone() {
                    Some(sha) => view! { <ShaCell sha/> }.erased(),
                    None => view! { <span class="badge badge-unhashed">"unhashed"</span> }.erased(),
                }}
            </td>
            <td class="bty-format-cell">
                {match row.format.clone() {
                    Some(format) => view! { <span class="badge badge-format">{format}</span> }.erased(),
                    None => view! { <span class="text-muted">"?"</span> }.erased(),
                }}
                {notes.into_iter().map(|(class, text)| view! { <div class=class>{text}</div> }).collect_view()}
            </td>
            <td class="bty-sources">{sources}</td>
            <td>
                {if row.cached {
                    view! { <span class="badge badge-cached">"cached"</span> }
                } else {
                    view! { <span class="badge badge-available">"available"</span> }
                }}
                // The operator's cache pin, not a pinned SHA-256.
                {row.keep_cached.then(|| view! {
                    <span class="badge badge-pinned" title="Pinned in the cache: never evicted to make room">
                        <Icon glyph=Glyph::Pin/>"pinned"
                    </span>
                })}
            </td>
            <td class="bty-actions">
                {if actions.is_empty() {
                    view! { <span class="text-muted">"-"</span> }.erased()
                } else {
                    actions
                        .into_iter()
                        .map(|action| view! { <ActionButton action/> })
                        .collect_view()
                        .erased()
                }}
            </td>
        </tr>
    }
    .erased()
}

/// The lines under a row's format, each a class and a text, drawn alike
/// (one view type keeps the browser bundle small): an unsafe or corrupt
/// image's red badge with the reason, the warning of a name that says
/// another format, and the size, "2.1 GiB → 16.0 GiB" once the size a
/// flasher writes is known.
pub fn inspection_notes(row: &CatalogRow) -> Vec<(&'static str, String)> {
    let mut notes = Vec::new();
    if row.inspection.is_refused() {
        let class = if row.inspection == InspectionState::Unsafe {
            "bty-inspection bty-inspection-unsafe"
        } else {
            "bty-inspection bty-inspection-corrupt"
        };
        let reason = row.inspection_reason.as_deref().unwrap_or_default();
        notes.push((class, format!("{}: {reason}", row.inspection.as_str())));
    }
    if let Some(warning) = &row.format_warning {
        notes.push(("bty-format-warning", warning.clone()));
    }
    if let Some(size) = row.size_bytes {
        let mut text = format_bytes(size as u64);
        if let Some(uncompressed) = row.uncompressed_size {
            text = format!("{text} → {}", format_bytes(uncompressed));
        }
        notes.push(("bty-size", text));
    }
    notes
}

/// A shortened SHA with the full value in its title, and a copy button.
#[component]
fn ShaCell(sha: String) -> impl IntoView {
    view! {
        <code class="bty-sha" title=sha.clone()>{short_sha(&sha)}</code>
        <CopyButton
            text=sha.clone()
            class="bty-copy-sha"
            label="Copy SHA-256"
            attr:data-sha=sha
        />
    }
    .erased()
}

/// One source of a row, with the picture of its kind.
#[component]
fn SourceLine(source: Source) -> impl IntoView {
    let glyph = match source.kind {
        SourceKind::Local => Glyph::HardDrive,
        SourceKind::Url => Glyph::CloudPlus,
        SourceKind::Manifest => Glyph::Cloud,
    };
    view! {
        <div class="bty-source" data-kind=source.kind.as_str() title=source.kind.as_str()>
            <Icon glyph/>
            <span class="bty-source-location">{source.location}</span>
        </div>
    }
    .erased()
}

/// What the List section shows while the catalog is empty.
#[component]
pub fn EmptyCatalog(
    /// The state whose image root is named.
    live: LiveState,
) -> impl IntoView {
    let image_root = move || live.catalog.with(|catalog| catalog.image_root.clone());
    view! {
        <div class="alert alert-secondary bty-empty-catalog">
            <Icon glyph=Glyph::Inbox/>
            <div>
                <strong>"No images yet."</strong>
                " Drop image files into the image root "
                <code>{image_root}</code>
                ", or use "
                <a href="/ui/images?section=upload-image">"Upload image"</a>
                ". Supported formats: "
                {image_suffixes(", ")}
                ". New files appear here by themselves and are hashed automatically."
            </div>
        </div>
    }
    .erased()
}

//! The Images page's three form sections that change the catalog on the
//! server: Fetch catalog (the project's release `catalog.toml`), Upload
//! catalog (a `catalog.toml` from disk) and Upload image (from URL). Each is
//! a plain POST form answered with a 303 back to the page (`?error=` when
//! nothing changed), with the live catalog right below it.
//!
//! The forms' actions, field names and ids are the reference's (its
//! `images.html`): operators' scripts and the end-to-end test post them.

use leptos::prelude::*;

use crate::components::erased::IntoErased;

use super::catalog::{CatalogTable, EmptyCatalog};
use super::icons::{Glyph, Icon};
use super::layout::Card;
use super::post_form::{PostForm, SubmitLabel};
use crate::live::LiveState;

/// Where the Fetch catalog form posts (no body).
pub const FETCH_RELEASE_ACTION: &str = "/ui/catalog/fetch-release";
/// Where the Upload catalog form posts its `file` (multipart).
pub const UPLOAD_CATALOG_ACTION: &str = "/ui/catalog/upload";
/// Where the Upload image (from URL) form posts `image_url` and `sha_url`.
pub const ADD_ENTRY_ACTION: &str = "/ui/catalog/entries";

/// The largest catalog the server takes, as the help text says it.
pub const CATALOG_LIMIT_TEXT: &str = "1 MiB";

/// A short catalog in the version 1 schema, shown as an example.
pub const CATALOG_EXAMPLE: &str = r#"version = 1

[[images]]
name = "debian-12 (x86_64)"
src = "https://example.com/images/debian-12-amd64.img.gz"
sha256 = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0"
format = "img.gz"
size_bytes = 1073741824
description = "Debian 12, generic x86_64 disk image""#;

/// The release page the Fetch catalog section links to.
pub fn release_page_url(release_repo: &str) -> String {
    format!("https://github.com/{release_repo}/releases/latest")
}

/// The catalog the section's form changes, live: the table, or the
/// empty-state help while there is no row.
#[component]
fn LiveCatalog(live: LiveState) -> impl IntoView {
    let has_rows = move || live.has_entries();
    view! {
        <Show when=has_rows fallback=move || view! { <EmptyCatalog live/> }.erased()>
            <CatalogTable live/>
        </Show>
    }
    .erased()
}

/// Fetch catalog: pull `catalog.toml` from the latest release of the
/// project's repository.
#[component]
pub fn FetchSection(
    /// The catalog shown below.
    live: LiveState,
    /// The GitHub repository (`owner/name`) whose latest release is fetched.
    release_repo: String,
    /// Where the server keeps the catalog file.
    manifest_path: String,
) -> impl IntoView {
    view! {
        <Card
            glyph=Glyph::CloudDownload
            title="Fetch catalog"
            class="bty-section bty-section-fetch bty-form-card"
        >
            <p>
                "Pulls the project's release catalog: the "
                <code>"catalog.toml"</code>
                " attached to the latest release of "
                <a
                    class="bty-release-link"
                    href=release_page_url(&release_repo)
                    rel="external noopener"
                    target="_blank"
                >
                    <span>{release_repo.clone()}</span>
                    <Icon glyph=Glyph::ExternalLink/>
                </a>
                ". Its entries join the unified catalog as metadata; the bytes of an image are \
                 downloaded when its row's Fetch is pressed. Entries already listed are kept, \
                 so fetching again is harmless."
            </p>
            <p>
                "The fetched file is kept as "
                <code class="bty-manifest-path">{manifest_path}</code>
                ", replacing the catalog file there. A download that fails or a file that does \
                 not parse changes nothing."
            </p>
            <p class="text-muted bty-form-note">
                "The server downloads the file itself, so it has to reach github.com. \
                 Without internet access, download it elsewhere and use "
                <a href="/ui/images?section=upload-catalog">"Upload catalog"</a>
                "."
            </p>
            <PostForm
                action=FETCH_RELEASE_ACTION
                class="bty-fetch-form"
                button_id="bty-fetch-release-btn"
                submit=SubmitLabel {
                    glyph: Glyph::CloudDownload,
                    idle: "Fetch latest catalog.toml",
                    busy: "Fetching catalog.toml…",
                }
            />
        </Card>
        <LiveCatalog live/>
    }
    .erased()
}

/// Upload catalog: a `catalog.toml` from the operator's disk.
#[component]
pub fn UploadCatalogSection(
    /// The catalog shown below.
    live: LiveState,
    /// Where the server keeps the catalog file.
    manifest_path: String,
) -> impl IntoView {
    view! {
        <Card
            glyph=Glyph::FileText
            title="Upload catalog"
            class="bty-section bty-section-upload-catalog bty-form-card"
        >
            <p>
                "Imports a "
                <code>"catalog.toml"</code>
                " (at most "
                {CATALOG_LIMIT_TEXT}
                ", schema version 1): its entries join the unified catalog as metadata, \
                 entries already listed are kept, and the file is kept as "
                <code class="bty-manifest-path">{manifest_path}</code>
                ", replacing the catalog file there."
            </p>
            <PostForm
                action=UPLOAD_CATALOG_ACTION
                multipart=true
                class="bty-upload-catalog-form"
                submit=SubmitLabel {
                    glyph: Glyph::Upload,
                    idle: "Upload catalog",
                    busy: "Uploading…",
                }
            >
                <div class="bty-field">
                    <label for="catalog-file">"Catalog file"</label>
                    <input
                        type="file"
                        name="file"
                        id="catalog-file"
                        class="form-control"
                        accept=".toml"
                        required=true
                    />
                </div>
            </PostForm>
            <p class="text-muted bty-form-note">
                "A file that is too large, empty or does not parse changes nothing: the catalog \
                 and the file on the server stay as they were, and the reason is shown above."
            </p>
            <details class="bty-catalog-example" open=true>
                <summary>"The format, by example"</summary>
                <pre><code>{CATALOG_EXAMPLE}</code></pre>
                <p class="text-muted">
                    <code>"version"</code>
                    ", and each entry's "
                    <code>"name"</code>
                    " (unique in the file) and "
                    <code>"src"</code>
                    " ("
                    <code>"https://"</code>
                    ", "
                    <code>"oras://"</code>
                    " or "
                    <code>"file://"</code>
                    ") are required; "
                    <code>"sha256"</code>
                    ", "
                    <code>"format"</code>
                    ", "
                    <code>"size_bytes"</code>
                    " and "
                    <code>"description"</code>
                    " are optional. Without a "
                    <code>"sha256"</code>
                    " the image's SHA is learned on its first download."
                </p>
            </details>
        </Card>
        <LiveCatalog live/>
    }
    .erased()
}

/// Upload image (from URL): one entry by its address.
#[component]
pub fn AddFromUrlSection(
    /// The catalog shown below.
    live: LiveState,
) -> impl IntoView {
    view! {
        <Card
            glyph=Glyph::Link
            title="Upload image (from URL)"
            class="bty-section bty-section-upload-image-from-url bty-form-card"
        >
            <p>
                "Adds one image to the catalog by its address; only the entry is recorded here. \
                 Flash clients find it in "
                <code>"/images"</code>
                " at once, at an address on this server. Its bytes are downloaded when its row's \
                 Fetch is pressed or when a flash client first asks for them, streamed from the \
                 upstream through this server while the cache fills: clients that cannot reach \
                 the upstream still get the image."
            </p>
            <PostForm
                action=ADD_ENTRY_ACTION
                class="bty-add-url-form"
                submit=SubmitLabel {
                    glyph: Glyph::CloudPlus,
                    idle: "Add image",
                    busy: "Adding…",
                }
            >
                <div class="bty-field">
                    <label for="image_url">"Image URL"</label>
                    <input
                        type="text"
                        name="image_url"
                        id="image_url"
                        class="form-control"
                        required=true
                        placeholder="https://example.com/images/debian.img.gz or oras://ghcr.io/org/repo:tag"
                        inputmode="url"
                        autocomplete="off"
                        spellcheck="false"
                    />
                </div>
                <div class="bty-field">
                    <label for="sha_url">
                        "Checksum file URL "
                        <span class="text-muted">"(optional)"</span>
                    </label>
                    <input
                        type="text"
                        name="sha_url"
                        id="sha_url"
                        class="form-control"
                        placeholder="https://…/SHA256SUMS (optional)"
                        inputmode="url"
                        autocomplete="off"
                        spellcheck="false"
                    />
                </div>
            </PostForm>
            <ul class="text-muted bty-form-help">
                <li>
                    <code>"https://"</code>
                    " URLs must end in a file name ("
                    <code>"…/debian.img.gz"</code>
                    "): it becomes the entry's name, and its suffix the format."
                </li>
                <li>
                    <code>"oras://"</code>
                    " references ("
                    <code>"oras://host/org/repo:tag"</code>
                    " or "
                    <code>"@sha256:…"</code>
                    ") resolve to the registry's disk-image layer; its digest is the image's \
                     SHA-256, so no checksum file is needed."
                </li>
                <li>
                    "With a checksum file ("
                    <code>"SHA256SUMS"</code>
                    " style, listing the image's file name) the SHA-256 is known at once, and \
                     the first download is verified against it (a mismatch breaks the transfer \
                     off and keeps nothing). Without one, the first download or flash trusts the \
                     upstream bytes and records the SHA-256 it observed; from then on the image \
                     is also listed in "
                    <code>"/catalog.toml"</code>
                    ", which names only images whose SHA-256 is known."
                </li>
            </ul>
        </Card>
        <LiveCatalog live/>
    }
    .erased()
}

//! `/ui/images`: the unified catalog, the job panes, image uploads and the
//! recent image activity, rendered whole on the server and kept live in the browser.

use leptos::prelude::*;

use crate::components::erased::{ErasedView, IntoErased};
use crate::nav::use_query_map;

use crate::components::catalog_controls::CurrentSection;
use crate::components::{
    AddFromUrlSection, CatalogTable, EmptyCatalog, EventsCard, FetchSection, Glyph, Icon, JobsPane,
    Layout, LoadFailure, SubNav, UploadCatalogSection, UploadSection, Uploads,
};
use crate::live::{self, LiveState};
use crate::model::{self, ImagesSection, JobKind};

/// Loads the page data for the operator of the request being rendered.
/// The request's context is read before the future is returned, while the
/// resource's owner is still current.
#[cfg(feature = "ssr")]
fn load_images_page(
    query: String,
    page: usize,
) -> impl std::future::Future<Output = Result<model::ImagesPage, String>> + Send + 'static {
    let operator = crate::ssr::current_operator();
    let page_data = crate::ssr::page_data();
    async move {
        let operator = operator.ok_or_else(|| "login required".to_string())?;
        let page_data = page_data.ok_or_else(|| "page data is not available".to_string())?;
        page_data.images_page(operator, query, page).await
    }
}

/// A build for neither side (checks only): nothing to load. The browser
/// reads the data the page was rendered from; the page is never loaded
/// client-side (links to it reload the document).
#[cfg(not(any(feature = "ssr", feature = "hydrate")))]
async fn load_images_page(_query: String, _page: usize) -> Result<model::ImagesPage, String> {
    Err("the Images page is rendered by the server".to_string())
}

/// The caption of the Hashes pane, as the reference words it.
pub fn hash_caption(max_parallel: u32) -> String {
    format!("{max_parallel} at a time (default 1) so small hardware (Pi / NUC) stays responsive")
}

/// The caption of the Downloads pane; none when the server did not say.
pub fn download_caption(max_parallel: u32) -> Option<String> {
    (max_parallel > 0).then(|| {
        format!(
            "{max_parallel} at a time (default 2); a cut download resumes where it stopped, \
             and transient errors are retried"
        )
    })
}

/// The `/ui/images` route.
#[component]
pub fn ImagesPage() -> impl IntoView {
    // The browser hydrates from the data the page was rendered from.
    #[cfg(feature = "hydrate")]
    {
        images_screen(crate::components::browser::rendered_page())
    }
    #[cfg(not(feature = "hydrate"))]
    {
        // The catalog filter and page of the address the page was loaded
        // with; later changes are fetched by the live state, not by this
        // resource.
        let query = use_query_map();
        let (filter, page) = query.with_untracked(|q| {
            let filter = q.get("q").unwrap_or_default();
            let page = q.get("page").and_then(|p| p.parse().ok()).unwrap_or(1);
            (filter, page)
        });
        let data = Resource::new_blocking(|| (), move |_| load_images_page(filter.clone(), page));
        view! {
            <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }.erased()>
                {move || Suspend::new(async move { images_screen(data.await) })}
            </Suspense>
        }
        .erased()
    }
}

/// The page, or why it cannot be shown.
fn images_screen(data: Result<model::ImagesPage, String>) -> ErasedView {
    match data {
        Ok(page) => view! { <ImagesScreen page/> }.erased(),
        Err(error) => view! { <LoadFailure title="Images unavailable" error/> }.erased(),
    }
}

/// The page once its data is there.
#[component]
fn ImagesScreen(page: model::ImagesPage) -> impl IntoView {
    let live = LiveState::new(&page);
    provide_context(live);
    live::connect(live);
    // Page state, not section state: uploads go on while the pills switch.
    let uploads = Uploads::new();

    let query = use_query_map();
    let section = Memo::new(move |_| ImagesSection::parse(query.read().get_str("section")));
    provide_context(CurrentSection(section.into()));
    let caption = hash_caption(page.hash_max_parallel);
    let download_caption = download_caption(page.download_max_parallel);
    let release_repo = page.release_repo.clone();
    let manifest_path = page.manifest_path.clone();

    view! {
        <Layout operator=Some(page.operator.clone()) live=Some(live.connection)>
            <SubNav section live/>
            <IntroBox/>
            {move || match section.get() {
                ImagesSection::List => view! {
                    <ListSection
                        live
                        caption=caption.clone()
                        download_caption=download_caption.clone()
                    />
                }
                .erased(),
                ImagesSection::Fetch => view! {
                    <FetchSection
                        live
                        release_repo=release_repo.clone()
                        manifest_path=manifest_path.clone()
                    />
                }
                .erased(),
                ImagesSection::UploadCatalog => view! {
                    <UploadCatalogSection live manifest_path=manifest_path.clone()/>
                }
                .erased(),
                ImagesSection::UploadImage => view! { <UploadSection live uploads/> }.erased(),
                ImagesSection::UploadImageFromUrl => view! { <AddFromUrlSection live/> }.erased(),
            }}
            <EventsCard live/>
        </Layout>
    }
    .erased()
}

/// What the page is for.
#[component]
fn IntroBox() -> impl IntoView {
    view! {
        <div class="alert alert-info bty-intro">
            <Icon glyph=Glyph::Info/>
            <div>
                <strong>"Images"</strong>
                " is the unified catalog of the disk images the flasher writes onto target disks: "
                "files in the image root, entries imported from a "
                <code>"catalog.toml"</code>
                " and images added by URL, one row per image. Local files in the image root are "
                "hashed automatically; an image is offered to flash clients once its SHA-256 is known."
            </div>
        </div>
    }
    .erased()
}

/// The List section: the table and the job panes, or the empty-state help.
/// Drawn from the live state, so the first file appears without a reload.
#[component]
fn ListSection(
    live: LiveState,
    caption: String,
    download_caption: Option<String>,
) -> impl IntoView {
    let has_rows = move || live.has_entries();
    view! {
        <Show when=has_rows fallback=move || view! { <EmptyCatalog live/> }.erased()>
            <CatalogTable live/>
            <div class="job-panes">
                <JobsPane kind=JobKind::Download live caption=download_caption.clone()/>
                <JobsPane kind=JobKind::Hash live caption=Some(caption.clone())/>
            </div>
        </Show>
    }
    .erased()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_downloads_caption_names_the_parallelism_when_known() {
        assert_eq!(download_caption(0), None);
        assert!(download_caption(3)
            .is_some_and(|caption| caption.starts_with("3 at a time (default 2)")));
    }

    #[test]
    fn the_hashes_caption_names_the_parallelism() {
        assert_eq!(
            hash_caption(1),
            "1 at a time (default 1) so small hardware (Pi / NUC) stays responsive"
        );
    }
}

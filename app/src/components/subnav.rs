//! The Images page's second bar: pill tabs for its sections and, on the
//! right, the live entry count and the image root.

use leptos::prelude::*;

use crate::components::erased::IntoErased;

use super::format::entry_count;
use super::icons::{Glyph, Icon};
use crate::live::LiveState;
use crate::model::ImagesSection;

/// The tab's picture.
pub fn section_glyph(section: ImagesSection) -> Glyph {
    match section {
        ImagesSection::List => Glyph::List,
        ImagesSection::Fetch => Glyph::CloudDownload,
        ImagesSection::UploadCatalog => Glyph::FileText,
        ImagesSection::UploadImage => Glyph::Upload,
        ImagesSection::UploadImageFromUrl => Glyph::Link,
    }
}

/// Where a section lives: the list is the bare page.
pub fn section_href(section: ImagesSection) -> String {
    match section {
        ImagesSection::List => "/ui/images".to_string(),
        other => format!("/ui/images?section={}", other.slug()),
    }
}

/// The pill tabs and the catalog summary.
#[component]
pub fn SubNav(
    /// The section being shown.
    #[prop(into)]
    section: Signal<ImagesSection>,
    /// The catalog whose size and root are shown.
    live: LiveState,
) -> impl IntoView {
    let count = Memo::new(move |_| live.catalog.with(|catalog| catalog.total));
    let image_root = Memo::new(move |_| live.catalog.with(|catalog| catalog.image_root.clone()));
    let tabs = ImagesSection::ALL
        .into_iter()
        .map(|tab| {
            let active = move || section.get() == tab;
            view! {
                <li>
                    <a
                        class="pill"
                        class:active=active
                        href=section_href(tab)
                        data-section=tab.slug()
                        aria-current=move || active().then_some("page")
                    >
                        <Icon glyph=section_glyph(tab)/>
                        <span>{tab.label()}</span>
                    </a>
                </li>
            }
        })
        .collect_view();

    view! {
        <nav class="subnav" aria-label="Images sections">
            <ul class="pills">{tabs}</ul>
            <div class="subnav-meta">
                <span class="bty-entry-count">{move || entry_count(count.get())}</span>
                <span class="subnav-sep" aria-hidden="true">" | "</span>
                <span>"image-root "</span>
                <code class="bty-image-root">{move || image_root.get()}</code>
            </div>
        </nav>
    }
    .erased()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_tab_links_to_the_bare_page() {
        assert_eq!(section_href(ImagesSection::List), "/ui/images");
        assert_eq!(
            section_href(ImagesSection::UploadImageFromUrl),
            "/ui/images?section=upload-image-from-url"
        );
    }
}

//! The catalog table's filter box and pager. The server renders one page of
//! the (filtered) catalog, so a catalog of thousands of entries stays a
//! small page; the filter and the page links work as a plain GET form and
//! plain links, and once hydrated they fetch the page in place instead.

use leptos::prelude::*;

use crate::components::erased::IntoErased;

use super::browser;
use crate::api::catalog_view_query;
use crate::live::LiveState;
use crate::model::{CatalogPage, ImagesSection};

/// The section of `/ui/images` on show, provided by the page, so links and
/// the filter form stay in it.
#[derive(Clone, Copy, Debug)]
pub struct CurrentSection(pub Signal<ImagesSection>);

/// "1–100 of 250 matching 'deb' (10000 entries)".
pub fn summary(page: &CatalogPage) -> String {
    let entries = match page.total {
        1 => "1 entry".to_owned(),
        n => format!("{n} entries"),
    };
    if page.matched == 0 {
        return if page.query.is_empty() {
            entries
        } else {
            format!("none of {entries} match")
        };
    }
    let first = (page.page - 1) * page.per_page + 1;
    let last = first + page.rows.len() - 1;
    if page.query.is_empty() {
        format!("{first}–{last} of {entries}")
    } else {
        format!("{first}–{last} of {} matching ({entries})", page.matched)
    }
}

/// The address of a view of the catalog in a section.
fn view_href(section: &str, query: &str, page: usize) -> String {
    format!(
        "/ui/images?section={section}&{}",
        catalog_view_query(query, page)
    )
}

/// Filter box, summary and previous / next links.
#[component]
pub fn CatalogControls(
    /// The state the rows come from.
    live: LiveState,
) -> impl IntoView {
    let current_section = use_context::<CurrentSection>();
    let section = Memo::new(move |_| {
        current_section
            .map(|CurrentSection(section)| section.get())
            .unwrap_or(ImagesSection::List)
            .slug()
            .to_owned()
    });
    let filter = Memo::new(move |_| live.view.with(|(query, _)| query.clone()));
    let current = Memo::new(move |_| live.catalog.with(|c| (c.page, c.pages())));
    let show = move |query: String, page: usize| {
        browser::replace_url(&view_href(&section.get_untracked(), &query, page));
        live.show(query, page);
    };
    let step = move |delta: isize| {
        let (page, pages) = current.get_untracked();
        let target = page.saturating_add_signed(delta).clamp(1, pages);
        if target != page {
            show(filter.get_untracked(), target);
        }
    };
    let href = move |delta: isize| {
        let (page, pages) = current.get();
        view_href(
            &section.get(),
            &filter.get(),
            page.saturating_add_signed(delta).clamp(1, pages),
        )
    };
    view! {
        <div class="bty-catalog-controls">
            <form
                class="bty-catalog-filter"
                method="get"
                action="/ui/images"
                on:submit=move |ev| {
                    ev.prevent_default();
                    show(filter.get_untracked(), 1);
                }
            >
                <input type="hidden" name="section" value=move || section.get()/>
                <input
                    type="search"
                    name="q"
                    id="bty-catalog-q"
                    class="form-control form-control-sm"
                    placeholder="Filter by name, sha prefix, source or format"
                    aria-label="Filter the catalog"
                    prop:value=move || filter.get()
                    on:input=move |ev| show(event_target_value(&ev), 1)
                />
                <button type="submit" class="btn btn-sm btn-outline-secondary">"Filter"</button>
            </form>
            <nav class="bty-pager" aria-label="Catalog pages">
                <span class="bty-pager-summary">{move || live.catalog.with(summary)}</span>
                <a
                    class="btn btn-sm btn-outline-secondary bty-page-prev"
                    class:disabled={move || current.get().0 <= 1}
                    href=move || href(-1)
                    on:click=move |ev| {
                        ev.prevent_default();
                        step(-1);
                    }
                >
                    "‹ Previous"
                </a>
                <a
                    class="btn btn-sm btn-outline-secondary bty-page-next"
                    class:disabled={move || current.get().0 >= current.get().1}
                    href=move || href(1)
                    on:click=move |ev| {
                        ev.prevent_default();
                        step(1);
                    }
                >
                    "Next ›"
                </a>
            </nav>
        </div>
    }
    .erased()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{CatalogRow, CatalogView};

    fn view(n: usize) -> CatalogView {
        CatalogView {
            image_root: "/r".into(),
            rows: (0..n)
                .map(|i| CatalogRow {
                    image_ref: format!("{i}"),
                    sha256: None,
                    names: vec![format!("image-{i:03}")],
                    format: None,
                    size_bytes: None,
                    sources: vec![],
                    cached: true,
                    rolling: false,
                    ..Default::default()
                })
                .collect(),
        }
    }

    #[test]
    fn the_summary_says_which_rows_of_how_many() {
        assert_eq!(
            summary(&CatalogPage::of(&view(250), "", 2)),
            "101–200 of 250 entries"
        );
        assert_eq!(summary(&CatalogPage::of(&view(1), "", 1)), "1–1 of 1 entry");
        assert_eq!(
            summary(&CatalogPage::of(&view(250), "image-01", 1)),
            "1–10 of 10 matching (250 entries)"
        );
        assert_eq!(
            summary(&CatalogPage::of(&view(3), "nope", 1)),
            "none of 3 entries match"
        );
    }

    #[test]
    fn page_links_keep_the_section_and_filter() {
        assert_eq!(
            view_href("list", "deb 12", 2),
            "/ui/images?section=list&q=deb%2012&page=2"
        );
    }
}

//! `/ui/events`: the audit trail, filtered by the query string, newest
//! first, 50 rows a page with an "Older" link. Rendered whole on the server;
//! the filter form is a plain GET form, so the page works without JS. Once
//! hydrated, the newest page takes new matching events live
//! ([`crate::live::audit`]).

use leptos::prelude::*;

use crate::components::erased::IntoErased;
use crate::nav::use_query_map;

use crate::components::events::{KindCell, SourceIpCell};
use crate::components::events_filter::FilterForm;
use crate::components::format::encode_query_value;
use crate::components::{Card, Glyph, Layout, LoadFailure};
use crate::live::audit::{self, EventsLive};
use crate::model::{self, Event, EventsFilter, EVENTS_PAGE_SIZE};

/// Loads the page for the operator of the request being rendered; the
/// request's context is read before the future is returned.
#[cfg(feature = "ssr")]
fn load_events_page(
    filter: EventsFilter,
) -> impl std::future::Future<Output = Result<model::EventsPage, String>> + Send + 'static {
    let operator = crate::ssr::current_operator();
    let page_data = crate::ssr::page_data();
    async move {
        let operator = operator.ok_or_else(|| "login required".to_string())?;
        let page_data = page_data.ok_or_else(|| "page data is not available".to_string())?;
        page_data.events_page(operator, filter).await
    }
}

/// In the browser the server's value is reused when hydrating.
#[cfg(not(feature = "ssr"))]
async fn load_events_page(_filter: EventsFilter) -> Result<model::EventsPage, String> {
    Err("the Events page is rendered by the server".to_string())
}

/// `/ui/events?…` with the given pairs, values encoded.
fn events_href(pairs: &[(&str, String)]) -> String {
    let query: Vec<String> = pairs
        .iter()
        .map(|(key, value)| format!("{key}={}", encode_query_value(value)))
        .collect();
    if query.is_empty() {
        "/ui/events".to_owned()
    } else {
        format!("/ui/events?{}", query.join("&"))
    }
}

/// The "Older" link: the same filter, before the given id.
pub fn older_href(filter: &EventsFilter, before_id: i64) -> String {
    let mut pairs = filter.pairs();
    pairs.push(("before_id", before_id.to_string()));
    events_href(&pairs)
}

/// Where an event's subject pivots to; machine subjects do not pivot here.
pub fn subject_href(event: &Event) -> Option<String> {
    let kind = event.subject_kind.as_deref().filter(|k| !k.is_empty())?;
    let id = event.subject_id.as_deref().filter(|id| !id.is_empty())?;
    (kind != "machine").then(|| {
        events_href(&[
            ("subject_kind", kind.to_owned()),
            ("subject_id", id.to_owned()),
        ])
    })
}

/// The `/ui/events` route.
#[component]
pub fn EventsPage() -> impl IntoView {
    let query = use_query_map();
    let filter = query.with_untracked(|q| EventsFilter::from_query(|key| q.get(key)));
    let data = Resource::new_blocking(|| (), move |_| load_events_page(filter.clone()));
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }.erased()>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(page) => view! { <EventsScreen page/> }.erased(),
                    Err(error) => view! { <LoadFailure title="Events unavailable" error/> }.erased(),
                }
            })}
        </Suspense>
    }
    .erased()
}

/// The page once its data is there: the newest page follows the live
/// stream, and the top bar says so.
#[component]
fn EventsScreen(page: model::EventsPage) -> impl IntoView {
    let live = EventsLive::new(&page);
    audit::connect(live);
    let indicator = live.follows_new_events().then_some(live.connection);
    view! {
        <Layout operator=Some(page.operator.clone()) live=indicator>
            <EventsBody filter=page.filter actors=page.actors live/>
        </Layout>
    }
    .erased()
}

/// The filter form, the table (or its empty state) and the paging links.
#[component]
pub fn EventsBody(
    /// The page's filters, as the form shows them.
    filter: EventsFilter,
    /// The Actor dropdown's choices.
    actors: Vec<String>,
    /// The rows.
    live: EventsLive,
) -> impl IntoView {
    let empty_text = if filter.is_unfiltered() {
        "The log is empty."
    } else {
        "No events match the current filter."
    };
    let has_events = move || live.events.with(|events| !events.is_empty());
    // From the rows on show, so events that arrived live move the link along.
    let older = {
        let filter = filter.clone();
        move || {
            live.events.with(|events| {
                (events.len() >= EVENTS_PAGE_SIZE)
                    .then(|| events.last().map(|event| older_href(&filter, event.id)))
                    .flatten()
            })
        }
    };
    let newest = filter
        .before_id
        .is_some()
        .then(|| events_href(&filter.pairs()));
    view! {
        <Card glyph=Glyph::Activity title="Events" class="card-table bty-events-page">
            <FilterForm filter actors/>
            <Show
                when=has_events
                fallback=move || view! { <p class="bty-events-empty">{empty_text}</p> }.erased()
            >
                <div class="table-responsive">
                        <table class="table table-striped bty-events-page-table">
                            <thead>
                                <tr>
                                    <th>"#"</th>
                                    <th>"When"</th>
                                    <th>"Kind"</th>
                                    <th>"Subject"</th>
                                    <th>"Actor"</th>
                                    <th>"Source IP"</th>
                                    <th>"Summary"</th>
                                </tr>
                            </thead>
                            <tbody class="bty-events-page-tbody">
                                <For each=move || live.events.get() key=|event| event.id let:event>
                                    <EventRow event/>
                                </For>
                            </tbody>
                        </table>
                    </div>
            </Show>
            {move || {
                let older = older();
                (older.is_some() || newest.is_some())
                    .then(|| {
                        view! {
                            <nav class="bty-events-paging">
                                {newest
                                    .clone()
                                    .map(|href| {
                                        view! {
                                            <a class="btn bty-events-newest" href=href rel="external">
                                                "Newest"
                                            </a>
                                        }
                                    })}
                                {older
                                    .map(|href| {
                                        view! {
                                            <a class="btn bty-events-older" href=href rel="external">
                                                "Older"
                                            </a>
                                        }
                                    })}
                            </nav>
                        }
                    })
            }}
        </Card>
    }
    .erased()
}

/// One audit event.
#[component]
fn EventRow(event: Event) -> impl IntoView {
    let subject = {
        let kind = event.subject_kind.clone().unwrap_or_default();
        let id = event.subject_id.clone().unwrap_or_default();
        let text = match (kind.is_empty(), id.is_empty()) {
            (true, true) => String::new(),
            (false, true) => kind,
            (true, false) => id,
            (false, false) => format!("{kind}: {id}"),
        };
        match subject_href(&event) {
            Some(href) => view! {
                <a class="bty-event-subject" href=href rel="external">
                    {text}
                </a>
            }
            .erased(),
            None => view! { <span class="bty-event-subject">{text}</span> }.erased(),
        }
    };
    view! {
        <tr class="bty-event-row" data-event-id=event.id.to_string()>
            <td class="text-muted">{event.id}</td>
            <td class="text-nowrap">{event.when()}</td>
            <KindCell event=&event/>
            <td>{subject}</td>
            <td>{event.actor.clone().unwrap_or_default()}</td>
            <SourceIpCell event=&event/>
            <td>{event.summary.clone()}</td>
        </tr>
    }
    .erased()
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::*;
    use crate::model::EventsPage as Page;

    fn event(id: i64, kind: &str, subject: (&str, &str), ip: Option<&str>) -> Event {
        Event {
            id,
            ts: "2026-05-17T20:21:09.155109+00:00".into(),
            kind: kind.into(),
            subject_kind: Some(subject.0.into()),
            subject_id: Some(subject.1.into()),
            actor: Some("operator".into()),
            source_ip: ip.map(str::to_owned),
            summary: format!("summary {id}"),
            details: None,
        }
    }

    /// True when some opening tag holds every one of `attributes`, in any order.
    fn has_tag(html: &str, attributes: &[&str]) -> bool {
        html.split('<')
            .filter_map(|rest| rest.split('>').next())
            .any(|tag| attributes.iter().all(|attribute| tag.contains(attribute)))
    }

    fn render(page: Page) -> String {
        let owner = Owner::new();
        owner.with(|| {
            let live = EventsLive::new(&page);
            view! { <EventsBody filter=page.filter actors=page.actors live/> }
                .erased()
                .to_html()
        })
    }

    #[test]
    fn rows_carry_ids_badges_and_pivot_links() {
        let html = render(Page {
            operator: "admin".into(),
            actors: crate::model::SYSTEM_ACTORS.map(String::from).to_vec(),
            filter: EventsFilter::default(),
            events: vec![
                event(7, "image.hash_failed", ("image", "a b.img"), None),
                event(6, "image.hashed", ("machine", "m1"), Some("10.0.0.9")),
            ],
        });
        assert!(has_tag(
            &html,
            &["tbody", r#"class="bty-events-page-tbody""#]
        ));
        assert!(has_tag(
            &html,
            &[r#"class="bty-event-row""#, r#"data-event-id="7""#]
        ));
        assert!(has_tag(
            &html,
            &[r#"class="bty-event-row""#, r#"data-event-id="6""#]
        ));
        assert!(html.contains("badge badge-danger bty-event-kind"));
        assert!(html.contains("badge badge-kind bty-event-kind"));
        assert!(html.contains(r#"href="/ui/events?subject_kind=image&amp;subject_id=a%20b.img""#));
        assert!(!html.contains("subject_id=m1"), "machines do not pivot");
        assert!(html.contains(r#"href="/ui/events?source_ip=10.0.0.9""#));
        assert!(html.contains("2026-05-17 20:21:09 UTC"));
        assert!(
            !html.contains("bty-events-older"),
            "a short page has no Older link"
        );
        for known in ["auth.logout", "pxe-client", "catalog", r#"name="failed""#] {
            assert!(html.contains(known), "{known}");
        }
    }

    #[test]
    fn a_full_page_links_to_older_events_with_the_same_filter() {
        let events = (0..EVENTS_PAGE_SIZE as i64)
            .map(|i| event(100 - i, "auth.login.failed", ("auth", "admin"), None))
            .collect();
        let filter = EventsFilter {
            actor: Some("operator".into()),
            failed: true,
            ..Default::default()
        };
        let html = render(Page {
            operator: "admin".into(),
            actors: Vec::new(),
            filter,
            events,
        });
        assert!(has_tag(
            &html,
            &[
                r#"class="btn bty-events-older""#,
                r#"href="/ui/events?actor=operator&amp;failed=1&amp;before_id=51""#,
            ]
        ));
        assert!(html.contains(r#"<option value="operator" selected"#));
    }

    #[test]
    fn events_that_arrive_live_are_drawn_on_top_when_the_filter_selects_them() {
        let owner = Owner::new();
        let html = owner.with(|| {
            let page = Page {
                operator: "admin".into(),
                actors: Vec::new(),
                filter: EventsFilter {
                    subject_kind: Some("image".into()),
                    ..Default::default()
                },
                events: Vec::new(),
            };
            let live = EventsLive::new(&page);
            live.apply_event(event(4, "catalog.entry.added", ("catalog", "u"), None));
            live.apply_event(event(5, "image.uploaded", ("image", "new.img"), None));
            view! { <EventsBody filter=page.filter actors=page.actors live/> }
                .erased()
                .to_html()
        });
        assert!(has_tag(
            &html,
            &[r#"class="bty-event-row""#, r#"data-event-id="5""#]
        ));
        assert!(!html.contains(r#"data-event-id="4""#), "{html}");
        assert!(!html.contains("No events match"), "{html}");
    }

    #[test]
    fn an_older_page_links_back_to_the_newest() {
        let html = render(Page {
            operator: "admin".into(),
            actors: Vec::new(),
            filter: EventsFilter {
                kind: Some("image.hashed".into()),
                before_id: Some(40),
                ..Default::default()
            },
            events: vec![event(39, "image.hashed", ("image", "a.img"), None)],
        });
        assert!(has_tag(
            &html,
            &[
                r#"class="btn bty-events-newest""#,
                r#"href="/ui/events?kind=image.hashed""#
            ]
        ));
        assert!(!html.contains("bty-events-older"), "{html}");
    }

    #[test]
    fn empty_pages_say_whether_a_filter_is_set() {
        let empty = |filter| {
            render(Page {
                operator: "admin".into(),
                actors: Vec::new(),
                filter,
                events: Vec::new(),
            })
        };
        assert!(empty(EventsFilter::default()).contains("The log is empty."));
        let filtered = EventsFilter {
            kind: Some("image.hashed".into()),
            ..Default::default()
        };
        assert!(empty(filtered).contains("No events match the current filter."));
    }

    #[test]
    fn the_actor_dropdown_offers_the_page_s_actors_and_keeps_the_choice() {
        let html = render(Page {
            operator: "admin".into(),
            actors: vec!["admin".into(), "alice".into(), "system".into()],
            filter: EventsFilter {
                actor: Some("alice".into()),
                ..Default::default()
            },
            events: Vec::new(),
        });
        let actor_select = html
            .split(r#"name="actor""#)
            .nth(1)
            .and_then(|rest| rest.split("</select>").next())
            .expect("the Actor dropdown");
        assert!(
            actor_select.contains(r#"<option value="admin">admin</option>"#),
            "{actor_select}"
        );
        assert!(
            has_tag(actor_select, &[r#"value="alice""#, "selected"]),
            "{actor_select}"
        );
        assert!(actor_select.contains(r#"<option value="system">system</option>"#));
        assert!(
            !actor_select.contains(r#"value="operator""#),
            "no literal 'operator' actor"
        );
    }
}

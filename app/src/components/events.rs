//! The "Recent image-catalog activity" card: the latest image and catalog
//! audit events, newest first, with new ones arriving live.

use leptos::prelude::*;

use crate::components::erased::IntoErased;

use super::format::encode_query_value;
use super::icons::Glyph;
use super::layout::{Card, HeaderLink};
use crate::live::LiveState;
use crate::model::Event;

/// The card, drawn only while there is something to show.
#[component]
pub fn EventsCard(
    /// The state the events come from.
    live: LiveState,
) -> impl IntoView {
    let has_events = move || live.events.with(|events| !events.is_empty());
    view! {
        <Show when=has_events>
            <Card
                glyph=Glyph::Clock
                title="Recent image-catalog activity"
                class="card-table bty-events-card"
                link=HeaderLink {
                    href: "/ui/events?subject_kind=image".to_string(),
                    label: "All image events",
                }
            >
                <div class="table-responsive">
                    <table class="table table-striped bty-events-table">
                        <thead>
                            <tr>
                                <th>"When"</th>
                                <th>"Kind"</th>
                                <th>"Summary"</th>
                                <th>"Source IP"</th>
                            </tr>
                        </thead>
                        <tbody class="bty-events-tbody">
                            <For each=move || live.events.get() key=|event| event.id let:event>
                                <EventRow event/>
                            </For>
                        </tbody>
                    </table>
                </div>
            </Card>
        </Show>
    }
    .erased()
}

/// One audit event.
#[component]
fn EventRow(event: Event) -> impl IntoView {
    view! {
        <tr class="bty-event-row" data-event-id=event.id.to_string()>
            <td class="text-nowrap">{event.when()}</td>
            <KindCell event=&event/>
            <td>{event.summary.clone()}</td>
            <SourceIpCell event=&event/>
        </tr>
    }
    .erased()
}

/// An event's kind as a badge, red for failures.
#[component]
pub fn KindCell<'a>(event: &'a Event) -> impl IntoView {
    let class = if event.is_failure() {
        "badge badge-danger bty-event-kind"
    } else {
        "badge badge-kind bty-event-kind"
    };
    view! {
        <td>
            <span class=class>{event.kind.clone()}</span>
        </td>
    }
}

/// An event's source address, linked to every event from it.
#[component]
pub fn SourceIpCell<'a>(event: &'a Event) -> impl IntoView {
    let link = event
        .source_ip
        .clone()
        .filter(|ip| !ip.is_empty())
        .map(|ip| {
            let href = format!("/ui/events?source_ip={}", encode_query_value(&ip));
            view! {
                <a href=href rel="external">
                    {ip}
                </a>
            }
        });
    view! { <td>{link}</td> }
}

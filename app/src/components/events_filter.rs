//! The filter form of `/ui/events`: a plain GET form over the audit log's
//! filters (reference §6), so it works without the WASM.

use leptos::prelude::*;

use crate::components::erased::IntoErased;

use crate::model::{EventsFilter, KNOWN_EVENT_KINDS, KNOWN_SUBJECT_KINDS};

/// A dropdown of known values, with "any" first and the current one selected.
#[component]
fn FilterSelect(
    name: &'static str,
    label: &'static str,
    options: Vec<String>,
    current: Option<String>,
) -> impl IntoView {
    let id = format!("bty-events-{name}");
    let label_for = id.clone();
    let any_selected = current.is_none();
    // A value not in the list (typed into the address) still shows as chosen.
    let extra = current.clone().filter(|value| !options.contains(value));
    view! {
        <label class="bty-events-field" for=label_for>
            <span>{label}</span>
            <select class="form-select" id=id name=name>
                <option value="" selected=any_selected>
                    "(any)"
                </option>
                {options
                    .into_iter()
                    .map(|option| {
                        let selected = current.as_deref() == Some(option.as_str());
                        let label = option.clone();
                        view! {
                            <option value=option selected=selected>
                                {label}
                            </option>
                        }
                    })
                    .collect_view()}
                {extra
                    .map(|value| {
                        view! {
                            <option value=value.clone() selected=true>
                                {value.clone()}
                            </option>
                        }
                    })}
            </select>
        </label>
    }
    .erased()
}

/// The GET form over the page's filters.
#[component]
pub fn FilterForm(
    filter: EventsFilter,
    /// The Actor dropdown's choices.
    actors: Vec<String>,
) -> impl IntoView {
    let owned = |values: &[&str]| values.iter().map(|v| v.to_string()).collect::<Vec<_>>();
    view! {
        <form class="bty-events-filter" method="get" action="/ui/events">
            <FilterSelect
                name="kind"
                label="Kind"
                options=owned(&KNOWN_EVENT_KINDS)
                current=filter.kind
            />
            <FilterSelect
                name="subject_kind"
                label="Subject kind"
                options=owned(&KNOWN_SUBJECT_KINDS)
                current=filter.subject_kind
            />
            <label class="bty-events-field" for="bty-events-subject_id">
                <span>"Subject id"</span>
                <input
                    class="form-control"
                    id="bty-events-subject_id"
                    type="text"
                    name="subject_id"
                    value=filter.subject_id.unwrap_or_default()
                />
            </label>
            <FilterSelect name="actor" label="Actor" options=actors current=filter.actor/>
            <label class="bty-events-field" for="bty-events-source_ip">
                <span>"Source IP"</span>
                <input
                    class="form-control"
                    id="bty-events-source_ip"
                    type="text"
                    name="source_ip"
                    value=filter.source_ip.unwrap_or_default()
                />
            </label>
            <label class="bty-events-check">
                <input type="checkbox" name="failed" value="1" checked=filter.failed/>
                <span>"failed only"</span>
            </label>
            <div class="bty-events-actions">
                <button class="btn btn-primary" type="submit">
                    "Filter"
                </button>
                <a class="btn" href="/ui/events" rel="external">
                    "Clear"
                </a>
            </div>
        </form>
    }
    .erased()
}

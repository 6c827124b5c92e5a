//! The browser's `EventSource` on [`super::LIVE_URL`]: opened once the page
//! is hydrated, its named events routed to the listeners a page adds, and
//! closed on cleanup (leptos `counter_isomorphic`).

use leptos::prelude::*;
use wasm_bindgen::{closure::Closure, JsCast, JsValue};
use web_sys::{EventSource, MessageEvent};

use super::{LiveConnection, LIVE_URL};
use crate::model::json::{self, FromJson};

type MessageListener = Closure<dyn FnMut(MessageEvent)>;

/// Opens the stream when the component runs in the browser, lets `setup`
/// add its listeners, and closes it when the component goes away.
/// `connection` follows the stream's state for the top bar's indicator.
pub fn keep_open<F>(connection: RwSignal<LiveConnection>, setup: F)
where
    F: Fn(&mut Subscription) -> Result<(), JsValue> + 'static,
{
    Effect::new(move |_| {
        let opened = Subscription::open(connection).and_then(|mut subscription| {
            setup(&mut subscription)?;
            Ok(subscription)
        });
        match opened {
            Ok(subscription) => {
                let subscription = send_wrapper::SendWrapper::new(subscription);
                // Dropping the subscription closes the stream and frees its listeners.
                on_cleanup(move || drop(subscription));
            }
            Err(_) => connection.set(LiveConnection::Closed),
        }
    });
}

/// An open stream. Owns its callbacks, so they live exactly as long as the
/// stream; dropping it closes the stream.
pub struct Subscription {
    source: EventSource,
    listeners: Vec<(&'static str, MessageListener)>,
    _on_open: Closure<dyn FnMut()>,
    _on_error: Closure<dyn FnMut()>,
}

impl Subscription {
    /// Opens the stream; `connection` follows its state.
    fn open(connection: RwSignal<LiveConnection>) -> Result<Self, JsValue> {
        let source = EventSource::new(LIVE_URL)?;
        connection.set(LiveConnection::Connecting);

        let on_open = Closure::<dyn FnMut()>::new(move || {
            connection.set(LiveConnection::Open);
        });
        source.set_onopen(Some(on_open.as_ref().unchecked_ref()));

        let watched = source.clone();
        let on_error = Closure::<dyn FnMut()>::new(move || {
            // CLOSED means the browser gave up (the server refused the
            // stream); otherwise it is already retrying.
            let state = if watched.ready_state() == EventSource::CLOSED {
                LiveConnection::Closed
            } else {
                LiveConnection::Connecting
            };
            connection.set(state);
        });
        source.set_onerror(Some(on_error.as_ref().unchecked_ref()));

        Ok(Subscription {
            source,
            listeners: Vec::new(),
            _on_open: on_open,
            _on_error: on_error,
        })
    }

    /// Adds a listener for one named event whose data is JSON of `T`.
    /// Messages that do not parse are skipped: the next snapshot heals.
    pub fn listen<T, F>(&mut self, name: &'static str, mut apply: F) -> Result<(), JsValue>
    where
        T: FromJson + 'static,
        F: FnMut(T) + 'static,
    {
        let listener = MessageListener::new(move |message: MessageEvent| {
            let parsed = message
                .data()
                .as_string()
                .and_then(|data| json::read::<T>(&data).ok());
            match parsed {
                Some(value) => apply(value),
                None => leptos::logging::warn!("live: unreadable {name} message"),
            }
        });
        self.source
            .add_event_listener_with_callback(name, listener.as_ref().unchecked_ref())?;
        self.listeners.push((name, listener));
        Ok(())
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.source.close();
        self.source.set_onopen(None);
        self.source.set_onerror(None);
        for (name, listener) in &self.listeners {
            // Nothing to do if the browser already let go of it.
            let _ = self
                .source
                .remove_event_listener_with_callback(name, listener.as_ref().unchecked_ref());
        }
    }
}

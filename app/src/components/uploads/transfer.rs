//! The browser's side of an upload: the files a drop or the picker hands
//! over, and one `XMLHttpRequest` PUT per file (fetch reports no upload
//! progress). Each request's callbacks are owned by its [`Transfer`], kept
//! in the page's [`Uploads`] while it runs and dropped when it ends.
//!
//! The few browser APIs used here are declared below rather than taken
//! from `web-sys`, whose `XmlHttpRequest`, `File`, `FileList` and
//! `DataTransfer` bindings this build does not switch on.

use leptos::prelude::*;
use wasm_bindgen::{closure::Closure, prelude::wasm_bindgen, JsCast, JsValue};
use web_sys::{Blob, EventTarget, ProgressEvent};

use super::{select_files, RateMeter, UploadEnd, Uploads};
use crate::api;
use crate::components::layout::Flash;

#[wasm_bindgen]
extern "C" {
    /// A file the operator picked or dropped.
    #[wasm_bindgen(extends = Blob, js_name = File)]
    #[derive(Clone, Debug)]
    pub type File;

    #[wasm_bindgen(method, getter)]
    fn name(this: &File) -> String;

    /// The files of a drop or of a file input.
    #[wasm_bindgen(js_name = FileList)]
    type FileList;

    #[wasm_bindgen(method, getter)]
    fn length(this: &FileList) -> u32;

    #[wasm_bindgen(method)]
    fn item(this: &FileList, index: u32) -> Option<File>;

    /// What a drag event carries.
    #[wasm_bindgen(js_name = DataTransfer)]
    type DataTransfer;

    #[wasm_bindgen(method, getter)]
    fn files(this: &DataTransfer) -> Option<FileList>;

    #[wasm_bindgen(method, setter, js_name = dropEffect)]
    fn set_drop_effect(this: &DataTransfer, effect: &str);

    /// A drag event, as far as its payload goes.
    type DragPayload;

    #[wasm_bindgen(method, getter, js_name = dataTransfer)]
    fn data_transfer(this: &DragPayload) -> Option<DataTransfer>;

    /// An `<input type="file">`, as far as its files go.
    type FileInput;

    #[wasm_bindgen(method, getter)]
    fn files(this: &FileInput) -> Option<FileList>;

    #[wasm_bindgen(extends = EventTarget, js_name = XMLHttpRequest)]
    #[derive(Clone, Debug)]
    type XmlHttpRequest;

    #[wasm_bindgen(constructor, js_class = "XMLHttpRequest", catch)]
    fn new() -> Result<XmlHttpRequest, JsValue>;

    #[wasm_bindgen(method, catch)]
    fn open(this: &XmlHttpRequest, method: &str, url: &str) -> Result<(), JsValue>;

    #[wasm_bindgen(method, catch, js_name = setRequestHeader)]
    fn set_request_header(this: &XmlHttpRequest, name: &str, value: &str) -> Result<(), JsValue>;

    #[wasm_bindgen(method, catch)]
    fn send(this: &XmlHttpRequest, body: &Blob) -> Result<(), JsValue>;

    #[wasm_bindgen(method)]
    fn abort(this: &XmlHttpRequest);

    /// `XMLHttpRequestUpload`, where the request body's progress is reported.
    #[wasm_bindgen(method, getter)]
    fn upload(this: &XmlHttpRequest) -> EventTarget;

    #[wasm_bindgen(method, getter)]
    fn status(this: &XmlHttpRequest) -> u16;

    #[wasm_bindgen(method, getter, js_name = readyState)]
    fn ready_state(this: &XmlHttpRequest) -> u16;

    #[wasm_bindgen(method, getter, catch, js_name = responseText)]
    fn response_text(this: &XmlHttpRequest) -> Result<String, JsValue>;
}

/// `XMLHttpRequest.DONE`: the request has ended one way or another.
const DONE: u16 = 4;

/// The files of a drop, telling the browser it is a copy.
pub fn dropped_files(event: &web_sys::DragEvent) -> Vec<File> {
    let Some(transfer) = event.unchecked_ref::<DragPayload>().data_transfer() else {
        return Vec::new();
    };
    files_of(transfer.files())
}

/// Tells the browser a drag over the zone would copy (the cursor shows it).
pub fn accept_drag(event: &web_sys::DragEvent) {
    if let Some(transfer) = event.unchecked_ref::<DragPayload>().data_transfer() {
        transfer.set_drop_effect("copy");
    }
}

/// The files picked in a file input, which is then emptied so that
/// picking the same file again is a change too.
pub fn picked_files(input: &web_sys::HtmlInputElement) -> Vec<File> {
    let files = files_of(input.unchecked_ref::<FileInput>().files());
    input.set_value("");
    files
}

fn files_of(list: Option<FileList>) -> Vec<File> {
    let Some(list) = list else {
        return Vec::new();
    };
    (0..list.length())
        .filter_map(|index| list.item(index))
        .collect()
}

/// Starts one upload per acceptable file, all at once; says in the flash
/// slot which files were refused and why.
pub fn upload_files(uploads: Uploads, files: Vec<File>, flash: Option<Flash>) {
    if files.is_empty() {
        return;
    }
    let names: Vec<String> = files.iter().map(File::name).collect();
    let selection = select_files(&names, &uploads.names_in_flight());
    // A refusal stays until dismissed: a later batch does not hide it.
    if let Some(message) = selection.refusal() {
        match flash {
            Some(flash) => flash.show(message),
            None => leptos::logging::warn!("{message}"),
        }
    }
    for index in selection.accepted {
        let file = &files[index];
        let id = uploads.add(names[index].clone(), file.size() as u64);
        match Transfer::start(uploads, id, file) {
            Ok(transfer) => uploads
                .transfers
                .update_value(|transfers| transfers.push((id, transfer))),
            Err(error) => {
                let reason = error
                    .as_string()
                    .or_else(|| {
                        error
                            .dyn_ref::<js_sys::Error>()
                            .map(|e| String::from(e.message()))
                    })
                    .unwrap_or_else(|| "the browser refused the request".into());
                uploads.update(id, |upload| {
                    upload.finish(UploadEnd::Failed(format!("could not start: {reason}")))
                });
            }
        }
    }
}

/// Cancels a running upload: the request is aborted, its `abort` event
/// marks the row cancelled, and the server drops what it received.
pub fn cancel(uploads: Uploads, id: u64) {
    // Cloned out first: aborting fires the abort callback at once, and
    // that callback touches the transfers again.
    let request = uploads
        .transfers
        .try_with_value(|transfers| {
            transfers
                .iter()
                .find(|(listed, _)| *listed == id)
                .map(|(_, t)| t.request.clone())
        })
        .flatten();
    if let Some(request) = request {
        request.abort();
    }
}

/// Asks before the page is left (or reloaded) while an upload runs.
pub fn warn_before_leaving(uploads: Uploads) {
    let handle = window_event_listener(leptos::ev::beforeunload, move |event| {
        if !uploads.names_in_flight().is_empty() {
            event.prevent_default();
            event.set_return_value("Uploads are still running; leaving the page stops them.");
        }
    });
    on_cleanup(move || handle.remove());
}

/// While the drop zone is shown, a file dropped beside it is ignored
/// instead of being opened by the browser, which would leave the page and
/// abort the uploads. The zone's own handlers run first and mark their
/// events handled.
pub fn ignore_drops_beside_the_zone() {
    let over = window_event_listener(leptos::ev::dragover, |event| {
        if !event.default_prevented() {
            event.prevent_default();
            if let Some(transfer) = event.unchecked_ref::<DragPayload>().data_transfer() {
                transfer.set_drop_effect("none");
            }
        }
    });
    let dropped = window_event_listener(leptos::ev::drop, |event| {
        if !event.default_prevented() {
            event.prevent_default();
        }
    });
    on_cleanup(move || {
        over.remove();
        dropped.remove();
    });
}

type ProgressListener = Closure<dyn FnMut(ProgressEvent)>;
type EndListener = Closure<dyn FnMut()>;

/// One request in flight and the callbacks it calls; they live exactly as
/// long as this. Dropping it while the request still runs aborts it.
pub struct Transfer {
    request: XmlHttpRequest,
    on_progress: ProgressListener,
    on_end: [(&'static str, EndListener); 3],
}

impl Transfer {
    /// Opens `PUT /images/{name}` with the file as the body and wires its
    /// progress and end into upload `id`.
    fn start(uploads: Uploads, id: u64, file: &File) -> Result<Self, JsValue> {
        let request = XmlHttpRequest::new()?;
        request.open("PUT", &api::image_path(&file.name()))?;
        request.set_request_header("Content-Type", "application/octet-stream")?;

        let mut meter = RateMeter::new(js_sys::Date::now());
        let on_progress = ProgressListener::new(move |event: ProgressEvent| {
            let sent = event.loaded() as u64;
            let total = event.length_computable().then(|| event.total() as u64);
            let rate = meter.sample(js_sys::Date::now(), sent);
            uploads.update(id, |upload| upload.progress(sent, total, rate));
        });
        request
            .upload()
            .add_event_listener_with_callback("progress", on_progress.as_ref().unchecked_ref())?;

        let answered = request.clone();
        let on_load = EndListener::new(move || {
            let body = answered.response_text().unwrap_or_default();
            let end = match api::upload_result(answered.status(), &body) {
                Ok(image) => UploadEnd::Completed(image),
                Err(reason) => UploadEnd::Failed(reason),
            };
            end_transfer(uploads, id, end);
        });
        let on_error = EndListener::new(move || {
            end_transfer(uploads, id, UploadEnd::Failed("network error".into()))
        });
        let on_abort = EndListener::new(move || end_transfer(uploads, id, UploadEnd::Cancelled));
        let on_end = [("load", on_load), ("error", on_error), ("abort", on_abort)];
        for (name, listener) in &on_end {
            request.add_event_listener_with_callback(name, listener.as_ref().unchecked_ref())?;
        }

        let transfer = Transfer {
            request,
            on_progress,
            on_end,
        };
        // On failure the transfer is dropped here, and its listeners with it.
        transfer.request.send(file)?;
        Ok(transfer)
    }
}

/// Records how upload `id` ended and lets go of its request. The release
/// waits for a later task: this runs inside one of the callbacks released.
fn end_transfer(uploads: Uploads, id: u64, end: UploadEnd) {
    uploads.update(id, |upload| upload.finish(end));
    leptos::task::spawn_local(async move {
        let ended = uploads
            .transfers
            .try_update_value(|transfers| {
                let at = transfers.iter().position(|(listed, _)| *listed == id)?;
                Some(transfers.swap_remove(at))
            })
            .flatten();
        drop(ended);
    });
}

impl Drop for Transfer {
    fn drop(&mut self) {
        for (name, listener) in &self.on_end {
            let _ = self
                .request
                .remove_event_listener_with_callback(name, listener.as_ref().unchecked_ref());
        }
        let _ = self.request.upload().remove_event_listener_with_callback(
            "progress",
            self.on_progress.as_ref().unchecked_ref(),
        );
        // Only when the page goes while the request runs: nothing is left
        // to report to, and the server discards the partial upload.
        if self.request.ready_state() != DONE {
            self.request.abort();
        }
    }
}

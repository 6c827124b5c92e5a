//! Wire types shared by the server and the browser: JSON bodies of the API,
//! the payloads of the live stream, and the data a page is rendered from.
//! Plain serde types only; the database has its own entities on the server.
//! With `ssr`, the API's types also derive `utoipa::ToSchema`, so the
//! server's `/openapi.json` is generated from these very types.

mod auth;
mod catalog;
mod events;
mod formats;
mod jobs;
pub mod json;
mod live;
mod pages;

pub use auth::*;
pub use catalog::*;
pub use events::*;
pub use formats::*;
pub use jobs::*;
pub use live::*;
pub use pages::*;

//! The routed pages: the Images page, the audit log, the API tokens, the login form and the
//! not-found page.

mod events;
mod images;
mod login;
mod not_found;
mod tokens;

pub use events::EventsPage;
pub use images::ImagesPage;
pub use login::LoginPage;
pub use not_found::NotFound;
pub use tokens::TokensPage;

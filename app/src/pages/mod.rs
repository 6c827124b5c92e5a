//! The routed pages: the Images page, the audit log, the login form and the
//! not-found page.

mod events;
mod images;
mod login;
mod not_found;

pub use events::EventsPage;
pub use images::ImagesPage;
pub use login::LoginPage;
pub use not_found::NotFound;

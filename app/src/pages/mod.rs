//! The routed pages: the Images page, the login form and the not-found page.

mod images;
mod login;
mod not_found;

pub use images::ImagesPage;
pub use login::LoginPage;
pub use not_found::NotFound;

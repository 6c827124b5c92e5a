//! `/ui/login`: the login form. A plain POST form, so it works before (and
//! without) the WASM; the server renders it again with the failed attempt.

use leptos::prelude::*;

use crate::components::erased::IntoErased;

use crate::components::{Glyph, Icon, Layout};
use crate::model::LoginNotice;

/// The user name the form suggests on a first visit.
pub const DEFAULT_USERNAME: &str = "admin";

/// What the form shows: the failed attempt being rendered again, if any.
fn load_login_notice() -> LoginNotice {
    #[cfg(feature = "ssr")]
    if let Some(notice) = crate::ssr::login_attempt() {
        return notice;
    }
    LoginNotice {
        username: DEFAULT_USERNAME.to_string(),
        error: None,
    }
}

/// The `/ui/login` route.
#[component]
pub fn LoginPage() -> impl IntoView {
    let notice = Resource::new_blocking(
        || (),
        |_| {
            let notice = load_login_notice();
            async move { notice }
        },
    );
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                let notice = notice.await;
                view! { <LoginForm notice/> }
            })}
        </Suspense>
    }
    .erased()
}

/// The centred card with the form.
#[component]
fn LoginForm(notice: LoginNotice) -> impl IntoView {
    view! {
        <Layout operator=None>
            <div class="login-wrap">
                <section class="card login-card">
                    <header class="card-header">
                        <Icon glyph=Glyph::LogIn/>
                        <h1 class="card-title">"Log in to bty-web"</h1>
                    </header>
                    <div class="card-body">
                        {notice
                            .error
                            .map(|error| {
                                view! { <div class="alert alert-danger bty-login-error">{error}</div> }
                            })}
                        <form class="login-form" method="post" action="/ui/login">
                            <label for="username">"Username"</label>
                            <input
                                id="username"
                                name="username"
                                type="text"
                                value=notice.username
                                autocomplete="username"
                                required=true
                            />
                            <label for="password">"Password"</label>
                            <input
                                id="password"
                                type="password"
                                name="password"
                                autocomplete="current-password"
                                autofocus=true
                                required=true
                            />
                            <button type="submit" class="btn btn-primary btn-block">
                                <Icon glyph=Glyph::LogIn/>
                                <span>"Log in"</span>
                            </button>
                        </form>
                    </div>
                </section>
            </div>
        </Layout>
    }
    .erased()
}

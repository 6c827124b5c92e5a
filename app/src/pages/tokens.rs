//! `/ui/tokens`: the operator's API tokens. A plain POST form creates one
//! (the server renders this page again with the secret, shown this once);
//! each active token has a Revoke form (303 back here). Both work without
//! JS; once hydrated, Revoke asks first and the secret has a copy button.

use leptos::prelude::*;

use crate::components::erased::IntoErased;

use crate::components::{
    browser, Card, CopyButton, Glyph, Icon, Layout, LoadFailure, PostForm, SubmitLabel,
};
use crate::model::{self, ApiToken, CreatedApiToken, TokenNotice, TOKEN_NAME_MAX_CHARS};

/// Where the create form posts.
pub const CREATE_ACTION: &str = "/ui/tokens";

/// Where a token's Revoke form posts.
pub fn revoke_action(id: i64) -> String {
    format!("/ui/tokens/{id}/revoke")
}

/// Loads the page for the operator of the request being rendered; the
/// request's context is read before the future is returned.
#[cfg(feature = "ssr")]
fn load_tokens_page(
) -> impl std::future::Future<Output = Result<model::TokensPage, String>> + Send + 'static {
    let operator = crate::ssr::current_operator();
    let page_data = crate::ssr::page_data();
    let notice = crate::ssr::token_notice().unwrap_or_default();
    async move {
        let operator = operator.ok_or_else(|| "login required".to_string())?;
        let page_data = page_data.ok_or_else(|| "page data is not available".to_string())?;
        page_data.tokens_page(operator, notice).await
    }
}

/// In the browser the server's value is reused when hydrating.
#[cfg(not(feature = "ssr"))]
async fn load_tokens_page() -> Result<model::TokensPage, String> {
    Err("the API tokens page is rendered by the server".to_string())
}

/// The `/ui/tokens` route.
#[component]
pub fn TokensPage() -> impl IntoView {
    let data = Resource::new_blocking(|| (), |_| load_tokens_page());
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }.erased()>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(page) => view! {
                        <Layout operator=Some(page.operator.clone())>
                            <TokensBody page/>
                        </Layout>
                    }
                    .erased(),
                    Err(error) => {
                        view! { <LoadFailure title="API tokens unavailable" error/> }.erased()
                    }
                }
            })}
        </Suspense>
    }
    .erased()
}

/// The new secret or the form's error, the create form, and the list.
#[component]
pub fn TokensBody(page: model::TokensPage) -> impl IntoView {
    let TokenNotice {
        created,
        error,
        name,
    } = page.notice;
    let tokens = page.tokens;
    let has_tokens = !tokens.is_empty();
    view! {
        <Card glyph=Glyph::Key title="API tokens" class="card-table bty-tokens-page">
            {created.map(|created| view! { <NewSecret created/> })}
            {error
                .map(|error| view! { <div class="alert alert-danger bty-token-error">{error}</div> })}
            <PostForm
                action=CREATE_ACTION
                class="bty-token-form"
                submit=SubmitLabel {
                    glyph: Glyph::Key,
                    idle: "Create token",
                    busy: "Creating…",
                }
            >
                <div class="bty-field">
                    <label for="token-name">"Name"</label>
                    <input
                        type="text"
                        name="name"
                        id="token-name"
                        class="form-control"
                        placeholder="e.g. ci-runner"
                        maxlength=TOKEN_NAME_MAX_CHARS.to_string()
                        autocomplete="off"
                        required=true
                        value=name
                    />
                </div>
            </PostForm>
            <p class="text-muted bty-form-note">
                "A token acts as you on the JSON API: send it as "
                <code>"Authorization: Bearer <token>"</code>
                ". It does not open these pages. Events it causes name you as the actor and \
                 the token in their summary. Revoking a token stops it at once."
            </p>
            {if has_tokens {
                view! {
                    <div class="table-responsive">
                        <table class="table table-striped bty-tokens-table">
                            <thead>
                                <tr>
                                    <th>"Name"</th>
                                    <th>"Created"</th>
                                    <th>"Last used"</th>
                                    <th>"Status"</th>
                                    <th></th>
                                </tr>
                            </thead>
                            <tbody>
                                {tokens
                                    .into_iter()
                                    .map(|token| view! { <TokenRow token/> })
                                    .collect_view()}
                            </tbody>
                        </table>
                    </div>
                }
                .erased()
            } else {
                view! { <p class="bty-tokens-empty">"No API tokens yet."</p> }.erased()
            }}
        </Card>
    }
    .erased()
}

/// The secret of the token just created, with a copy button.
#[component]
fn NewSecret(created: CreatedApiToken) -> impl IntoView {
    view! {
        <div class="alert alert-info bty-token-created" role="status">
            <Icon glyph=Glyph::Key/>
            <div>
                <p>
                    "Token '"
                    {created.record.name.clone()}
                    "' created. Copy it now: it is not shown again."
                </p>
                <p>
                    <code class="bty-token-secret">{created.token.clone()}</code>
                    <CopyButton text=created.token.clone() class="bty-copy-token" label="Copy token"/>
                </p>
            </div>
        </div>
    }
    .erased()
}

/// `YYYY-MM-DD HH:MM:SS UTC` of a stored timestamp.
fn when(ts: &str) -> String {
    match ts.get(..19) {
        Some(head) => format!("{} UTC", head.replace('T', " ")),
        None => ts.to_owned(),
    }
}

/// One token: its dates, and Revoke while it is active.
#[component]
fn TokenRow(token: ApiToken) -> impl IntoView {
    let question = format!(
        "Revoke the token '{}'? Clients using it stop working at once.",
        token.name
    );
    let on_submit = move |event: leptos::ev::SubmitEvent| {
        if !browser::confirm(&question) {
            event.prevent_default();
        }
    };
    let status = if token.is_active() {
        view! { <span class="badge badge-available">"active"</span> }.erased()
    } else {
        let revoked = token.revoked_at.as_deref().map(when).unwrap_or_default();
        view! {
            <span class="badge badge-danger" title=revoked>
                "revoked"
            </span>
        }
        .erased()
    };
    let revoke = token.is_active().then(|| {
        view! {
            <form
                class="bty-token-revoke-form"
                method="post"
                action=revoke_action(token.id)
                on:submit=on_submit
            >
                <button type="submit" class="btn btn-sm btn-outline-danger bty-token-revoke">
                    <Icon glyph=Glyph::Trash/>
                    <span>"Revoke"</span>
                </button>
            </form>
        }
    });
    view! {
        <tr class="bty-token-row" data-token-id=token.id.to_string()>
            <td>
                <strong class="bty-token-name">{token.name.clone()}</strong>
            </td>
            <td class="text-nowrap">{when(&token.created_at)}</td>
            <td class="text-nowrap">
                {token
                    .last_used_at
                    .as_deref()
                    .map(when)
                    .unwrap_or_else(|| "never".to_owned())}
            </td>
            <td>{status}</td>
            <td class="bty-token-actions">{revoke}</td>
        </tr>
    }
    .erased()
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::*;
    use crate::model::TokensPage as Page;

    fn token(id: i64, name: &str, revoked: bool) -> ApiToken {
        ApiToken {
            id,
            name: name.into(),
            created_at: "2026-11-26T10:00:00.000000+00:00".into(),
            last_used_at: None,
            revoked_at: revoked.then(|| "2026-11-26T11:00:00.000000+00:00".into()),
        }
    }

    fn render(page: Page) -> String {
        let owner = Owner::new();
        owner.with(|| view! { <TokensBody page/> }.erased().to_html())
    }

    #[test]
    fn active_tokens_can_be_revoked_and_revoked_ones_say_so() {
        let html = render(Page {
            operator: "admin".into(),
            tokens: vec![token(1, "ci", false), token(2, "<old>", true)],
            notice: TokenNotice::default(),
        });
        assert!(html.contains(r#"data-token-id="1""#));
        assert!(html.contains(r#"action="/ui/tokens/1/revoke""#));
        assert!(
            !html.contains("/ui/tokens/2/revoke"),
            "a revoked token has no Revoke"
        );
        assert!(html.contains("&lt;old&gt;"));
        assert!(html.contains(">revoked<"));
        assert!(html.contains("2026-11-26 10:00:00 UTC"));
        assert!(html.contains("never"));
        assert!(html.contains(r#"action="/ui/tokens""#));
        assert!(html.contains(r#"maxlength="64""#));
        assert!(
            !html.contains("bty-token-secret"),
            "no secret unless just created"
        );
    }

    #[test]
    fn a_new_token_shows_its_secret_once_with_a_copy_button() {
        let created = CreatedApiToken {
            token: "bty_0123".into(),
            record: token(3, "deploy", false),
        };
        let html = render(Page {
            operator: "admin".into(),
            tokens: vec![created.record.clone()],
            notice: TokenNotice {
                created: Some(created),
                error: None,
                name: String::new(),
            },
        });
        assert!(html.contains(r#"<code class="bty-token-secret">bty_0123</code>"#));
        assert!(html.contains("bty-copy-token"));
        assert!(html.contains("not shown again"));
    }

    #[test]
    fn errors_and_the_empty_list_are_explained() {
        let html = render(Page {
            operator: "admin".into(),
            tokens: vec![],
            notice: TokenNotice {
                created: None,
                error: Some("name taken".into()),
                name: "ci".into(),
            },
        });
        assert!(html.contains("No API tokens yet."));
        assert!(
            html.contains(r#"<div class="alert alert-danger bty-token-error">name taken</div>"#)
        );
        assert!(html.contains(r#"value="ci""#));
    }
}

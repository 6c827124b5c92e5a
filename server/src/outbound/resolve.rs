//! Where the policy meets the connection: the client's resolver checks
//! every address a host name resolves to, with the scheme and port of the
//! URL being connected to, and its redirect policy checks each hop's URL.
//! Neither sees the request itself, so [`Request::send`](super::Request)
//! runs the send inside [`connecting`], which records the URL; each hop
//! moves it on. The resolver runs while the connection is made, within the
//! send, so what it checks is the answer connected to: a DNS answer that
//! changes after the URL was checked is checked again.
//!
//! A connection outside a checked send (no URL recorded) is refused; a
//! name other than the URL's host is a configured proxy's, which the
//! operator chose (the proxy resolves the target then, so only the URL
//! check applies to it).

use std::{cell::RefCell, future::Future, net::SocketAddr, sync::Arc};

use reqwest::{
    dns::{Addrs, Name, Resolve, Resolving},
    redirect, Url,
};

use super::policy::Policy;

/// Redirects followed, as reqwest's default policy does.
const MAX_REDIRECTS: usize = 10;

tokio::task_local! {
    /// The URL the send under way connects to: its first URL, then each
    /// redirect hop's.
    static CONNECTING: RefCell<Url>;
}

/// Runs `send` (one request and its redirects) with `url` recorded for the
/// resolver.
pub(super) async fn connecting<F: Future>(url: Url, send: F) -> F::Output {
    CONNECTING.scope(RefCell::new(url), send).await
}

/// A connection the client tried to make outside a checked send.
#[derive(Debug, thiserror::Error)]
#[error("outbound connection to {0} was not checked by the outbound policy")]
pub struct Unchecked(String);

/// The client's resolver: tokio's (the system's) lookup, every address
/// checked against the policy.
pub(super) struct CheckedResolver {
    pub policy: Arc<Policy>,
}

impl Resolve for CheckedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        // Read now: the send's scope is current while the connector calls
        // this, not necessarily while the lookup is polled.
        let url = CONNECTING.try_with(|url| url.borrow().clone()).ok();
        let policy = self.policy.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let Some(url) = url else {
                return Err(Unchecked(host).into());
            };
            let addresses = lookup(&host).await?;
            if is_host_of(&url, &host) {
                for address in &addresses {
                    policy.check_address(&url, address.ip())?;
                }
            }
            let addresses: Addrs = Box::new(addresses.into_iter());
            Ok(addresses)
        })
    }
}

/// The addresses `host` resolves to (port 0).
async fn lookup(host: &str) -> std::io::Result<Vec<SocketAddr>> {
    let addresses: Vec<SocketAddr> = tokio::net::lookup_host((host, 0)).await?.collect();
    if addresses.is_empty() {
        return Err(std::io::Error::other(format!("{host} has no address")));
    }
    Ok(addresses)
}

/// Whether `host` (as the connector resolves it) is `url`'s host name.
fn is_host_of(url: &Url, host: &str) -> bool {
    let host = host.trim_end_matches('.');
    url.host_str()
        .is_some_and(|h| h.trim_end_matches('.').eq_ignore_ascii_case(host))
}

/// Why a redirect chain stopped.
#[derive(Debug, thiserror::Error)]
#[error("more than {MAX_REDIRECTS} redirects")]
struct TooManyRedirects;

/// Follows up to [`MAX_REDIRECTS`] redirects, each hop's URL checked
/// before it is requested (and its name at its addresses, by the resolver).
pub(super) fn checked_redirects(policy: Arc<Policy>) -> redirect::Policy {
    redirect::Policy::custom(move |attempt| {
        // `previous` holds the first URL too.
        if attempt.previous().len() > MAX_REDIRECTS {
            return attempt.error(TooManyRedirects);
        }
        if let Err(refused) = policy.check_url(attempt.url()) {
            return attempt.error(refused);
        }
        let next = attempt.url().clone();
        let host = next.host_str().unwrap_or_default().to_owned();
        match CONNECTING.try_with(|url| *url.borrow_mut() = next) {
            Ok(()) => attempt.follow(),
            Err(_) => attempt.error(Unchecked(host)),
        }
    })
}

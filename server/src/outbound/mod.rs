//! Outbound HTTP: one client for the whole server (it honours `HTTP_PROXY`,
//! `HTTPS_PROXY`, `NO_PROXY`, and the system's CA roots plus
//! `SSL_CERT_FILE`), and capped, timed fetches of small documents
//! (catalogs, checksum files, registry metadata).
//!
//! Every request passes the outbound policy ([`policy`]): [`Outbound`] is
//! the only way to the client, and its requests check their URL before
//! sending; the client's resolver and redirect policy ([`resolve`]) check
//! the addresses connected to and every hop. A refusal is a [`Refused`],
//! found as such whatever layer it surfaced in ([`SendError`]).

pub mod events;
pub mod policy;
mod resolve;

use std::{fmt::Display, sync::Arc, time::Duration};

use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use reqwest::{
    header::{HeaderName, HeaderValue},
    Method, Response, Url,
};
use serde::Serialize;

pub use self::policy::{Policy, Refused, Rule, RuleError, Rules};

/// How long a connection may take to open.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The server's outbound client, under its policy. Cheap to clone.
#[derive(Clone)]
pub struct Outbound {
    client: reqwest::Client,
    policy: Arc<Policy>,
}

impl Outbound {
    /// The client under `policy`; fails when the TLS roots cannot be read.
    pub fn new(policy: Policy) -> Result<Self, reqwest::Error> {
        let policy = Arc::new(policy);
        let client = reqwest::Client::builder()
            .user_agent(concat!("bty-web/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(CONNECT_TIMEOUT)
            .dns_resolver(Arc::new(resolve::CheckedResolver {
                policy: policy.clone(),
            }))
            .redirect(resolve::checked_redirects(policy.clone()))
            .build()?;
        Ok(Outbound { client, policy })
    }

    pub fn get(&self, url: &str) -> Request {
        self.request(Method::GET, url)
    }

    pub fn head(&self, url: &str) -> Request {
        self.request(Method::HEAD, url)
    }

    pub fn request(&self, method: Method, url: &str) -> Request {
        Request {
            builder: self.client.request(method, url),
            policy: self.policy.clone(),
        }
    }

    /// Checks `url` as written (scheme, host name, port, a literal
    /// address) without sending or resolving anything: the addresses a name
    /// resolves to are checked when it is fetched.
    pub fn check_url(&self, url: &str) -> Result<(), Refused> {
        match Url::parse(url) {
            Ok(url) => self.policy.check_url(&url),
            // Not a URL: nothing would be fetched.
            Err(_) => Ok(()),
        }
    }

    /// The `Authorization` value of basic credentials (nothing is sent).
    pub fn basic_authorization(&self, user: &str, password: &str) -> Option<HeaderValue> {
        let request = self
            .client
            .get("http://localhost/")
            .basic_auth(user, Some(password))
            .build()
            .ok()?;
        request
            .headers()
            .get(reqwest::header::AUTHORIZATION)
            .cloned()
    }
}

/// A request being built; [`Request::send`] checks it against the policy.
pub struct Request {
    builder: reqwest::RequestBuilder,
    policy: Arc<Policy>,
}

impl Request {
    pub fn header<K, V>(self, key: K, value: V) -> Self
    where
        HeaderName: TryFrom<K>,
        <HeaderName as TryFrom<K>>::Error: Into<axum::http::Error>,
        HeaderValue: TryFrom<V>,
        <HeaderValue as TryFrom<V>>::Error: Into<axum::http::Error>,
    {
        Request {
            builder: self.builder.header(key, value),
            ..self
        }
    }

    pub fn query<T: Serialize + ?Sized>(self, query: &T) -> Self {
        Request {
            builder: self.builder.query(query),
            ..self
        }
    }

    pub fn basic_auth(self, user: impl Display, password: Option<impl Display>) -> Self {
        Request {
            builder: self.builder.basic_auth(user, password),
            ..self
        }
    }

    /// Sends the request if the policy admits its URL; its connections and
    /// redirects are checked as they are made.
    pub async fn send(self) -> Result<Response, SendError> {
        let (client, request) = self.builder.build_split();
        let request = request?;
        let url = request.url().clone();
        self.policy.check_url(&url)?;
        Ok(resolve::connecting(url, client.execute(request)).await?)
    }
}

/// Why a request brought no response.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The policy refused the URL, a redirect, or the address a name
    /// resolved to.
    #[error(transparent)]
    Refused(#[from] Refused),
    /// The network or the upstream failed (the message has the causes).
    #[error("{}", with_causes(.0))]
    Http(reqwest::Error),
}

impl From<reqwest::Error> for SendError {
    /// A refusal made inside the client (by the resolver or the redirect
    /// policy) arrives wrapped in reqwest's and hyper's errors: found by
    /// walking the causes.
    fn from(error: reqwest::Error) -> Self {
        let mut cause = std::error::Error::source(&error);
        while let Some(inner) = cause {
            if let Some(refused) = inner.downcast_ref::<Refused>() {
                return SendError::Refused(refused.clone());
            }
            cause = inner.source();
        }
        SendError::Http(error)
    }
}

/// An error's message followed by its causes: reqwest's own message hides
/// them ("error sending request"), the chain says what happened (refused,
/// reset, DNS).
pub fn with_causes(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        message = format!("{message}: {cause}");
        source = cause.source();
    }
    message
}

/// Why a small document could not be fetched.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("HTTP {status} from {url}")]
    Status { status: u16, url: String },
    #[error("{url} is larger than {cap} bytes")]
    TooLarge { url: String, cap: usize },
    #[error("{url} did not answer within {seconds} s")]
    Timeout { url: String, seconds: u64 },
    #[error("{url}: {message}")]
    Network { url: String, message: String },
    #[error(transparent)]
    Refused(#[from] Refused),
}

/// GETs `url` whole, refusing more than `cap` bytes and anything slower
/// than `timeout`; non-2xx answers are errors.
pub async fn get_capped(
    client: &Outbound,
    url: &str,
    cap: usize,
    timeout: Duration,
) -> Result<Bytes, FetchError> {
    let fetch = async {
        let response = client.get(url).send().await.map_err(|error| match error {
            SendError::Refused(refused) => FetchError::Refused(refused),
            SendError::Http(error) => network(url, &error),
        })?;
        let status = response.status();
        if !status.is_success() {
            return Err(FetchError::Status {
                status: status.as_u16(),
                url: url.to_owned(),
            });
        }
        if response
            .content_length()
            .is_some_and(|length| length > cap as u64)
        {
            return Err(FetchError::TooLarge {
                url: url.to_owned(),
                cap,
            });
        }
        let mut body = BytesMut::new();
        let mut stream = response.bytes_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| network(url, &e))?;
            if body.len() + chunk.len() > cap {
                return Err(FetchError::TooLarge {
                    url: url.to_owned(),
                    cap,
                });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body.freeze())
    };
    tokio::time::timeout(timeout, fetch)
        .await
        .unwrap_or_else(|_| {
            Err(FetchError::Timeout {
                url: url.to_owned(),
                seconds: timeout.as_secs(),
            })
        })
}

fn network(url: &str, error: &reqwest::Error) -> FetchError {
    FetchError::Network {
        url: url.to_owned(),
        message: with_causes(error),
    }
}

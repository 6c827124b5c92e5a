//! Outbound HTTP: one client for the whole server (it honours `HTTP_PROXY`,
//! `HTTPS_PROXY`, `NO_PROXY`, and the system's CA roots plus
//! `SSL_CERT_FILE`), and capped, timed fetches of small documents
//! (catalogs, checksum files, registry metadata).

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures::StreamExt;

/// How long a connection may take to open.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

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
}

/// The server's outbound client.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .user_agent(concat!("bty-web/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(CONNECT_TIMEOUT)
        .build()
        .unwrap_or_default()
}

/// GETs `url` whole, refusing more than `cap` bytes and anything slower
/// than `timeout`; non-2xx answers are errors.
pub async fn get_capped(
    client: &reqwest::Client,
    url: &str,
    cap: usize,
    timeout: Duration,
) -> Result<Bytes, FetchError> {
    let fetch = async {
        let response = client.get(url).send().await.map_err(|e| network(url, &e))?;
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
    // reqwest's Display hides the cause ("error sending request"); the
    // chain says what happened (refused, reset, DNS).
    let mut message = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        message = format!("{message}: {cause}");
        source = cause.source();
    }
    FetchError::Network {
        url: url.to_owned(),
        message,
    }
}

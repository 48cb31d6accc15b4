//! Delivering an outbound route's documents to an HTTP endpoint, `http://` or `https://`, with the host's one HTTP
//! client ([`crate::http_client`]: the system's roots and the route's `ca`).
//!
//! Each document is one request with the route's configured headers, the document's content type and headers,
//! the `Mw-*` headers of its message, and `Idempotency-Key` set to the output id, so a target that dedupes can
//! tell a retry from a new document (a document's own `Idempotency-Key`, naming the business fact, replaces it:
//! the fact stays the same when its message is replayed). A route with `oauth` sends `Authorization: Bearer` with
//! a token from its [`TokenSource`]; a 401 drops that token and the document is sent once more with a new one. A
//! 2xx is delivered; a connection error, a timeout, 408, 429 or a 5xx — and a token endpoint that fails — is
//! retried by the route with backoff; any other status is the target refusing the document, and dead-letters it.
//! Redirects are not followed and no proxy is used: the route's URL is where documents go.

use std::time::Duration;

use async_nats::HeaderMap;
use reqwest::header::{HeaderName, HeaderValue};

use super::oauth::TokenSource;
use crate::config::Target;
use crate::invoke::OutboundDocument;

/// An HTTP target and the client that reaches it.
#[derive(Debug)]
pub struct Delivery {
    client: reqwest::Client,
    url: reqwest::Url,
    method: reqwest::Method,
    headers: Vec<(String, String)>,
    timeout: Duration,
    /// The route's OAuth token, shared by its workers.
    oauth: Option<TokenSource>,
}

/// Why a delivery did not happen.
#[derive(Debug)]
pub struct DeliveryError {
    /// Whether trying again later may succeed.
    pub retryable: bool,
    /// What happened, for the log and the dead letter.
    pub message: String,
}

impl Delivery {
    /// A client for an HTTP target; its URL, method, CA and OAuth settings were checked with the configuration.
    pub fn new(target: &Target) -> anyhow::Result<Self> {
        let Target::Http {
            url,
            method,
            headers,
            timeout,
            ca,
            oauth,
            ..
        } = target
        else {
            anyhow::bail!("a subject target is not delivered over HTTP");
        };
        let client = crate::http_client::builder(ca.as_ref())?
            .connect_timeout(*timeout)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .build()
            .map_err(|err| anyhow::anyhow!("setting up the HTTP client for {url}: {err}"))?;
        Ok(Self {
            url: url.parse()?,
            method: method.parse()?,
            headers: headers.clone(),
            timeout: *timeout,
            oauth: oauth
                .as_deref()
                .map(|oauth| TokenSource::new(oauth.clone(), client.clone(), *timeout)),
            client,
        })
    }

    /// Sends one document.
    pub async fn send(
        &self,
        document: &OutboundDocument,
        message_headers: &HeaderMap,
        output_id: &str,
    ) -> Result<(), DeliveryError> {
        let mut headers = reqwest::header::HeaderMap::new();
        let text = |value: &str| {
            HeaderValue::from_str(value).map_err(|_| DeliveryError {
                retryable: false,
                message: format!("the header value {value:?} cannot be sent over HTTP"),
            })
        };
        headers.insert(reqwest::header::CONTENT_TYPE, text(&document.content_type)?);
        headers.insert(HeaderName::from_static("idempotency-key"), text(output_id)?);
        for (name, values) in message_headers.iter() {
            let name: &str = name.as_ref();
            if name.starts_with("Mw-") {
                let Ok(header) = HeaderName::from_bytes(name.as_bytes()) else {
                    continue;
                };
                for value in values {
                    headers.append(header.clone(), text(value.as_str())?);
                }
            }
        }
        if let Some(file) = &document.file_name {
            headers.insert(HeaderName::from_static("mw-file-name"), text(file)?);
        }
        // The document's headers, then the route's, replace what is set above rather than add to it: a plugin that
        // names the business fact's own `Idempotency-Key` sends that one, not the host's beside it.
        for (name, value) in document.headers.iter().chain(&self.headers) {
            let (Ok(name), Ok(value)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(value),
            ) else {
                return Err(DeliveryError {
                    retryable: false,
                    message: format!(
                        "the header {name:?} cannot be sent over HTTP (its name or value is not allowed)"
                    ),
                });
            };
            headers.insert(name, value);
        }
        let Some(oauth) = &self.oauth else {
            return self
                .attempt(document, headers)
                .await
                .map_err(Refusal::into_error);
        };
        // A 401 may mean the token was revoked or expired early: one more try with a new one, then the 401 stands.
        let mut refused_once = false;
        loop {
            let token = oauth.token().await?;
            let mut headers = headers.clone();
            headers.insert(
                reqwest::header::AUTHORIZATION,
                text(&format!("Bearer {token}"))?,
            );
            match self.attempt(document, headers).await {
                Err(Refusal::Unauthorized(_)) if !refused_once => {
                    oauth.refused(&token);
                    refused_once = true;
                }
                result => return result.map_err(Refusal::into_error),
            }
        }
    }

    /// One request.
    async fn attempt(
        &self,
        document: &OutboundDocument,
        headers: reqwest::header::HeaderMap,
    ) -> Result<(), Refusal> {
        let request = self
            .client
            .request(self.method.clone(), self.url.clone())
            .headers(headers)
            .body(document.payload.clone())
            .send();
        let response = tokio::time::timeout(self.timeout, request)
            .await
            .map_err(|_| {
                Refusal::Failed(DeliveryError {
                    retryable: true,
                    message: format!("{} did not answer within {:?}", self.url, self.timeout),
                })
            })?
            .map_err(|err| {
                Refusal::Failed(DeliveryError {
                    retryable: true,
                    message: format!(
                        "{} could not be reached: {}",
                        self.url,
                        crate::http_client::describe(&err)
                    ),
                })
            })?;
        let status = response.status();
        if status.is_success() {
            // Read the body so the connection can be reused.
            let _ = tokio::time::timeout(self.timeout, response.bytes()).await;
            return Ok(());
        }
        let body = tokio::time::timeout(self.timeout, response.bytes())
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or_default();
        let excerpt: String = String::from_utf8_lossy(&body).chars().take(300).collect();
        let retryable = status.is_server_error()
            || status == reqwest::StatusCode::REQUEST_TIMEOUT
            || status == reqwest::StatusCode::TOO_MANY_REQUESTS;
        let error = DeliveryError {
            retryable,
            message: format!(
                "{} answered {status}{}",
                self.url,
                if excerpt.is_empty() {
                    String::new()
                } else {
                    format!(": {excerpt}")
                }
            ),
        };
        Err(if status == reqwest::StatusCode::UNAUTHORIZED {
            Refusal::Unauthorized(error)
        } else {
            Refusal::Failed(error)
        })
    }
}

/// Why one request was not a 2xx: a 401 (which a new OAuth token may mend), or anything else.
enum Refusal {
    Unauthorized(DeliveryError),
    Failed(DeliveryError),
}

impl Refusal {
    fn into_error(self) -> DeliveryError {
        match self {
            Refusal::Unauthorized(error) | Refusal::Failed(error) => error,
        }
    }
}

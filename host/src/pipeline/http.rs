//! Delivering an outbound route's documents to an HTTP endpoint, with hyper's client.
//!
//! Each document is one request with the route's configured headers, the document's content type and headers,
//! the `Mw-*` headers of its message, and `Idempotency-Key` set to the output id, so a target that dedupes can
//! tell a retry from a new document (a document's own `Idempotency-Key`, naming the business fact, replaces it:
//! the fact stays the same when its message is replayed). A 2xx is delivered; a connection error, a timeout, 408, 429 or a 5xx is
//! retried by the route with backoff; any other status is the target refusing the document, and dead-letters it.

use std::time::Duration;

use async_nats::HeaderMap;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use crate::invoke::OutboundDocument;

/// An HTTP target and the client that reaches it.
#[derive(Debug, Clone)]
pub struct Delivery {
    client: Client<HttpConnector, Full<Bytes>>,
    url: hyper::Uri,
    method: hyper::Method,
    headers: Vec<(String, String)>,
    timeout: Duration,
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
    /// A client for `url`; the URL and method were checked with the configuration.
    pub fn new(
        url: &str,
        method: &str,
        headers: Vec<(String, String)>,
        timeout: Duration,
    ) -> anyhow::Result<Self> {
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(timeout));
        connector.set_nodelay(true);
        Ok(Self {
            client: Client::builder(TokioExecutor::new()).build(connector),
            url: url.parse()?,
            method: method.parse()?,
            headers,
            timeout,
        })
    }

    /// Sends one document.
    pub async fn send(
        &self,
        document: &OutboundDocument,
        message_headers: &HeaderMap,
        output_id: &str,
    ) -> Result<(), DeliveryError> {
        let mut request = hyper::Request::builder()
            .method(self.method.clone())
            .uri(self.url.clone())
            .header("content-type", document.content_type.as_str())
            .header("idempotency-key", output_id);
        for (name, values) in message_headers.iter() {
            let name: &str = name.as_ref();
            if name.starts_with("Mw-") {
                for value in values {
                    request = request.header(name, value.as_str());
                }
            }
        }
        if let Some(file) = &document.file_name {
            request = request.header("mw-file-name", file.as_str());
        }
        // The document's headers, then the route's, replace what is set above rather than add to it: a plugin that
        // names the business fact's own `Idempotency-Key` sends that one, not the host's beside it.
        for (name, value) in document.headers.iter().chain(&self.headers) {
            let (Ok(name), Ok(value)) = (
                hyper::header::HeaderName::from_bytes(name.as_bytes()),
                hyper::header::HeaderValue::from_str(value),
            ) else {
                return Err(DeliveryError {
                    retryable: false,
                    message: format!(
                        "the header {name:?} cannot be sent over HTTP (its name or value is not allowed)"
                    ),
                });
            };
            if let Some(headers) = request.headers_mut() {
                headers.insert(name, value);
            }
        }
        let request = request
            .body(Full::new(Bytes::from(document.payload.clone())))
            .map_err(|err| DeliveryError {
                retryable: false,
                message: format!("building the request to {}: {err}", self.url),
            })?;
        let response = tokio::time::timeout(self.timeout, self.client.request(request))
            .await
            .map_err(|_| DeliveryError {
                retryable: true,
                message: format!("{} did not answer within {:?}", self.url, self.timeout),
            })?
            .map_err(|err| DeliveryError {
                retryable: true,
                message: format!("{} could not be reached: {err}", self.url),
            })?;
        let status = response.status();
        if status.is_success() {
            // Read the body so the connection can be reused.
            let _ = tokio::time::timeout(self.timeout, response.into_body().collect()).await;
            return Ok(());
        }
        let body = tokio::time::timeout(self.timeout, response.into_body().collect())
            .await
            .ok()
            .and_then(Result::ok)
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        let excerpt: String = String::from_utf8_lossy(&body).chars().take(300).collect();
        let retryable = status.is_server_error()
            || status == hyper::StatusCode::REQUEST_TIMEOUT
            || status == hyper::StatusCode::TOO_MANY_REQUESTS;
        Err(DeliveryError {
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
        })
    }
}

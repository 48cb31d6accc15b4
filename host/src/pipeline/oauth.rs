//! OAuth 2.0 client credentials for an HTTP target: the bearer token [`super::http::Delivery`] sends with each
//! document.
//!
//! One [`TokenSource`] per route, shared by its workers: the token is fetched once and kept until its
//! `expires_in` less a margin (a tenth of its life, at most 30 s), so many deliveries cost one token request.
//! A token the target refuses (401) is dropped and fetched again once. The client authenticates to the token
//! endpoint with HTTP Basic (`client_secret_basic`, which RFC 6749 makes every server take). A token endpoint that
//! cannot be reached or refuses is a retryable delivery failure whose message names the token URL — and never
//! the secret, which is cut out of anything the endpoint answers.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::Deserialize;

use super::http::DeliveryError;
use crate::config::route::OAuth;

/// The longest a token is dropped before its stated expiry.
const MAX_MARGIN: Duration = Duration::from_secs(30);

/// A route's token: fetched when needed, kept until shortly before it expires.
#[derive(Debug)]
pub struct TokenSource {
    oauth: OAuth,
    client: reqwest::Client,
    timeout: Duration,
    cached: Mutex<Option<Token>>,
    /// Held while a token is fetched, so workers that find none wait for that one instead of each fetching
    /// their own. A tokio mutex: it is held across the request, and nothing else is.
    fetching: tokio::sync::Mutex<()>,
}

/// An access token and until when it is used.
#[derive(Debug, Clone)]
struct Token {
    value: String,
    /// `None`: the server gave no expiry; kept until the target refuses it.
    until: Option<Instant>,
}

/// The token endpoint's answer (RFC 6749, 5.1).
#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default)]
    token_type: Option<String>,
    /// Seconds; a number, or (as some servers send it) a string of one.
    #[serde(default)]
    expires_in: Option<serde_json::Value>,
}

impl TokenSource {
    /// A source for `oauth`, fetching through `client` (the route's, with its CA).
    pub fn new(oauth: OAuth, client: reqwest::Client, timeout: Duration) -> Self {
        Self {
            oauth,
            client,
            timeout,
            cached: Mutex::new(None),
            fetching: tokio::sync::Mutex::new(()),
        }
    }

    /// A token that has not expired: the cached one, or one fetched now.
    pub async fn token(&self) -> Result<String, DeliveryError> {
        if let Some(token) = self.fresh() {
            return Ok(token);
        }
        let _fetching = self.fetching.lock().await;
        // Another worker may have fetched one while this one waited.
        if let Some(token) = self.fresh() {
            return Ok(token);
        }
        let token = self.fetch().await?;
        let value = token.value.clone();
        *self
            .cached
            .lock()
            .expect("the token lock is never poisoned") = Some(token);
        Ok(value)
    }

    /// Drops `refused` (the target answered 401 to it), so the next [`Self::token`] fetches a new one; a token
    /// another worker has fetched since stays.
    pub fn refused(&self, refused: &str) {
        let mut cached = self
            .cached
            .lock()
            .expect("the token lock is never poisoned");
        if cached.as_ref().is_some_and(|t| t.value == refused) {
            *cached = None;
        }
    }

    fn fresh(&self) -> Option<String> {
        let cached = self
            .cached
            .lock()
            .expect("the token lock is never poisoned");
        cached
            .as_ref()
            .filter(|t| t.until.is_none_or(|until| Instant::now() < until))
            .map(|t| t.value.clone())
    }

    async fn fetch(&self) -> Result<Token, DeliveryError> {
        let url = &self.oauth.token_url;
        let secret = self.oauth.client_secret.as_str();
        let failed = |message: String| DeliveryError {
            retryable: true,
            message: format!(
                "the OAuth token endpoint {url}: {}",
                if secret.is_empty() {
                    message
                } else {
                    message.replace(secret, "***")
                }
            ),
        };
        let mut form = vec![("grant_type", "client_credentials")];
        if let Some(scope) = &self.oauth.scope {
            form.push(("scope", scope));
        }
        let request = self
            .client
            .post(url)
            .basic_auth(&self.oauth.client_id, Some(&self.oauth.client_secret))
            .header("accept", "application/json")
            .form(&form)
            .send();
        let started = Instant::now();
        let response = tokio::time::timeout(self.timeout, request)
            .await
            .map_err(|_| failed(format!("no answer within {:?}", self.timeout)))?
            .map_err(|err| {
                failed(format!(
                    "could not be reached: {}",
                    crate::http_client::describe(&err)
                ))
            })?;
        let status = response.status();
        let body = tokio::time::timeout(self.timeout, response.bytes())
            .await
            .map_err(|_| {
                failed(format!(
                    "answered {status} but sent no body within {:?}",
                    self.timeout
                ))
            })?
            .map_err(|err| failed(format!("reading its answer: {err}")))?;
        if !status.is_success() {
            let excerpt: String = String::from_utf8_lossy(&body).chars().take(300).collect();
            return Err(failed(format!(
                "answered {status}{}",
                if excerpt.is_empty() {
                    String::new()
                } else {
                    format!(": {excerpt}")
                }
            )));
        }
        let answer: TokenResponse = serde_json::from_slice(&body)
            .map_err(|err| failed(format!("answered {status} without a token: {err}")))?;
        if let Some(kind) = &answer.token_type
            && !kind.eq_ignore_ascii_case("bearer")
        {
            return Err(failed(format!(
                "gave a token of type {kind:?}; a target takes bearer tokens"
            )));
        }
        // A lifetime too long to count in an Instant is kept like one without an expiry: until a 401.
        let seconds = answer
            .expires_in
            .as_ref()
            .and_then(|v| v.as_u64().or_else(|| v.as_str()?.trim().parse().ok()));
        let until = seconds.and_then(|seconds| {
            let life = Duration::from_secs(seconds);
            started.checked_add(life - (life / 10).min(MAX_MARGIN))
        });
        Ok(Token {
            value: answer.access_token,
            until,
        })
    }
}

//! A client of a test host's admin API, as a script or the CLI would call it.

use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};
use serde_json::Value;

use super::nats::{ADMIN_TOKEN, Host};

/// The admin API of one host, called with the test token.
pub struct Api {
    /// The base URL, e.g. `http://127.0.0.1:40123`.
    pub url: String,
    /// The HTTP client.
    pub http: reqwest::Client,
}

impl Api {
    /// The API of `host`.
    pub fn new(host: &Host) -> Self {
        Self {
            url: host.admin_url(),
            // A refused upload is answered before its body is read, and the server then closes the connection:
            // a fresh connection per call keeps one refusal from failing the next call.
            http: millwright::http_client::builder(None)
                .expect("TLS settings")
                .pool_max_idle_per_host(0)
                .build()
                .expect("client"),
        }
    }

    /// Sends `request` with the token; the answer's status and JSON body (`null` when empty). A body that is
    /// not JSON fails the test: every answer of the API is JSON.
    pub async fn call(&self, request: reqwest::RequestBuilder) -> (StatusCode, Value) {
        let response = request
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .expect("admin API");
        let status = response.status();
        let bytes = response.bytes().await.expect("body");
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or_else(|_| {
                panic!("not JSON ({status}): {}", String::from_utf8_lossy(&bytes))
            })
        };
        (status, body)
    }

    /// `GET path`.
    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call(self.http.get(format!("{}{path}", self.url)))
            .await
    }

    /// `POST path` with a JSON body.
    pub async fn post_json(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(self.http.post(format!("{}{path}", self.url)).json(&body))
            .await
    }

    /// Uploads `bytes` as the `plugin` part to `tenant`/`slot`, with `query` (`activate=true&shadow=false`).
    pub async fn upload(
        &self,
        tenant: &str,
        slot: &str,
        bytes: Vec<u8>,
        query: &str,
    ) -> (StatusCode, Value) {
        let form = Form::new().part("plugin", Part::bytes(bytes).file_name("plugin.wasm"));
        self.call(
            self.http
                .post(format!(
                    "{}/v1/tenants/{tenant}/plugins/{slot}/versions?{query}",
                    self.url
                ))
                .multipart(form),
        )
        .await
    }

    /// The slot's registry view, the part that must not change on a refused request.
    pub async fn registry_state(&self) -> Value {
        let (status, body) = self.get("/v1/tenants/acme/plugins").await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }
}

/// The `code` of an error answer.
pub fn error_code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or_default()
}

//! The CLI's side of the admin API: `millwright plugin push|list|activate|rollback` (and the calls the other
//! commands that go through the API share: [`answer`] reads any answer, or the API's error).
//!
//! Each command is one or two HTTP calls to a running host (`--admin-url`, `MILLWRIGHT_ADMIN_URL`) with the
//! bearer token (`--token`, `MILLWRIGHT_ADMIN_TOKEN`). An upload shows a progress bar while the bytes go out and
//! a spinner while the host validates and compiles, then a summary of the shadow run.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use futures::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use reqwest::multipart::{Form, Part};
use serde::de::DeserializeOwned;

use crate::admin::plugins::{ActivationResult, SlotView, UploadResult, VersionView};
use crate::names::Tenant;

/// Where the API is and who calls it.
#[derive(Debug, Clone)]
pub struct ApiTarget {
    /// e.g. `http://127.0.0.1:7070`.
    pub url: String,
    /// The bearer token.
    pub token: String,
    /// A CA certificate (PEM) trusted for an `https://` URL besides the system's roots.
    pub ca_file: Option<PathBuf>,
}

impl ApiTarget {
    pub(super) fn endpoint(&self, path: &str) -> String {
        format!("{}/v1{path}", self.url.trim_end_matches('/'))
    }
}

/// The host's one HTTP client ([`crate::http_client`]), trusting `target`'s CA file besides the system's roots.
pub(super) fn client(target: &ApiTarget) -> Result<reqwest::Client> {
    let ca = match &target.ca_file {
        Some(path) => Some(
            crate::http_client::Ca::from_file(path)
                .context("reading the admin API's CA (--ca-file, MILLWRIGHT_ADMIN_CA)")?,
        ),
        None => None,
    };
    crate::http_client::builder(ca.as_ref())?
        .connect_timeout(Duration::from_secs(10))
        .build()
        .context("setting up the HTTP client")
}

/// Reads an answer: the body as `T` on success, the API's error message otherwise.
pub(super) async fn answer<T: DeserializeOwned>(
    target: &ApiTarget,
    response: reqwest::Response,
) -> Result<T> {
    let status = response.status();
    let bytes = response
        .bytes()
        .await
        .context("reading the host's answer")?;
    if status.is_success() {
        return serde_json::from_slice(&bytes).with_context(|| {
            format!(
                "the host at {} answered {status} with a body this CLI does not understand: {}",
                target.url,
                String::from_utf8_lossy(&bytes[..bytes.len().min(300)])
            )
        });
    }
    let parsed: Option<(String, String)> = serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()
        .and_then(|v| {
            let error = v.get("error")?;
            Some((
                error.get("code")?.as_str()?.to_string(),
                error.get("message")?.as_str()?.to_string(),
            ))
        });
    match parsed {
        Some((code, message)) => bail!("{message} ({code}, HTTP {})", status.as_u16()),
        None => bail!(
            "the host at {} answered {status}: {}",
            target.url,
            String::from_utf8_lossy(&bytes[..bytes.len().min(300)])
        ),
    }
}

pub(super) fn connect_error(target: &ApiTarget, err: reqwest::Error) -> anyhow::Error {
    let described = crate::http_client::describe(&err);
    if described.contains("certificate is not trusted") {
        return anyhow::anyhow!(
            "cannot reach the admin API at {}: {described}; give the CA that signed it with --ca-file (MILLWRIGHT_ADMIN_CA)",
            target.url
        );
    }
    anyhow::anyhow!(
        "cannot reach the admin API at {}: {described}; is `millwright serve` running there? (--admin-url, MILLWRIGHT_ADMIN_URL)",
        target.url
    )
}

/// What `plugin push` sends.
#[derive(Debug, Clone)]
pub struct Push {
    /// The component.
    pub plugin: PathBuf,
    /// The tenant.
    pub tenant: String,
    /// The slot.
    pub slot: String,
    /// Activate once stored.
    pub activate: bool,
    /// Sample inputs for the shadow run: every file in this directory.
    pub fixtures: Option<PathBuf>,
    /// A file holding the base64 ed25519 signature of the component.
    pub signature: Option<PathBuf>,
    /// Skip the shadow run.
    pub no_shadow: bool,
}

/// Uploads a plugin version.
pub async fn push(target: &ApiTarget, push: &Push, progress: bool) -> Result<UploadResult> {
    let bytes = std::fs::read(&push.plugin)
        .with_context(|| format!("reading {}", push.plugin.display()))?;
    let total = bytes.len() as u64;
    let file_name = push.plugin.file_name().map_or_else(
        || "plugin.wasm".into(),
        |n| n.to_string_lossy().into_owned(),
    );
    let bar = if progress {
        ProgressBar::new(total)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("{msg:12} [{bar:30}] {bytes}/{total_bytes} {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_message("uploading");
    // The body goes out in chunks so the bar follows what has been sent.
    let chunks: Vec<bytes::Bytes> = bytes
        .chunks(64 * 1024)
        .map(bytes::Bytes::copy_from_slice)
        .collect();
    let sent = bar.clone();
    let done = bar.clone();
    let stream = futures::stream::iter(chunks).map(move |chunk| {
        sent.inc(chunk.len() as u64);
        if sent.position() >= total {
            done.set_style(
                ProgressStyle::with_template("{spinner} {msg} {elapsed}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            done.set_message("validating and compiling on the host");
            done.enable_steady_tick(Duration::from_millis(100));
        }
        Ok::<_, std::io::Error>(chunk)
    });
    let mut form = Form::new().part(
        "plugin",
        Part::stream_with_length(reqwest::Body::wrap_stream(stream), total)
            .file_name(file_name)
            .mime_str("application/wasm")?,
    );
    if let Some(dir) = &push.fixtures {
        for path in fixture_files(dir)? {
            let data =
                std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
            let name = path
                .file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
            form = form.part("fixture", Part::bytes(data).file_name(name));
        }
    }
    if let Some(path) = &push.signature {
        let signature = std::fs::read_to_string(path)
            .with_context(|| format!("reading the signature {}", path.display()))?;
        form = form.text("signature", signature.trim().to_string());
    }
    let response = client(target)?
        .post(target.endpoint(&format!(
            "/tenants/{}/plugins/{}/versions",
            push.tenant, push.slot
        )))
        .bearer_auth(&target.token)
        .query(&[
            ("activate", push.activate.to_string()),
            ("shadow", (!push.no_shadow).to_string()),
        ])
        .multipart(form)
        .send()
        .await
        .map_err(|err| connect_error(target, err));
    bar.finish_and_clear();
    answer(target, response?).await
}

fn fixture_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading the fixtures directory {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    if files.is_empty() {
        bail!("{} holds no fixture files", dir.display());
    }
    Ok(files)
}

/// The tenant's slots, or one.
pub async fn list(target: &ApiTarget, tenant: &str, slot: Option<&str>) -> Result<Vec<SlotView>> {
    let request = match slot {
        Some(slot) => {
            client(target)?.get(target.endpoint(&format!("/tenants/{tenant}/plugins/{slot}")))
        }
        None => client(target)?.get(target.endpoint(&format!("/tenants/{tenant}/plugins"))),
    };
    let response = request
        .bearer_auth(&target.token)
        .send()
        .await
        .map_err(|err| connect_error(target, err))?;
    match slot {
        Some(_) => Ok(vec![answer::<SlotView>(target, response).await?]),
        None => answer(target, response).await,
    }
}

/// Which version to activate.
#[derive(Debug, Clone)]
pub enum Which {
    /// By its version string.
    Version(String),
    /// By sha256.
    Sha(String),
}

/// Activates a version.
pub async fn activate(
    target: &ApiTarget,
    tenant: &str,
    slot: &str,
    which: &Which,
) -> Result<ActivationResult> {
    let body = match which {
        Which::Version(v) => serde_json::json!({ "version": v }),
        Which::Sha(s) => serde_json::json!({ "sha256": s }),
    };
    let response = client(target)?
        .post(target.endpoint(&format!("/tenants/{tenant}/plugins/{slot}/activate")))
        .bearer_auth(&target.token)
        .json(&body)
        .send()
        .await
        .map_err(|err| connect_error(target, err))?;
    answer(target, response).await
}

/// Rolls a slot back.
pub async fn rollback(target: &ApiTarget, tenant: &str, slot: &str) -> Result<ActivationResult> {
    let response = client(target)?
        .post(target.endpoint(&format!("/tenants/{tenant}/plugins/{slot}/rollback")))
        .bearer_auth(&target.token)
        .send()
        .await
        .map_err(|err| connect_error(target, err))?;
    answer(target, response).await
}

/// Lifts a slot's suspension on the host the target names.
pub async fn resume(target: &ApiTarget, tenant: &str, slot: &str) -> Result<SlotView> {
    let response = client(target)?
        .post(target.endpoint(&format!("/tenants/{tenant}/plugins/{slot}/resume")))
        .bearer_auth(&target.token)
        .send()
        .await
        .map_err(|err| connect_error(target, err))?;
    answer(target, response).await
}

fn short(sha: &str) -> &str {
    &sha[..12.min(sha.len())]
}

fn version_line(v: &VersionView) -> String {
    format!(
        "{} {}@{} {} {} bytes, {} by {} at {}",
        if v.active { "*" } else { " " },
        v.name,
        v.version,
        short(&v.sha256),
        v.size,
        v.signature,
        v.uploaded_by,
        v.uploaded_at
    )
}

/// The upload's summary for people.
pub fn describe_upload(result: &UploadResult) -> String {
    let v = &result.version;
    let mut out = format!(
        "{} {}@{} ({}, {} bytes, {}; compiled in {:.0} ms)\n",
        if result.created {
            "uploaded"
        } else {
            "already there:"
        },
        v.name,
        v.version,
        short(&v.sha256),
        v.size,
        v.world,
        result.compile_ms
    );
    match &result.shadow {
        Some(shadow) => {
            out.push_str(&format!(
                "shadow run against {}: {} inputs ({} fixtures), {} same, {} different, {} failed on the new version\n",
                shadow.against.as_deref().unwrap_or("nothing (no active version)"),
                shadow.inputs,
                shadow.fixtures,
                shadow.same,
                shadow.differences.len(),
                shadow.candidate_failures
            ));
            for difference in &shadow.differences {
                out.push_str(&format!("--- {}\n{}", difference.input, difference.diff));
            }
        }
        None => out.push_str("no shadow run (no active version and no fixtures, or --no-shadow)\n"),
    }
    if let Some(activation) = &result.activation {
        out.push_str(&describe_activation(activation));
    }
    out
}

/// An activation's summary for people.
pub fn describe_activation(result: &ActivationResult) -> String {
    let mut out = format!(
        "active: {}@{} ({}); serving on this host: {} in {:.0} ms\n",
        result.active.name,
        result.active.version,
        short(&result.active.sha256),
        if result.serving.is_empty() {
            "no route runs this slot".to_string()
        } else {
            result.serving.join(", ")
        },
        result.elapsed_ms
    );
    if !result.not_switched.is_empty() {
        out.push_str(&format!(
            "not switched within 10 s: {} (see the host's log)\n",
            result.not_switched.join(", ")
        ));
    }
    out
}

/// Slots for people.
pub fn describe_slots(slots: &[SlotView]) -> String {
    let mut out = String::new();
    for slot in slots {
        out.push_str(&format!("{}/{}\n", slot.tenant, slot.slot));
        if let Some(s) = &slot.suspension {
            out.push_str(&format!(
                "  SUSPENDED since {}: {} ({} inputs in a row failed{}); next probe at {}; `plugin resume` lifts it\n",
                s.since,
                s.plugin,
                s.failures,
                s.last_error
                    .as_deref()
                    .map(|e| format!(", the last: {e}"))
                    .unwrap_or_default(),
                s.next_probe
            ));
        }
        for v in &slot.versions {
            out.push_str(&format!("  {}\n", version_line(v)));
        }
        for s in &slot.serving {
            out.push_str(&format!(
                "  route {} serves {}\n",
                s.route,
                s.plugin
                    .as_deref()
                    .unwrap_or("nothing yet (no active version)")
            ));
        }
    }
    out
}

/// `/tenants/<tenant>/<segments...>`, each segment percent-encoded.
pub(super) fn path(tenant: &str, segments: &[&str]) -> Result<String> {
    let tenant = Tenant::new(tenant)?;
    let mut path = format!("/tenants/{tenant}");
    for segment in segments {
        path.push('/');
        path.push_str(&encode(segment));
    }
    Ok(path)
}

/// A path segment or query value, percent-encoded.
pub(super) fn encode(segment: &str) -> String {
    segment
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b':' => {
                (b as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

pub(super) async fn call<T: serde::de::DeserializeOwned>(
    target: &ApiTarget,
    path: &str,
    body: Option<serde_json::Value>,
) -> Result<T> {
    let method = match body {
        Some(_) => reqwest::Method::POST,
        None => reqwest::Method::GET,
    };
    call_with(target, method, path, body).await
}

pub(super) async fn call_with<T: serde::de::DeserializeOwned>(
    target: &ApiTarget,
    method: reqwest::Method,
    path: &str,
    body: Option<serde_json::Value>,
) -> Result<T> {
    let mut request = client(target)?.request(method, target.endpoint(path));
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request
        .bearer_auth(&target.token)
        .send()
        .await
        .map_err(|err| connect_error(target, err))?;
    answer(target, response).await
}

//! Routes: what a route is once checked ([`RouteDef`]), and the one checker every route passes, whether it was
//! written in the configuration file or sent to the admin API.
//!
//! Both arrive as a table with the same keys — `source` or `name`, `events`, `target`, `slot`, `plugin`,
//! `config`, `payload` and the route settings (`workers`, `max_attempts`, `deadline` ...) — read with serde into
//! tables generated from one list of keys ([`route_tables!`]), the file's with the place of every value, the
//! API's without. Each becomes a [`Draft`], and [`Checker::route`] turns a draft into a [`RouteDef`] with the
//! same rules and the same messages. What differs is what only a file may do: name a `plugin` file, and read
//! `${NAME}` secrets from the host's environment; and that the file's errors carry the line.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Result, anyhow};
use serde::{Deserialize, Serialize};

use super::tables::{AcksDraft, OAuthDraft, TargetDraft, api_draft};
pub(crate) use super::tables::{At, Draft, FileSettings, InboundFile, OutboundFile, Settings};
use crate::canonical::EVENT_TYPES;
use crate::http_client::Ca;
use crate::invoke::InstancePolicy;
use crate::names::{RouteName, Slot, Source, TargetName};
use crate::pipeline::breaker::{self, BreakerSettings};

/// The most memory a plugin instance may be given, in MiB: all a 32-bit WebAssembly memory can address.
const MAX_MEMORY_MB: usize = 4096;

/// What maps a route's messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mapping {
    /// A plugin slot: its active version serves the route and is swapped live.
    Slot(Slot),
    /// The built-in canonical mapper (`mapper = "canonical"`, inbound only): the documents are canonical JSON,
    /// checked against the contract's types and published as they are.
    Canonical,
}

impl std::fmt::Display for Mapping {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Mapping::Slot(slot) => write!(f, "slot {slot}"),
            Mapping::Canonical => f.write_str("the built-in canonical mapper"),
        }
    }
}

/// What every route shares: its plugin, the profile the plugin reads, and how failures are handled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteCommon {
    /// The route's name: its durable consumer and its dead-letter subject `mw.<tenant>.dlq.<name>`.
    pub name: RouteName,
    /// What maps its messages: a plugin slot, or a built-in mapper.
    pub mapping: Mapping,
    /// A plugin file that seeds the slot (routes of the file only): registered as a version at start and
    /// activated when the slot has none active, or when this file's content was never activated from the
    /// configuration before.
    pub plugin: Option<PathBuf>,
    /// The partner profile values the plugin reads with `config`.
    pub config: BTreeMap<String, String>,
    /// Fresh instance per message, or warm reuse.
    pub instances: InstancePolicy,
    /// Threads running the plugin for this route.
    pub workers: usize,
    /// Deliveries of one message before a retryable failure becomes a dead letter.
    pub max_attempts: u32,
    /// The first retry's delay; each later one doubles, up to `max_backoff`.
    pub backoff: Duration,
    /// The longest retry delay.
    pub max_backoff: Duration,
    /// How long JetStream waits for an acknowledgment before it redelivers.
    pub ack_wait: Duration,
    /// A call's deadline.
    pub deadline: Duration,
    /// The plugin's memory cap.
    pub memory_bytes: usize,
    /// The largest payload the route takes; larger ones are dead-lettered.
    pub max_payload_bytes: usize,
    /// Messages fetched per pull request.
    pub batch: usize,
    /// When the slot's circuit breaker suspends it, and how it is probed.
    pub breaker: BreakerSettings,
}

impl RouteCommon {
    /// The plugin slot the route runs, unless a built-in mapper maps it.
    pub fn slot(&self) -> Option<&Slot> {
        match &self.mapping {
            Mapping::Slot(slot) => Some(slot),
            Mapping::Canonical => None,
        }
    }
}

/// Which functional acknowledgment answers each group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AckKind {
    /// The 997 functional acknowledgment.
    Functional997,
    /// The 999 implementation acknowledgment.
    Implementation999,
}

/// An inbound X12 route's acknowledgments: a 997 or 999 per functional group and the TA1s, published on
/// `mw.<tenant>.out.<target>`, and duplicate interchanges refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acknowledgments {
    /// 997 or 999.
    pub kind: AckKind,
    /// Where they are published: `mw.<tenant>.out.<target>`.
    pub target: TargetName,
    /// How long an interchange is remembered: another one from the same sender with the same ISA13 within it is
    /// a duplicate. Zero turns the check off.
    pub duplicate_window: Duration,
}

/// How long interchanges are remembered unless a route says otherwise.
pub const DEFAULT_DUPLICATE_WINDOW: Duration = Duration::from_secs(30 * 24 * 3600);

/// What a route does with its messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// Documents from `mw.<tenant>.in.<source>` into canonical events.
    Inbound {
        /// The source.
        source: Source,
        /// Whether payloads must be UTF-8 text (most EDI, CSV and JSON); `false` passes bytes as they are.
        text: bool,
        /// The X12 acknowledgments the route sends, if any.
        acknowledgments: Option<Acknowledgments>,
    },
    /// Canonical events out to a target.
    Outbound {
        /// The canonical event types it takes.
        events: Vec<String>,
        /// Where the rendered documents go.
        target: Target,
    },
}

/// Where an outbound route delivers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Published on `mw.<tenant>.out.<subject>`.
    Subject {
        /// The last token of the subject; also the target name the plugin is given.
        name: TargetName,
    },
    /// POSTed (or another method) to an HTTP endpoint.
    Http {
        /// The target name the plugin is given: the URL's host.
        name: String,
        /// The endpoint.
        url: String,
        /// The method (POST unless set).
        method: String,
        /// Extra request headers (secrets from the environment).
        headers: Vec<(String, String)>,
        /// One request's timeout.
        timeout: Duration,
        /// A CA trusted besides the system's roots, for an `https://` URL (and the OAuth token URL).
        ca: Option<Ca>,
        /// OAuth 2.0 client credentials: a bearer token fetched from the token URL is sent with each document.
        oauth: Option<Box<OAuth>>,
    },
}

/// An HTTP target's OAuth 2.0 client-credentials grant.
#[derive(Clone, PartialEq, Eq)]
pub struct OAuth {
    /// The authorization server's token endpoint.
    pub token_url: String,
    /// The client id.
    pub client_id: String,
    /// The client secret (from the host's environment in the file).
    pub client_secret: String,
    /// The scope asked for, if any.
    pub scope: Option<String>,
}

impl std::fmt::Debug for OAuth {
    // The secret is never printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuth")
            .field("token_url", &self.token_url)
            .field("client_id", &self.client_id)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

impl Target {
    /// The name the plugin is given as its target.
    pub fn name(&self) -> &str {
        match self {
            Target::Subject { name } => name,
            Target::Http { name, .. } => name,
        }
    }
}

/// Where a route was defined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Origin {
    /// In the configuration file, at this line: changed there, not through the API.
    Config {
        /// The line the route starts at.
        line: usize,
    },
    /// Through the admin API (kept in the registry).
    Api,
}

/// A route, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteDef {
    /// Name, slot, profile, limits.
    pub common: RouteCommon,
    /// Inbound or outbound.
    pub kind: Kind,
    /// The file's line, or the API.
    pub origin: Origin,
}

impl RouteDef {
    /// The source an inbound route reads.
    pub fn source(&self) -> Option<&Source> {
        match &self.kind {
            Kind::Inbound { source, .. } => Some(source),
            Kind::Outbound { .. } => None,
        }
    }
}

/// Which way a route maps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Documents in, canonical events out.
    Inbound,
    /// Canonical events in, documents out.
    Outbound,
}

// ---- The checker ----

/// Where routes are checked from: the file (with its text, for line numbers, its directory, for plugin paths,
/// and the environment, for secrets), or the API (none of those).
pub(crate) struct Checker<'a> {
    pub(crate) file: Option<FileContext<'a>>,
}

/// The file a route is read from.
pub(crate) struct FileContext<'a> {
    pub(crate) text: &'a str,
    pub(crate) path: &'a Path,
    pub(crate) base: &'a Path,
    pub(crate) env: &'a dyn Fn(&str) -> Option<String>,
}

impl Checker<'_> {
    /// The line of a byte offset in the file.
    pub(crate) fn line(&self, offset: usize) -> usize {
        match &self.file {
            Some(file) => {
                file.text[..offset.min(file.text.len())]
                    .bytes()
                    .filter(|&b| b == b'\n')
                    .count()
                    + 1
            }
            None => 0,
        }
    }

    /// An error about a value: located at its line in the file, or as it is for the API.
    pub(crate) fn at<T>(&self, value: &At<T>, message: impl std::fmt::Display) -> anyhow::Error {
        self.at_span(value.span.as_ref(), message)
    }

    pub(crate) fn at_span(
        &self,
        span: Option<&Range<usize>>,
        message: impl std::fmt::Display,
    ) -> anyhow::Error {
        match (&self.file, span) {
            (Some(file), Some(span)) => anyhow!(
                "{}, line {}: {message}",
                file.path.display(),
                self.line(span.start)
            ),
            (Some(file), None) => anyhow!("{}: {message}", file.path.display()),
            (None, _) => anyhow!("{message}"),
        }
    }

    /// A name that becomes a subject token, a stream or a consumer name.
    pub(crate) fn name<N>(
        &self,
        value: &At<String>,
        parse: fn(&str) -> Result<N, crate::names::NameError>,
    ) -> Result<N> {
        parse(&value.value).map_err(|err| self.at(value, err))
    }

    /// Checks one route table into a route. The route's uniqueness among others is the caller's to check
    /// ([`claim`]).
    pub(crate) fn route(&self, draft: Draft, defaults: &Settings) -> Result<RouteDef> {
        let line = draft.span.as_ref().map(|s| self.line(s.start));
        let (name_value, kind) = match draft.direction {
            Direction::Inbound => {
                let source_value = draft.source.as_ref().ok_or_else(|| {
                    self.at_span(draft.span.as_ref(), "an inbound route needs `source`")
                })?;
                let source = self.name(source_value, Source::new)?;
                let name = draft.name.clone().unwrap_or_else(|| source_value.clone());
                let text = match draft.payload.as_ref().map(|p| p.value.as_str()) {
                    None | Some("text") => true,
                    Some("bytes") => false,
                    Some(other) => {
                        return Err(self.at(
                            draft.payload.as_ref().unwrap_or(source_value),
                            format!(
                                "payload = \"{other}\": say \"text\" (UTF-8, the default) or \"bytes\""
                            ),
                        ));
                    }
                };
                let acknowledgments = match &draft.acknowledgments {
                    Some(acks) => Some(self.acknowledgments(acks)?),
                    None => None,
                };
                (
                    name,
                    Kind::Inbound {
                        source,
                        text,
                        acknowledgments,
                    },
                )
            }
            Direction::Outbound => {
                let name = draft.name.clone().ok_or_else(|| {
                    self.at_span(draft.span.as_ref(), "an outbound route needs `name`")
                })?;
                let events = draft.events.as_ref().ok_or_else(|| {
                    self.at_span(draft.span.as_ref(), "an outbound route needs `events`")
                })?;
                if events.value.is_empty() {
                    return Err(self.at(
                        events,
                        "events is empty: name the canonical event types the route takes",
                    ));
                }
                for event in &events.value {
                    if !EVENT_TYPES.contains(&event.as_str()) {
                        return Err(self.at(
                            events,
                            format!(
                                "{event} is not a canonical event type; the types are: {}",
                                EVENT_TYPES.join(", ")
                            ),
                        ));
                    }
                }
                let target = draft.target.as_ref().ok_or_else(|| {
                    self.at_span(draft.span.as_ref(), "an outbound route needs `target`")
                })?;
                (
                    name,
                    Kind::Outbound {
                        events: events.value.clone(),
                        target: self.target(target)?,
                    },
                )
            }
        };
        let name = self.name(&name_value, RouteName::new)?;
        let common = self.common(name, draft, defaults)?;
        Ok(RouteDef {
            common,
            kind,
            origin: match line {
                Some(line) => Origin::Config { line },
                None => Origin::Api,
            },
        })
    }

    fn acknowledgments(&self, acks: &At<AcksDraft>) -> Result<Acknowledgments> {
        let draft = &acks.value;
        let kind = match draft.kind.as_ref().map(|k| k.value.as_str()) {
            None | Some("997") => AckKind::Functional997,
            Some("999") => AckKind::Implementation999,
            Some(other) => {
                let kind = draft
                    .kind
                    .as_ref()
                    .expect("a kind other than 997 or 999 was given");
                return Err(self.at(
                    kind,
                    format!(
                        "acknowledgments kind = \"{other}\": say \"997\" (the default) or \"999\""
                    ),
                ));
            }
        };
        let target = draft.target.as_ref().ok_or_else(|| {
            self.at(
                acks,
                "acknowledgments need a `target`: they are published on mw.<tenant>.out.<target>",
            )
        })?;
        Ok(Acknowledgments {
            kind,
            target: self.name(target, TargetName::new)?,
            duplicate_window: self
                .duration(draft.duplicate_window.as_ref())?
                .unwrap_or(DEFAULT_DUPLICATE_WINDOW),
        })
    }

    fn target(&self, target: &At<TargetDraft>) -> Result<Target> {
        let draft = &target.value;
        match (&draft.subject, &draft.url) {
            (Some(subject), None) => {
                if draft.method.is_some()
                    || !draft.headers.is_empty()
                    || draft.timeout.is_some()
                    || draft.ca.is_some()
                    || draft.oauth.is_some()
                {
                    return Err(self.at(target, "method, headers, timeout, ca and oauth are for HTTP targets; a subject target takes only `subject`"));
                }
                Ok(Target::Subject {
                    name: self.name(subject, TargetName::new)?,
                })
            }
            (None, Some(url)) => {
                let url_text = self.expand(url)?;
                let uri: hyper::Uri = url_text
                    .parse()
                    .map_err(|err| self.at(url, format!("{url_text} is not a URL: {err}")))?;
                let https = match uri.scheme_str() {
                    Some("https") => true,
                    Some("http") => false,
                    _ => {
                        return Err(self.at(
                            url,
                            format!("{url_text}: a target's URL is http:// or https://"),
                        ));
                    }
                };
                let method = draft
                    .method
                    .as_ref()
                    .map(|m| m.value.to_ascii_uppercase())
                    .unwrap_or_else(|| "POST".into());
                if !["POST", "PUT", "PATCH"].contains(&method.as_str()) {
                    return Err(self.at(
                        draft.method.as_ref().unwrap_or(url),
                        format!("method {method}: use POST, PUT or PATCH"),
                    ));
                }
                let mut headers = Vec::new();
                for (name, value) in &draft.headers {
                    headers.push((name.clone(), self.expand(value)?));
                }
                let oauth = match &draft.oauth {
                    Some(oauth) => Some(Box::new(self.oauth(oauth)?)),
                    None => None,
                };
                let ca = match &draft.ca {
                    Some(ca) if !https && oauth.as_ref().is_none_or(|o| o.token_url.starts_with("http://")) => {
                        return Err(self.at(
                            ca,
                            format!("target.ca: {url_text} is not https://, so there is no certificate to check"),
                        ));
                    }
                    Some(ca) => Some(self.ca(ca)?),
                    None => None,
                };
                let name = uri.host().unwrap_or("http").to_string();
                Ok(Target::Http {
                    name,
                    url: url_text,
                    method,
                    headers,
                    timeout: self
                        .duration(draft.timeout.as_ref())?
                        .unwrap_or(Duration::from_secs(10)),
                    ca,
                    oauth,
                })
            }
            _ => Err(self.at(
                target,
                "a target is either { subject = \"name\" } (published on mw.<tenant>.out.<name>) or { url = \"https://...\" }",
            )),
        }
    }

    /// An HTTP target's `ca`: PEM text, or (in the file) a PEM file relative to the file's directory, read and
    /// checked now so a wrong one stops the start, not the first delivery.
    fn ca(&self, ca: &At<String>) -> Result<Ca> {
        let value = ca.value.trim_start();
        if value.starts_with("-----BEGIN") {
            return Ca::from_pem(value.as_bytes(), "the PEM text given")
                .map_err(|err| self.at(ca, format!("target.ca: {err:#}")));
        }
        let Some(file) = &self.file else {
            return Err(self.at(
                ca,
                "target.ca: routes made through the API give the CA certificate as PEM text (-----BEGIN CERTIFICATE-----...), not a path on the host",
            ));
        };
        let path = file.base.join(&ca.value);
        Ca::from_file(&path).map_err(|err| self.at(ca, format!("target.ca: {err:#}")))
    }

    /// An HTTP target's `oauth` table: `token_url` (http or https), `client_id`, `client_secret` (in the file,
    /// from the environment with `${NAME}`), and an optional `scope`.
    fn oauth(&self, oauth: &At<OAuthDraft>) -> Result<OAuth> {
        let draft = &oauth.value;
        let missing = |key: &str| {
            self.at(
                oauth,
                format!("target.oauth needs `{key}` (token_url, client_id, client_secret; scope if the server wants one)"),
            )
        };
        let token_url_value = draft
            .token_url
            .as_ref()
            .ok_or_else(|| missing("token_url"))?;
        let token_url = self.expand(token_url_value)?;
        let uri: hyper::Uri = token_url.parse().map_err(|err| {
            self.at(
                token_url_value,
                format!("target.oauth.token_url: {token_url} is not a URL: {err}"),
            )
        })?;
        if !matches!(uri.scheme_str(), Some("http" | "https")) {
            return Err(self.at(
                token_url_value,
                format!("target.oauth.token_url: {token_url} is not http:// or https://"),
            ));
        }
        let client_id = self.expand(
            draft
                .client_id
                .as_ref()
                .ok_or_else(|| missing("client_id"))?,
        )?;
        let client_secret = self.expand(
            draft
                .client_secret
                .as_ref()
                .ok_or_else(|| missing("client_secret"))?,
        )?;
        let scope = draft.scope.as_ref().map(|s| self.expand(s)).transpose()?;
        Ok(OAuth {
            token_url,
            client_id,
            client_secret,
            scope,
        })
    }

    fn common(&self, name: RouteName, draft: Draft, defaults: &Settings) -> Result<RouteCommon> {
        let mapping = match (&draft.mapper, &draft.slot) {
            (Some(mapper), _) if mapper.value != "canonical" => {
                return Err(self.at(
                    mapper,
                    format!(
                        "mapper = \"{}\": the built-in mapper is \"canonical\"; a plugin is named with `slot` or `plugin`",
                        mapper.value
                    ),
                ));
            }
            (Some(mapper), _) if draft.slot.is_some() || draft.plugin.is_some() => {
                return Err(self.at(
                    mapper,
                    "a route runs either a plugin (`slot` or `plugin`) or the built-in mapper (`mapper`), not both",
                ));
            }
            (Some(mapper), _) if draft.acknowledgments.is_some() => {
                return Err(self.at(
                    mapper,
                    "the canonical mapper takes canonical JSON, which has no X12 acknowledgments",
                ));
            }
            (Some(mapper), _) if !draft.config.is_empty() => {
                return Err(self.at(
                    mapper,
                    "the canonical mapper reads no partner profile: remove `config`",
                ));
            }
            (Some(_), _) => Mapping::Canonical,
            (None, Some(slot)) => Mapping::Slot(self.name(slot, Slot::new)?),
            // A route runs the slot of its own name unless it says otherwise.
            (None, None) => Mapping::Slot(
                Slot::new(&name).map_err(|err| self.at_span(draft.span.as_ref(), err))?,
            ),
        };
        let plugin = match (&draft.plugin, &self.file) {
            (None, _) => None,
            (Some(plugin), None) => {
                return Err(self.at(
                    plugin,
                    "plugin: routes made through the API run a slot, not a file; upload the plugin to a slot and name it with `slot`",
                ));
            }
            (Some(plugin), Some(file)) => {
                let path = file.base.join(&plugin.value);
                if !path.is_file() {
                    return Err(self.at(
                        plugin,
                        format!(
                            "route {name}: no plugin at {}{}",
                            path.display(),
                            if path.extension().is_some_and(|e| e == "wasm") {
                                " (build the plugins with `millwright plugin build`)"
                            } else {
                                ""
                            }
                        ),
                    ));
                }
                Some(path)
            }
        };
        let mut profile = BTreeMap::new();
        for (key, value) in &draft.config {
            profile.insert(key.clone(), self.expand(value)?);
        }
        let settings = draft.settings.or(defaults);
        let instances = match settings.instances.as_ref() {
            None => InstancePolicy::Fresh,
            Some(value) => match value.value.as_str() {
                "fresh" => InstancePolicy::Fresh,
                "reuse" => InstancePolicy::Reuse {
                    recycle_after: settings.recycle_after.unwrap_or(1000).max(1),
                },
                other => {
                    return Err(self.at(
                        value,
                        format!("instances = \"{other}\": say \"fresh\" (a new instance per message, the default) or \"reuse\""),
                    ));
                }
            },
        };
        let span = draft.span.as_ref();
        let at_least_one = |value: Option<usize>, key: &str, default: usize| match value {
            Some(0) => Err(self.at_span(span, format!("route {name}: {key} must be at least 1"))),
            Some(v) => Ok(v),
            None => Ok(default),
        };
        let workers = at_least_one(
            settings.workers,
            "workers",
            std::thread::available_parallelism().map_or(1, |n| n.get()),
        )?;
        let batch = at_least_one(settings.batch, "batch", 128)?;
        let max_attempts =
            at_least_one(settings.max_attempts.map(|n| n as usize), "max_attempts", 5)? as u32;
        // A 32-bit WebAssembly memory holds 4 GiB at most; more could not be used, and would not fit the shift.
        let memory_mb = at_least_one(settings.memory_mb, "memory_mb", 128)?;
        if memory_mb > MAX_MEMORY_MB {
            return Err(self.at_span(
                span,
                format!(
                    "route {name}: memory_mb = {memory_mb} is more than a plugin's memory can hold (at most {MAX_MEMORY_MB}, 4 GiB)"
                ),
            ));
        }
        let memory_bytes = memory_mb << 20;
        let max_payload_bytes =
            at_least_one(settings.max_payload_bytes, "max_payload_bytes", 1 << 20)?;
        Ok(RouteCommon {
            name,
            mapping,
            plugin,
            config: profile,
            instances,
            workers,
            max_attempts,
            backoff: self
                .duration(settings.backoff.as_ref())?
                .unwrap_or(Duration::from_secs(1)),
            max_backoff: self
                .duration(settings.max_backoff.as_ref())?
                .unwrap_or(Duration::from_secs(60)),
            ack_wait: self
                .duration(settings.ack_wait.as_ref())?
                .unwrap_or(Duration::from_secs(30)),
            deadline: self
                .duration(settings.deadline.as_ref())?
                .unwrap_or(Duration::from_secs(2)),
            memory_bytes,
            max_payload_bytes,
            batch,
            breaker: BreakerSettings {
                suspend_after: settings
                    .suspend_after
                    .unwrap_or(breaker::DEFAULT_SUSPEND_AFTER),
                probe_backoff: self
                    .duration(settings.probe_backoff.as_ref())?
                    .unwrap_or(breaker::DEFAULT_PROBE_BACKOFF),
                max_probe_backoff: self
                    .duration(settings.max_probe_backoff.as_ref())?
                    .unwrap_or(breaker::DEFAULT_MAX_PROBE_BACKOFF),
            },
        })
    }

    /// `"30s"`, `"500ms"`, `"2m"`, `"1h 30m"`.
    pub(crate) fn duration(&self, value: Option<&At<String>>) -> Result<Option<Duration>> {
        let Some(value) = value else { return Ok(None) };
        super::parse_duration(&value.value)
            .map(Some)
            .map_err(|err| self.at(value, err))
    }

    /// Replaces each `${NAME}` with the environment variable `NAME`; an unset one is an error naming it. Only
    /// the file may do this: secrets are the host's, not something an API caller can read out.
    pub(crate) fn expand(&self, value: &At<String>) -> Result<String> {
        let text = &value.value;
        if !text.contains("${") {
            return Ok(text.clone());
        }
        let Some(file) = &self.file else {
            let name = text
                .split("${")
                .nth(1)
                .and_then(|rest| rest.split('}').next())
                .unwrap_or_default();
            return Err(self.at(
                value,
                format!(
                    "{name}: `${{...}}` secrets come from the host's environment and are for the configuration file only"
                ),
            ));
        };
        let mut out = String::with_capacity(text.len());
        let mut rest = text.as_str();
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let end = after
                .find('}')
                .ok_or_else(|| self.at(value, "`${` without a closing `}`"))?;
            let name = &after[..end];
            let secret = (file.env)(name).ok_or_else(|| {
                self.at(
                    value,
                    format!(
                        "the environment variable {name} is not set (the file asks for ${{{name}}})"
                    ),
                )
            })?;
            out.push_str(&secret);
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }
}

/// Why a route cannot join a tenant's others: route names and sources are unique per tenant, since they name
/// consumers, subjects and dead letters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Clash {
    /// Another route has this name.
    Name {
        /// The route that has it.
        other: Origin,
    },
    /// Another route reads this source.
    Source {
        /// The route that reads it.
        route: RouteName,
        /// Where that route is defined.
        other: Origin,
    },
}

/// Whether `route` can join `others` (a tenant's routes, excluding any it replaces): the one rule on names and
/// sources, for the file's routes among themselves and for a route sent to the API among those running.
pub fn claim<'a>(
    route: &RouteDef,
    others: impl IntoIterator<Item = &'a RouteDef>,
) -> Result<(), Clash> {
    for other in others {
        if other.common.name == route.common.name {
            return Err(Clash::Name {
                other: other.origin,
            });
        }
        if let (Some(ours), Some(theirs)) = (route.source(), other.source())
            && ours == theirs
        {
            return Err(Clash::Source {
                route: other.common.name.clone(),
                other: other.origin,
            });
        }
    }
    Ok(())
}

/// Checks a route sent to the admin API as JSON, by the same rules as the file's routes: `direction` and the
/// keys a route table of the file takes, with `name` from the request. API routes run a slot: `plugin` (a path
/// on the host) is refused, and so are `${NAME}` secrets, which are the file's alone.
pub fn api_route(name: &RouteName, body: &serde_json::Value) -> Result<RouteDef> {
    let draft = api_draft(name, body)?;
    Checker { file: None }.route(draft, &Settings::default())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn route(name: &str, body: serde_json::Value) -> Result<RouteDef> {
        api_route(&RouteName::new(name).expect("name"), &body)
    }

    #[test]
    fn an_api_route_is_checked_like_a_file_route() {
        let inbound = route(
            "supplier-856",
            json!({"direction": "inbound", "source": "supplier-856", "workers": 2, "config": {"timezone": "UTC"}}),
        )
        .expect("valid");
        assert_eq!(inbound.origin, Origin::Api);
        assert_eq!(
            inbound.common.slot().map(Slot::as_str),
            Some("supplier-856")
        );
        assert_eq!(inbound.common.workers, 2);
        assert_eq!(inbound.source().map(Source::as_str), Some("supplier-856"));
        let outbound = route(
            "erp",
            json!({"direction": "outbound", "events": ["ship-notice"], "target": {"subject": "erp"}, "slot": "erp-json"}),
        )
        .expect("valid");
        assert_eq!(outbound.common.slot().map(Slot::as_str), Some("erp-json"));
        assert!(matches!(outbound.kind, Kind::Outbound { .. }));
    }

    #[test]
    fn what_only_the_file_may_do_is_refused_through_the_api() {
        for (body, needle) in [
            (
                json!({"direction": "inbound", "source": "s", "plugin": "/etc/x.wasm"}),
                "run a slot, not a file",
            ),
            (
                json!({"direction": "inbound", "source": "s", "config": {"password": "${SECRET}"}}),
                "SECRET: `${...}` secrets come from the host's environment",
            ),
            (
                json!({"direction": "sideways", "source": "s"}),
                "say \"inbound\" or \"outbound\"",
            ),
            (
                json!({"direction": "inbound", "source": "s", "retries": 3}),
                "unknown field `retries`",
            ),
            (
                json!({"direction": "inbound", "source": "s.x"}),
                "source \"s.x\" is not allowed",
            ),
            (
                json!({"direction": "outbound", "events": ["shipnotice"], "target": {"subject": "erp"}}),
                "shipnotice is not a canonical event type",
            ),
            (
                json!({"direction": "inbound", "source": "s", "name": "other"}),
                "the route's address says",
            ),
            (
                json!({"direction": "inbound", "source": "s", "workers": 0}),
                "workers must be at least 1",
            ),
        ] {
            let err = format!("{:#}", route("s", body.clone()).expect_err("refused"));
            assert!(err.contains(needle), "{body}: {err}");
            assert!(!err.contains("line "), "no line for an API route: {err}");
        }
    }

    #[test]
    fn the_canonical_mapper_and_acknowledgments_are_read_with_their_defaults_and_checked() {
        let canonical = route(
            "canonical",
            json!({"direction": "inbound", "source": "canonical", "mapper": "canonical"}),
        )
        .expect("valid");
        assert_eq!(canonical.common.mapping, Mapping::Canonical);
        assert_eq!(canonical.common.slot(), None);
        let acks = |body: serde_json::Value| match route("s", body).expect("valid").kind {
            Kind::Inbound {
                acknowledgments, ..
            } => acknowledgments.expect("acknowledgments"),
            Kind::Outbound { .. } => panic!("inbound"),
        };
        let default = acks(
            json!({"direction": "inbound", "source": "s", "acknowledgments": {"target": "supplier-997"}}),
        );
        assert_eq!(default.kind, AckKind::Functional997);
        assert_eq!(default.target.as_str(), "supplier-997");
        assert_eq!(default.duplicate_window, DEFAULT_DUPLICATE_WINDOW);
        let set = acks(
            json!({"direction": "inbound", "source": "s", "acknowledgments": {"kind": "999", "target": "t", "duplicate_window": "30d"}}),
        );
        assert_eq!(set.kind, AckKind::Implementation999);
        assert_eq!(set.duplicate_window, Duration::from_secs(30 * 24 * 3600));
        for (body, needle) in [
            (
                json!({"direction": "inbound", "source": "s", "mapper": "x12"}),
                "the built-in mapper is \"canonical\"",
            ),
            (
                json!({"direction": "inbound", "source": "s", "mapper": "canonical", "slot": "s"}),
                "not both",
            ),
            (
                json!({"direction": "inbound", "source": "s", "mapper": "canonical", "acknowledgments": {"target": "t"}}),
                "acknowledgments",
            ),
            (
                json!({"direction": "inbound", "source": "s", "acknowledgments": {"kind": "855", "target": "t"}}),
                "say \"997\" (the default) or \"999\"",
            ),
            (
                json!({"direction": "inbound", "source": "s", "acknowledgments": {"kind": "997"}}),
                "acknowledgments need a `target`",
            ),
            (
                json!({"direction": "inbound", "source": "s", "acknowledgments": {"target": "a.b"}}),
                "a.b",
            ),
            (
                json!({"direction": "inbound", "source": "s", "acknowledgments": {"target": "t", "duplicate_window": "soon"}}),
                "is not a duration",
            ),
        ] {
            let err = format!("{:#}", route("s", body.clone()).expect_err("refused"));
            assert!(err.contains(needle), "{body}: {err}");
        }
    }

    #[test]
    fn a_route_cannot_take_a_name_or_a_source_another_has() {
        let a = route("a", json!({"direction": "inbound", "source": "s"})).expect("a");
        let b = route("b", json!({"direction": "inbound", "source": "s"})).expect("b");
        let c = route("a", json!({"direction": "inbound", "source": "t"})).expect("c");
        assert_eq!(
            claim(&b, [&a]),
            Err(Clash::Source {
                route: a.common.name.clone(),
                other: Origin::Api
            })
        );
        assert_eq!(claim(&c, [&a]), Err(Clash::Name { other: Origin::Api }));
        assert_eq!(claim(&b, [&c]), Ok(()));
    }

    #[test]
    fn an_https_target_takes_a_ca_and_oauth_through_the_api_as_text() {
        let pem = ca_pem();
        let https = route(
            "erp",
            json!({"direction": "outbound", "events": ["ship-notice"], "target": {
                "url": "https://erp.example/receipts", "ca": pem,
                "oauth": {"token_url": "https://login.example/token", "client_id": "mw", "client_secret": "s3cret", "scope": "receipts"}
            }}),
        )
        .expect("valid");
        let Kind::Outbound {
            target: Target::Http { ca, oauth, .. },
            ..
        } = &https.kind
        else {
            panic!("an HTTP target: {https:?}");
        };
        assert_eq!(ca.as_ref().map(|ca| ca.certs.len()), Some(1));
        let oauth = oauth.as_ref().expect("oauth");
        assert_eq!(oauth.token_url, "https://login.example/token");
        assert_eq!(oauth.scope.as_deref(), Some("receipts"));
        assert!(
            !format!("{oauth:?}").contains("s3cret"),
            "the secret is not printed"
        );
        let outbound = |target: serde_json::Value| {
            route(
                "erp",
                json!({"direction": "outbound", "events": ["ship-notice"], "target": target}),
            )
        };
        for (target, needle) in [
            (
                json!({"url": "https://erp.example/", "ca": "certs/erp-ca.pem"}),
                "target.ca: routes made through the API give the CA certificate as PEM text",
            ),
            (
                json!({"url": "https://erp.example/", "ca": "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"}),
                "target.ca",
            ),
            (
                json!({"url": "http://erp.example/", "ca": pem}),
                "is not https://",
            ),
            (
                json!({"subject": "erp", "ca": pem}),
                "a subject target takes only `subject`",
            ),
            (
                json!({"url": "ftp://erp.example/"}),
                "is http:// or https://",
            ),
            (
                json!({"url": "https://erp.example/", "oauth": {"token_url": "https://login.example/token", "client_id": "mw"}}),
                "target.oauth needs `client_secret`",
            ),
            (
                json!({"url": "https://erp.example/", "oauth": {"token_url": "https://login.example/token", "client_id": "mw", "client_secret": "${ERP_SECRET}"}}),
                "ERP_SECRET: `${...}` secrets come from the host's environment",
            ),
            (
                json!({"url": "https://erp.example/", "oauth": {"token_url": "login", "client_id": "mw", "client_secret": "x"}}),
                "target.oauth.token_url",
            ),
            (
                json!({"url": "https://erp.example/", "oauth": {"token_uri": "x"}}),
                "unknown field `token_uri`",
            ),
        ] {
            let err = format!("{:#}", outbound(target.clone()).expect_err("refused"));
            assert!(err.contains(needle), "{target}: {err}");
        }
    }

    #[test]
    fn a_file_routes_ca_is_read_relative_to_the_file_and_a_missing_one_names_the_key_and_file() {
        let dir = tempfile::tempdir().expect("tmp");
        std::fs::create_dir(dir.path().join("certs")).expect("mkdir");
        std::fs::write(dir.path().join("certs/erp-ca.pem"), ca_pem()).expect("write");
        let config = |ca: &str| {
            format!(
                "[tenants.acme]\n[[tenants.acme.outbound]]\nname = \"erp\"\nevents = [\"ship-notice\"]\nslot = \"erp\"\ntarget = {{ url = \"https://erp.example/\", ca = \"{ca}\", oauth = {{ token_url = \"https://login.example/token\", client_id = \"mw\", client_secret = \"${{ERP_SECRET}}\" }} }}\n"
            )
        };
        let path = dir.path().join("millwright.toml");
        let env = |name: &str| (name == "ERP_SECRET").then(|| "from-env".to_string());
        let parsed =
            crate::config::Config::parse(&config("certs/erp-ca.pem"), &path, &env).expect("valid");
        let Kind::Outbound {
            target: Target::Http { ca, oauth, .. },
            ..
        } = &parsed.tenants[0].routes[0].kind
        else {
            panic!("an HTTP target");
        };
        assert!(ca.is_some());
        assert_eq!(
            oauth.as_ref().map(|o| o.client_secret.as_str()),
            Some("from-env")
        );
        let err = format!(
            "{:#}",
            crate::config::Config::parse(&config("certs/missing.pem"), &path, &env)
                .expect_err("missing")
        );
        assert!(
            err.contains("line 6")
                && err.contains("target.ca")
                && err.contains("certs/missing.pem"),
            "{err}"
        );
    }

    /// A CA certificate made for the test, as PEM.
    fn ca_pem() -> String {
        let key = rcgen::KeyPair::generate().expect("key");
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params.self_signed(&key).expect("certificate").pem()
    }

    #[test]
    fn the_breaker_settings_are_read_with_their_defaults() {
        let inbound = |extra: serde_json::Value| {
            let mut body = json!({"direction": "inbound", "source": "s"});
            if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
                body.extend(extra.clone());
            }
            route("s", body)
        };
        let defaults = inbound(json!({})).expect("valid").common.breaker;
        assert_eq!(defaults, BreakerSettings::default());
        assert_eq!(defaults.suspend_after, 5);
        let set =
            inbound(json!({"suspend_after": 0, "probe_backoff": "5s", "max_probe_backoff": "1m"}))
                .expect("valid")
                .common
                .breaker;
        assert_eq!(
            (set.suspend_after, set.probe_backoff, set.max_probe_backoff),
            (0, Duration::from_secs(5), Duration::from_secs(60))
        );
        let err = format!(
            "{:#}",
            inbound(json!({"probe_backoff": "soon"})).expect_err("refused")
        );
        assert!(err.contains("\"soon\" is not a duration"), "{err}");
    }
}

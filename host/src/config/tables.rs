//! The route tables as read: the file's (each value with its place, for line numbers) and the API's (without),
//! generated from one list of keys, and the [`Draft`] both become before [`super::route::Checker`] checks them.

use std::collections::BTreeMap;
use std::ops::Range;

use anyhow::{Result, anyhow};
use serde::Deserialize;
use toml::Spanned;

use super::route::Direction;
use crate::names::RouteName;

/// A value sent to the API: no place in a file to point at.
#[derive(Debug, Clone, Deserialize)]
#[serde(transparent)]
pub(crate) struct Given<T>(T);

/// A value read from a table, with where it was when it came from the file.
#[derive(Debug, Clone)]
pub(crate) struct At<T> {
    pub(crate) value: T,
    pub(crate) span: Option<Range<usize>>,
}

impl<T> From<Spanned<T>> for At<T> {
    fn from(spanned: Spanned<T>) -> Self {
        let span = spanned.span();
        Self {
            value: spanned.into_inner(),
            span: Some(span),
        }
    }
}

impl<T> From<Given<T>> for At<T> {
    fn from(given: Given<T>) -> Self {
        Self {
            value: given.0,
            span: None,
        }
    }
}

/// The route settings: in `[defaults]` and in every route table; a route's own win.
#[derive(Debug, Clone, Default)]
pub(crate) struct Settings {
    pub(crate) instances: Option<At<String>>,
    pub(crate) recycle_after: Option<u32>,
    pub(crate) workers: Option<usize>,
    pub(crate) max_attempts: Option<u32>,
    pub(crate) backoff: Option<At<String>>,
    pub(crate) max_backoff: Option<At<String>>,
    pub(crate) ack_wait: Option<At<String>>,
    pub(crate) deadline: Option<At<String>>,
    pub(crate) memory_mb: Option<usize>,
    pub(crate) max_payload_bytes: Option<usize>,
    pub(crate) batch: Option<usize>,
    pub(crate) suspend_after: Option<u32>,
    pub(crate) probe_backoff: Option<At<String>>,
    pub(crate) max_probe_backoff: Option<At<String>>,
}

impl Settings {
    pub(crate) fn or(self, defaults: &Settings) -> Settings {
        let d = defaults.clone();
        Settings {
            instances: self.instances.or(d.instances),
            recycle_after: self.recycle_after.or(d.recycle_after),
            workers: self.workers.or(d.workers),
            max_attempts: self.max_attempts.or(d.max_attempts),
            backoff: self.backoff.or(d.backoff),
            max_backoff: self.max_backoff.or(d.max_backoff),
            ack_wait: self.ack_wait.or(d.ack_wait),
            deadline: self.deadline.or(d.deadline),
            memory_mb: self.memory_mb.or(d.memory_mb),
            max_payload_bytes: self.max_payload_bytes.or(d.max_payload_bytes),
            batch: self.batch.or(d.batch),
            suspend_after: self.suspend_after.or(d.suspend_after),
            probe_backoff: self.probe_backoff.or(d.probe_backoff),
            max_probe_backoff: self.max_probe_backoff.or(d.max_probe_backoff),
        }
    }
}

/// A route table of either source, ready for [`Checker::route`].
#[derive(Debug, Clone)]
pub(crate) struct Draft {
    pub(crate) direction: Direction,
    pub(crate) name: Option<At<String>>,
    pub(crate) source: Option<At<String>>,
    pub(crate) events: Option<At<Vec<String>>>,
    pub(crate) target: Option<At<TargetDraft>>,
    pub(crate) slot: Option<At<String>>,
    pub(crate) plugin: Option<At<String>>,
    pub(crate) config: BTreeMap<String, At<String>>,
    pub(crate) payload: Option<At<String>>,
    /// `"canonical"`: the built-in canonical mapper instead of a plugin.
    pub(crate) mapper: Option<At<String>>,
    pub(crate) acknowledgments: Option<At<AcksDraft>>,
    pub(crate) settings: Settings,
    /// Where the table starts, for the file's routes.
    pub(crate) span: Option<Range<usize>>,
}

/// An outbound route's `target` table.
#[derive(Debug, Clone, Default)]
pub(crate) struct TargetDraft {
    pub(crate) subject: Option<At<String>>,
    pub(crate) url: Option<At<String>>,
    pub(crate) method: Option<At<String>>,
    pub(crate) headers: BTreeMap<String, At<String>>,
    pub(crate) timeout: Option<At<String>>,
    /// A CA certificate trusted besides the system's roots: a PEM file (the file's routes) or PEM text.
    pub(crate) ca: Option<At<String>>,
    /// OAuth 2.0 client credentials for the target.
    pub(crate) oauth: Option<At<OAuthDraft>>,
}

/// An HTTP target's `oauth` table: the client-credentials grant.
#[derive(Debug, Clone, Default)]
pub(crate) struct OAuthDraft {
    pub(crate) token_url: Option<At<String>>,
    pub(crate) client_id: Option<At<String>>,
    pub(crate) client_secret: Option<At<String>>,
    pub(crate) scope: Option<At<String>>,
}

/// An inbound route's `acknowledgments` table.
#[derive(Debug, Clone, Default)]
pub(crate) struct AcksDraft {
    pub(crate) kind: Option<At<String>>,
    pub(crate) target: Option<At<String>>,
    pub(crate) duplicate_window: Option<At<String>>,
}

/// Declares the tables of one source: the file's (`Spanned`) or the API's (`Given`), from one list of keys, so
/// the two can never take different keys. Every table rejects keys it does not know. (serde's `flatten` cannot
/// be combined with rejecting unknown keys, so the settings are spelled out in each table.)
macro_rules! route_tables {
    ($wrap:ident: $(#[$settings_attr:meta])* $settings:ident, $inbound:ident, $outbound:ident, $target:ident, $oauth:ident, $acks:ident) => {
        /// The route settings as written.
        $(#[$settings_attr])*
        #[derive(Debug, Clone, Default, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub(crate) struct $settings {
            instances: Option<$wrap<String>>,
            recycle_after: Option<u32>,
            workers: Option<usize>,
            max_attempts: Option<u32>,
            backoff: Option<$wrap<String>>,
            max_backoff: Option<$wrap<String>>,
            ack_wait: Option<$wrap<String>>,
            deadline: Option<$wrap<String>>,
            memory_mb: Option<usize>,
            max_payload_bytes: Option<usize>,
            batch: Option<usize>,
            suspend_after: Option<u32>,
            probe_backoff: Option<$wrap<String>>,
            max_probe_backoff: Option<$wrap<String>>,
        }

        impl From<$settings> for Settings {
            fn from(s: $settings) -> Self {
                Settings {
                    instances: s.instances.map(At::from),
                    recycle_after: s.recycle_after,
                    workers: s.workers,
                    max_attempts: s.max_attempts,
                    backoff: s.backoff.map(At::from),
                    max_backoff: s.max_backoff.map(At::from),
                    ack_wait: s.ack_wait.map(At::from),
                    deadline: s.deadline.map(At::from),
                    memory_mb: s.memory_mb,
                    max_payload_bytes: s.max_payload_bytes,
                    batch: s.batch,
                    suspend_after: s.suspend_after,
                    probe_backoff: s.probe_backoff.map(At::from),
                    max_probe_backoff: s.max_probe_backoff.map(At::from),
                }
            }
        }

        /// An inbound route table as written.
        #[derive(Debug, Clone, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub(crate) struct $inbound {
            source: $wrap<String>,
            name: Option<$wrap<String>>,
            slot: Option<$wrap<String>>,
            plugin: Option<$wrap<String>>,
            #[serde(default)]
            config: BTreeMap<String, $wrap<String>>,
            payload: Option<$wrap<String>>,
            mapper: Option<$wrap<String>>,
            acknowledgments: Option<$wrap<$acks>>,
            instances: Option<$wrap<String>>,
            recycle_after: Option<u32>,
            workers: Option<usize>,
            max_attempts: Option<u32>,
            backoff: Option<$wrap<String>>,
            max_backoff: Option<$wrap<String>>,
            ack_wait: Option<$wrap<String>>,
            deadline: Option<$wrap<String>>,
            memory_mb: Option<usize>,
            max_payload_bytes: Option<usize>,
            batch: Option<usize>,
            suspend_after: Option<u32>,
            probe_backoff: Option<$wrap<String>>,
            max_probe_backoff: Option<$wrap<String>>,
        }

        /// An outbound route table as written.
        #[derive(Debug, Clone, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub(crate) struct $outbound {
            name: $wrap<String>,
            events: $wrap<Vec<String>>,
            target: $wrap<$target>,
            slot: Option<$wrap<String>>,
            plugin: Option<$wrap<String>>,
            #[serde(default)]
            config: BTreeMap<String, $wrap<String>>,
            instances: Option<$wrap<String>>,
            recycle_after: Option<u32>,
            workers: Option<usize>,
            max_attempts: Option<u32>,
            backoff: Option<$wrap<String>>,
            max_backoff: Option<$wrap<String>>,
            ack_wait: Option<$wrap<String>>,
            deadline: Option<$wrap<String>>,
            memory_mb: Option<usize>,
            max_payload_bytes: Option<usize>,
            batch: Option<usize>,
            suspend_after: Option<u32>,
            probe_backoff: Option<$wrap<String>>,
            max_probe_backoff: Option<$wrap<String>>,
        }

        /// An outbound route's `target` as written.
        #[derive(Debug, Clone, Default, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub(crate) struct $target {
            subject: Option<$wrap<String>>,
            url: Option<$wrap<String>>,
            method: Option<$wrap<String>>,
            #[serde(default)]
            headers: BTreeMap<String, $wrap<String>>,
            timeout: Option<$wrap<String>>,
            ca: Option<$wrap<String>>,
            oauth: Option<$wrap<$oauth>>,
        }

        /// An HTTP target's `oauth` as written.
        #[derive(Debug, Clone, Default, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub(crate) struct $oauth {
            token_url: Option<$wrap<String>>,
            client_id: Option<$wrap<String>>,
            client_secret: Option<$wrap<String>>,
            scope: Option<$wrap<String>>,
        }

        impl From<$oauth> for OAuthDraft {
            fn from(o: $oauth) -> Self {
                OAuthDraft {
                    token_url: o.token_url.map(At::from),
                    client_id: o.client_id.map(At::from),
                    client_secret: o.client_secret.map(At::from),
                    scope: o.scope.map(At::from),
                }
            }
        }

        /// An inbound route's `acknowledgments` as written.
        #[derive(Debug, Clone, Default, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub(crate) struct $acks {
            kind: Option<$wrap<String>>,
            target: Option<$wrap<String>>,
            duplicate_window: Option<$wrap<String>>,
        }

        impl From<$acks> for AcksDraft {
            fn from(a: $acks) -> Self {
                AcksDraft {
                    kind: a.kind.map(At::from),
                    target: a.target.map(At::from),
                    duplicate_window: a.duplicate_window.map(At::from),
                }
            }
        }

        impl From<$target> for TargetDraft {
            fn from(t: $target) -> Self {
                TargetDraft {
                    subject: t.subject.map(At::from),
                    url: t.url.map(At::from),
                    method: t.method.map(At::from),
                    headers: t.headers.into_iter().map(|(k, v)| (k, At::from(v))).collect(),
                    timeout: t.timeout.map(At::from),
                    ca: t.ca.map(At::from),
                    oauth: t.oauth.map(|oauth| {
                        let oauth = At::from(oauth);
                        At {
                            value: OAuthDraft::from(oauth.value),
                            span: oauth.span,
                        }
                    }),
                }
            }
        }

        impl $inbound {
            pub(crate) fn draft(self, span: Option<Range<usize>>) -> Draft {
                Draft {
                    direction: Direction::Inbound,
                    name: self.name.map(At::from),
                    source: Some(At::from(self.source)),
                    events: None,
                    target: None,
                    slot: self.slot.map(At::from),
                    plugin: self.plugin.map(At::from),
                    config: self.config.into_iter().map(|(k, v)| (k, At::from(v))).collect(),
                    payload: self.payload.map(At::from),
                    mapper: self.mapper.map(At::from),
                    acknowledgments: self.acknowledgments.map(|acks| {
                        let acks = At::from(acks);
                        At {
                            value: AcksDraft::from(acks.value),
                            span: acks.span,
                        }
                    }),
                    settings: Settings {
                        instances: self.instances.map(At::from),
                        recycle_after: self.recycle_after,
                        workers: self.workers,
                        max_attempts: self.max_attempts,
                        backoff: self.backoff.map(At::from),
                        max_backoff: self.max_backoff.map(At::from),
                        ack_wait: self.ack_wait.map(At::from),
                        deadline: self.deadline.map(At::from),
                        memory_mb: self.memory_mb,
                        max_payload_bytes: self.max_payload_bytes,
                        batch: self.batch,
                        suspend_after: self.suspend_after,
                        probe_backoff: self.probe_backoff.map(At::from),
                        max_probe_backoff: self.max_probe_backoff.map(At::from),
                    },
                    span,
                }
            }
        }

        impl $outbound {
            pub(crate) fn draft(self, span: Option<Range<usize>>) -> Draft {
                let target = At::from(self.target);
                Draft {
                    direction: Direction::Outbound,
                    name: Some(At::from(self.name)),
                    source: None,
                    events: Some(At::from(self.events)),
                    target: Some(At {
                        value: TargetDraft::from(target.value),
                        span: target.span,
                    }),
                    slot: self.slot.map(At::from),
                    plugin: self.plugin.map(At::from),
                    config: self.config.into_iter().map(|(k, v)| (k, At::from(v))).collect(),
                    payload: None,
                    mapper: None,
                    acknowledgments: None,
                    settings: Settings {
                        instances: self.instances.map(At::from),
                        recycle_after: self.recycle_after,
                        workers: self.workers,
                        max_attempts: self.max_attempts,
                        backoff: self.backoff.map(At::from),
                        max_backoff: self.max_backoff.map(At::from),
                        ack_wait: self.ack_wait.map(At::from),
                        deadline: self.deadline.map(At::from),
                        memory_mb: self.memory_mb,
                        max_payload_bytes: self.max_payload_bytes,
                        batch: self.batch,
                        suspend_after: self.suspend_after,
                        probe_backoff: self.probe_backoff.map(At::from),
                        max_probe_backoff: self.max_probe_backoff.map(At::from),
                    },
                    span,
                }
            }
        }
    };
}

route_tables!(Spanned: FileSettings, InboundFile, OutboundFile, TargetFile, OAuthFile, AcksFile);
route_tables!(Given: #[allow(dead_code, reason = "the API has no [defaults] table")] ApiSettings, InboundBody, OutboundBody, TargetBody, OAuthBody, AcksBody);

/// Reads a route sent to the admin API: `direction` (`"inbound"` or `"outbound"`) and the keys of a route table
/// of the file, as JSON. `name`, when the body gives one, must be the route's name from the request.
pub(crate) fn api_draft(name: &RouteName, body: &serde_json::Value) -> Result<Draft> {
    let serde_json::Value::Object(fields) = body else {
        return Err(anyhow!(
            "a route is a JSON object with `direction` and the route's keys"
        ));
    };
    let mut fields = fields.clone();
    let direction: Direction = match fields.remove("direction") {
        Some(value) => serde_json::from_value(value.clone())
            .map_err(|_| anyhow!("direction is {value}: say \"inbound\" or \"outbound\""))?,
        None => {
            return Err(anyhow!(
                "direction is missing: say \"inbound\" or \"outbound\""
            ));
        }
    };
    match fields.get("name") {
        Some(given) if given.as_str() != Some(name.as_str()) => {
            return Err(anyhow!(
                "name is {given} but the route's address says {:?}",
                name.as_str()
            ));
        }
        Some(_) => {}
        None => {
            fields.insert("name".into(), serde_json::Value::String(name.to_string()));
        }
    }
    let body = serde_json::Value::Object(fields);
    // An API route has no lines, so a value of the wrong type is named by its path (`workers`,
    // `target.headers.x`); without it the message would not say which of the route's keys is wrong.
    let unreadable = |err: serde_path_to_error::Error<serde_json::Error>| {
        let path = err.path().to_string();
        if path == "." {
            anyhow!("the route cannot be read: {}", err.inner())
        } else {
            anyhow!("the route cannot be read, at {path}: {}", err.inner())
        }
    };
    Ok(match direction {
        Direction::Inbound => serde_path_to_error::deserialize::<_, InboundBody>(body)
            .map_err(unreadable)?
            .draft(None),
        Direction::Outbound => serde_path_to_error::deserialize::<_, OutboundBody>(body)
            .map_err(unreadable)?
            .draft(None),
    })
}

//! The service's configuration: tenants, their routes and the NATS connection, read from one TOML file.
//!
//! `serve`, `dlq` and `bench` start here. The file is checked whole before anything runs: an unknown key, a
//! route whose plugin file is missing, two routes claiming one source, or a secret whose environment variable is
//! unset is an error naming the line, and nothing starts. Secrets never live in the file: any string in a
//! partner profile, an HTTP target or the NATS settings may say `${NAME}`, read from the environment at start.
//!
//! ```toml
//! [nats]
//! # url = "nats://nats-1:4222,nats://nats-2:4222"   # join a server or cluster; omitted: the embedded nats-server
//!
//! [tenants.acme]
//! lookups = { units = "master-data/units.csv" }
//!
//! [[tenants.acme.inbound]]
//! source = "supplier-856"                 # reads mw.acme.in.supplier-856
//! plugin = "plugins/x12-856-ship-notice.wasm"
//! config = { timezone = "America/Chicago" }
//!
//! [[tenants.acme.outbound]]
//! name = "erp"
//! events = ["ship-notice"]                # takes mw.acme.ev.ship-notice
//! plugin = "plugins/erp-expected-receipt.wasm"
//! target = { url = "https://erp.example/api/receipts", headers = { Authorization = "Bearer ${ERP_TOKEN}" } }
//! ```

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use serde::Deserialize;
use toml::Spanned;

use crate::canonical::EVENT_TYPES;
use crate::invoke::InstancePolicy;

/// The client port the embedded nats-server listens on, on 127.0.0.1, unless the file says otherwise.
pub const DEFAULT_EMBEDDED_PORT: u16 = 4222;

/// A checked configuration, with paths resolved against the file's directory and secrets read.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file it was read from.
    pub path: PathBuf,
    /// Where the host keeps its state (embedded nats-server store, compiled plugins), if the file says.
    pub data_dir: Option<PathBuf>,
    /// How to reach NATS.
    pub nats: Nats,
    /// The tenants, in file order.
    pub tenants: Vec<Tenant>,
}

/// How to reach NATS.
#[derive(Debug, Clone)]
pub struct Nats {
    /// A server or cluster to join (comma-separated URLs); `None` runs the embedded nats-server.
    pub url: Option<String>,
    /// A token for the server, if it wants one.
    pub token: Option<String>,
    /// The embedded nats-server's client port on 127.0.0.1.
    pub embedded_port: u16,
    /// JetStream's duplicate window on the host's streams: how long an output id is remembered for dedupe.
    pub duplicate_window: Duration,
    /// How long the host's streams keep messages (dead letters included).
    pub max_age: Duration,
}

impl Default for Nats {
    /// The embedded server on its default port; output ids remembered 2 minutes; messages kept 7 days.
    fn default() -> Self {
        Self {
            url: None,
            token: None,
            embedded_port: DEFAULT_EMBEDDED_PORT,
            duplicate_window: Duration::from_secs(120),
            max_age: Duration::from_secs(7 * 24 * 3600),
        }
    }
}

impl Nats {
    /// The URL clients use: the configured one, or the embedded server's.
    pub fn client_url(&self) -> String {
        self.url
            .clone()
            .unwrap_or_else(|| format!("nats://127.0.0.1:{}", self.embedded_port))
    }
}

/// One tenant: its master data and its routes.
#[derive(Debug, Clone)]
pub struct Tenant {
    /// The tenant's name: the second token of its subjects.
    pub name: String,
    /// Master-data tables: name and CSV file.
    pub lookups: Vec<(String, PathBuf)>,
    /// Partners' ed25519 public keys (name, base64) that may sign this tenant's plugins.
    pub signing_keys: Vec<(String, String)>,
    /// Whether an upload must carry a signature one of `signing_keys` verifies.
    pub require_signatures: bool,
    /// Routes from partner or system documents into canonical events.
    pub inbound: Vec<InboundRoute>,
    /// Routes from canonical events out to a target.
    pub outbound: Vec<OutboundRoute>,
}

/// What every route shares: its plugin, the profile the plugin reads, and how failures are handled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteCommon {
    /// The route's name: its durable consumer and its dead-letter subject `mw.<tenant>.dlq.<name>`.
    pub name: String,
    /// The plugin slot the route runs: its active version serves the route and is swapped live.
    pub slot: String,
    /// A plugin file that seeds the slot: registered as a version at start and activated when the slot has
    /// none active, or when this file's content was never activated from the configuration before.
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
    /// The line in the file where the route starts, for messages.
    pub line: usize,
}

/// A route from `mw.<tenant>.in.<source>` through an inbound mapper to `mw.<tenant>.ev.<event-type>`.
#[derive(Debug, Clone)]
pub struct InboundRoute {
    /// Plugin, profile, limits.
    pub common: RouteCommon,
    /// The source: the last token of the input subject.
    pub source: String,
    /// Whether payloads must be UTF-8 text (most EDI, CSV and JSON); `false` passes bytes as they are.
    pub text: bool,
}

/// A route from canonical events through an outbound mapper to a target.
#[derive(Debug, Clone)]
pub struct OutboundRoute {
    /// Plugin, profile, limits.
    pub common: RouteCommon,
    /// The canonical event types it takes.
    pub events: Vec<String>,
    /// Where the rendered documents go.
    pub target: Target,
}

/// Where an outbound route delivers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Published on `mw.<tenant>.out.<subject>`.
    Subject {
        /// The last token of the subject; also the target name the plugin is given.
        name: String,
    },
    /// POSTed (or another method) to an HTTP endpoint.
    Http {
        /// The target name the plugin is given.
        name: String,
        /// The endpoint.
        url: String,
        /// The method (POST unless set).
        method: String,
        /// Extra request headers (secrets from the environment).
        headers: Vec<(String, String)>,
        /// One request's timeout.
        timeout: Duration,
    },
}

impl Target {
    /// The name the plugin is given as its target.
    pub fn name(&self) -> &str {
        match self {
            Target::Subject { name } | Target::Http { name, .. } => name,
        }
    }
}

impl Config {
    /// Reads and checks the file at `path`.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the configuration {}", path.display()))?;
        Self::parse(&text, path, &|name| std::env::var(name).ok())
    }

    /// Checks `text` as if read from `path`, taking secrets from `env`.
    pub fn parse(text: &str, path: &Path, env: &dyn Fn(&str) -> Option<String>) -> Result<Self> {
        let file: File = toml::from_str(text)
            .map_err(|err| anyhow!("{}: {}", path.display(), err.to_string().trim_end()))?;
        let checker = Checker {
            text,
            path,
            base: path.parent().unwrap_or(Path::new(".")),
            env,
        };
        checker.check(file)
    }

    /// The tenant named `name`.
    pub fn tenant(&self, name: &str) -> Option<&Tenant> {
        self.tenants.iter().find(|t| t.name == name)
    }
}

/// A route sent to the admin API, checked by the same rules as the file's routes.
#[derive(Debug, Clone)]
pub enum ApiRoute {
    /// An inbound route.
    Inbound(InboundRoute),
    /// An outbound route.
    Outbound(OutboundRoute),
}

impl ApiRoute {
    /// What both kinds share.
    pub fn common(&self) -> &RouteCommon {
        match self {
            ApiRoute::Inbound(route) => &route.common,
            ApiRoute::Outbound(route) => &route.common,
        }
    }
}

/// Checks a route given to the admin API as JSON: `direction` (`"inbound"` or `"outbound"`) and the keys a
/// route table of the file takes, with `name` coming from the request. API routes run a slot: `plugin` (a path
/// on the host) is refused, and so are `${NAME}` secrets, which are the file's alone.
pub fn api_route(tenant: &str, name: &str, body: &serde_json::Value) -> Result<ApiRoute> {
    let serde_json::Value::Object(fields) = body else {
        bail!("a route is a JSON object with `direction` and the route's keys");
    };
    let mut fields = fields.clone();
    let direction = match fields.remove("direction") {
        Some(serde_json::Value::String(d)) if d == "inbound" || d == "outbound" => d,
        Some(other) => bail!("direction is {other}: say \"inbound\" or \"outbound\""),
        None => bail!("direction is missing: say \"inbound\" or \"outbound\""),
    };
    if fields.contains_key("plugin") {
        bail!(
            "plugin: routes made through the API run a slot, not a file; upload the plugin to a slot and name it with `slot`"
        );
    }
    if let Some(given) = fields.get("name")
        && given.as_str() != Some(name)
    {
        bail!("name is {given} but the route's address says {name:?}");
    }
    fields.insert("name".into(), serde_json::Value::String(name.into()));
    let route: toml::Value = serde_json::from_value(serde_json::Value::Object(fields))
        .map_err(|err| anyhow!("the route cannot be read: {err}"))?;
    let document = toml::Value::Table(toml::map::Map::from_iter([(
        "tenants".to_string(),
        toml::Value::Table(toml::map::Map::from_iter([(
            tenant.to_string(),
            toml::Value::Table(toml::map::Map::from_iter([(
                direction.clone(),
                toml::Value::Array(vec![route]),
            )])),
        )])),
    )]));
    let text =
        toml::to_string(&document).map_err(|err| anyhow!("the route cannot be read: {err}"))?;
    let place = Path::new("route");
    let no_secrets = |_: &str| None;
    let config = Config::parse(&text, place, &no_secrets).map_err(|err| {
        // The text is made here, so its line numbers mean nothing to the caller: keep the message.
        let message = err.to_string();
        let message = match message.strip_prefix("route, line ") {
            Some(rest) => rest.split_once(": ").map_or(rest, |(_, m)| m).to_string(),
            None => message.strip_prefix("route: ").unwrap_or(&message).to_string(),
        };
        match message.split_once(" is not set (") {
            Some((variable, _)) => anyhow!(
                "{}: `${{...}}` secrets come from the host's environment and are for the configuration file only",
                variable.trim_start_matches("the environment variable ")
            ),
            None => anyhow!("{message}"),
        }
    })?;
    let mut tenants = config.tenants;
    let tenant = tenants
        .pop()
        .ok_or_else(|| anyhow!("the route cannot be read"))?;
    match (
        tenant.inbound.into_iter().next(),
        tenant.outbound.into_iter().next(),
    ) {
        (Some(route), None) => Ok(ApiRoute::Inbound(route)),
        (None, Some(route)) => Ok(ApiRoute::Outbound(route)),
        _ => bail!("the route cannot be read"),
    }
}

// The file as written. Every table rejects keys it does not know.

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    data_dir: Option<Spanned<String>>,
    #[serde(default)]
    nats: NatsFile,
    #[serde(default)]
    defaults: Settings,
    #[serde(default)]
    tenants: BTreeMap<Spanned<String>, TenantFile>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct NatsFile {
    url: Option<Spanned<String>>,
    token: Option<Spanned<String>>,
    embedded_port: Option<u16>,
    duplicate_window: Option<Spanned<String>>,
    max_age: Option<Spanned<String>>,
}

/// Declares a table of the file that carries the route settings beside its own keys. (serde's `flatten` cannot
/// be combined with rejecting unknown keys, so the settings are spelled out in each table.)
macro_rules! with_settings {
    ($(#[$meta:meta])* struct $name:ident { $($(#[$fmeta:meta])* $field:ident: $ty:ty,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Deserialize)]
        #[serde(deny_unknown_fields)]
        struct $name {
            $($(#[$fmeta])* $field: $ty,)*
            instances: Option<Spanned<String>>,
            recycle_after: Option<u32>,
            workers: Option<usize>,
            max_attempts: Option<u32>,
            backoff: Option<Spanned<String>>,
            max_backoff: Option<Spanned<String>>,
            ack_wait: Option<Spanned<String>>,
            deadline: Option<Spanned<String>>,
            memory_mb: Option<usize>,
            max_payload_bytes: Option<usize>,
            batch: Option<usize>,
        }

        impl $name {
            /// The route settings written in this table.
            #[allow(dead_code, reason = "the defaults table is its own settings")]
            fn settings(&self) -> Settings {
                Settings {
                    instances: self.instances.clone(),
                    recycle_after: self.recycle_after,
                    workers: self.workers,
                    max_attempts: self.max_attempts,
                    backoff: self.backoff.clone(),
                    max_backoff: self.max_backoff.clone(),
                    ack_wait: self.ack_wait.clone(),
                    deadline: self.deadline.clone(),
                    memory_mb: self.memory_mb,
                    max_payload_bytes: self.max_payload_bytes,
                    batch: self.batch,
                }
            }
        }
    };
}

with_settings! {
    /// Route settings for every route, under `[defaults]`; a route's own keys win.
    #[derive(Default)]
    struct Settings {}
}

impl Settings {
    fn or(self, defaults: &Settings) -> Settings {
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
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct TenantFile {
    #[serde(default)]
    lookups: BTreeMap<String, Spanned<String>>,
    #[serde(default)]
    signing_keys: BTreeMap<String, Spanned<String>>,
    require_signatures: Option<Spanned<bool>>,
    #[serde(default)]
    inbound: Vec<Spanned<InboundFile>>,
    #[serde(default)]
    outbound: Vec<Spanned<OutboundFile>>,
}

with_settings! {
    struct InboundFile {
        source: Spanned<String>,
        name: Option<Spanned<String>>,
        slot: Option<Spanned<String>>,
        plugin: Option<Spanned<String>>,
        #[serde(default)]
        config: BTreeMap<String, Spanned<String>>,
        payload: Option<Spanned<String>>,
    }
}

with_settings! {
    struct OutboundFile {
        name: Spanned<String>,
        events: Spanned<Vec<String>>,
        slot: Option<Spanned<String>>,
        plugin: Option<Spanned<String>>,
        #[serde(default)]
        config: BTreeMap<String, Spanned<String>>,
        target: Spanned<TargetFile>,
    }
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct TargetFile {
    subject: Option<Spanned<String>>,
    url: Option<Spanned<String>>,
    method: Option<Spanned<String>>,
    #[serde(default)]
    headers: BTreeMap<String, Spanned<String>>,
    timeout: Option<Spanned<String>>,
}

struct Checker<'a> {
    text: &'a str,
    path: &'a Path,
    base: &'a Path,
    env: &'a dyn Fn(&str) -> Option<String>,
}

impl Checker<'_> {
    fn line(&self, offset: usize) -> usize {
        self.text[..offset.min(self.text.len())]
            .bytes()
            .filter(|&b| b == b'\n')
            .count()
            + 1
    }

    /// An error located at `span`'s line.
    fn at<T>(&self, span: &Spanned<T>, message: impl std::fmt::Display) -> anyhow::Error {
        anyhow!(
            "{}, line {}: {message}",
            self.path.display(),
            self.line(span.span().start)
        )
    }

    fn check(&self, file: File) -> Result<Config> {
        let data_dir = file.data_dir.map(|d| self.base.join(d.get_ref()));
        let defaults = Nats::default();
        let nats = Nats {
            url: file.nats.url.map(|u| self.expand(&u)).transpose()?,
            token: file.nats.token.map(|t| self.expand(&t)).transpose()?,
            embedded_port: file.nats.embedded_port.unwrap_or(defaults.embedded_port),
            duplicate_window: self
                .duration(file.nats.duplicate_window.as_ref())?
                .unwrap_or(defaults.duplicate_window),
            max_age: self
                .duration(file.nats.max_age.as_ref())?
                .unwrap_or(defaults.max_age),
        };
        let mut tenants = Vec::new();
        for (name, tenant) in file.tenants {
            self.token(&name, "a tenant name")?;
            tenants.push(self.tenant(name.into_inner(), tenant, &file.defaults)?);
        }
        Ok(Config {
            path: self.path.to_path_buf(),
            data_dir,
            nats,
            tenants,
        })
    }

    fn tenant(&self, name: String, file: TenantFile, defaults: &Settings) -> Result<Tenant> {
        let mut lookups = Vec::new();
        for (table, csv) in file.lookups {
            let path = self.base.join(csv.get_ref());
            if !path.is_file() {
                return Err(self.at(
                    &csv,
                    format!(
                        "tenant {name}'s lookup table {table}: no file at {}",
                        path.display()
                    ),
                ));
            }
            lookups.push((table, path));
        }
        let mut signing_keys = Vec::new();
        for (key_name, key) in &file.signing_keys {
            crate::registry::signature::check_public_key(key_name, key.get_ref()).map_err(
                |err| {
                    self.at(
                        key,
                        format!("tenant {name}'s signing key {key_name}: {err}"),
                    )
                },
            )?;
            signing_keys.push((key_name.clone(), key.get_ref().clone()));
        }
        let require_signatures = file
            .require_signatures
            .as_ref()
            .is_some_and(|r| *r.get_ref());
        if let Some(flag) = &file.require_signatures
            && *flag.get_ref()
            && signing_keys.is_empty()
        {
            return Err(self.at(
                flag,
                format!("tenant {name} requires signatures but has no signing_keys: add the partners' public keys"),
            ));
        }
        // Route names and sources are unique per tenant: they name consumers, subjects and dead letters.
        let mut names: HashMap<String, usize> = HashMap::new();
        let mut sources: HashMap<String, usize> = HashMap::new();
        let claim = |names: &mut HashMap<String, usize>, route: &str, line: usize| {
            if let Some(first) = names.insert(route.to_string(), line) {
                bail!(
                    "{}, line {line}: tenant {name} already has a route named {route} (line {first}); route names name consumers and dead-letter subjects, so each must be unique",
                    self.path.display()
                );
            }
            Ok(())
        };
        let mut inbound = Vec::new();
        for route in file.inbound {
            let line = self.line(route.span().start);
            let route = route.into_inner();
            self.token(&route.source, "a source")?;
            let route_name = route.name.as_ref().unwrap_or(&route.source);
            self.token(route_name, "a route name")?;
            if let Some(first) = sources.insert(route.source.get_ref().clone(), line) {
                return Err(self.at(
                    &route.source,
                    format!(
                        "tenant {name}: source {} is already claimed by the route at line {first}; one source feeds one route",
                        route.source.get_ref()
                    ),
                ));
            }
            claim(&mut names, route_name.get_ref(), line)?;
            let text = match route.payload.as_ref().map(|p| p.get_ref().as_str()) {
                None | Some("text") => true,
                Some("bytes") => false,
                Some(other) => {
                    return Err(self.at(
                        route.payload.as_ref().unwrap_or(&route.source),
                        format!(
                            "payload = \"{other}\": say \"text\" (UTF-8, the default) or \"bytes\""
                        ),
                    ));
                }
            };
            let settings = route.settings().or(defaults);
            let common = self.common(
                route_name.get_ref().clone(),
                route.slot.as_ref(),
                route.plugin.as_ref(),
                route.config,
                settings,
                line,
            )?;
            inbound.push(InboundRoute {
                common,
                source: route.source.into_inner(),
                text,
            });
        }
        let mut outbound = Vec::new();
        for route in file.outbound {
            let line = self.line(route.span().start);
            let route = route.into_inner();
            self.token(&route.name, "a route name")?;
            claim(&mut names, route.name.get_ref(), line)?;
            if route.events.get_ref().is_empty() {
                return Err(self.at(
                    &route.events,
                    "events is empty: name the canonical event types the route takes",
                ));
            }
            for event in route.events.get_ref() {
                if !EVENT_TYPES.contains(&event.as_str()) {
                    return Err(self.at(
                        &route.events,
                        format!(
                            "{event} is not a canonical event type; the types are: {}",
                            EVENT_TYPES.join(", ")
                        ),
                    ));
                }
            }
            let target = self.target(&route.target)?;
            let settings = route.settings().or(defaults);
            let common = self.common(
                route.name.get_ref().clone(),
                route.slot.as_ref(),
                route.plugin.as_ref(),
                route.config,
                settings,
                line,
            )?;
            outbound.push(OutboundRoute {
                common,
                events: route.events.into_inner(),
                target,
            });
        }
        Ok(Tenant {
            name,
            lookups,
            signing_keys,
            require_signatures,
            inbound,
            outbound,
        })
    }

    fn target(&self, target: &Spanned<TargetFile>) -> Result<Target> {
        let file = target.get_ref();
        match (&file.subject, &file.url) {
            (Some(subject), None) => {
                if file.method.is_some() || !file.headers.is_empty() || file.timeout.is_some() {
                    return Err(self.at(target, "method, headers and timeout are for HTTP targets; a subject target takes only `subject`"));
                }
                self.token(subject, "a target subject")?;
                Ok(Target::Subject {
                    name: subject.get_ref().clone(),
                })
            }
            (None, Some(url)) => {
                let url_text = self.expand(url)?;
                let uri: hyper::Uri = url_text
                    .parse()
                    .map_err(|err| self.at(url, format!("{url_text} is not a URL: {err}")))?;
                if uri.scheme_str() != Some("http") {
                    return Err(self.at(url, format!("{url_text}: only http:// targets are supported")));
                }
                let method = file
                    .method
                    .as_ref()
                    .map(|m| m.get_ref().to_ascii_uppercase())
                    .unwrap_or_else(|| "POST".into());
                if !["POST", "PUT", "PATCH"].contains(&method.as_str()) {
                    return Err(self.at(
                        file.method.as_ref().unwrap_or(url),
                        format!("method {method}: use POST, PUT or PATCH"),
                    ));
                }
                let mut headers = Vec::new();
                for (name, value) in &file.headers {
                    headers.push((name.clone(), self.expand(value)?));
                }
                let name = uri.host().unwrap_or("http").to_string();
                Ok(Target::Http {
                    name,
                    url: url_text,
                    method,
                    headers,
                    timeout: self
                        .duration(file.timeout.as_ref())?
                        .unwrap_or(Duration::from_secs(10)),
                })
            }
            _ => Err(self.at(
                target,
                "a target is either { subject = \"name\" } (published on mw.<tenant>.out.<name>) or { url = \"http://...\" }",
            )),
        }
    }

    fn common(
        &self,
        name: String,
        slot: Option<&Spanned<String>>,
        plugin: Option<&Spanned<String>>,
        config: BTreeMap<String, Spanned<String>>,
        settings: Settings,
        line: usize,
    ) -> Result<RouteCommon> {
        if let Some(slot) = slot {
            self.token(slot, "a slot name")?;
        }
        let slot = slot.map_or_else(|| name.clone(), |s| s.get_ref().clone());
        let path = match plugin {
            Some(plugin) => {
                let path = self.base.join(plugin.get_ref());
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
            None => None,
        };
        let mut profile = BTreeMap::new();
        for (key, value) in config {
            profile.insert(key, self.expand(&value)?);
        }
        let instances = match settings.instances.as_ref() {
            None => InstancePolicy::Fresh,
            Some(value) => match value.get_ref().as_str() {
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
        let at_least_one = |value: Option<usize>, key: &str, default: usize| match value {
            Some(0) => Err(anyhow!(
                "{}, line {line}: route {name}: {key} must be at least 1",
                self.path.display()
            )),
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
        let memory_bytes = at_least_one(settings.memory_mb, "memory_mb", 128)? << 20;
        let max_payload_bytes =
            at_least_one(settings.max_payload_bytes, "max_payload_bytes", 1 << 20)?;
        Ok(RouteCommon {
            name,
            slot,
            plugin: path,
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
            line,
        })
    }

    /// A name that becomes a subject token, a stream or a consumer name.
    fn token(&self, value: &Spanned<String>, what: &str) -> Result<()> {
        let text = value.get_ref();
        if what == "a route name" && text.starts_with('_') {
            return Err(self.at(
                value,
                format!("route names starting with '_' are the host's own (_unrouted): {text:?}"),
            ));
        }
        let ok = !text.is_empty()
            && text.len() <= 64
            && text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if ok {
            Ok(())
        } else {
            Err(self.at(
                value,
                format!("{what} must be 1 to 64 letters, digits, '-' or '_' (it names NATS subjects and streams): {text:?}"),
            ))
        }
    }

    /// `"30s"`, `"500ms"`, `"2m"`, `"1h 30m"`.
    fn duration(&self, value: Option<&Spanned<String>>) -> Result<Option<Duration>> {
        let Some(value) = value else { return Ok(None) };
        let parsed: jiff::SignedDuration = value.get_ref().parse().map_err(|err| {
            self.at(
                value,
                format!(
                    "{:?} is not a duration like \"30s\", \"500ms\" or \"2m\": {err}",
                    value.get_ref()
                ),
            )
        })?;
        Duration::try_from(parsed)
            .map(Some)
            .map_err(|_| self.at(value, "a duration cannot be negative"))
    }

    /// Replaces each `${NAME}` with the environment variable `NAME`; an unset one is an error naming it.
    fn expand(&self, value: &Spanned<String>) -> Result<String> {
        let text = value.get_ref();
        let mut out = String::with_capacity(text.len());
        let mut rest = text.as_str();
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let end = after
                .find('}')
                .ok_or_else(|| self.at(value, "`${` without a closing `}`"))?;
            let name = &after[..end];
            let secret = (self.env)(name).ok_or_else(|| {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Checks `text` as a file in a temporary directory holding an (empty) plugin file `p.wasm`.
    fn check(text: &str, env: &[(&str, &str)]) -> Result<Config> {
        let dir = tempfile::tempdir().expect("tmp");
        std::fs::write(dir.path().join("p.wasm"), b"").expect("plugin file");
        std::fs::write(dir.path().join("units.csv"), b"x12,rec20\n").expect("csv");
        let env: HashMap<String, String> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::parse(text, &dir.path().join("millwright.toml"), &|name| {
            env.get(name).cloned()
        })
    }

    fn error(text: &str) -> String {
        format!("{:#}", check(text, &[]).expect_err("an error"))
    }

    const GOOD: &str = r#"
[nats]
url = "nats://${NATS_HOST}:4222"

[tenants.acme]
lookups = { units = "units.csv" }

[[tenants.acme.inbound]]
source = "supplier-856"
plugin = "p.wasm"
config = { timezone = "America/Chicago", password = "${PARTNER_SECRET}" }
instances = "reuse"
recycle_after = 50
backoff = "250ms"

[[tenants.acme.outbound]]
name = "erp"
events = ["ship-notice", "goods-receipt"]
plugin = "p.wasm"
target = { url = "http://erp.local:8080/api/receipts", headers = { Authorization = "Bearer ${ERP_TOKEN}" } }
"#;

    #[test]
    fn a_complete_file_reads_with_secrets_from_the_environment() {
        let config = check(
            GOOD,
            &[
                ("NATS_HOST", "nats-1"),
                ("PARTNER_SECRET", "s3cret"),
                ("ERP_TOKEN", "t0ken"),
            ],
        )
        .expect("valid");
        assert_eq!(config.nats.url.as_deref(), Some("nats://nats-1:4222"));
        let acme = config.tenant("acme").expect("acme");
        let inbound = &acme.inbound[0];
        assert_eq!(inbound.source, "supplier-856");
        assert_eq!(
            inbound.common.name, "supplier-856",
            "the route is named after its source"
        );
        assert_eq!(inbound.common.config["password"], "s3cret");
        assert_eq!(
            inbound.common.instances,
            InstancePolicy::Reuse { recycle_after: 50 }
        );
        assert_eq!(inbound.common.backoff, Duration::from_millis(250));
        assert_eq!(inbound.common.max_attempts, 5);
        let outbound = &acme.outbound[0];
        assert_eq!(outbound.events, ["ship-notice", "goods-receipt"]);
        match &outbound.target {
            Target::Http {
                url,
                headers,
                method,
                ..
            } => {
                assert_eq!(url, "http://erp.local:8080/api/receipts");
                assert_eq!(method, "POST");
                assert_eq!(
                    headers,
                    &[("Authorization".to_string(), "Bearer t0ken".to_string())]
                );
            }
            other => panic!("an HTTP target, got {other:?}"),
        }
    }

    #[test]
    fn an_unset_secret_names_the_variable_and_the_line() {
        let err = format!(
            "{:#}",
            check(GOOD, &[("NATS_HOST", "n"), ("PARTNER_SECRET", "s")]).expect_err("unset")
        );
        assert!(err.contains("ERP_TOKEN is not set"), "{err}");
        assert!(err.contains("line 20"), "{err}");
    }

    #[test]
    fn an_unknown_key_is_named_with_its_line() {
        let err = error(
            "[tenants.acme]\n\n[[tenants.acme.inbound]]\nsource = \"s\"\nplugin = \"p.wasm\"\nworkerz = 2\n",
        );
        assert!(err.contains("workerz"), "{err}");
        assert!(err.contains("line 6"), "{err}");
        let err = error("[nats]\nurl = \"nats://x\"\nport = 1\n");
        assert!(err.contains("port") && err.contains("line 3"), "{err}");
    }

    #[test]
    fn a_missing_plugin_is_named_with_its_line() {
        let err = error(
            "[tenants.acme]\n[[tenants.acme.inbound]]\nsource = \"s\"\nplugin = \"missing.wasm\"\n",
        );
        assert!(err.contains("line 4"), "{err}");
        assert!(err.contains("missing.wasm"), "{err}");
        assert!(err.contains("millwright plugin build"), "{err}");
    }

    #[test]
    fn two_routes_claiming_one_source_name_both_lines() {
        let err = error(
            "[tenants.acme]\n[[tenants.acme.inbound]]\nsource = \"s\"\nplugin = \"p.wasm\"\n\n[[tenants.acme.inbound]]\nname = \"other\"\nsource = \"s\"\nplugin = \"p.wasm\"\n",
        );
        assert!(err.contains("line 8"), "{err}");
        assert!(err.contains("line 2"), "{err}");
        assert!(err.contains("source s is already claimed"), "{err}");
    }

    #[test]
    fn names_that_would_break_subjects_are_refused() {
        let err = error("[tenants.\"ac.me\"]\n");
        assert!(
            err.contains("tenant name") && err.contains("ac.me"),
            "{err}"
        );
        let err = error(
            "[tenants.acme]\n[[tenants.acme.inbound]]\nsource = \"in>\"\nplugin = \"p.wasm\"\n",
        );
        assert!(err.contains("a source") && err.contains("line 3"), "{err}");
    }

    #[test]
    fn outbound_routes_take_known_event_types_and_one_kind_of_target() {
        let err = error(
            "[tenants.acme]\n[[tenants.acme.outbound]]\nname = \"erp\"\nevents = [\"shipnotice\"]\nplugin = \"p.wasm\"\ntarget = { subject = \"erp\" }\n",
        );
        assert!(
            err.contains("shipnotice is not a canonical event type"),
            "{err}"
        );
        let err = error(
            "[tenants.acme]\n[[tenants.acme.outbound]]\nname = \"erp\"\nevents = [\"ship-notice\"]\nplugin = \"p.wasm\"\ntarget = { subject = \"erp\", url = \"http://x\" }\n",
        );
        assert!(err.contains("either"), "{err}");
        let err = error(
            "[tenants.acme]\n[[tenants.acme.outbound]]\nname = \"erp\"\nevents = [\"ship-notice\"]\nplugin = \"p.wasm\"\ntarget = { url = \"ftp://x/y\" }\n",
        );
        assert!(err.contains("only http://"), "{err}");
    }

    #[test]
    fn durations_and_counts_are_checked() {
        let err = error(
            "[tenants.acme]\n[[tenants.acme.inbound]]\nsource = \"s\"\nplugin = \"p.wasm\"\nack_wait = \"soon\"\n",
        );
        assert!(
            err.contains("\"soon\" is not a duration") && err.contains("line 5"),
            "{err}"
        );
        let err = error(
            "[tenants.acme]\n[[tenants.acme.inbound]]\nsource = \"s\"\nplugin = \"p.wasm\"\nworkers = 0\n",
        );
        assert!(err.contains("workers must be at least 1"), "{err}");
    }
}

//! The service's configuration: tenants, their routes and the NATS connection, read from one TOML file.
//!
//! `serve`, `dlq` and `bench` start here. The file is checked whole before anything runs: an unknown key, a
//! route whose plugin file is missing, two routes claiming one source, or a secret whose environment variable is
//! unset is an error naming the line, and nothing starts. Routes are checked by [`route`], which checks the
//! routes sent to the admin API too. Secrets never live in the file: any string in a
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

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use serde::Deserialize;
use toml::Spanned;

mod quotas;
pub mod route;
mod tables;

use crate::names::{Source, TargetName, Tenant};
pub use route::{
    AckKind, Acknowledgments, Clash, Direction, Kind, Mapping, Origin, RouteCommon, RouteDef,
    Target,
};
use route::{At, Checker, FileContext, FileSettings, InboundFile, OutboundFile, Settings};

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
    /// The admin API's certificate and key (`[admin]`), resolved against the file's directory.
    pub admin_tls: Option<crate::admin::AdminTls>,
    /// The tenants, in file order.
    pub tenants: Vec<TenantConfig>,
}

/// How to reach NATS.
#[derive(Debug, Clone)]
pub struct Nats {
    /// A server or cluster to join (comma-separated URLs); `None` runs the embedded nats-server.
    pub url: Option<String>,
    /// A token for the server, if it wants one.
    pub token: Option<String>,
    /// A user and password for the server (`user`, `password`).
    pub user: Option<(String, String)>,
    /// An nkey seed (`SU...`) the host signs the server's challenge with.
    pub nkey_seed: Option<String>,
    /// A `.creds` file (a user JWT and its nkey seed), as `nsc` writes them.
    pub creds: Option<PathBuf>,
    /// A PEM CA certificate the server's TLS certificate is checked against (besides the system's roots).
    pub ca: Option<PathBuf>,
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
            user: None,
            nkey_seed: None,
            creds: None,
            ca: None,
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

/// One tenant: its master data, its partners' keys and its routes.
#[derive(Debug, Clone)]
pub struct TenantConfig {
    /// The tenant's name: the second token of its subjects.
    pub name: Tenant,
    /// Master-data tables: name and CSV file.
    pub lookups: Vec<(String, PathBuf)>,
    /// Partners' ed25519 public keys (name, base64) that may sign this tenant's plugins.
    pub signing_keys: Vec<(String, String)>,
    /// Whether an upload must carry a signature one of `signing_keys` verifies.
    pub require_signatures: bool,
    /// Its routes, inbound then outbound, in file order.
    pub routes: Vec<RouteDef>,
    /// The business rules it runs (`[tenants.<t>.rules]`).
    pub rules: RuleSettings,
    /// Whether the host records the tenant's trace (`trace = false` turns it off; on by default).
    pub trace: bool,
    /// What the tenant may use (`[tenants.<t>.quotas]`).
    pub quotas: Quotas,
    /// The partners that reach NATS themselves (`[tenants.<t>.partners.<name>]`): `millwright nats-config` gives
    /// each a user of its own, and the host keeps a durable consumer per partner and target.
    pub partners: Vec<Partner>,
}

/// A partner that publishes to some sources and consumes some targets over NATS itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partner {
    /// Its name: its NATS user is `<tenant>-<name>`.
    pub name: Source,
    /// The sources it publishes to (`mw.<t>.in.<source>`).
    pub sources: Vec<Source>,
    /// The targets it consumes (`mw.<t>.out.<target>`), each through its own durable consumer.
    pub targets: Vec<TargetName>,
}

impl Partner {
    /// The durable consumer through which it reads `target`: `partner-<name>-<target>` on `MW_<t>_OUT`.
    pub fn durable(&self, target: &str) -> String {
        format!("partner-{}-{target}", self.name)
    }
}

pub use crate::rules::settings::RuleSettings;
pub use quotas::Quotas;

/// Parses a duration as the configuration writes them: `"30s"`, `"500ms"`, `"2m"`, `"1h 30m"`, `"30d"`. Days
/// (and weeks) are 24 hours (and 7 days): a window of `"30d"` means what it says.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let parsed: jiff::SignedDuration = text
        .parse()
        .or_else(|err| {
            text.parse::<jiff::Span>()
                .and_then(|span| span.to_duration(jiff::SpanRelativeTo::days_are_24_hours()))
                .map_err(|_| err)
        })
        .map_err(|err| {
            format!("{text:?} is not a duration like \"30s\", \"500ms\", \"2m\" or \"30d\": {err}")
        })?;
    Duration::try_from(parsed).map_err(|_| "a duration cannot be negative".to_string())
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
            file: Some(FileContext {
                text,
                path,
                base: path.parent().unwrap_or(Path::new(".")),
                env,
            }),
        };
        check(&checker, path, file)
    }

    /// The tenant named `name`.
    pub fn tenant(&self, name: &str) -> Option<&TenantConfig> {
        self.tenants.iter().find(|t| t.name == name)
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
    admin: AdminFile,
    #[serde(default)]
    defaults: FileSettings,
    #[serde(default)]
    tenants: BTreeMap<Spanned<String>, TenantFile>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct NatsFile {
    url: Option<Spanned<String>>,
    token: Option<Spanned<String>>,
    user: Option<Spanned<String>>,
    password: Option<Spanned<String>>,
    nkey_seed: Option<Spanned<String>>,
    creds: Option<Spanned<String>>,
    ca: Option<Spanned<String>>,
    embedded_port: Option<u16>,
    duplicate_window: Option<Spanned<String>>,
    max_age: Option<Spanned<String>>,
}

/// `[admin]`: the admin API's HTTPS certificate and key, PEM files relative to the configuration.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct AdminFile {
    tls_cert: Option<Spanned<String>>,
    tls_key: Option<Spanned<String>>,
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
    #[serde(default)]
    rules: RuleSettings,
    trace: Option<bool>,
    #[serde(default)]
    partners: BTreeMap<Spanned<String>, PartnerFile>,
    #[serde(default)]
    quotas: quotas::QuotasFile,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct PartnerFile {
    #[serde(default)]
    sources: Vec<Spanned<String>>,
    #[serde(default)]
    targets: Vec<Spanned<String>>,
}

fn check(checker: &Checker<'_>, path: &Path, file: File) -> Result<Config> {
    let base = path.parent().unwrap_or(Path::new("."));
    let data_dir = file.data_dir.map(|d| base.join(d.get_ref()));
    let defaults = Nats::default();
    let expand =
        |value: Option<Spanned<String>>| value.map(|v| checker.expand(&At::from(v))).transpose();
    let duration = |value: Option<Spanned<String>>| checker.duration(value.map(At::from).as_ref());
    let file_at = |value: Option<Spanned<String>>, what: &str| -> Result<Option<PathBuf>> {
        let Some(value) = value else { return Ok(None) };
        let at = At::from(value);
        let path = base.join(&at.value);
        if !path.is_file() {
            return Err(checker.at(&at, format!("[nats] {what}: no file at {}", path.display())));
        }
        Ok(Some(path))
    };
    let password_at = file.nats.password.as_ref().map(|p| At::from(p.clone()));
    let user = match (expand(file.nats.user)?, expand(file.nats.password)?) {
        (Some(user), Some(password)) => Some((user, password)),
        (None, None) => None,
        (Some(_), None) => bail!(
            "{}: [nats] user needs its password (\"${{NATS_PASSWORD}}\")",
            path.display()
        ),
        (None, Some(_)) => {
            let at = password_at.expect("a password was given");
            return Err(checker.at(&at, "[nats] password needs its user".to_string()));
        }
    };
    let token = expand(file.nats.token)?;
    let nkey_seed = expand(file.nats.nkey_seed)?;
    let creds = file_at(file.nats.creds, "creds")?;
    let ca = file_at(file.nats.ca, "ca")?;
    let ways = [
        token.is_some(),
        user.is_some(),
        nkey_seed.is_some(),
        creds.is_some(),
    ];
    if ways.iter().filter(|w| **w).count() > 1 {
        bail!(
            "{}: [nats] takes one way to authenticate: token, user and password, nkey_seed, or creds",
            path.display()
        );
    }
    if let Some(seed) = &nkey_seed
        && !(seed.starts_with("SU") && seed.len() > 50)
    {
        bail!(
            "{}: [nats] nkey_seed is not a user seed (it starts with SU, as `nsc` or `nk -gen user` write it)",
            path.display()
        );
    }
    let nats = Nats {
        url: expand(file.nats.url)?,
        token,
        user,
        nkey_seed,
        creds,
        ca,
        embedded_port: file.nats.embedded_port.unwrap_or(defaults.embedded_port),
        duplicate_window: duration(file.nats.duplicate_window)?
            .unwrap_or(defaults.duplicate_window),
        max_age: duration(file.nats.max_age)?.unwrap_or(defaults.max_age),
    };
    // Both or neither; the files themselves are read when the API binds, where the flags' are read too.
    let admin_tls = match (file.admin.tls_cert, file.admin.tls_key) {
        (None, None) => None,
        (Some(cert), Some(key)) => Some(crate::admin::AdminTls {
            cert: base.join(cert.get_ref()),
            key: base.join(key.get_ref()),
        }),
        (Some(one), None) | (None, Some(one)) => {
            return Err(checker.at(
                &At::from(one),
                "[admin] needs both tls_cert and tls_key to serve HTTPS",
            ));
        }
    };
    let route_defaults = Settings::from(file.defaults);
    let mut tenants = Vec::new();
    for (name, tenant) in file.tenants {
        let name = At::from(name);
        let name = checker.name(&name, Tenant::new)?;
        tenants.push(check_tenant(checker, base, name, tenant, &route_defaults)?);
    }
    Ok(Config {
        path: path.to_path_buf(),
        data_dir,
        nats,
        admin_tls,
        tenants,
    })
}

fn check_tenant(
    checker: &Checker<'_>,
    base: &Path,
    name: Tenant,
    file: TenantFile,
    defaults: &Settings,
) -> Result<TenantConfig> {
    let mut lookups = Vec::new();
    for (table, csv) in file.lookups {
        let path = base.join(csv.get_ref());
        if !path.is_file() {
            return Err(checker.at(
                &At::from(csv),
                format!(
                    "tenant {name}'s lookup table {table}: no file at {}",
                    path.display()
                ),
            ));
        }
        lookups.push((table, path));
    }
    let mut signing_keys = Vec::new();
    for (key_name, key) in file.signing_keys {
        let key = At::from(key);
        crate::registry::signature::check_public_key(&key_name, &key.value).map_err(|err| {
            checker.at(
                &key,
                format!("tenant {name}'s signing key {key_name}: {err}"),
            )
        })?;
        signing_keys.push((key_name, key.value));
    }
    let require_signatures = file.require_signatures.map(At::from);
    if let Some(flag) = &require_signatures
        && flag.value
        && signing_keys.is_empty()
    {
        return Err(checker.at(
            flag,
            format!("tenant {name} requires signatures but has no signing_keys: add the partners' public keys"),
        ));
    }
    let quotas = file.quotas.check().map_err(|err| {
        let file = checker.file.as_ref().map(|f| f.path.display().to_string());
        anyhow!("{}: tenant {name}'s {err}", file.unwrap_or_default())
    })?;
    let drafts = file
        .inbound
        .into_iter()
        .map(|r| {
            let span = r.span();
            r.into_inner().draft(Some(span))
        })
        .chain(file.outbound.into_iter().map(|r| {
            let span = r.span();
            r.into_inner().draft(Some(span))
        }));
    let mut routes: Vec<RouteDef> = Vec::new();
    for draft in drafts {
        let source = draft.source.clone();
        let span = draft.span.clone();
        let route = checker.route(draft, defaults)?;
        quotas
            .check_route(&route, &routes)
            .map_err(|err| checker.at_span(span.as_ref(), format!("tenant {name}: {err}")))?;
        match route::claim(&route, &routes) {
            Ok(()) => {}
            Err(Clash::Name { other }) => {
                return Err(checker.at_span(
                    span.as_ref(),
                    format!(
                        "tenant {name} already has a route named {} ({}); route names name consumers and dead-letter subjects, so each must be unique",
                        route.common.name,
                        origin_text(other)
                    ),
                ));
            }
            Err(Clash::Source { other, .. }) => {
                let source = source.unwrap_or_else(|| At {
                    value: String::new(),
                    span: None,
                });
                return Err(checker.at(
                    &source,
                    format!(
                        "tenant {name}: source {} is already claimed by the route at {}; one source feeds one route",
                        source.value,
                        origin_text(other)
                    ),
                ));
            }
        }
        routes.push(route);
    }
    let partners = check_partners(checker, &name, file.partners)?;
    Ok(TenantConfig {
        quotas,
        name,
        lookups,
        signing_keys,
        require_signatures: require_signatures.is_some_and(|r| r.value),
        routes,
        rules: file.rules,
        trace: file.trace.unwrap_or(true),
        partners,
    })
}

fn check_partners(
    checker: &Checker<'_>,
    tenant: &Tenant,
    file: BTreeMap<Spanned<String>, PartnerFile>,
) -> Result<Vec<Partner>> {
    let mut partners = Vec::new();
    for (name, partner) in file {
        let name = At::from(name);
        let name = Source::new(&name.value).map_err(|err| {
            checker.at(
                &name,
                format!("tenant {tenant}'s partner {:?}: {err}", name.value),
            )
        })?;
        let mut sources = Vec::new();
        for source in partner.sources {
            let source = At::from(source);
            sources.push(Source::new(&source.value).map_err(|err| {
                checker.at(
                    &source,
                    format!(
                        "tenant {tenant}'s partner {name}: source {:?}: {err}",
                        source.value
                    ),
                )
            })?);
        }
        let mut targets = Vec::new();
        for target in partner.targets {
            let target = At::from(target);
            targets.push(TargetName::new(&target.value).map_err(|err| {
                checker.at(
                    &target,
                    format!(
                        "tenant {tenant}'s partner {name}: target {:?}: {err}",
                        target.value
                    ),
                )
            })?);
        }
        if sources.is_empty() && targets.is_empty() {
            bail!(
                "tenant {tenant}'s partner {name} has neither sources nor targets: name what it publishes to and consumes"
            );
        }
        partners.push(Partner {
            name,
            sources,
            targets,
        });
    }
    Ok(partners)
}

fn origin_text(origin: Origin) -> String {
    match origin {
        Origin::Config { line } => format!("line {line}"),
        Origin::Api => "the API".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::invoke::InstancePolicy;

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
    fn a_route_over_its_tenants_quotas_stops_the_start_naming_the_route_and_the_quota() {
        let route = "[[tenants.acme.inbound]]\nsource = \"s\"\nplugin = \"p.wasm\"\n";
        let quotas = "[tenants.acme.quotas]\nmemory_mb = 64\nworkers = 3\n";
        let err = error(&format!("{quotas}\n{route}memory_mb = 128\n"));
        assert!(
            err.contains("line") && err.contains("route s") && err.contains("quotas.memory_mb"),
            "{err}"
        );
        let roomy = quotas.replace("memory_mb = 64", "memory_mb = 128");
        let err = error(&format!(
            "{roomy}\n{route}workers = 2\n\n{}workers = 2\n",
            route.replace("\"s\"", "\"t\"")
        ));
        assert!(
            err.contains("route t") && err.contains("quotas.workers"),
            "{err}"
        );
        let config = check(&format!("{quotas}\n{route}memory_mb = 64\n"), &[]).expect("within");
        assert_eq!(
            config.tenant("acme").expect("acme").quotas.memory_bytes,
            64 << 20
        );
        let err = error("[tenants.acme.quotas]\nworkers = 0\n");
        assert!(
            err.contains("tenant acme's quotas.workers must be at least 1"),
            "{err}"
        );
    }

    #[test]
    fn nats_takes_one_way_to_authenticate_and_partners_name_what_they_reach() {
        let err = error("[nats]\ntoken = \"t\"\nuser = \"u\"\npassword = \"p\"\n");
        assert!(err.contains("one way to authenticate"), "{err}");
        let err = error("[nats]\nuser = \"u\"\n");
        assert!(err.contains("user needs its password"), "{err}");
        let err = error("[nats]\ncreds = \"missing.creds\"\n");
        assert!(
            err.contains("line 2") && err.contains("no file at"),
            "{err}"
        );
        let err = error("[nats]\nnkey_seed = \"UABC\"\n");
        assert!(err.contains("not a user seed"), "{err}");
        let err = error("[tenants.acme.partners.allegheny]\nsources = [\"bad subject\"]\n");
        assert!(
            err.contains("partner allegheny") && err.contains("line 2"),
            "{err}"
        );
        let err = error("[tenants.acme.partners.allegheny]\n");
        assert!(err.contains("neither sources nor targets"), "{err}");
        let config = check(
            "[nats]\nuser = \"millwright\"\npassword = \"${PW}\"\n\n[tenants.acme.partners.allegheny]\nsources = [\"supplier-856\"]\ntargets = [\"asn-out\"]\n",
            &[("PW", "secret")],
        )
        .expect("valid");
        assert_eq!(
            config.nats.user,
            Some(("millwright".into(), "secret".into()))
        );
        let partner = &config.tenant("acme").expect("acme").partners[0];
        assert_eq!(partner.durable("asn-out"), "partner-allegheny-asn-out");
    }

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
        let inbound = &acme.routes[0];
        assert_eq!(inbound.source().map(|s| s.as_str()), Some("supplier-856"));
        assert_eq!(inbound.origin, Origin::Config { line: 8 });
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
        let Kind::Outbound { events, target } = &acme.routes[1].kind else {
            panic!("an outbound route: {:?}", acme.routes[1]);
        };
        assert_eq!(events, &["ship-notice", "goods-receipt"]);
        match target {
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
        assert!(err.contains("tenant \"ac.me\" is not allowed"), "{err}");
        let err = error(
            "[tenants.acme]\n[[tenants.acme.inbound]]\nsource = \"in>\"\nplugin = \"p.wasm\"\n",
        );
        assert!(
            err.contains("source \"in>\" is not allowed") && err.contains("line 3"),
            "{err}"
        );
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
        assert!(err.contains("is http:// or https://"), "{err}");
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
        let err = error(&format!(
            "[tenants.acme]\n[[tenants.acme.inbound]]\nsource = \"s\"\nplugin = \"p.wasm\"\nmemory_mb = {}\n",
            usize::MAX >> 10
        ));
        assert!(
            err.contains("is more than a plugin's memory can hold (at most 4096, 4 GiB)"),
            "{err}"
        );
    }
}

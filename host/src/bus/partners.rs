//! Partners that reach NATS themselves: the nats-server accounts block `millwright nats-config` writes, and the
//! durable consumer the host keeps per partner and target.
//!
//! A partner named in `[tenants.<t>.partners.<name>]` gets the user `<t>-<name>`, whose password the server
//! reads from the environment variable `<T>_<NAME>_NATS_PASSWORD` (upper case, `-` as `_`), so no secret is in the
//! file. It may publish only to `mw.<t>.in.<source>` for its sources (and take the replies of its publish
//! acknowledgments and fetches on its own inbox prefix, `_INBOX.<t>.<name>`, which its client sets, so it can
//! listen to no other client's replies), and read `mw.<t>.out.<target>` for its targets only through its durable
//! consumers `partner-<name>-<target>` on `MW_<t>_OUT`: look them up, fetch, acknowledge. The host makes those
//! consumers at start, before anything is sent to them, so nothing published while a partner is offline is lost.
//! Everything else is denied. The host's own user, `millwright` (`MILLWRIGHT_NATS_PASSWORD`), may do everything.

use std::fmt::Write as _;

use anyhow::{Context, Result};
use async_nats::jetstream::{self, consumer};

use super::{StreamKind, stream_name};
use crate::config::{Config, Partner};
use crate::names::Tenant;

/// The account every user of the generated block belongs to.
pub const ACCOUNT: &str = "MILLWRIGHT";
/// The host's user in the generated block.
pub const HOST_USER: &str = "millwright";

/// The environment variable the server reads a partner's password from.
pub fn password_variable(tenant: &str, partner: &str) -> String {
    format!("{tenant}_{partner}_NATS_PASSWORD")
        .to_ascii_uppercase()
        .replace(['-', '.'], "_")
}

/// The inbox prefix a partner's client sets (async-nats `custom_inbox_prefix`, nats.go `CustomInboxPrefix`): the
/// only replies it may receive are on subjects under it.
pub fn inbox_prefix(tenant: &str, partner: &str) -> String {
    format!("_INBOX.{tenant}.{partner}")
}

/// The subjects a partner may publish to: its sources, and the JetStream API calls of its own consumers.
pub fn publish_allowed(tenant: &Tenant, partner: &Partner) -> Vec<String> {
    let stream = stream_name(tenant, StreamKind::Out);
    let mut subjects: Vec<String> = partner
        .sources
        .iter()
        .map(|source| format!("mw.{tenant}.in.{source}"))
        .collect();
    for target in &partner.targets {
        let durable = partner.durable(target);
        subjects.push(format!("$JS.API.CONSUMER.INFO.{stream}.{durable}"));
        subjects.push(format!("$JS.API.CONSUMER.MSG.NEXT.{stream}.{durable}"));
        subjects.push(format!("$JS.ACK.{stream}.{durable}.>"));
    }
    subjects
}

/// The nats-server `accounts` block for every partner of `config`, with the host's user.
pub fn accounts_block(config: &Config) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# nats-server accounts for {} (written by `millwright nats-config`).\n\
         # Passwords come from the server's environment: set each variable below before starting it.\n\
         accounts {{\n  {ACCOUNT} {{\n    jetstream: enabled\n    users: [\n      \
         # The Millwright hosts: everything.\n      \
         {{ user: \"{HOST_USER}\", password: $MILLWRIGHT_NATS_PASSWORD }}",
        config.path.display()
    );
    for tenant in &config.tenants {
        for partner in &tenant.partners {
            let quoted = |subjects: &[String]| {
                subjects
                    .iter()
                    .map(|s| format!("\"{s}\""))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let sources: Vec<&str> = partner.sources.iter().map(|s| s.as_str()).collect();
            let targets: Vec<&str> = partner.targets.iter().map(|t| t.as_str()).collect();
            let _ = writeln!(
                out,
                "      # Tenant {tenant}'s partner {name}: publishes to {sources}; consumes {targets};\n      \
                 # its client sets the inbox prefix {inbox}.\n      \
                 {{ user: \"{tenant}-{name}\", password: ${variable}, permissions: {{\n          \
                 publish: {{ allow: [{publish}] }}\n          \
                 subscribe: {{ allow: [\"{inbox}.>\"] }}\n      }} }}",
                inbox = inbox_prefix(&tenant.name, &partner.name),
                tenant = tenant.name,
                name = partner.name,
                sources = if sources.is_empty() {
                    "nothing".into()
                } else {
                    sources.join(", ")
                },
                targets = if targets.is_empty() {
                    "nothing".into()
                } else {
                    targets.join(", ")
                },
                variable = password_variable(&tenant.name, &partner.name),
                publish = quoted(&publish_allowed(&tenant.name, partner)),
            );
        }
    }
    out.push_str("    ]\n  }\n}\n");
    out
}

/// Makes (or keeps) each partner's durable consumer per target on `MW_<t>_OUT`, filtered to the target.
pub async fn ensure_consumers(
    js: &jetstream::Context,
    tenant: &Tenant,
    partners: &[Partner],
) -> Result<()> {
    if partners.iter().all(|p| p.targets.is_empty()) {
        return Ok(());
    }
    let name = stream_name(tenant, StreamKind::Out);
    let stream = js
        .get_stream(&name)
        .await
        .with_context(|| format!("opening the stream {name}"))?;
    for partner in partners {
        for target in &partner.targets {
            let durable = partner.durable(target);
            stream
                .get_or_create_consumer(
                    &durable,
                    consumer::pull::Config {
                        durable_name: Some(durable.clone()),
                        filter_subject: format!("mw.{tenant}.out.{target}"),
                        ack_policy: consumer::AckPolicy::Explicit,
                        description: Some(format!(
                            "Millwright: partner {} reads target {target}",
                            partner.name
                        )),
                        ..Default::default()
                    },
                )
                .await
                .with_context(|| {
                    format!("creating partner {}'s consumer {durable}", partner.name)
                })?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::names::{Source, TargetName};

    #[test]
    fn a_partner_may_publish_to_its_sources_and_read_its_own_consumers() {
        let tenant = Tenant::new("acme").expect("tenant");
        let partner = Partner {
            name: Source::new("allegheny").expect("name"),
            sources: vec![Source::new("supplier-856").expect("source")],
            targets: vec![TargetName::new("asn-out").expect("target")],
        };
        assert_eq!(
            publish_allowed(&tenant, &partner),
            [
                "mw.acme.in.supplier-856",
                "$JS.API.CONSUMER.INFO.MW_acme_OUT.partner-allegheny-asn-out",
                "$JS.API.CONSUMER.MSG.NEXT.MW_acme_OUT.partner-allegheny-asn-out",
                "$JS.ACK.MW_acme_OUT.partner-allegheny-asn-out.>",
            ]
        );
        assert_eq!(
            password_variable("acme", "allegheny-steel"),
            "ACME_ALLEGHENY_STEEL_NATS_PASSWORD"
        );
    }
}

//! What one tenant may use (`[tenants.<t>.quotas]`), each with a default: the bounds the API holds a tenant
//! admin's or a partner's requests to, as the file's own routes are held to them at start.

use std::time::Duration;

use serde::Deserialize;

use super::RouteDef;

/// A tenant's quotas.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quotas {
    /// The largest plugin upload (`plugin_size_mb`, default 64).
    pub plugin_bytes: usize,
    /// Versions kept per slot (`versions_per_slot`, default 50): an upload beyond them is refused until one is
    /// deleted.
    pub versions_per_slot: usize,
    /// The most memory a route may give its plugin (`memory_mb`, default 512).
    pub memory_bytes: usize,
    /// The longest deadline per message a route may set (`deadline`, default 30 s).
    pub deadline: Duration,
    /// Concurrent invocations: the workers of all the tenant's routes together (`workers`, default 32).
    pub workers: usize,
    /// The largest master-data table (`lookup_size_mb`, default 16).
    pub lookup_bytes: usize,
}

impl Default for Quotas {
    fn default() -> Self {
        Self {
            plugin_bytes: 64 << 20,
            versions_per_slot: 50,
            memory_bytes: 512 << 20,
            deadline: Duration::from_secs(30),
            workers: 32,
            lookup_bytes: 16 << 20,
        }
    }
}

/// `[tenants.<t>.quotas]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct QuotasFile {
    plugin_size_mb: Option<usize>,
    versions_per_slot: Option<usize>,
    memory_mb: Option<usize>,
    deadline: Option<String>,
    workers: Option<usize>,
    lookup_size_mb: Option<usize>,
}

impl QuotasFile {
    /// The quotas, or what is wrong with them.
    pub(crate) fn check(self) -> Result<Quotas, String> {
        let defaults = Quotas::default();
        let positive = |value: Option<usize>, key: &str, default: usize| match value {
            Some(0) => Err(format!("quotas.{key} must be at least 1")),
            Some(v) => Ok(v),
            None => Ok(default),
        };
        let megabytes = |value: Option<usize>, key: &str, default: usize| {
            positive(value, key, default >> 20).and_then(|mb| {
                mb.checked_mul(1 << 20)
                    .filter(|_| mb <= 4096)
                    .ok_or_else(|| format!("quotas.{key} = {mb} is over 4096 (4 GiB)"))
            })
        };
        let deadline = match self.deadline {
            Some(text) => {
                let d = super::parse_duration(&text)
                    .map_err(|err| format!("quotas.deadline: {err}"))?;
                if d.is_zero() {
                    return Err("quotas.deadline must be more than zero".into());
                }
                d
            }
            None => defaults.deadline,
        };
        Ok(Quotas {
            plugin_bytes: megabytes(self.plugin_size_mb, "plugin_size_mb", defaults.plugin_bytes)?,
            versions_per_slot: positive(
                self.versions_per_slot,
                "versions_per_slot",
                defaults.versions_per_slot,
            )?,
            memory_bytes: megabytes(self.memory_mb, "memory_mb", defaults.memory_bytes)?,
            deadline,
            workers: positive(self.workers, "workers", defaults.workers)?,
            lookup_bytes: megabytes(self.lookup_size_mb, "lookup_size_mb", defaults.lookup_bytes)?,
        })
    }
}

impl Quotas {
    /// Whether `route`, beside the tenant's `others`, stays within the quotas; the message names the setting and
    /// the quota.
    pub fn check_route(&self, route: &RouteDef, others: &[RouteDef]) -> Result<(), String> {
        let common = &route.common;
        let name = &common.name;
        if common.memory_bytes > self.memory_bytes {
            return Err(format!(
                "route {name}: memory_mb = {} is over the tenant's quota of {} (quotas.memory_mb)",
                common.memory_bytes >> 20,
                self.memory_bytes >> 20
            ));
        }
        if common.deadline > self.deadline {
            return Err(format!(
                "route {name}: a deadline of {:?} is over the tenant's quota of {:?} (quotas.deadline)",
                common.deadline, self.deadline
            ));
        }
        let workers: usize = others
            .iter()
            .filter(|other| other.common.name != *name)
            .map(|other| other.common.workers)
            .sum::<usize>()
            + common.workers;
        if workers > self.workers {
            return Err(format!(
                "route {name}: workers = {} would make {workers} concurrent invocations for the tenant, over its quota of {} (quotas.workers)",
                common.workers, self.workers
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotas_read_with_their_defaults_and_refuse_nonsense() {
        assert_eq!(QuotasFile::default().check(), Ok(Quotas::default()));
        let file: QuotasFile =
            toml::from_str("memory_mb = 64\ndeadline = \"5s\"\nworkers = 4").expect("toml");
        let quotas = file.check().expect("quotas");
        assert_eq!(quotas.memory_bytes, 64 << 20);
        assert_eq!(quotas.deadline, Duration::from_secs(5));
        assert_eq!(quotas.workers, 4);
        for (text, says) in [
            ("workers = 0", "quotas.workers must be at least 1"),
            ("memory_mb = 5000", "quotas.memory_mb = 5000 is over 4096"),
            ("deadline = \"soon\"", "quotas.deadline:"),
        ] {
            let file: QuotasFile = toml::from_str(text).expect("toml");
            let err = file.check().expect_err(text);
            assert!(err.contains(says), "{text}: {err}");
        }
        assert!(toml::from_str::<QuotasFile>("cpu = 2").is_err());
    }
}

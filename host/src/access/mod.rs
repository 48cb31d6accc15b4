//! Who may do what through the admin API: tokens with roles, the policy that reads them, and the audit log.
//!
//! - [`tokens`]: random 256-bit tokens, shown once and stored only as their sha256 in the JetStream KV bucket
//!   `MW_TOKENS`, so every host of a fleet knows them; each host follows the bucket, so a revocation is honoured
//!   everywhere as soon as the change arrives (milliseconds), and a token unknown to this host's copy is looked
//!   up in the bucket before it is refused. The token in `MILLWRIGHT_ADMIN_TOKEN` stays the bootstrap
//!   platform-admin.
//! - [`policy`]: one function, [`permits`], decides from the caller's [`Grant`] and the operation's path
//!   template whether a call may run; an operation it does not know is for platform admins only, so a new route
//!   is closed until the policy names it. Listings a role sees part of are narrowed by their handlers.
//! - [`audit`]: every change made through the API (who, what, when, outcome) on the stream `MW_AUDIT`.

pub mod audit;
mod policy;
pub mod tokens;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::names::{Slot, Tenant};
pub use policy::permits;
pub use tokens::{Created, Tokens};

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// Everything, tenants and tokens included.
    PlatformAdmin,
    /// Everything inside one tenant: routes, slots, versions, lookups, rules, dead letters, its partner and
    /// viewer tokens.
    TenantAdmin,
    /// Upload, list, activate and roll back versions of some slots of one tenant, and read the dead letters of
    /// the routes that run them.
    Partner,
    /// Reads everything of one tenant, or of all; changes nothing.
    Viewer,
}

impl Role {
    /// The role as written in tokens, the CLI and the API: `platform-admin`, `tenant-admin` ...
    pub fn as_str(self) -> &'static str {
        match self {
            Role::PlatformAdmin => "platform-admin",
            Role::TenantAdmin => "tenant-admin",
            Role::Partner => "partner",
            Role::Viewer => "viewer",
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Role {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "platform-admin" => Ok(Role::PlatformAdmin),
            "tenant-admin" => Ok(Role::TenantAdmin),
            "partner" => Ok(Role::Partner),
            "viewer" => Ok(Role::Viewer),
            other => Err(format!(
                "{other:?} is not a role: use platform-admin, tenant-admin, partner or viewer"
            )),
        }
    }
}

/// A role and what it covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Grant {
    /// The role.
    pub role: Role,
    /// The tenant it covers (none for a platform admin, or a viewer of every tenant).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub tenant: Option<Tenant>,
    /// A partner's slots.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<String>)]
    pub slots: Vec<Slot>,
}

impl Grant {
    /// The bootstrap token's grant.
    pub fn platform_admin() -> Self {
        Self {
            role: Role::PlatformAdmin,
            tenant: None,
            slots: Vec::new(),
        }
    }

    /// Whether the role and what it covers go together; the message says what to change.
    pub fn check(&self) -> Result<(), String> {
        match (self.role, &self.tenant, self.slots.is_empty()) {
            (Role::PlatformAdmin, None, true) => Ok(()),
            (Role::PlatformAdmin, _, _) => Err(
                "a platform-admin token covers every tenant: give it no tenant and no slots".into(),
            ),
            (Role::TenantAdmin, Some(_), true) => Ok(()),
            (Role::TenantAdmin, None, _) => Err("a tenant-admin token needs its tenant".into()),
            (Role::TenantAdmin, Some(_), false) => Err(
                "a tenant-admin token covers all of its tenant's slots: give it no slots".into(),
            ),
            (Role::Partner, Some(_), false) => Ok(()),
            (Role::Partner, None, _) => Err("a partner token needs its tenant".into()),
            (Role::Partner, Some(_), true) => {
                Err("a partner token needs the slots it may upload to (one or more)".into())
            }
            (Role::Viewer, _, true) => Ok(()),
            (Role::Viewer, _, false) => Err(
                "a viewer token reads all of its tenant (or of every tenant): give it no slots"
                    .into(),
            ),
        }
    }

    /// Whether it covers `tenant` at all.
    pub fn covers(&self, tenant: &str) -> bool {
        match (&self.role, &self.tenant) {
            (Role::PlatformAdmin, _) | (Role::Viewer, None) => true,
            (_, Some(own)) => own.as_str() == tenant,
            (_, None) => false,
        }
    }

    /// Whether it covers every tenant (a platform admin, a viewer of all).
    pub fn covers_all(&self) -> bool {
        self.tenant.is_none() && matches!(self.role, Role::PlatformAdmin | Role::Viewer)
    }

    /// Whether a partner's grant names `slot` (any other role: whether it covers the tenant).
    pub fn covers_slot(&self, slot: &str) -> bool {
        self.role != Role::Partner || self.slots.iter().any(|s| s.as_str() == slot)
    }
}

/// The caller of an admin request, as its token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The token's id (`bootstrap` for the environment's token).
    pub id: String,
    /// The token's name.
    pub name: String,
    /// What it may do.
    pub grant: Grant,
}

impl Principal {
    /// The bootstrap platform-admin (`MILLWRIGHT_ADMIN_TOKEN`).
    pub fn bootstrap() -> Self {
        Self {
            id: "bootstrap".into(),
            name: "platform-admin".into(),
            grant: Grant::platform_admin(),
        }
    }

    /// How records name the caller: the token's name and role, e.g. `supplier-a (partner)`.
    pub fn who(&self) -> String {
        if self.id == "bootstrap" {
            return self.name.clone();
        }
        format!("{} ({})", self.name, self.grant.role)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(role: Role, tenant: Option<&str>, slots: &[&str]) -> Grant {
        Grant {
            role,
            tenant: tenant.map(|t| Tenant::new(t).expect("tenant")),
            slots: slots.iter().map(|s| Slot::new(s).expect("slot")).collect(),
        }
    }

    #[test]
    fn roles_go_with_what_they_cover() {
        assert!(grant(Role::PlatformAdmin, None, &[]).check().is_ok());
        assert!(
            grant(Role::PlatformAdmin, Some("acme"), &[])
                .check()
                .is_err()
        );
        assert!(grant(Role::TenantAdmin, Some("acme"), &[]).check().is_ok());
        assert!(grant(Role::TenantAdmin, None, &[]).check().is_err());
        assert!(grant(Role::Partner, Some("acme"), &["x"]).check().is_ok());
        assert!(grant(Role::Partner, Some("acme"), &[]).check().is_err());
        assert!(grant(Role::Viewer, None, &[]).check().is_ok());
        assert!(grant(Role::Viewer, Some("acme"), &["x"]).check().is_err());
    }

    #[test]
    fn roles_read_and_print_the_same() {
        for role in [
            Role::PlatformAdmin,
            Role::TenantAdmin,
            Role::Partner,
            Role::Viewer,
        ] {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
            assert_eq!(
                serde_json::to_value(role).expect("json"),
                serde_json::json!(role.as_str())
            );
        }
        assert!("admin".parse::<Role>().is_err());
    }
}

//! The one place that says which role may call which admin operation.
//!
//! An operation is its method and its path template as the router matched it (`/v1/tenants/{tenant}/rules`);
//! the tenant and slot come from the path. Templates the policy does not name are for platform admins only.

use axum::http::Method;

use super::{Grant, Role};

/// Whether `grant` may call `method` on `template` for the path's `tenant` and `slot`. Listings a role sees
/// only part of (tenants, a partner's slots and dead letters, tokens, the audit log) are allowed here and
/// narrowed by their handlers.
pub fn permits(
    grant: &Grant,
    method: &Method,
    template: &str,
    tenant: Option<&str>,
    slot: Option<&str>,
) -> bool {
    if grant.role == Role::PlatformAdmin {
        return true;
    }
    let read = method == Method::GET || method == Method::HEAD;
    match template {
        "/v1/tenants" => read && grant.role != Role::Partner,
        // A tenant admin makes, lists and revokes its own tenant's partner and viewer tokens (the handlers
        // check the tenant), and reads its tenant's audit log.
        "/v1/tokens" | "/v1/tokens/{id}" => grant.role == Role::TenantAdmin,
        "/v1/audit" => grant.role == Role::TenantAdmin && read,
        _ => {
            let Some(rest) = template.strip_prefix("/v1/tenants/{tenant}") else {
                return false;
            };
            let Some(tenant) = tenant else {
                return false;
            };
            if !grant.covers(tenant) {
                return false;
            }
            match grant.role {
                Role::PlatformAdmin => true,
                // Making and removing the tenant itself is the platform's.
                Role::TenantAdmin => !rest.is_empty() || read,
                Role::Viewer => read,
                Role::Partner => partner(grant, method, read, rest, slot),
            }
        }
    }
}

fn partner(grant: &Grant, method: &Method, read: bool, rest: &str, slot: Option<&str>) -> bool {
    let own_slot = slot.is_some_and(|s| grant.covers_slot(s));
    match rest {
        "/plugins" | "/dead-letters" | "/dead-letters/{sequence}" => read,
        "/plugins/{slot}" | "/plugins/{slot}/versions/{sha256}" => read && own_slot,
        "/plugins/{slot}/versions" | "/plugins/{slot}/activate" | "/plugins/{slot}/rollback" => {
            method == Method::POST && own_slot
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::names::{Slot, Tenant};

    fn partner_of(slots: &[&str]) -> Grant {
        Grant {
            role: Role::Partner,
            tenant: Some(Tenant::new("acme").expect("tenant")),
            slots: slots.iter().map(|s| Slot::new(s).expect("slot")).collect(),
        }
    }

    #[test]
    fn a_partner_reaches_its_own_slots_only() {
        let grant = partner_of(&["supplier-856"]);
        let versions = "/v1/tenants/{tenant}/plugins/{slot}/versions";
        assert!(permits(
            &grant,
            &Method::POST,
            versions,
            Some("acme"),
            Some("supplier-856")
        ));
        assert!(!permits(
            &grant,
            &Method::POST,
            versions,
            Some("acme"),
            Some("erp-out")
        ));
        assert!(!permits(
            &grant,
            &Method::POST,
            versions,
            Some("other"),
            Some("supplier-856")
        ));
        assert!(!permits(
            &grant,
            &Method::DELETE,
            "/v1/tenants/{tenant}/plugins/{slot}/versions/{sha256}",
            Some("acme"),
            Some("supplier-856")
        ));
        assert!(!permits(
            &grant,
            &Method::GET,
            "/v1/tenants/{tenant}/routes",
            Some("acme"),
            None
        ));
    }

    #[test]
    fn an_operation_the_policy_does_not_name_is_the_platforms() {
        let admin = Grant {
            role: Role::TenantAdmin,
            tenant: Some(Tenant::new("acme").expect("tenant")),
            slots: Vec::new(),
        };
        assert!(!permits(&admin, &Method::GET, "/v1/new-thing", None, None));
        assert!(permits(
            &Grant::platform_admin(),
            &Method::GET,
            "/v1/new-thing",
            None,
            None
        ));
    }
}

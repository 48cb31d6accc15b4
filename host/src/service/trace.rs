//! The trace's verb: a business key's timeline — every input, event, output, acknowledgment, dead letter,
//! quarantine, release and alert that touched it — read from the tenant's trace stream ([`crate::trace`]).

use super::{Service, ServiceError};
use crate::names::Tenant;
use crate::trace::{Key, Timeline};

impl Service {
    /// The timeline of `key` (`po:<n>`, `shipment:<id>`, `lot:<n>`, `wo:<n>`, `cid:<id>` or a bare correlation
    /// id), oldest first. A malformed key is invalid; a key never seen has an empty timeline.
    pub async fn trace(&self, tenant: &Tenant, key: &str) -> Result<Timeline, ServiceError> {
        self.tenant(tenant)?;
        let key = Key::parse(key)
            .map_err(|err| ServiceError::invalid("invalid_key", format!("{err:#}")))?;
        let trace = self.traces.get(tenant).ok_or_else(|| {
            ServiceError::not_found(
                "tenant_not_found",
                format!("no tenant {tenant:?} on this host"),
            )
        })?;
        Ok(trace.read(&key).await?)
    }
}

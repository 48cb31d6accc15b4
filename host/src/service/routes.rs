//! Routes as verbs: what runs, putting a route, deleting one, and applying the registry's routes on this host.
//!
//! A route made through the API is checked by the same code as the file's routes ([`config::route`]), then kept
//! in the registry, from where every host — this one included — starts it on the registry's watch. The verb
//! answers once this host runs the route (and serves its slot's version, when the slot has one), by waiting on
//! the route set's state: [`Routes::wait_running`](crate::pipeline::routes::Routes::wait_running).

use std::time::Duration;

use super::{ErrorKind, Service, ServiceError};
use crate::config::{self, Clash, Kind, Origin, RouteDef, route};
use crate::names::{RouteName, Slot, Tenant};
use crate::pipeline::routes::{RouteSpec, RouteStatus};
use crate::plugin::World;

/// How long a route change waits for this host to apply it before answering.
const APPLY_WAIT: Duration = Duration::from_secs(10);

/// What putting a route did.
#[derive(Debug, Clone)]
pub struct PutRoute {
    /// The route as it runs here.
    pub spec: RouteSpec,
    /// What it serves.
    pub status: RouteStatus,
    /// Whether it is new (else it replaced one of the same name).
    pub created: bool,
}

impl Service {
    /// The tenant's routes on this host, by name.
    pub async fn routes_of(&self, tenant: &Tenant) -> Vec<RouteSpec> {
        let mut specs: Vec<RouteSpec> = self
            .routes
            .specs()
            .await
            .into_iter()
            .filter(|s| s.tenant == *tenant)
            .collect();
        specs.sort_by(|a, b| a.common.name.cmp(&b.common.name));
        specs
    }

    /// One route of the tenant.
    pub async fn route(
        &self,
        tenant: &Tenant,
        name: &RouteName,
    ) -> Result<RouteSpec, ServiceError> {
        self.routes.spec(tenant, name).await.ok_or_else(|| {
            ServiceError::not_found(
                "route_not_found",
                format!("tenant {tenant} has no route {:?}", name.as_str()),
            )
        })
    }

    /// What the route `tenant`/`name` serves on this host.
    pub async fn route_status(&self, tenant: &Tenant, name: &RouteName) -> Option<RouteStatus> {
        self.routes
            .status()
            .await
            .into_iter()
            .find(|r| r.tenant == *tenant && r.name == *name)
    }

    /// Creates (or, unless `create_only`, replaces) the API route `name` from its JSON `body`, stores it in the
    /// registry so every host applies it, and answers once it runs here.
    pub async fn put_route(
        &self,
        tenant: &Tenant,
        name: &RouteName,
        body: &serde_json::Value,
        create_only: bool,
    ) -> Result<PutRoute, ServiceError> {
        let quotas = self.tenant(tenant)?.quotas.clone();
        let running = self.routes.spec(tenant, name).await;
        match &running {
            Some(RouteSpec {
                origin: Origin::Config { line },
                ..
            }) => {
                return Err(ServiceError::conflict(
                    "defined_in_config",
                    format!(
                        "route {name} is defined in {} at line {line}; change it there and restart",
                        self.config.path.display()
                    ),
                ));
            }
            Some(_) if create_only => {
                return Err(ServiceError::conflict(
                    "route_exists",
                    format!(
                        "tenant {tenant} already has a route {:?}; change it with PUT /v1/tenants/{tenant}/routes/{name}",
                        name.as_str()
                    ),
                ));
            }
            _ => {}
        }
        let def = route::api_route(name, body)
            .map_err(|err| ServiceError::invalid("invalid_route", format!("{err:#}")))?;
        // A built-in mapper needs no plugin and serves at once.
        let serves = match def.common.slot() {
            Some(slot) => self.check_slot_for(tenant, slot, &def).await?,
            None => true,
        };
        let others: Vec<RouteDef> = self
            .routes_of(tenant)
            .await
            .into_iter()
            .filter(|other| other.common.name != *name)
            .map(|other| other.def())
            .collect();
        quotas
            .check_route(&def, &others)
            .map_err(|err| ServiceError::unprocessable("over_quota", err))?;
        if let Err(Clash::Source { route, .. }) = route::claim(&def, &others) {
            let source = def.source().map(|s| s.to_string()).unwrap_or_default();
            return Err(ServiceError::conflict(
                "source_taken",
                format!(
                    "source {source} is already read by route {route}; one source feeds one route"
                ),
            ));
        }
        let mut stored = body.clone();
        if let Some(fields) = stored.as_object_mut() {
            fields.insert("name".into(), serde_json::Value::String(name.to_string()));
        }
        self.registry.put_route(tenant, name, &stored).await?;
        // The registry's watch applies it here as on every host; answer once it runs here.
        let status = self
            .routes
            .wait_running(tenant, &def, serves, APPLY_WAIT)
            .await
            .ok_or_else(|| {
                ServiceError::new(
                    ErrorKind::Pending,
                    "pending",
                    "the route is stored but this host has not started it within 10 s; see the host's log",
                )
            })?;
        let spec = self.route(tenant, name).await?;
        Ok(PutRoute {
            spec,
            status,
            created: running.is_none(),
        })
    }

    /// Checks that `slot` exists and that its active version fits route `def`; answers whether it has an
    /// active version (the route serves at once) or waits for one.
    async fn check_slot_for(
        &self,
        tenant: &Tenant,
        slot: &Slot,
        def: &RouteDef,
    ) -> Result<bool, ServiceError> {
        // The slot must exist: a route for a slot nobody uploaded to is a typo more often than a plan.
        if self.registry.versions(tenant, Some(slot)).await?.is_empty() {
            return Err(ServiceError::not_found(
                "slot_not_found",
                format!(
                    "tenant {tenant} has no plugin slot {:?}: upload a version first (millwright plugin push --tenant {tenant} --slot {slot} <plugin.wasm>)",
                    slot.as_str()
                ),
            ));
        }
        let active = self.registry.active(tenant, slot).await?;
        let world = world_of(&def.kind);
        if let Some(active) = &active
            && active.world != world.wit_name()
        {
            return Err(ServiceError::unprocessable(
                "wrong_world",
                format!(
                    "slot {slot}'s active version {}@{} is an {}, but an {} route needs an {}",
                    active.name,
                    active.version,
                    active.world,
                    match world {
                        World::Inbound => "inbound",
                        World::Outbound => "outbound",
                    },
                    world.wit_name()
                ),
            ));
        }
        Ok(active.is_some())
    }

    /// Deletes the API route `name`: every host stops it, each finishing what it has in flight. Answers once it
    /// is stopped here.
    pub async fn delete_route(
        &self,
        tenant: &Tenant,
        name: &RouteName,
    ) -> Result<(), ServiceError> {
        self.tenant(tenant)?;
        let spec = self.route(tenant, name).await?;
        if let Origin::Config { line } = spec.origin {
            return Err(ServiceError::conflict(
                "defined_in_config",
                format!(
                    "route {name} is defined in {} at line {line}; remove it there and restart",
                    self.config.path.display()
                ),
            ));
        }
        self.registry.delete_route(tenant, name).await?;
        if self.routes.wait_stopped(tenant, name, APPLY_WAIT).await {
            Ok(())
        } else {
            Err(ServiceError::new(
                ErrorKind::Pending,
                "pending",
                "the route is deleted from the registry but still finishing here; see the host's log",
            ))
        }
    }

    /// Starts, restarts or stops an API route after a change in the registry (from this host or another).
    pub(super) async fn apply_route(
        &self,
        tenant: &Tenant,
        name: &RouteName,
        body: Option<&serde_json::Value>,
    ) {
        if self.config.tenant(tenant).is_none() {
            tracing::warn!(%tenant, route = %name, "the registry has a route for a tenant this host does not serve; ignored");
            return;
        }
        let running = self.routes.spec(tenant, name).await;
        if let Some(RouteSpec {
            origin: Origin::Config { line },
            ..
        }) = running
        {
            tracing::warn!(%tenant, route = %name, "the registry has a route named like the file's route at line {line}; the file's wins");
            return;
        }
        let Some(body) = body else {
            if self.routes.stop(tenant, name).await {
                tracing::info!(%tenant, route = %name, "route removed");
            }
            return;
        };
        let def = match config::route::api_route(name, body) {
            Ok(def) => def,
            Err(err) => {
                tracing::error!(%tenant, route = %name, "the registry's route cannot run here: {err:#}");
                return;
            }
        };
        if running.as_ref().is_some_and(|r| r.def() == def) {
            // Already running as stored (a change seen twice, or a resync).
            return;
        }
        let _no_sweep = self.sweeping.lock().await;
        match self.routes.start(self.spec(tenant, def)).await {
            Ok(()) => tracing::info!(%tenant, route = %name, "route started from the registry"),
            Err(err) => tracing::error!(%tenant, route = %name, "starting the route: {err:#}"),
        }
    }
}

/// The world a route's plugin must implement.
pub fn world_of(kind: &Kind) -> World {
    match kind {
        Kind::Inbound { .. } => World::Inbound,
        Kind::Outbound { .. } => World::Outbound,
    }
}

//! One watch of the registry for the whole host, feeding both the slots' versions and the route set.
//!
//! Every host of a fleet watches the same JetStream KV keys, so an activation, an upload or a route made
//! through any host reaches all of them. A watch can end — the watcher fell behind, NATS went away — and then
//! every change made meanwhile would be missed; so the follower watches again (every second until it can) and
//! then re-reads the whole registry: each slot is switched to the version it names, each stored route started or
//! restarted, and each API route no longer stored stopped.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use futures::StreamExt;
use futures::stream::BoxStream;
use tokio::sync::watch;

use super::Service;
use crate::config::Origin;
use crate::names::{RouteName, Tenant};
use crate::registry::Change;

/// Applies every change of the registry to the service until `stop` turns true.
pub(super) async fn follow(
    service: Arc<Service>,
    mut changes: BoxStream<'static, Change>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            // Dropping a pending `next` loses nothing: every change is in the registry, and a new watch re-reads it.
            change = changes.next() => match change {
                Some(Change::Slot { tenant, slot, state }) => {
                    service.versions.slot_changed(tenant, slot, state);
                }
                Some(Change::Version { meta }) => service.versions.version_added(meta),
                Some(Change::Route { tenant, name, route }) => {
                    service.apply_route(&tenant, &name, route.as_ref()).await;
                }
                None => {
                    tracing::warn!("the registry's watch ended; watching it again");
                    let Some(again) = rewatch(&service, &mut stop).await else { return };
                    changes = again;
                }
            },
            _ = stop.changed() => return,
        }
    }
}

/// A new watch of the registry once it can be had (retrying every second), after which everything is read
/// again; `None` when `stop` turns true first.
async fn rewatch(
    service: &Arc<Service>,
    stop: &mut watch::Receiver<bool>,
) -> Option<BoxStream<'static, Change>> {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = stop.changed() => return None,
        }
        let changes = match service.registry.watch().await {
            Ok(changes) => changes,
            Err(err) => {
                tracing::warn!("watching the registry: {err}; retrying");
                continue;
            }
        };
        match resync(service).await {
            Ok(()) => return Some(changes),
            Err(err) => tracing::warn!("reading the registry again: {err:#}; retrying"),
        }
    }
}

/// Brings this host in line with the whole registry: every slot's active version, every stored route, and no
/// API route the registry no longer has.
async fn resync(service: &Arc<Service>) -> Result<()> {
    for (tenant, slot, state) in service.registry.slots(None).await? {
        service.versions.slot_changed(tenant, slot, state);
    }
    let stored = service.registry.routes(None).await?;
    let kept: HashSet<(Tenant, RouteName)> = stored
        .iter()
        .map(|(tenant, name, _)| (tenant.clone(), name.clone()))
        .collect();
    for (tenant, name, body) in &stored {
        service.apply_route(tenant, name, Some(body)).await;
    }
    for spec in service.routes.specs().await {
        let key = (spec.tenant.clone(), spec.common.name.clone());
        if spec.origin == Origin::Api && !kept.contains(&key) {
            service.apply_route(&key.0, &key.1, None).await;
        }
    }
    Ok(())
}

//! The sweep of documents no route takes.
//!
//! A document sent to a source no route knows is not left unseen in the stream: a sweep, at start and every few
//! seconds, moves it to the tenant's dead letters (route `_unrouted`, class `no-route`) with a warning naming
//! the source, from where it can be replayed once a route for it exists. A source whose route was deleted keeps
//! its durable consumer: only what lies beyond what that consumer acknowledged is moved. A source some host of
//! the fleet consumes (pull requests waiting or messages out on its consumer) is left alone.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use futures::{StreamExt, TryStreamExt};
use tokio::sync::watch;

use super::Service;
use crate::bus::{self, StreamKind};
use crate::names::{Source, Tenant, UNROUTED};
use crate::pipeline::dlq;

/// Moves documents whose source has no route into the tenant's dead letters, every few seconds.
pub(super) async fn sweep(service: Arc<Service>, mut shutting_down: watch::Receiver<bool>) {
    loop {
        for tenant in &service.config.tenants {
            let _sweeping = service.sweeping.lock().await;
            let sources: HashSet<Source> =
                service.sources(&tenant.name).await.into_iter().collect();
            if let Err(err) = sweep_tenant(&service.bus, &tenant.name, &sources).await {
                tracing::warn!(tenant = %tenant.name, "checking for documents no route takes: {err:#}");
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(3)) => {}
            _ = shutting_down.changed() => return,
        }
    }
}

async fn sweep_tenant(
    connection: &bus::Connection,
    tenant: &Tenant,
    sources: &HashSet<Source>,
) -> Result<()> {
    let stream = connection
        .js
        .get_stream(bus::stream_name(tenant, StreamKind::In))
        .await?;
    let prefix = format!("mw.{tenant}.in.");
    let subjects: Vec<(String, usize)> = stream
        .info_with_subjects(format!("{prefix}>"))
        .await?
        .try_collect()
        .await?;
    for (subject, count) in subjects {
        let source = &subject[prefix.len()..];
        if count == 0 || sources.iter().any(|s| s.as_str() == source) {
            continue;
        }
        // A source that had a route has its durable consumer still: what it acknowledged was delivered, so only
        // what lies beyond goes to the dead letters.
        let mut done = 0;
        let mut consuming = false;
        let mut consumers = stream.consumers();
        while let Some(info) = consumers.next().await {
            let info = info?;
            if info.config.filter_subject == subject {
                done = done.max(info.ack_floor.stream_sequence);
                // Pull requests waiting or messages out: a host of the fleet runs a route for the source already.
                consuming |= info.num_waiting > 0 || info.num_ack_pending > 0;
            }
        }
        if consuming {
            continue;
        }
        if stream
            .direct_get_next_for_subject(&subject, Some(done + 1))
            .await
            .is_err()
        {
            continue;
        }
        tracing::warn!(
            %tenant,
            source,
            count,
            "no route takes source {source}: its documents go to the dead letters (mw.{tenant}.dlq.{UNROUTED}); add a route and replay them"
        );
        let mut next = done + 1;
        loop {
            let message = match stream
                .direct_get_next_for_subject(&subject, Some(next))
                .await
            {
                Ok(message) => message,
                Err(_) => break,
            };
            next = message.sequence + 1;
            let key = format!(
                "{}:{}",
                bus::stream_name(tenant, StreamKind::In),
                message.sequence
            );
            let headers = dlq::unrouted_headers(tenant, source, &subject, &key, &message);
            dlq::store(
                connection,
                tenant,
                UNROUTED,
                &key,
                headers,
                message.payload.clone(),
            )
            .await?;
            stream.delete_message(message.sequence).await?;
        }
    }
    Ok(())
}

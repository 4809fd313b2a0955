//! Keeping a replica's snapshot current: the first load (retried until the
//! database answers), a periodic refresh, and on PostgreSQL a `LISTEN` for the
//! changes other replicas announce.

use std::time::Duration;

use sqlx::postgres::PgListener;
use tokio_util::sync::CancellationToken;

use super::Catalog;
use crate::store::catalog::CHANNEL;
use crate::store::DatabaseUrl;

/// Longest wait between two attempts after a failure.
const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// Run until `stopping`: load, then refresh every `every` and, with a PostgreSQL
/// `url`, whenever another replica announces a change.
pub async fn follow(
    catalog: Catalog,
    url: Option<DatabaseUrl>,
    every: Duration,
    stopping: CancellationToken,
) {
    if !catalog.is_on() {
        return;
    }
    let t = std::time::Instant::now();
    if !first_load(&catalog, &stopping).await {
        return;
    }
    if let Some(snap) = catalog.snapshot() {
        let c = snap.counts();
        tracing::info!(
            countries = c.countries,
            currencies = c.currencies,
            subdivisions = c.subdivisions,
            load_ms = t.elapsed().as_millis() as u64,
            "catalog snapshot loaded; reference reads are served from memory"
        );
    }
    match url {
        Some(url) => listen(&catalog, &url, every, &stopping).await,
        None => periodic(&catalog, every, &stopping).await,
    }
}

/// Retry the first load with backoff; false when stopping first.
async fn first_load(catalog: &Catalog, stopping: &CancellationToken) -> bool {
    let mut delay = Duration::from_millis(200);
    loop {
        match catalog.refresh().await {
            Ok(()) => return true,
            Err(e) => {
                tracing::warn!(error.message = %e, retry_ms = delay.as_millis() as u64, "catalog snapshot not loaded yet; reads go to the database")
            }
        }
        if !pause(delay, stopping).await {
            return false;
        }
        delay = (delay * 2).min(MAX_BACKOFF);
    }
}

/// Sleep unless stopping first; false when stopping.
async fn pause(d: Duration, stopping: &CancellationToken) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(d) => true,
        _ = stopping.cancelled() => false,
    }
}

async fn refresh_logged(catalog: &Catalog, why: &str) {
    if let Err(e) = catalog.refresh().await {
        tracing::warn!(error.message = %e, why, "catalog snapshot refresh failed; reads go to the database until the next one");
    }
}

async fn periodic(catalog: &Catalog, every: Duration, stopping: &CancellationToken) {
    while pause(every, stopping).await {
        refresh_logged(catalog, "periodic").await;
    }
}

/// Listen for announcements; on any gap in listening (connect failure, a dropped
/// connection) refresh once it is back, since announcements in the gap are lost.
async fn listen(
    catalog: &Catalog,
    url: &DatabaseUrl,
    every: Duration,
    stopping: &CancellationToken,
) {
    let mut delay = Duration::from_millis(200);
    loop {
        let listener = match subscribe(url).await {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(error.message = %e, retry_ms = delay.as_millis() as u64, "cannot listen for catalog changes; retrying");
                if !pause(delay, stopping).await {
                    return;
                }
                delay = (delay * 2).min(MAX_BACKOFF);
                continue;
            }
        };
        delay = Duration::from_millis(200);
        refresh_logged(catalog, "listening again").await;
        if !receive(catalog, listener, every, stopping).await {
            return;
        }
    }
}

async fn subscribe(url: &DatabaseUrl) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect(url.expose()).await?;
    listener.listen(CHANNEL).await?;
    Ok(listener)
}

/// Refresh on each announcement (a burst counts once) and every `every`; returns
/// false when stopping, true when the listener needs rebuilding.
async fn receive(
    catalog: &Catalog,
    mut listener: PgListener,
    every: Duration,
    stopping: &CancellationToken,
) -> bool {
    let mut tick = tokio::time::interval(every);
    tick.tick().await;
    loop {
        tokio::select! {
            _ = stopping.cancelled() => return false,
            _ = tick.tick() => refresh_logged(catalog, "periodic").await,
            got = listener.try_recv() => match got {
                Ok(Some(_)) => {
                    while listener.next_buffered().is_some() {}
                    refresh_logged(catalog, "announced").await;
                }
                // The connection dropped; the next call reconnects, but what was
                // announced meanwhile is lost.
                Ok(None) => refresh_logged(catalog, "listener reconnecting").await,
                Err(e) => {
                    tracing::warn!(error.message = %e, "catalog listener failed; reconnecting");
                    return true;
                }
            },
        }
    }
}

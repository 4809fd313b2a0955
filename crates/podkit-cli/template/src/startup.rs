//! podkit's start function: everything the service needs before it serves.

use axum::Router;
@@if db@@
use podkit::health::Role;
@@end@@
use podkit::Context;

use crate::config::Settings;
use crate::routes::{self, AppState, ServiceMetrics};

/// Register the service's metrics, checks and shutdown hooks, and build the router.
/// The admin port answers `/startupz` with 503 until this returns.
///
/// # Errors
@@if db@@
/// A metric family cannot be registered, or the migrations fail; the pod exits 1.
@@else@@
/// A metric family cannot be registered; the pod exits 1.
@@end@@
pub async fn start(ctx: Context<Settings>) -> anyhow::Result<Router> {
    let metrics = ServiceMetrics::register(&ctx.metrics)?;
    let state = AppState {
        config: ctx.config.clone(),
        metrics,
@@if db@@
        db: open_database(&ctx).await?,
@@end@@
@@if workers@@
        jobs: start_jobs(&ctx)?,
@@end@@
    };
    Ok(routes::router(state))
}
@@if db@@

/// The pool, migrated when `migrate.on_start`, with a readiness check and a hook that closes it last.
///
/// The check is report-only: every replica shares the database, so its outage must
/// not pull them all out of the Service at once; the calls that need it answer 503.
async fn open_database(ctx: &Context<Settings>) -> anyhow::Result<sqlx::AnyPool> {
    let db = crate::db::connect_lazy(&ctx.config.service.database)?;
    if ctx.config.service.migrate.on_start {
        crate::db::migrate(&db).await?;
    }
    let check = db.clone();
    ctx.health
        .add_check_with("database", Role::ReportOnly, move || {
            let db = check.clone();
            async move { crate::db::ping(&db).await }
        });
    let hook = db.clone();
    ctx.on_shutdown("database pool", move || async move { hook.close().await });
    Ok(db)
}
@@end@@
@@if workers@@

/// The worker pool, drained (then cancelled) by a shutdown hook after in-flight
/// requests have ended.
fn start_jobs(ctx: &Context<Settings>) -> anyhow::Result<podkit::WorkerPool> {
    let cfg = ctx.config.service.jobs.pool.clone();
    let pool = podkit::WorkerPool::build("jobs", cfg, Some(&ctx.metrics))?;
    let budget = ctx.config.kit.shutdown.hook_timeout;
    ctx.on_shutdown("jobs pool", pool.shutdown_hook(budget));
    Ok(pool)
}
@@end@@

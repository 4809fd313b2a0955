//! Assembles atlas: database, migrations, readiness check, shutdown hook, and the
//! router with only the endpoint groups the config switches on (the OpenAPI
//! document follows the same switches).

use axum::routing::get;
use axum::Router;
use podkit::health::Role;
use podkit::Context;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::config::{ApiConfig, Settings};
use crate::routes::{self, AppState, Services};
use crate::store::Db;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "atlas",
        description = "Countries (ISO 3166-1), their subdivisions (ISO 3166-2), currencies (ISO 4217) and time zones (IANA). Errors are RFC 9457 problem documents. Data credits: ISO 3166-1/3166-2 codes and names from Debian iso-codes (LGPL-2.1-or-later); country details (capitals, regions, languages, calling codes, TLDs, coordinates, area, borders, demonyms, native names, translations) from world-countries by Mohammed Le Doze (mledoze/countries), made available under the Open Database License (ODbL) 1.0, https://opendatacommons.org/licenses/odbl/1.0/ - the country details served here are a derivative database under the same license; places © GeoNames, CC BY 4.0; flags from flag-icons (MIT).",
        license(name = "MIT OR Apache-2.0 (code); ODbL-1.0 (country details from world-countries)", url = "https://opendatacommons.org/licenses/odbl/1.0/"),
    ),
    tags(
        (name = "countries", description = "ISO 3166-1 countries; details from world-countries (ODbL-1.0)"),
        (name = "subdivisions", description = "ISO 3166-2 subdivisions (Debian iso-codes, LGPL-2.1-or-later)"),
        (name = "currencies", description = "ISO 4217 currencies"),
        (name = "timezones", description = "IANA zones (tzdata compiled into the binary; its version is in every answer): the zone list, current local time per zone and per country with the previous and next offset transitions, and conversions across DST gaps and overlaps"),
        (name = "places", description = "Local time by place name or coordinates. Place data © GeoNames (geonames.org), CC BY 4.0. Zone boundaries: timezone-boundary-builder (OpenStreetMap data, ODbL) via tzf-rs"),
        (name = "flags", description = "Country flags (flag-icons, MIT), SVG or PNG"),
        (name = "imports", description = "Bulk imports of countries and currencies on a worker pool"),
    )
)]
struct ApiDoc;

#[derive(OpenApi)]
#[openapi(paths(routes::timezones::zone))]
struct ZoneDoc;

/// podkit's start function: connect (lazily), check the database with one direct
/// connection, migrate when configured, register the readiness checks (`database`
/// report-only, `schema` and `places` gating) and the pool's shutdown hook, and
/// build the router.
///
/// # Errors
/// The database cannot be reached while `migrate.on_start` is on (the error is the
/// one line `database host:port: cause`), or a migration failed; the pod exits 1.
pub async fn start(ctx: Context<Settings>) -> anyhow::Result<Router> {
    let cfg = &ctx.config.service;
    let db = open_database(&ctx).await?;
    register_database_checks(&ctx, &db);
    let hook = db.clone();
    ctx.on_shutdown("database pool", move || async move { hook.close().await });
    let catalog = start_catalog(&ctx, &db)?;
    let mut state = Services {
        db,
        catalog,
        config: ctx.config.clone(),
        places: Default::default(),
        flags: crate::flags::FlagRenderer::new(
            cfg.api.flag_cache_size as u64,
            cfg.api.flag_render_concurrency.get(),
            cfg.api.flag_render_wait,
        ),
        importer: None,
    };
    if cfg.api.imports {
        state.importer = Some(start_importer(&ctx, &state)?);
    }
    if cfg.api.places {
        warm_places(&ctx, &state).await;
        warm_zone_finder(&ctx);
    }
    Ok(router(AppState::new(state), podkit::build_info!()))
}

/// The pool, after one direct connection (its failure names host, port and cause,
/// where the pool would only time out) and the migrations when configured.
async fn open_database(ctx: &Context<Settings>) -> anyhow::Result<Db> {
    let cfg = &ctx.config.service;
    let db = Db::connect_lazy(&cfg.database, Some(&ctx.metrics))?;
    tracing::info!(backend = db.backend().name(), url = %podkit::config::redact_url(&cfg.database.connect_url()), "database configured");
    match db.connect_once().await {
        Ok(()) => {}
        Err(failure) if cfg.migrate.on_start => return Err(failure.into()),
        Err(failure) => tracing::warn!(
            error.message = %failure,
            "database not reachable; starting anyway (migrate.on_start is false): database calls answer 503 and /readyz reports it until it is back"
        ),
    }
    if cfg.migrate.on_start {
        crate::migrate::up(&db).await?;
    }
    Ok(db)
}

/// Every replica shares the database, so its outage must not pull them all out of
/// the Service: `database` is report-only, and the calls that need it answer 503 +
/// `Retry-After`. A schema this binary cannot serve still gates readiness.
/// The in-memory snapshot of countries and currencies, loaded and kept current in
/// the background; reads use the database until it is loaded.
fn start_catalog(ctx: &Context<Settings>, db: &Db) -> anyhow::Result<crate::catalog::Catalog> {
    let cfg = &ctx.config.service;
    if !cfg.api.cache {
        return Ok(crate::catalog::Catalog::off());
    }
    let catalog = crate::catalog::Catalog::new(db.clone(), Some(&ctx.metrics))?;
    let url = cfg.database.url.clone();
    ctx.spawn(crate::catalog::follow(
        catalog.clone(),
        url,
        cfg.api.cache_refresh,
        ctx.stopping(),
    ));
    Ok(catalog)
}

fn register_database_checks(ctx: &Context<Settings>, db: &Db) {
    let check = db.clone();
    ctx.health
        .add_check_with("database", Role::ReportOnly, move || {
            let db = check.clone();
            async move { db.check().await }
        });
    let (check, budget) = (db.clone(), ctx.config.kit.health.check_timeout / 2);
    ctx.health.add_check("schema", move || {
        let db = check.clone();
        // Only a schema the database shows to be wrong fails here. Unreachable or
        // slow is the `database` check's to report, so this one gives up before
        // `check_timeout` would turn a silent network into a gating failure.
        async move {
            match tokio::time::timeout(budget, db.schema_status()).await {
                Ok(Ok(status)) => status.verdict(),
                _ => Ok(()),
            }
        }
    });
}

/// The import worker pool, drained alongside in-flight requests inside the same
/// shutdown deadline: queued imports finish, the rest are cancelled and rolled back.
fn start_importer(
    ctx: &Context<Settings>,
    state: &Services,
) -> anyhow::Result<crate::imports::Importer> {
    let kit = &ctx.config.kit;
    let own = crate::imports::OwnPorts {
        ports: vec![kit.server.port, kit.admin.port],
        host: kit.server.host,
    };
    let importer = crate::imports::Importer::build(
        state.db.clone(),
        state.catalog.clone(),
        ctx.config.service.imports.clone(),
        own,
        &ctx.metrics,
    )?;
    let (pool, stopping) = (importer.pool().clone(), ctx.stopping());
    let deadline = kit.shutdown.timeout;
    ctx.spawn(async move {
        stopping.cancelled().await;
        let report = pool.shutdown(deadline).await;
        tracing::info!(
            completed = report.completed,
            cancelled = report.cancelled,
            "import pool drained"
        );
    });
    Ok(importer)
}

/// Load the place index and hold readiness until it is loaded. The first attempt
/// runs here, within the readiness check budget: when the database holds the
/// embedded places it is one aggregate query, and the pod is ready as soon as it
/// has started, instead of a failed check (cached for a while) delaying it. When
/// the database is down, not migrated yet or slow, loading goes on in the
/// background, retrying until it succeeds, and start-up is not held up further.
async fn warm_places(ctx: &Context<Settings>, state: &Services) {
    let (places, db, stopping) = (state.places.clone(), state.db.clone(), ctx.stopping());
    let t = std::time::Instant::now();
    let loaded = move |idx: &crate::places::PlaceIndex| {
        tracing::info!(
            places = idx.len(),
            source = idx.source().as_str(),
            load_ms = t.elapsed().as_millis() as u64,
            "place index loaded"
        );
    };
    let budget = ctx.config.kit.health.check_timeout;
    match tokio::time::timeout(budget, places.load(&db)).await {
        Ok(Ok(idx)) => loaded(idx),
        Ok(Err(e)) => {
            tracing::warn!(error.message = %e, "place index not loaded yet; retrying in the background")
        }
        Err(_) => tracing::warn!(
            budget_ms = budget.as_millis() as u64,
            "place index not loaded within the budget; retrying in the background"
        ),
    }
    if places.get().is_none() {
        ctx.spawn(async move {
            let mut delay = std::time::Duration::from_millis(200);
            loop {
                match places.load(&db).await {
                    Ok(idx) => return loaded(idx),
                    Err(e) => tracing::warn!(error.message = %e, retry_ms = delay.as_millis() as u64, "place index not loaded yet"),
                }
                tokio::select! {
                    _ = tokio::time::sleep(delay) => {}
                    _ = stopping.cancelled() => return,
                }
                delay = (delay * 2).min(std::time::Duration::from_secs(10));
            }
        });
    }
    let places = state.places.clone();
    ctx.health.add_check("places", move || {
        let loaded = places.get().is_some();
        async move {
            if loaded {
                Ok(())
            } else {
                Err("place index is loading".into())
            }
        }
    });
}

/// Build the polygon zone finder in the background (seconds in a debug build), so
/// the first coordinate lookup does not wait for it.
fn warm_zone_finder(ctx: &Context<Settings>) {
    ctx.spawn(async {
        let t = std::time::Instant::now();
        match tokio::task::spawn_blocking(crate::zones::finder::warm).await {
            Ok(version) => tracing::info!(
                data_version = version,
                load_ms = t.elapsed().as_millis() as u64,
                "zone finder loaded"
            ),
            Err(e) => tracing::error!(error.message = %e, "zone finder failed to load"),
        }
    });
}

/// The API router for `state`, without binding a socket.
pub fn router(state: AppState, build: podkit::BuildInfo) -> Router {
    let api_cfg = state.config.service.api.clone();
    let (api, doc) = api_router(&api_cfg).with_state(state).split_for_parts();
    let mut app = Router::new()
        .route("/home", get(routes::home::home))
        .with_state(build)
        .merge(api);
    if api_cfg.docs {
        let json = doc
            .to_json()
            .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
        app = app.merge(routes::docs::router(routes::sparse_doc::apply(json)));
    }
    app
}

fn api_router(cfg: &ApiConfig) -> OpenApiRouter<AppState> {
    use routes::{countries, currencies, flags, imports, places, subdivisions, time, timezones};
    let cc = &cfg.cache_control;
    let mut v1 = OpenApiRouter::new();
    if cfg.countries {
        let group = OpenApiRouter::new()
            .routes(routes!(countries::list, countries::create))
            .routes(routes!(
                countries::get,
                countries::replace,
                countries::delete
            ))
            .routes(routes!(subdivisions::list))
            .routes(routes!(subdivisions::get));
        v1 = v1.merge(cached(group, &cc.countries));
    }
    if cfg.currencies {
        let group = OpenApiRouter::new()
            .routes(routes!(currencies::list, currencies::create))
            .routes(routes!(
                currencies::get,
                currencies::replace,
                currencies::delete
            ))
            .routes(routes!(currencies::countries));
        v1 = v1.merge(cached(group, &cc.currencies));
    }
    if cfg.flags {
        v1 = v1.merge(cached(
            OpenApiRouter::new().routes(routes!(flags::flag)),
            &cc.flags,
        ));
    }
    if cfg.imports {
        v1 = v1
            .routes(routes!(imports::create))
            .routes(routes!(imports::get));
    }
    if cfg.places {
        let group = OpenApiRouter::new()
            .routes(routes!(places::search))
            .routes(routes!(places::time_by_name))
            .routes(routes!(places::time_by_coordinates));
        v1 = v1.merge(cached(group, &cc.places));
    }
    let mut doc = ApiDoc::openapi();
    if cfg.timezones {
        // The zone keeps its slashes, so the route is a wildcard, which the
        // `routes!` macro cannot express; it is documented by hand. The list
        // (`/timezones`) and `/time/convert` are other paths: the wildcard needs
        // at least one segment after `/timezones/`, so neither is shadowed.
        let group = OpenApiRouter::new()
            .routes(routes!(timezones::list))
            .route("/timezones/{*zone}", get(timezones::zone))
            .routes(routes!(timezones::country))
            .routes(routes!(time::convert));
        v1 = v1.merge(cached(group, &cc.timezones));
        let mut zones = ZoneDoc::openapi();
        zones.paths.paths = zones
            .paths
            .paths
            .into_iter()
            .map(|(p, i)| (format!("/api/v1{p}"), i))
            .collect();
        doc.merge(zones);
    }
    OpenApiRouter::with_openapi(doc).nest("/api/v1", v1)
}

/// `group` with `Cache-Control: value` on its 200 and 304 answers (a route layer:
/// the 404 fallback is not the group's).
fn cached(
    group: OpenApiRouter<AppState>,
    value: &podkit::http::CacheControl,
) -> OpenApiRouter<AppState> {
    group.route_layer(axum::middleware::map_response_with_state(
        value.clone(),
        podkit::http::cache_control::apply,
    ))
}

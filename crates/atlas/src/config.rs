//! atlas's configuration: podkit's sections plus the service's own.

use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::time::Duration;

use podkit::cli::CommonArgs;
use podkit::client::ClientConfig;
use podkit::config::duration;
use podkit::http::CacheControl;
use podkit::workers::WorkerPoolConfig;
use podkit::Loader;
use serde::{Deserialize, Serialize};

use crate::domain::import::AllowedHost;
use crate::store::DatabaseUrl;

/// Environment prefix: `ATLAS_SECTION__KEY`.
pub const ENV_PREFIX: &str = "ATLAS";

/// The service's own sections (podkit's sit beside them in the same file; podkit
/// rejects unknown top-level keys, each section rejects unknown keys of its own).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Where the data lives.
    pub database: DatabaseConfig,
    /// When migrations run.
    pub migrate: MigrateConfig,
    /// Which endpoint groups are mounted.
    pub api: ApiConfig,
    /// Bulk imports: worker pool, HTTP client, allowed hosts.
    pub imports: ImportsConfig,
}

/// The loaded configuration.
pub type Config = podkit::Config<Settings>;

/// A loader with atlas's prefix and well-known names, topped by the command line.
pub fn loader(args: &CommonArgs) -> Loader {
    args.loader(ENV_PREFIX)
        .alias("DATABASE_URL", "database.url")
}

/// `database:`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseConfig {
    /// `postgres://user:pass@host:5432/db` (env `DATABASE_URL`). Unset → the embedded
    /// SQLite file at `sqlite_path`. Checked at load: the scheme, `sslmode`, and that
    /// `sslrootcert` / `sslcert` / `sslkey` files can be read.
    /// `url: postgres://app@db:5432/atlas?sslmode=verify-full&sslrootcert=/etc/atlas/db-ca.pem`
    pub url: Option<DatabaseUrl>,
    /// The SQLite file used when `url` is unset, created on first run.
    /// `sqlite_path: atlas.db` (relative to the working directory).
    pub sqlite_path: PathBuf,
    /// Pool size. `max_connections: 10`
    pub max_connections: u32,
    /// Give up waiting for a connection after this; the request gets a 503. Also
    /// bounds the start-up connection check. `acquire_timeout: 3s`
    #[serde(with = "duration")]
    pub acquire_timeout: Duration,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            url: None,
            sqlite_path: PathBuf::from("atlas.db"),
            max_connections: 10,
            acquire_timeout: Duration::from_secs(3),
        }
    }
}

impl DatabaseConfig {
    /// The URL to connect to: `DATABASE_URL`, or the SQLite file.
    pub fn connect_url(&self) -> String {
        match &self.url {
            Some(u) => u.expose().to_string(),
            // `rw`, not `rwc`: the file is created once at start (`Db::connect_lazy`);
            // a connection opened after it was deleted must fail, not start an empty
            // database that answers "no such table".
            None => format!("sqlite://{}?mode=rw", self.sqlite_path.display()),
        }
    }
}

/// `migrate:`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MigrateConfig {
    /// Apply pending migrations at start-up. `on_start: true` — set `false` on
    /// Kubernetes, where a Job runs `atlas migrate up` before the rollout.
    pub on_start: bool,
}

impl Default for MigrateConfig {
    fn default() -> Self {
        Self { on_start: true }
    }
}

/// `api:` — endpoint groups, mounted (and documented) only when on.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ApiConfig {
    /// `/api/v1/countries…`
    pub countries: bool,
    /// `/api/v1/currencies…`
    pub currencies: bool,
    /// `/api/v1/timezones…` and `/api/v1/countries/{code}/time`
    pub timezones: bool,
    /// `/api/v1/places…` and `/api/v1/time?lat=&lon=`
    pub places: bool,
    /// `/api/v1/countries/{code}/flag`
    pub flags: bool,
    /// `/api/v1/imports…`
    pub imports: bool,
    /// `/openapi.json` and `/docs`
    pub docs: bool,
    /// Bytes of rendered PNG flags kept in memory. `flag_cache_size: 16MiB`
    #[serde(with = "podkit::config::byte_size")]
    pub flag_cache_size: usize,
    /// Largest page size for list endpoints. `max_page_size: 250`
    pub max_page_size: u32,
    /// PNG flags rendered at once (each holds a width × height × 4 bytes pixmap,
    /// 3 MiB at 1024 px in 4:3, 4 MiB in 1:1). Default: the CPU count.
    /// `flag_render_concurrency: 2`
    pub flag_render_concurrency: NonZeroUsize,
    /// How long a PNG request waits for a render slot; then 503 + `Retry-After`.
    /// `flag_render_wait: 1s`
    #[serde(with = "duration")]
    pub flag_render_wait: Duration,
    /// Serve countries and currencies from an in-memory snapshot, refreshed by
    /// every write and import on this replica and, on PostgreSQL, by the writes of
    /// other replicas (`LISTEN/NOTIFY`, within a second). `false`: every read is a
    /// query. `cache: true`
    pub cache: bool,
    /// Refresh the snapshot at least this often, whatever was announced (above 0).
    /// `cache_refresh: 60s`
    #[serde(
        serialize_with = "duration::serialize",
        deserialize_with = "positive_duration"
    )]
    pub cache_refresh: Duration,
    /// `Cache-Control` of each group's 200 and 304 answers (entities and lists).
    pub cache_control: CacheControlConfig,
}

/// `api.cache_control:` — the `Cache-Control` sent by each endpoint group, checked
/// at load (`ATLAS_API__CACHE_CONTROL__COUNTRIES="public, max-age=300"`). Every
/// answer also carries an `ETag`, so `no-cache` costs a round trip answered by an
/// empty 304.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CacheControlConfig {
    /// Countries: writable (API writes, imports), and replicas converge within a
    /// second, so by default caches revalidate every time. `countries: no-cache`
    pub countries: CacheControl,
    /// Currencies, and the countries using one: writable too. `currencies: no-cache`
    pub currencies: CacheControl,
    /// Zone and country times: answers hold the current time. `timezones: no-cache`
    pub timezones: CacheControl,
    /// Place search and place times (which hold the current time). `places: no-cache`
    pub places: CacheControl,
    /// Flags. Artwork changes only with a release, but the URL does not name the
    /// release, so the default is a week plus a day of stale-while-revalidate
    /// rather than `immutable`: after an upgrade, caches pick up new artwork
    /// within that, and at once when they revalidate (the `ETag` is the hash of
    /// the SVG). A deployment that puts the release in its URLs (a CDN path, say)
    /// can set `public, max-age=31536000, immutable`.
    /// `flags: "public, max-age=604800, stale-while-revalidate=86400"`
    pub flags: CacheControl,
}

impl Default for CacheControlConfig {
    fn default() -> Self {
        Self {
            countries: CacheControl::from_static("no-cache"),
            currencies: CacheControl::from_static("no-cache"),
            timezones: CacheControl::from_static("no-cache"),
            places: CacheControl::from_static("no-cache"),
            flags: CacheControl::from_static(
                "public, max-age=604800, stale-while-revalidate=86400",
            ),
        }
    }
}

/// A duration above zero.
fn positive_duration<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let v = duration::deserialize(d)?;
    if v.is_zero() {
        return Err(serde::de::Error::custom("must be above 0"));
    }
    Ok(v)
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            countries: true,
            currencies: true,
            timezones: true,
            places: true,
            flags: true,
            imports: true,
            docs: true,
            flag_cache_size: 16 << 20,
            max_page_size: 250,
            flag_render_concurrency: std::thread::available_parallelism()
                .unwrap_or(NonZeroUsize::MIN),
            flag_render_wait: Duration::from_secs(1),
            cache: true,
            cache_refresh: Duration::from_secs(60),
            cache_control: CacheControlConfig::default(),
        }
    }
}

/// `imports:`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ImportsConfig {
    /// Hosts URL imports may fetch from: `host` (case-insensitive; its scheme's
    /// default port only) or `host:port`, checked at start-up. Empty: URL imports are
    /// refused with 403. The service's own API and admin ports on a local address are
    /// refused whatever the list says. `allowed_hosts: [data.example.org, "10.0.0.5:8000"]`
    pub allowed_hosts: Vec<AllowedHost>,
    /// Largest number of rows in one import; parsing stops at the first row over
    /// it (an inline body: 422; a URL: the job fails). `max_rows: 10000`
    pub max_rows: usize,
    /// Field errors a failed job lists (all are counted in its message).
    /// `max_errors: 100`
    pub max_errors: usize,
    /// The worker pool that runs imports.
    pub pool: WorkerPoolConfig,
    /// The HTTP client for URL imports.
    pub client: ClientConfig,
    /// A job still `running` with no update for this long is reported `interrupted`.
    /// `stale_after: 10m`
    #[serde(with = "duration")]
    pub stale_after: Duration,
}

impl Default for ImportsConfig {
    fn default() -> Self {
        Self {
            allowed_hosts: Vec::new(),
            max_rows: 10_000,
            max_errors: 100,
            pool: WorkerPoolConfig::default(),
            client: ClientConfig::default(),
            stale_after: Duration::from_secs(600),
        }
    }
}

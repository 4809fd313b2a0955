//! Bulk imports of countries and currencies, run on podkit's worker pool.
//!
//! An import is all or nothing: every row is validated first and every error is
//! reported with its row number; only a clean batch is written, in one transaction.
//! Jobs live in the `imports` table, so any replica answers `GET /imports/{id}`.
//! Progress of a running job is tracked in the memory of the replica running it
//! (its rows are invisible to others until the transaction commits).

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use podkit::client::{ClientConfig, HttpClient};
use podkit::workers::{TaskContext, WorkerPool, WorkerPoolConfig};
use serde::{Deserialize, Serialize};
use sqlx::Row;
use utoipa::ToSchema;

use crate::db::{Db, DbError};
use crate::domain::country::{Country, CountryInput};
use crate::domain::currency::{Currency, CurrencyInput};
use crate::error::FieldError;

/// `imports:`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ImportsConfig {
    /// Hosts URL imports may fetch from (exact, case-insensitive). Empty: URL imports
    /// are refused with 403. `allowed_hosts: [data.example.org]`
    pub allowed_hosts: Vec<String>,
    /// Largest number of rows in one import. `max_rows: 10000`
    pub max_rows: usize,
    /// The worker pool that runs imports.
    pub pool: WorkerPoolConfig,
    /// The HTTP client for URL imports.
    pub client: ClientConfig,
    /// A job still `running` with no update for this long is reported `interrupted`.
    /// `stale_after: 10m`
    #[serde(with = "podkit::config::duration")]
    pub stale_after: Duration,
}

impl Default for ImportsConfig {
    fn default() -> Self {
        Self {
            allowed_hosts: Vec::new(),
            max_rows: 10_000,
            pool: WorkerPoolConfig::default(),
            client: ClientConfig::default(),
            stale_after: Duration::from_secs(600),
        }
    }
}

/// What a URL or CSV import holds.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ImportKind {
    /// Country rows.
    Countries,
    /// Currency rows.
    Currencies,
}

/// The JSON body of `POST /imports`: rows inline, or a URL to fetch them from.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportRequest {
    /// Currencies to create or replace (applied before countries).
    #[serde(default)]
    pub currencies: Option<Vec<CurrencyInput>>,
    /// Countries to create or replace.
    #[serde(default)]
    pub countries: Option<Vec<CountryInput>>,
    /// Fetch the rows from this URL instead (host must be in `imports.allowed_hosts`):
    /// JSON in this same shape, or CSV with `kind`.
    #[serde(default)]
    pub url: Option<String>,
    /// What a CSV at `url` holds.
    #[serde(default)]
    pub kind: Option<ImportKind>,
}

/// Rows to import, not yet validated.
#[derive(Debug, Default)]
pub struct Rows {
    /// Currency rows, with their row numbers (1-based).
    pub currencies: Vec<(usize, Result<CurrencyInput, String>)>,
    /// Country rows.
    pub countries: Vec<(usize, Result<CountryInput, String>)>,
}

impl Rows {
    fn len(&self) -> usize {
        self.currencies.len() + self.countries.len()
    }
}

/// Where the rows come from.
#[derive(Debug)]
pub enum Source {
    /// Already parsed from the request.
    Inline(Rows),
    /// To be fetched.
    Url {
        /// The URL.
        url: String,
        /// CSV content kind.
        kind: Option<ImportKind>,
    },
}

/// One row's failure.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RowError {
    /// `countries` or `currencies`.
    pub kind: String,
    /// Row number within its kind, from 1 (CSV: the line after the header).
    pub row: usize,
    /// The field, as a JSON pointer (`#/alpha2`), or `#` for the whole row.
    pub pointer: String,
    /// What is wrong.
    pub detail: String,
}

/// An import job, as `GET /imports/{id}` shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ImportJob {
    /// Job id.
    pub id: String,
    /// `countries`, `currencies` or `mixed`.
    pub kind: String,
    /// `body`, `csv`, or the URL.
    pub source: String,
    /// `queued`, `running`, `succeeded`, `failed`, `cancelled` or `interrupted`.
    pub status: String,
    /// Rows in the import (known once parsed).
    pub total_rows: i64,
    /// Rows validated or written so far.
    pub processed_rows: i64,
    /// Every failed row; empty unless `failed`.
    pub errors: Vec<RowError>,
    /// A summary, or why the job failed as a whole.
    pub message: Option<String>,
    /// When it was accepted, RFC 3339.
    pub created_at: String,
    /// Last change, RFC 3339.
    pub updated_at: String,
}

/// Everything an import needs, shared by the route and the workers.
#[derive(Clone)]
pub struct Importer {
    db: Db,
    pool: WorkerPool,
    client: HttpClient,
    config: Arc<ImportsConfig>,
    progress: Arc<Mutex<HashMap<String, i64>>>,
}

/// Why an import could not be accepted.
#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    /// The queue is full: retry later.
    #[error("the import queue is full")]
    QueueFull,
    /// The pod is shutting down.
    #[error("the service is shutting down")]
    ShuttingDown,
    /// The URL's host is not allowed.
    #[error("{0}")]
    Forbidden(String),
    /// The request is invalid.
    #[error("invalid import")]
    Invalid(Vec<FieldError>),
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn rfc3339(ms: i64) -> String {
    let t = std::time::UNIX_EPOCH + Duration::from_millis(ms.max(0) as u64);
    humantime::format_rfc3339_millis(t).to_string()
}

impl Importer {
    /// Build the pool and client.
    ///
    /// # Errors
    /// Duplicate metric registration or an invalid client config.
    pub fn build(db: Db, config: ImportsConfig, metrics: &podkit::Metrics) -> anyhow::Result<Self> {
        let pool = WorkerPool::build("imports", config.pool.clone(), Some(metrics))?;
        let client = HttpClient::build("imports", config.client.clone(), Some(metrics))?;
        Ok(Self {
            db,
            pool,
            client,
            config: Arc::new(config),
            progress: Default::default(),
        })
    }

    /// The pool, for shutdown.
    pub fn pool(&self) -> &WorkerPool {
        &self.pool
    }

    /// Check the URL against `allowed_hosts`.
    ///
    /// # Errors
    /// Not http(s), unparsable, or a host not on the list.
    pub fn check_url(&self, raw: &str) -> Result<(), SubmitError> {
        let url = url::Url::parse(raw).map_err(|e| {
            SubmitError::Invalid(vec![FieldError::new("#/url", format!("not a URL: {e}"))])
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(SubmitError::Invalid(vec![FieldError::new(
                "#/url",
                "only http and https URLs",
            )]));
        }
        let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
        if self.config.allowed_hosts.is_empty() {
            return Err(SubmitError::Forbidden(
                "URL imports are disabled: `imports.allowed_hosts` is empty".into(),
            ));
        }
        if !self
            .config
            .allowed_hosts
            .iter()
            .any(|h| h.eq_ignore_ascii_case(&host))
        {
            return Err(SubmitError::Forbidden(format!(
                "host {host:?} is not in `imports.allowed_hosts`"
            )));
        }
        Ok(())
    }

    /// Record the job and queue it.
    ///
    /// # Errors
    /// A full queue, shutdown, a forbidden URL, too many rows, or the database.
    pub async fn submit(&self, source: Source, label: &str) -> Result<ImportJob, SubmitError> {
        let (kind, total) = match &source {
            Source::Inline(rows) => {
                if rows.len() > self.config.max_rows {
                    return Err(SubmitError::Invalid(vec![FieldError::new(
                        "#",
                        format!(
                            "{} rows; at most {} per import (`imports.max_rows`)",
                            rows.len(),
                            self.config.max_rows
                        ),
                    )]));
                }
                if rows.len() == 0 {
                    return Err(SubmitError::Invalid(vec![FieldError::new(
                        "#",
                        "nothing to import",
                    )]));
                }
                let kind = match (rows.currencies.is_empty(), rows.countries.is_empty()) {
                    (false, true) => "currencies",
                    (true, false) => "countries",
                    _ => "mixed",
                };
                (kind.to_string(), rows.len() as i64)
            }
            Source::Url { url, kind } => {
                self.check_url(url)?;
                (
                    kind.map_or("mixed", |k| {
                        if k == ImportKind::Countries {
                            "countries"
                        } else {
                            "currencies"
                        }
                    })
                    .to_string(),
                    0,
                )
            }
        };
        let id = uuid::Uuid::new_v4().simple().to_string();
        let now = now_ms();
        {
            let _permit = self.db.write_permit().await;
            self.db
                .run("imports.create", async {
                    sqlx::query("INSERT INTO imports (id, kind, source, status, total_rows, created_at, updated_at) VALUES ($1, $2, $3, 'queued', $4, $5, $5)")
                        .bind(id.as_str())
                        .bind(kind.as_str())
                        .bind(label)
                        .bind(total)
                        .bind(now)
                        .execute(self.db.pool())
                        .await
                })
                .await?;
        }
        let this = self.clone();
        let job_id = id.clone();
        let queued = self
            .pool
            .try_submit(move |ctx| async move { this.run(job_id, source, ctx).await });
        if let Err(rejected) = queued {
            let status = "failed";
            let _ = self
                .finish(
                    &id,
                    status,
                    Vec::new(),
                    Some("not queued: the import queue is full"),
                )
                .await;
            return Err(match rejected {
                podkit::workers::Rejected::ShuttingDown => SubmitError::ShuttingDown,
                _ => SubmitError::QueueFull,
            });
        }
        Ok(self.get(&id).await?.expect("the job was inserted above"))
    }

    /// A job by id.
    ///
    /// # Errors
    /// The database.
    pub async fn get(&self, id: &str) -> Result<Option<ImportJob>, DbError> {
        let row = self
            .db
            .run("imports.get", async {
                sqlx::query("SELECT id, kind, source, status, total_rows, processed_rows, errors, message, created_at, updated_at FROM imports WHERE id = $1")
                    .bind(id)
                    .fetch_optional(self.db.pool())
                    .await
            })
            .await?;
        let Some(r) = row else { return Ok(None) };
        let get = |e: sqlx::Error| DbError::Unexpected(e);
        let mut status: String = r.try_get("status").map_err(get)?;
        let updated: i64 = r.try_get("updated_at").map_err(get)?;
        let mut processed: i64 = r.try_get("processed_rows").map_err(get)?;
        if status == "running" || status == "queued" {
            if let Some(p) = self
                .progress
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get(id)
            {
                processed = *p;
            } else if now_ms() - updated > self.config.stale_after.as_millis() as i64 {
                status = "interrupted".into();
            }
        }
        let errors: String = r.try_get("errors").map_err(get)?;
        Ok(Some(ImportJob {
            id: r.try_get("id").map_err(get)?,
            kind: r.try_get("kind").map_err(get)?,
            source: r.try_get("source").map_err(get)?,
            status,
            total_rows: r.try_get("total_rows").map_err(get)?,
            processed_rows: processed,
            errors: serde_json::from_str(&errors).unwrap_or_default(),
            message: crate::db::opt_text(&r, "message").map_err(get)?,
            created_at: rfc3339(r.try_get("created_at").map_err(get)?),
            updated_at: rfc3339(updated),
        }))
    }

    async fn set_status(&self, id: &str, status: &str, total: Option<i64>) -> Result<(), DbError> {
        let _permit = self.db.write_permit().await;
        self.db
            .run("imports.update", async {
                sqlx::query("UPDATE imports SET status = $1, total_rows = COALESCE($2, total_rows), updated_at = $3 WHERE id = $4")
                    .bind(status)
                    .bind(total)
                    .bind(now_ms())
                    .bind(id)
                    .execute(self.db.pool())
                    .await
            })
            .await
            .map(|_| ())
    }

    async fn finish(
        &self,
        id: &str,
        status: &str,
        errors: Vec<RowError>,
        message: Option<&str>,
    ) -> Result<(), DbError> {
        let processed = self
            .progress
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(id)
            .unwrap_or(0);
        let errors = serde_json::to_string(&errors).unwrap_or_else(|_| "[]".into());
        let _permit = self.db.write_permit().await;
        self.db
            .run("imports.update", async {
                sqlx::query("UPDATE imports SET status = $1, errors = $2, message = $3, processed_rows = $4, updated_at = $5 WHERE id = $6")
                    .bind(status)
                    .bind(errors.as_str())
                    .bind(message)
                    .bind(processed)
                    .bind(now_ms())
                    .bind(id)
                    .execute(self.db.pool())
                    .await
            })
            .await
            .map(|_| ())
    }

    fn advance(&self, id: &str, n: i64) {
        *self
            .progress
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(id.to_string())
            .or_default() = n;
    }

    /// The worker's side: fetch, validate, write, record the outcome.
    async fn run(self, id: String, source: Source, ctx: TaskContext) -> Result<(), String> {
        self.advance(&id, 0);
        self.set_status(&id, "running", None)
            .await
            .map_err(|e| e.to_string())?;
        let outcome = tokio::select! {
            r = self.execute(&id, source) => r,
            _ = ctx.cancelled() => Err(Outcome::Cancelled),
        };
        // Bad rows and unreachable sources are the caller's to fix: the job records
        // them and the task itself succeeds, so nothing is logged as a server error.
        // Only failing to record the outcome is an error of ours.
        let (status, errors, message) = match outcome {
            Ok(summary) => ("succeeded", Vec::new(), Some(summary)),
            Err(Outcome::Rows(errors)) => {
                let msg = format!("{} row(s) invalid; nothing was written", errors.len());
                ("failed", errors, Some(msg))
            }
            Err(Outcome::Failed(msg)) => ("failed", Vec::new(), Some(msg)),
            Err(Outcome::Cancelled) => (
                "cancelled",
                Vec::new(),
                Some("cancelled at shutdown; nothing was written".to_string()),
            ),
        };
        self.finish(&id, status, errors, message.as_deref())
            .await
            .map_err(|e| e.to_string())?;
        tracing::info!(import_id = %id, status, message = message.as_deref().unwrap_or(""), "import finished");
        Ok(())
    }

    async fn execute(&self, id: &str, source: Source) -> Result<String, Outcome> {
        let rows = match source {
            Source::Inline(rows) => rows,
            Source::Url { url, kind } => {
                let rows = self.fetch(&url, kind).await?;
                if rows.len() > self.config.max_rows {
                    return Err(Outcome::Failed(format!(
                        "{} rows; at most {} per import",
                        rows.len(),
                        self.config.max_rows
                    )));
                }
                self.set_status(id, "running", Some(rows.len() as i64))
                    .await
                    .map_err(|e| Outcome::Failed(e.to_string()))?;
                rows
            }
        };
        let (currencies, countries) = self.validate(id, rows)?;
        let (nc, nk) = (currencies.len(), countries.len());
        let progress = {
            let this = self.clone();
            let id = id.to_string();
            move |n: usize| this.advance(&id, n as i64)
        };
        crate::store::import_rows(&self.db, currencies, countries, progress)
            .await
            .map_err(|e| match e {
                crate::store::ImportError::Rows(errors) => Outcome::Rows(errors),
                crate::store::ImportError::Db(e) => Outcome::Failed(format!("database error: {e}")),
            })?;
        Ok(format!("{nc} currencies and {nk} countries imported"))
    }

    fn validate(&self, id: &str, rows: Rows) -> Result<(Vec<Currency>, Vec<Country>), Outcome> {
        let mut errors = Vec::new();
        let mut currencies = Vec::new();
        let mut countries = Vec::new();
        let mut seen = BTreeSet::new();
        let mut done = 0;
        for (row, input) in rows.currencies {
            match input
                .map_err(|e| vec![FieldError::new("#", e)])
                .and_then(CurrencyInput::validate)
            {
                Ok(c) if !seen.insert(("currencies", c.code.clone())) => errors.push(row_error(
                    "currencies",
                    row,
                    FieldError::new("#/code", format!("{} appears twice", c.code)),
                )),
                Ok(c) => currencies.push(c),
                Err(es) => errors.extend(es.into_iter().map(|e| row_error("currencies", row, e))),
            }
            done += 1;
            self.advance(id, done);
        }
        for (row, input) in rows.countries {
            match input
                .map_err(|e| vec![FieldError::new("#", e)])
                .and_then(CountryInput::validate)
            {
                Ok(c) if !seen.insert(("countries", c.alpha2.clone())) => errors.push(row_error(
                    "countries",
                    row,
                    FieldError::new("#/alpha2", format!("{} appears twice", c.alpha2)),
                )),
                Ok(c) => countries.push((row, c)),
                Err(es) => errors.extend(es.into_iter().map(|e| row_error("countries", row, e))),
            }
            done += 1;
            self.advance(id, done);
        }
        if !errors.is_empty() {
            return Err(Outcome::Rows(errors));
        }
        Ok((currencies, countries.into_iter().map(|(_, c)| c).collect()))
    }

    async fn fetch(&self, url: &str, kind: Option<ImportKind>) -> Result<Rows, Outcome> {
        let res = self
            .client
            .get(url)
            .await
            .map_err(|e| Outcome::Failed(format!("fetching {url}: {e}")))?;
        if !res.status.is_success() {
            return Err(Outcome::Failed(format!(
                "fetching {url}: status {}",
                res.status
            )));
        }
        let content_type = res
            .headers
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_ascii_lowercase();
        let is_csv = content_type.starts_with("text/csv")
            || url.split('?').next().unwrap_or_default().ends_with(".csv");
        if is_csv {
            let kind = kind.ok_or_else(|| Outcome::Failed("a CSV import needs `kind`".into()))?;
            parse_csv(kind, &res.body).map_err(Outcome::Failed)
        } else {
            parse_json(&res.body).map_err(Outcome::Failed)
        }
    }
}

enum Outcome {
    Rows(Vec<RowError>),
    Failed(String),
    Cancelled,
}

fn row_error(kind: &str, row: usize, e: FieldError) -> RowError {
    RowError {
        kind: kind.into(),
        row,
        pointer: e.pointer,
        detail: e.detail,
    }
}

/// Rows from a JSON document: `{"currencies": [...], "countries": [...]}`. Rows are
/// decoded one by one so a bad row is reported, not the whole document.
///
/// # Errors
/// The document itself is not that shape.
pub fn parse_json(bytes: &[u8]) -> Result<Rows, String> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Doc {
        #[serde(default)]
        currencies: Vec<serde_json::Value>,
        #[serde(default)]
        countries: Vec<serde_json::Value>,
    }
    let doc: Doc =
        serde_json::from_slice(bytes).map_err(|e| format!("not an import document: {e}"))?;
    Ok(Rows {
        currencies: doc
            .currencies
            .into_iter()
            .enumerate()
            .map(|(i, v)| (i + 1, serde_json::from_value(v).map_err(|e| e.to_string())))
            .collect(),
        countries: doc
            .countries
            .into_iter()
            .enumerate()
            .map(|(i, v)| (i + 1, serde_json::from_value(v).map_err(|e| e.to_string())))
            .collect(),
    })
}

/// Rows from CSV with a header. Currencies: `code,numeric,name,minor_units`.
/// Countries: `alpha2,alpha3,numeric,name,official_name,currencies,timezones`, the
/// last two separated by spaces or `;`.
///
/// # Errors
/// The header is missing required columns.
pub fn parse_csv(kind: ImportKind, bytes: &[u8]) -> Result<Rows, String> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(false)
        .from_reader(bytes);
    let headers = reader
        .headers()
        .map_err(|e| format!("CSV header: {e}"))?
        .clone();
    let col = |name: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(name));
    let list = |s: &str| -> Vec<String> {
        s.split([';', ' '])
            .filter(|p| !p.is_empty())
            .map(String::from)
            .collect()
    };
    let mut rows = Rows::default();
    match kind {
        ImportKind::Currencies => {
            let (Some(code), Some(numeric), Some(name)) =
                (col("code"), col("numeric"), col("name"))
            else {
                return Err(
                    "currency CSV needs columns code, numeric, name (and optionally minor_units)"
                        .into(),
                );
            };
            let minor = col("minor_units");
            for (i, rec) in reader.records().enumerate() {
                let row = rec.map_err(|e| e.to_string()).and_then(|r| {
                    let minor_units = match minor.and_then(|m| r.get(m)).filter(|v| !v.is_empty()) {
                        None => None,
                        Some(v) => Some(v.parse::<u8>().map_err(|_| {
                            format!("minor_units {v:?} is not a number from 0 to 255")
                        })?),
                    };
                    Ok(CurrencyInput {
                        code: r.get(code).unwrap_or_default().into(),
                        numeric: r.get(numeric).unwrap_or_default().into(),
                        name: r.get(name).unwrap_or_default().into(),
                        minor_units,
                    })
                });
                rows.currencies.push((i + 1, row));
            }
        }
        ImportKind::Countries => {
            let (Some(a2), Some(a3), Some(numeric), Some(name)) =
                (col("alpha2"), col("alpha3"), col("numeric"), col("name"))
            else {
                return Err("country CSV needs columns alpha2, alpha3, numeric, name (and optionally official_name, currencies, timezones)".into());
            };
            let (official, cur, tz) = (col("official_name"), col("currencies"), col("timezones"));
            for (i, rec) in reader.records().enumerate() {
                let row = rec.map_err(|e| e.to_string()).map(|r| CountryInput {
                    alpha2: r.get(a2).unwrap_or_default().into(),
                    alpha3: r.get(a3).unwrap_or_default().into(),
                    numeric: r.get(numeric).unwrap_or_default().into(),
                    name: r.get(name).unwrap_or_default().into(),
                    official_name: official
                        .and_then(|o| r.get(o))
                        .filter(|v| !v.is_empty())
                        .map(String::from),
                    currencies: cur.and_then(|c| r.get(c)).map(list).unwrap_or_default(),
                    timezones: tz.and_then(|t| r.get(t)).map(list).unwrap_or_default(),
                });
                rows.countries.push((i + 1, row));
            }
        }
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_rows_parse_with_lists_and_report_bad_rows() {
        let csv = "alpha2,alpha3,numeric,name,official_name,currencies,timezones\nXA,XAA,901,Atlantis,,EUR;USD,Europe/Lisbon Atlantic/Azores\nXB,XBB,902\n";
        let rows = parse_csv(ImportKind::Countries, csv.as_bytes()).unwrap();
        let first = rows.countries[0].1.as_ref().unwrap();
        assert_eq!(first.currencies, vec!["EUR", "USD"]);
        assert_eq!(first.timezones, vec!["Europe/Lisbon", "Atlantic/Azores"]);
        assert_eq!(first.official_name, None);
        assert!(
            rows.countries[1].1.is_err(),
            "a short row is an error for that row only"
        );
        assert!(
            parse_csv(ImportKind::Currencies, b"x,y\n1,2\n").is_err(),
            "missing columns"
        );
    }

    #[test]
    fn json_rows_are_decoded_one_by_one() {
        let rows = parse_json(
            br#"{"currencies": [{"code": "XQA", "numeric": "001", "name": "Q"}, {"code": 5}]}"#,
        )
        .unwrap();
        assert!(rows.currencies[0].1.is_ok());
        assert!(rows.currencies[1].1.is_err());
        assert!(parse_json(b"[1,2]").is_err());
    }
}

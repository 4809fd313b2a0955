//! Bulk imports of countries and currencies, run on podkit's worker pool.
//!
//! An import is all or nothing: every row is validated as it is parsed, every bad
//! row is counted and the first `max_errors` field errors are reported with their
//! row numbers; only a clean batch is written, in one transaction.
//! Jobs live in the `imports` table, so any replica answers `GET /imports/{id}`.
//! Progress of a running job is tracked in the memory of the replica running it
//! (its rows are invisible to others until the transaction commits).
//!
//! Memory is bounded by construction: inputs are parsed as streams that stop at
//! `max_rows` + 1 rows (`parse` for CSV, [`json`] for JSON) and hand each row to a
//! [`RowSink`] (`check` keeps only valid rows), a URL's body is read chunk by chunk
//! into the parser within `client.max_body_bytes` (`fetch`), and a queued inline
//! import holds its request body (within `server.body_limit`), not parsed rows.

mod check;
mod fetch;
pub mod json;
mod parse;

use std::collections::HashMap;
use std::io::Read;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, SecondsFormat};
use podkit::client::HttpClient;
use podkit::workers::{TaskContext, WorkerPool};

use axum::body::Bytes;
use check::{Checked, Rejections};
pub use fetch::{shown_url, OwnPorts};
pub use json::parse_json;
pub use parse::{parse_csv, ParseError};

use crate::config::ImportsConfig;
use crate::domain::country::CountryInput;
use crate::domain::currency::CurrencyInput;
use crate::domain::import::{ImportJob, ImportKind};
use crate::domain::{FieldError, RowError};
use crate::store::imports::{self as jobs, ImportError, StoredJob};
use crate::store::{Db, DbError};

/// Rows as parsed, not yet validated: the [`RowSink`] that collects everything
/// (for tests and tools; imports themselves validate as they parse).
#[derive(Debug, Default)]
pub struct Rows {
    /// Currency rows, with their row numbers (1-based).
    pub currencies: Vec<(usize, Result<CurrencyInput, String>)>,
    /// Country rows.
    pub countries: Vec<(usize, Result<CountryInput, String>)>,
}

/// Where parsed rows go, one at a time, as the parsers read them.
pub trait RowSink {
    /// Currency row `n` (from 1), or why it did not decode.
    fn currency(&mut self, n: usize, row: Result<CurrencyInput, String>);
    /// Country row `n` (from 1), or why it did not decode.
    fn country(&mut self, n: usize, row: Result<CountryInput, String>);
}

/// Collects every row.
impl RowSink for Rows {
    fn currency(&mut self, n: usize, row: Result<CurrencyInput, String>) {
        self.currencies.push((n, row));
    }

    fn country(&mut self, n: usize, row: Result<CountryInput, String>) {
        self.countries.push((n, row));
    }
}

/// Drops every row: parse to check and count only.
impl RowSink for () {
    fn currency(&mut self, _: usize, _: Result<CurrencyInput, String>) {}

    fn country(&mut self, _: usize, _: Result<CountryInput, String>) {}
}

/// How a body of rows is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// An import document, `{"currencies": [...], "countries": [...]}`.
    Json,
    /// CSV of one kind, with a header.
    Csv(ImportKind),
}

/// Rows from `input` in `format` into `sink`, stopping at the first row over
/// `max_rows`; returns the row count.
///
/// # Errors
/// See [`ParseError`].
pub fn parse_rows(
    format: Format,
    input: impl Read,
    max_rows: usize,
    sink: &mut dyn RowSink,
) -> Result<usize, ParseError> {
    match format {
        Format::Json => parse_json(input, max_rows, sink),
        Format::Csv(kind) => parse_csv(kind, input, max_rows, sink),
    }
}

/// Where the rows come from.
#[derive(Debug)]
pub enum Source {
    /// A request body, checked (and its rows counted) when submitted. The queue
    /// holds these bytes, within `server.body_limit`, never the parsed rows: the
    /// worker parses them again.
    Body {
        /// JSON or CSV.
        format: Format,
        /// The body.
        bytes: Bytes,
        /// Currency and country rows counted.
        counts: (usize, usize),
    },
    /// To be fetched.
    Url {
        /// The URL.
        url: String,
        /// CSV content kind.
        kind: Option<ImportKind>,
    },
}

/// Everything an import needs, shared by the route and the workers.
#[derive(Clone)]
pub struct Importer {
    db: Db,
    /// Refreshed (and announced) after every import that wrote rows.
    catalog: crate::catalog::Catalog,
    pool: WorkerPool,
    client: HttpClient,
    config: Arc<ImportsConfig>,
    own: Arc<OwnPorts>,
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
    /// The request is invalid (pointers into the request body).
    #[error("invalid import")]
    Invalid(Vec<FieldError>),
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn rfc3339(ms: i64) -> String {
    DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// How a job's work ended, before it is recorded.
enum Outcome {
    Rows(Rejections),
    Failed(String),
    Cancelled,
}

impl Importer {
    /// Build the pool and client.
    ///
    /// # Errors
    /// Duplicate metric registration or an invalid client config.
    pub fn build(
        db: Db,
        catalog: crate::catalog::Catalog,
        config: ImportsConfig,
        own: OwnPorts,
        metrics: &podkit::Metrics,
    ) -> anyhow::Result<Self> {
        let pool = WorkerPool::build("imports", config.pool.clone(), Some(metrics))?;
        let client = HttpClient::build("imports", config.client.clone(), Some(metrics))?;
        Ok(Self {
            db,
            catalog,
            pool,
            client,
            config: Arc::new(config),
            own: Arc::new(own),
            progress: Default::default(),
        })
    }

    /// The pool, for shutdown.
    pub fn pool(&self) -> &WorkerPool {
        &self.pool
    }

    /// Check the URL: http(s), its host and port on `allowed_hosts`, and not one of
    /// the service's own ports on a local address.
    ///
    /// # Errors
    /// Not http(s) or unparsable (422), or forbidden (403).
    pub async fn check_url(&self, raw: &str) -> Result<(), SubmitError> {
        let invalid = |d: String| SubmitError::Invalid(vec![FieldError::pointer("/url", d)]);
        let url = url::Url::parse(raw).map_err(|e| invalid(format!("not a URL: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(invalid("only http and https URLs".into()));
        }
        let Some(host) = url.host_str().filter(|h| !h.is_empty()) else {
            return Err(invalid("the URL has no host".into()));
        };
        if let Some(port) = self.own.reached_by(&url).await {
            return Err(SubmitError::Forbidden(format!(
                "the URL points at this service's own port {port}; imports never call the service itself"
            )));
        }
        if self.config.allowed_hosts.is_empty() {
            return Err(SubmitError::Forbidden(
                "URL imports are disabled: `imports.allowed_hosts` is empty".into(),
            ));
        }
        let (scheme, port) = (url.scheme(), url.port());
        if !self
            .config
            .allowed_hosts
            .iter()
            .any(|h| h.allows(scheme, host, port))
        {
            let shown = match url.port_or_known_default() {
                Some(p) => format!("{host}:{p}"),
                None => host.to_string(),
            };
            return Err(SubmitError::Forbidden(format!(
                "{shown} is not in `imports.allowed_hosts` (a bare host allows only its scheme's default port)"
            )));
        }
        Ok(())
    }

    /// The job's kind and row count, once the source is checked.
    async fn describe(&self, source: &Source) -> Result<(&'static str, i64), SubmitError> {
        match source {
            Source::Body { format, counts, .. } => {
                let n = counts.0 + counts.1;
                if n == 0 {
                    let e = FieldError::pointer("", "nothing to import");
                    return Err(SubmitError::Invalid(vec![e]));
                }
                let kind = match (format, counts) {
                    (Format::Csv(kind), _) => kind.as_str(),
                    (Format::Json, (_, 0)) => "currencies",
                    (Format::Json, (0, _)) => "countries",
                    _ => "mixed",
                };
                Ok((kind, n as i64))
            }
            Source::Url { url, kind } => {
                self.check_url(url).await?;
                Ok((kind.map_or("mixed", ImportKind::as_str), 0))
            }
        }
    }

    /// Record the job and queue it. `label` is the job's `source`: `body`, `csv`, or
    /// the URL, which is shown without credentials.
    ///
    /// # Errors
    /// A full queue, shutdown, a forbidden URL, nothing to import, or the database.
    pub async fn submit(&self, source: Source, label: &str) -> Result<ImportJob, SubmitError> {
        let label = shown_url(label);
        let (kind, total) = self.describe(&source).await?;
        let id = uuid::Uuid::new_v4().simple().to_string();
        jobs::insert_job(&self.db, &id, kind, &label, total, now_ms()).await?;
        let this = self.clone();
        let job_id = id.clone();
        let queued = self
            .pool
            .try_submit(move |ctx| async move { this.run(job_id, source, ctx).await });
        if let Err(rejected) = queued {
            let why = Some("not queued: the import queue is full");
            let _ = self.finish(&id, "failed", &[], why).await;
            return Err(match rejected {
                podkit::workers::Rejected::ShuttingDown => SubmitError::ShuttingDown,
                _ => SubmitError::QueueFull,
            });
        }
        let job = self.get(&id).await?;
        // Invariant: the row was inserted above, and jobs are never deleted.
        Ok(job.expect("the job was inserted above"))
    }

    /// A job by id.
    ///
    /// # Errors
    /// The database.
    pub async fn get(&self, id: &str) -> Result<Option<ImportJob>, DbError> {
        Ok(jobs::get_job(&self.db, id).await?.map(|j| self.view(j)))
    }

    /// A stored job as callers see it: live progress from this replica, and
    /// `interrupted` for a job nobody has touched for `stale_after`.
    fn view(&self, j: StoredJob) -> ImportJob {
        let mut status = j.status.clone();
        let mut processed = j.processed_rows;
        if status == "running" || status == "queued" {
            let live = self.lock_progress().get(&j.id).copied();
            if let Some(p) = live {
                processed = p;
            } else if now_ms() - j.updated_at > self.config.stale_after.as_millis() as i64 {
                status = "interrupted".into();
            }
        }
        ImportJob {
            errors: j.errors(),
            id: j.id,
            kind: j.kind,
            source: j.source,
            status,
            total_rows: j.total_rows,
            processed_rows: processed,
            message: j.message,
            created_at: rfc3339(j.created_at),
            updated_at: rfc3339(j.updated_at),
        }
    }

    fn lock_progress(&self) -> std::sync::MutexGuard<'_, HashMap<String, i64>> {
        // A panic while holding the lock leaves a plain map behind: still usable.
        self.progress.lock().unwrap_or_else(|e| e.into_inner())
    }

    async fn finish(
        &self,
        id: &str,
        status: &str,
        errors: &[RowError],
        message: Option<&str>,
    ) -> Result<(), DbError> {
        let processed_rows = self.lock_progress().remove(id).unwrap_or(0);
        let outcome = jobs::Outcome {
            status,
            errors,
            message,
            processed_rows,
        };
        jobs::finish_job(&self.db, id, outcome, now_ms()).await
    }

    fn advance(&self, id: &str, n: i64) {
        *self.lock_progress().entry(id.to_string()).or_default() = n;
    }

    /// The worker's side: fetch, validate, write, record the outcome.
    async fn run(self, id: String, source: Source, ctx: TaskContext) -> Result<(), String> {
        self.advance(&id, 0);
        jobs::set_status(&self.db, &id, "running", None, now_ms())
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
            Ok(summary) => ("succeeded", Vec::new(), summary),
            Err(Outcome::Rows(r)) => {
                let msg = r.message();
                ("failed", r.listed, msg)
            }
            Err(Outcome::Failed(msg)) => ("failed", Vec::new(), msg),
            Err(Outcome::Cancelled) => (
                "cancelled",
                Vec::new(),
                "cancelled at shutdown; nothing was written".to_string(),
            ),
        };
        self.finish(&id, status, &errors, Some(&message))
            .await
            .map_err(|e| e.to_string())?;
        tracing::info!(import_id = %id, status, message, "import finished");
        Ok(())
    }

    async fn execute(&self, id: &str, source: Source) -> Result<String, Outcome> {
        let max = self.config.max_rows;
        let progress: Box<dyn Fn(usize) + Send> = {
            let this = self.clone();
            let id = id.to_string();
            Box::new(move |n| this.advance(&id, n as i64))
        };
        let mut sink = Checked::new(self.config.max_errors, progress);
        let sink = match source {
            Source::Body { format, bytes, .. } => {
                // Parsing is CPU work: off the runtime, at most one per worker.
                tokio::task::spawn_blocking(move || {
                    parse_rows(format, &bytes[..], max, &mut sink).map(|_| sink)
                })
                .await
                .map_err(|e| Outcome::Failed(format!("parsing failed: {e}")))?
                .map_err(|e| Outcome::Failed(e.to_string()))?
            }
            Source::Url { url, kind } => {
                let (sink, n) = self.fetch(&url, kind, sink).await?;
                jobs::set_status(&self.db, id, "running", Some(n as i64), now_ms())
                    .await
                    .map_err(|e| Outcome::Failed(e.to_string()))?;
                sink
            }
        };
        let (currencies, countries) = sink.finish()?;
        let (nc, nk) = (currencies.len(), countries.len());
        let progress = {
            let this = self.clone();
            let id = id.to_string();
            move |n: usize| this.advance(&id, n as i64)
        };
        jobs::import_rows(&self.db, currencies, countries, progress)
            .await
            .map_err(|e| match e {
                ImportError::Rows(errors) => {
                    Outcome::Rows(Rejections::from_list(errors, self.config.max_errors))
                }
                ImportError::Db(e) => Outcome::Failed(format!("database error: {e}")),
            })?;
        self.catalog.changed().await;
        Ok(format!("{nc} currencies and {nk} countries imported"))
    }

    /// Fetch and parse at once: the body goes chunk by chunk into the parser on a
    /// blocking thread, which validates each row into `sink` and stops at
    /// `max_rows` + 1 rows; dropping the channel then drops the download. Memory:
    /// the valid rows plus two chunks.
    async fn fetch(
        &self,
        url: &str,
        kind: Option<ImportKind>,
        mut sink: Checked,
    ) -> Result<(Checked, usize), Outcome> {
        let shown = shown_url(url);
        let failed = |e: &dyn std::fmt::Display| Outcome::Failed(format!("fetching {shown}: {e}"));
        // Checked at submit too; names can resolve differently by the time the job runs.
        if let Ok(parsed) = url::Url::parse(url) {
            if let Some(port) = self.own.reached_by(&parsed).await {
                let why = format!("it points at this service's own port {port}");
                return Err(failed(&why));
            }
        }
        let mut res = self
            .client
            .get_streaming(url)
            .await
            .map_err(|e| failed(&e))?;
        if !res.status.is_success() {
            return Err(failed(&format_args!("status {}", res.status)));
        }
        let content_type = res
            .headers
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_ascii_lowercase();
        let is_csv = content_type.starts_with("text/csv")
            || url.split('?').next().unwrap_or_default().ends_with(".csv");
        let format = match (is_csv, kind) {
            (false, _) => Format::Json,
            (true, Some(kind)) => Format::Csv(kind),
            (true, None) => return Err(Outcome::Failed("a CSV import needs `kind`".into())),
        };
        let (tx, reader) = fetch::ChannelReader::new();
        let max = self.config.max_rows;
        let parser = tokio::task::spawn_blocking(move || {
            parse_rows(format, reader, max, &mut sink).map(|n| (sink, n))
        });
        let pumped = async {
            while let Some(chunk) = res.chunk().await? {
                if tx.send(chunk).await.is_err() {
                    break; // the parser is done: the rest is not needed
                }
            }
            Ok::<_, podkit::ClientError>(())
        }
        .await;
        drop(tx);
        let parsed = parser
            .await
            .map_err(|e| Outcome::Failed(format!("parsing failed: {e}")))?;
        match (pumped, parsed) {
            (_, Err(e @ ParseError::TooManyRows(_))) => Err(failed(&e)),
            (Err(e), _) => Err(failed(&e)),
            (Ok(()), parsed) => parsed.map_err(|e| failed(&e)),
        }
    }
}

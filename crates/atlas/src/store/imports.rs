//! Import jobs (the `imports` table) and the all-or-nothing write of a batch.

use std::collections::BTreeSet;

use super::{countries, currencies, write, Db, DbError, WriteError};
use crate::domain::country::Country;
use crate::domain::currency::Currency;
use crate::domain::{FieldError, RowError};

/// A job as stored. Times are Unix milliseconds.
#[derive(Debug, sqlx::FromRow)]
pub struct StoredJob {
    /// Job id.
    pub id: String,
    /// `countries`, `currencies` or `mixed`.
    pub kind: String,
    /// `body`, `csv`, or the URL.
    pub source: String,
    /// As last written; `running` may since have been interrupted.
    pub status: String,
    /// Rows in the import.
    pub total_rows: i64,
    /// Rows processed when the status was last written.
    pub processed_rows: i64,
    /// The failed rows, as JSON.
    errors: String,
    /// A summary, or why the job failed.
    pub message: Option<String>,
    /// Accepted at.
    pub created_at: i64,
    /// Last written at.
    pub updated_at: i64,
}

impl StoredJob {
    /// The failed rows; empty if the stored JSON does not parse (it is ours).
    pub fn errors(&self) -> Vec<RowError> {
        serde_json::from_str(&self.errors).unwrap_or_default()
    }
}

/// Record a new job, `queued`.
///
/// # Errors
/// Database failures.
pub async fn insert_job(
    db: &Db,
    id: &str,
    kind: &str,
    source: &str,
    total_rows: i64,
    now_ms: i64,
) -> Result<(), DbError> {
    let _permit = db.write_permit().await?;
    db.run("imports.create", async {
        sqlx::query(
            "INSERT INTO imports (id, kind, source, status, total_rows, created_at, updated_at) \
             VALUES ($1, $2, $3, 'queued', $4, $5, $5)",
        )
        .bind(id)
        .bind(kind)
        .bind(source)
        .bind(total_rows)
        .bind(now_ms)
        .execute(db.pool())
        .await
    })
    .await
    .map(drop)
}

/// A job by id.
///
/// # Errors
/// Database failures.
pub async fn get_job(db: &Db, id: &str) -> Result<Option<StoredJob>, DbError> {
    db.run("imports.get", async {
        sqlx::query_as(
            "SELECT id, kind, source, status, total_rows, processed_rows, errors, message, \
             created_at, updated_at FROM imports WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(db.pool())
        .await
    })
    .await
}

/// Set a job's status, and its row count when known.
///
/// # Errors
/// Database failures.
pub async fn set_status(
    db: &Db,
    id: &str,
    status: &str,
    total_rows: Option<i64>,
    now_ms: i64,
) -> Result<(), DbError> {
    let _permit = db.write_permit().await?;
    db.run("imports.update", async {
        sqlx::query(
            "UPDATE imports SET status = $1, total_rows = COALESCE($2, total_rows), \
             updated_at = $3 WHERE id = $4",
        )
        .bind(status)
        .bind(total_rows)
        .bind(now_ms)
        .bind(id)
        .execute(db.pool())
        .await
    })
    .await
    .map(drop)
}

/// How a job ended.
#[derive(Debug)]
pub struct Outcome<'a> {
    /// `succeeded`, `failed` or `cancelled`.
    pub status: &'a str,
    /// The failed rows.
    pub errors: &'a [RowError],
    /// A summary.
    pub message: Option<&'a str>,
    /// Rows processed.
    pub processed_rows: i64,
}

/// Record how a job ended.
///
/// # Errors
/// Database failures.
pub async fn finish_job(db: &Db, id: &str, o: Outcome<'_>, now_ms: i64) -> Result<(), DbError> {
    // Invariant: `RowError` is plain strings and numbers, which always serialize.
    let errors = serde_json::to_string(o.errors).unwrap_or_else(|_| "[]".into());
    let _permit = db.write_permit().await?;
    db.run("imports.update", async {
        sqlx::query(
            "UPDATE imports SET status = $1, errors = $2, message = $3, processed_rows = $4, \
             updated_at = $5 WHERE id = $6",
        )
        .bind(o.status)
        .bind(errors.as_str())
        .bind(o.message)
        .bind(o.processed_rows)
        .bind(now_ms)
        .bind(id)
        .execute(db.pool())
        .await
    })
    .await
    .map(drop)
}

/// Why an import batch was not written.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// Rows conflict with existing data or refer to currencies that exist neither in
    /// the database nor the batch.
    #[error("{} rows cannot be written", .0.len())]
    Rows(Vec<RowError>),
    /// The database failed (the transaction rolled back).
    #[error(transparent)]
    Db(DbError),
}

fn row_error(kind: &str, row: usize, pointer: &str, detail: String) -> RowError {
    RowError::new(kind, row, FieldError::pointer(pointer, detail))
}

/// Rows whose codes another row already holds.
async fn taken(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    currencies: &[Currency],
    countries: &[Country],
) -> Result<Vec<RowError>, sqlx::Error> {
    let mut taken = Vec::new();
    for (i, c) in currencies.iter().enumerate() {
        if let Some(d) = currencies::conflict(tx, c, Some(&c.code)).await? {
            taken.push(row_error("currencies", i + 1, "/numeric", d));
        }
    }
    for (i, c) in countries.iter().enumerate() {
        if let Some(d) = countries::conflict(tx, c, Some(&c.alpha2)).await? {
            taken.push(row_error("countries", i + 1, "", d));
        }
    }
    Ok(taken)
}

/// Currencies countries refer to that do not exist (run after the batch's own
/// currencies are written).
async fn dangling(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    countries: &[Country],
) -> Result<Vec<RowError>, sqlx::Error> {
    let mut known = BTreeSet::new();
    let mut errors = Vec::new();
    for (i, c) in countries.iter().enumerate() {
        for cur in &c.currencies {
            if known.contains(cur) {
                continue;
            }
            if currencies::exists(tx, cur).await? {
                known.insert(cur.clone());
            } else {
                let detail = format!("unknown currency {cur:?}");
                errors.push(row_error("countries", i + 1, "/currencies", detail));
            }
        }
    }
    Ok(errors)
}

/// Borders that name no country, per row (run after the batch's countries are
/// written, in the same transaction).
async fn unknown_borders(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    countries: &[Country],
) -> Result<Vec<RowError>, sqlx::Error> {
    let mut errors = Vec::new();
    for (i, c) in countries.iter().enumerate() {
        for e in countries::unknown_borders(tx, c).await? {
            errors.push(RowError::new("countries", i + 1, e));
        }
    }
    Ok(errors)
}

/// Write validated rows in one transaction: currencies first (so countries may use
/// them), each created or replaced by key; then countries with their links.
/// `progress` is told how many rows are written.
///
/// # Errors
/// Conflicting rows, unknown currency or border references (nothing written), or database
/// failures.
pub async fn import_rows(
    db: &Db,
    currencies: Vec<Currency>,
    countries: Vec<Country>,
    progress: impl Fn(usize) + Send + Sync + 'static,
) -> Result<(), ImportError> {
    let result = write(db, "imports.write", move |tx| {
        Box::pin(async move {
            let conflicts = taken(tx, &currencies, &countries).await?;
            if !conflicts.is_empty() {
                return Err(WriteError::Rows(conflicts));
            }
            let mut done = 0;
            // Rows are written in key order, so two imports that share keys wait
            // for each other instead of deadlocking (errors above keep the input's
            // indices).
            let mut in_order: Vec<&Currency> = currencies.iter().collect();
            in_order.sort_unstable_by(|a, b| a.code.cmp(&b.code));
            for c in in_order {
                currencies::upsert(tx, c).await?;
                done += 1;
                progress(done);
            }
            let errors = dangling(tx, &countries).await?;
            if !errors.is_empty() {
                return Err(WriteError::Rows(errors));
            }
            let mut in_order: Vec<&Country> = countries.iter().collect();
            in_order.sort_unstable_by(|a, b| a.alpha2.cmp(&b.alpha2));
            for c in in_order {
                countries::upsert(tx, c).await?;
                done += 1;
                progress(done);
            }
            // Borders may name countries of the same batch: checked once all are in.
            let errors = unknown_borders(tx, &countries).await?;
            if !errors.is_empty() {
                return Err(WriteError::Rows(errors));
            }
            Ok(())
        })
    })
    .await;
    match result {
        Ok(()) => Ok(()),
        Err(WriteError::Rows(rows)) => Err(ImportError::Rows(rows)),
        Err(WriteError::Db(e)) => Err(ImportError::Db(e)),
        // The per-row checks above find every taken key first; a race with another
        // writer is what is left.
        Err(other) => Err(ImportError::Rows(vec![row_error(
            "countries",
            0,
            "",
            format!("conflicts with a concurrent write: {other}"),
        )])),
    }
}

//! The database layer: every SQL statement of the service lives here, and nothing
//! here knows about HTTP. Callers get domain values, [`DbError`] and [`WriteError`].
//!
//! - [`db`]: the pool ([`Db`]), its metrics and spans; `warm`: the connections
//!   reads keep between requests ([`Lease`]), sparing sqlx's ping on every
//!   return to the pool; [`error`]: failures by
//!   SQLSTATE / SQLite code; [`schema`]: embedded migrations, their expand/contract
//!   kinds, and the compatibility window readiness holds to.
//! - [`url`]: `database.url`, validated when the config loads; [`probe`](mod@probe): one direct
//!   connection at start-up that says why it failed, in words from [`diagnosis`].
//! - [`countries`], [`currencies`], [`subdivisions`], [`imports`], [`places`]: the queries, one
//!   module per table group.
//!
//! SQL is static text with `$n` placeholders (SQLite reads them too) and bound
//! values; optional filters are `($n IS NULL OR …)`. Each read is one statement
//! (a country with its links, a page with its total), so it is one round trip and
//! one cached prepared statement per connection; `bench/pgbench/` holds copies for
//! `pgbench`, kept equal by a test. `sqlx::QueryBuilder` is not
//! used: on `Any` it writes `?` placeholders, which PostgreSQL rejects
//! (launchbadge/sqlx#3000). Rows decode through `#[derive(sqlx::FromRow)]`.

mod availability;
#[cfg(test)]
mod bench_sql;
pub mod catalog;
pub mod countries;
pub mod currencies;
pub mod db;
pub mod diagnosis;
pub mod error;
pub mod imports;
pub mod places;
pub mod probe;
pub mod schema;
pub mod subdivisions;
pub mod url;
mod warm;

use std::future::Future;
use std::pin::Pin;

use sqlx::{Any, Transaction};

pub use db::{Backend, Db};
pub use diagnosis::ConnectFailure;
pub use error::{DbError, WriteError};
pub use probe::{probe, Connected};
pub use schema::{expected_version, migration_count, Catalog, ExtraMigration, Kind, SchemaStatus};
pub use url::DatabaseUrl;
pub use warm::Lease;

/// One page of a list.
#[derive(Debug)]
pub struct Page<T> {
    /// The items, in key order.
    pub items: Vec<T>,
    /// Items matching the filter, over all pages.
    pub total: i64,
    /// The key to pass as `cursor` for the next page.
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// A page from up to `limit + 1` rows: the extra row only says another page
    /// follows, starting after the last item's `key`.
    fn from_rows(mut items: Vec<T>, total: i64, limit: usize, key: impl Fn(&T) -> &str) -> Self {
        let next_cursor = if items.len() > limit {
            items.truncate(limit);
            items.last().map(|i| key(i).to_string())
        } else {
            None
        };
        Self {
            items,
            total,
            next_cursor,
        }
    }
}

/// A stored row plus the row version that `If-Match` checks guard.
#[derive(Debug, Clone)]
pub struct Versioned<T> {
    /// The value.
    pub value: T,
    /// The row's write counter.
    pub version: i64,
}

/// What a write's body returns: a future borrowing the transaction.
type WriteFuture<'t, T> = Pin<Box<dyn Future<Output = Result<T, WriteError>> + Send + 't>>;

/// How a PostgreSQL write transaction begins: the lock timeout rides in the same
/// simple query as `BEGIN` (one round trip, not two). A write waits this long for
/// a row lock before giving up with a 503 (`Retry-After`): bounded, so a long
/// import or a stuck session delays other writers by at most this, and never
/// holds a connection longer.
const BEGIN_POSTGRES: &str = "BEGIN; SET LOCAL lock_timeout = '2s'";

/// Run a write in a transaction named `operation`, with metrics; commits on `Ok`.
///
/// No global lock: writers contend only for the rows they touch. A lock wait past
/// [`LOCK_TIMEOUT`], a deadlock or a serialization failure rolls the transaction
/// back and becomes [`DbError::Busy`] (503 + `Retry-After`), never a 500. At most
/// half the pool writes at once, so waiting writers cannot starve reads.
async fn write<T, F>(db: &Db, operation: &'static str, f: F) -> Result<T, WriteError>
where
    F: for<'t> FnOnce(&'t mut Transaction<'static, Any>) -> WriteFuture<'t, T>,
{
    let _permit = db.write_permit().await?;
    let mut outcome = None;
    let result = db
        .run(operation, async {
            let mut tx = match db.backend() {
                Backend::Postgres => db.pool().begin_with(BEGIN_POSTGRES).await?,
                Backend::Sqlite => db.pool().begin().await?,
            };
            match f(&mut tx).await {
                Ok(v) => {
                    tx.commit().await?;
                    outcome = Some(Ok(v));
                }
                Err(WriteError::Db(e)) => return Err(e.into_sqlx()),
                Err(other) => outcome = Some(Err(other)),
            }
            Ok(())
        })
        .await;
    match (result, outcome) {
        (Err(DbError::Conflict(_)), _) => Err(WriteError::Duplicate(
            "the write conflicts with existing data".into(),
        )),
        (Err(e), _) => Err(WriteError::Db(e)),
        (Ok(()), Some(o)) => o,
        (Ok(()), None) => Err(WriteError::Db(DbError::Unexpected(sqlx::Error::Protocol(
            "write produced no outcome".into(),
        )))),
    }
}

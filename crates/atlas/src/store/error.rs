//! Database failures sorted by who can fix them, from SQLSTATE codes (PostgreSQL)
//! and extended result codes (SQLite), never from message text.

use sqlx::error::{DatabaseError, ErrorKind};
use sqlx::postgres::PgDatabaseError;
use sqlx::sqlite::SqliteError;

use crate::domain::{FieldError, RowError};

/// A database failure, by who can fix it.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The database cannot be reached, is shutting down, is busy, or lacks the
    /// schema (readiness says which): retry later.
    #[error("database unavailable: {0}")]
    Unavailable(#[source] sqlx::Error),
    /// A unique or foreign-key constraint refused the write.
    #[error("constraint violated: {0}")]
    Conflict(#[source] sqlx::Error),
    /// Anything else: a bug or a broken schema.
    #[error("database error: {0}")]
    Unexpected(#[source] sqlx::Error),
}

/// The codes acted on. sqlx already maps unique and foreign-key violations to
/// [`ErrorKind`] by code (PostgreSQL 23505/23503, SQLite 2067/1555/787).
mod code {
    /// PostgreSQL class 08: connection exception.
    pub const PG_CONNECTION_CLASS: &str = "08";
    /// PostgreSQL 57P01..57P03: admin shutdown, crash shutdown, cannot connect now.
    pub const PG_SHUTDOWN: [&str; 3] = ["57P01", "57P02", "57P03"];
    /// PostgreSQL 53300: too many connections.
    pub const PG_TOO_MANY_CONNECTIONS: &str = "53300";
    /// PostgreSQL 55P03: lock not available (`lock_timeout` expired).
    pub const PG_LOCK_NOT_AVAILABLE: &str = "55P03";
    /// PostgreSQL 42P01: undefined table (the schema is not migrated).
    pub const PG_UNDEFINED_TABLE: &str = "42P01";
    /// SQLite primary codes SQLITE_BUSY and SQLITE_LOCKED (extended codes keep the
    /// primary code in their low byte).
    pub const SQLITE_BUSY_OR_LOCKED: [i32; 2] = [5, 6];
}

/// Whether a server-side error means "retry later" rather than "our bug".
///
/// Gap: SQLite reports a missing table as plain SQLITE_ERROR (1), which it also
/// uses for any other statement it cannot prepare; there is no code to tell them
/// apart, so on SQLite a missing table stays [`DbError::Unexpected`]. Readiness
/// still reports the unmigrated schema (it asks the catalog, see `schema.rs`).
fn is_transient(d: &dyn DatabaseError) -> bool {
    if let Some(pg) = d.try_downcast_ref::<PgDatabaseError>() {
        let c = pg.code();
        return c.starts_with(code::PG_CONNECTION_CLASS)
            || code::PG_SHUTDOWN.contains(&c)
            || [
                code::PG_TOO_MANY_CONNECTIONS,
                code::PG_LOCK_NOT_AVAILABLE,
                code::PG_UNDEFINED_TABLE,
            ]
            .contains(&c);
    }
    if d.try_downcast_ref::<SqliteError>().is_some() {
        let extended: Option<i32> = d.code().and_then(|c| c.parse().ok());
        return extended.is_some_and(|c| code::SQLITE_BUSY_OR_LOCKED.contains(&(c & 0xff)));
    }
    false
}

impl From<sqlx::Error> for DbError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::WorkerCrashed => DbError::Unavailable(e),
            sqlx::Error::Database(d) => match d.kind() {
                ErrorKind::UniqueViolation | ErrorKind::ForeignKeyViolation => DbError::Conflict(e),
                _ if is_transient(d.as_ref()) => DbError::Unavailable(e),
                _ => DbError::Unexpected(e),
            },
            _ => DbError::Unexpected(e),
        }
    }
}

/// What a write can come to besides success.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// Fields refer to things that do not exist (pointers into the written value).
    #[error("invalid references")]
    Invalid(Vec<FieldError>),
    /// Rows of a bulk import conflict with existing data.
    #[error("{} rows conflict", .0.len())]
    Rows(Vec<RowError>),
    /// A unique key is taken.
    #[error("{0}")]
    Duplicate(String),
    /// The row to change does not exist.
    #[error("no such row")]
    Missing,
    /// `If-Match` does not match the current version.
    #[error("the row changed")]
    Stale,
    /// Still referenced by other rows.
    #[error("{0}")]
    InUse(String),
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<sqlx::Error> for WriteError {
    fn from(e: sqlx::Error) -> Self {
        WriteError::Db(e.into())
    }
}

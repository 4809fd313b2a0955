//! Database failures sorted by who can fix them, from SQLSTATE codes (PostgreSQL)
//! and extended result codes (SQLite), never from message text.

use sqlx::error::{DatabaseError, ErrorKind};
use sqlx::postgres::PgDatabaseError;
use sqlx::sqlite::SqliteError;

use crate::domain::{FieldError, RowError};

/// A database failure, by who can fix it.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The database cannot be reached or is shutting down: retry later.
    #[error("database unavailable: {0}")]
    Unavailable(#[source] sqlx::Error),
    /// The database is known to be down: not tried; a probe watches for its return.
    #[error("database unavailable (known down; failing fast)")]
    Down,
    /// Contention: a lock wait timed out, a deadlock or serialization failure was
    /// broken, too many connections or writers: retry shortly.
    #[error("database busy: {0}")]
    Busy(#[source] sqlx::Error),
    /// The schema is missing (a deleted or never-migrated database; readiness says
    /// what to run).
    #[error("database not migrated: {0}")]
    NotMigrated(#[source] sqlx::Error),
    /// The SQLite file was deleted under the running service; writes would vanish.
    #[error("the SQLite file {} is gone", .0.display())]
    FileGone(std::path::PathBuf),
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
    /// PostgreSQL 40001 serialization failure, 40P01 deadlock detected.
    pub const PG_TRANSACTION_ROLLBACK: [&str; 2] = ["40001", "40P01"];
    /// PostgreSQL 42P01: undefined table (the schema is not migrated).
    pub const PG_UNDEFINED_TABLE: &str = "42P01";
    /// SQLite primary codes SQLITE_BUSY and SQLITE_LOCKED (extended codes keep the
    /// primary code in their low byte).
    pub const SQLITE_BUSY_OR_LOCKED: [i32; 2] = [5, 6];
    /// SQLite SQLITE_READONLY (8, e.g. READONLY_DBMOVED when the file was deleted
    /// under us), SQLITE_IOERR (10), SQLITE_CANTOPEN (14).
    pub const SQLITE_FILE_TROUBLE: [i32; 3] = [8, 10, 14];
}

/// What a server-side error says about who can fix it.
enum Verdict {
    Outage,
    Busy,
    NotMigrated,
    Other,
}

/// Sort a database's own error by its SQLSTATE (PostgreSQL) or extended result
/// code (SQLite).
///
/// Gap: SQLite reports a missing table as plain SQLITE_ERROR (1), which it also
/// uses for any other statement it cannot prepare; `Db::run` asks the catalog in
/// that case (see `db.rs`).
fn verdict(d: &dyn DatabaseError) -> Verdict {
    if let Some(pg) = d.try_downcast_ref::<PgDatabaseError>() {
        let c = pg.code();
        return if c.starts_with(code::PG_CONNECTION_CLASS) || code::PG_SHUTDOWN.contains(&c) {
            Verdict::Outage
        } else if c == code::PG_TOO_MANY_CONNECTIONS
            || c == code::PG_LOCK_NOT_AVAILABLE
            || code::PG_TRANSACTION_ROLLBACK.contains(&c)
        {
            Verdict::Busy
        } else if c == code::PG_UNDEFINED_TABLE {
            Verdict::NotMigrated
        } else {
            Verdict::Other
        };
    }
    if d.try_downcast_ref::<SqliteError>().is_some() {
        let extended: Option<i32> = d.code().and_then(|c| c.parse().ok());
        return match extended.map(|c| c & 0xff) {
            Some(c) if code::SQLITE_BUSY_OR_LOCKED.contains(&c) => Verdict::Busy,
            Some(c) if code::SQLITE_FILE_TROUBLE.contains(&c) => Verdict::Outage,
            _ => Verdict::Other,
        };
    }
    Verdict::Other
}

impl From<sqlx::Error> for DbError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::WorkerCrashed => DbError::Unavailable(e),
            sqlx::Error::Protocol(m) if closed_before_tls(m) => DbError::Unavailable(e),
            sqlx::Error::Database(d) => match d.kind() {
                ErrorKind::UniqueViolation | ErrorKind::ForeignKeyViolation => DbError::Conflict(e),
                _ => match verdict(d.as_ref()) {
                    Verdict::Outage => DbError::Unavailable(e),
                    Verdict::Busy => DbError::Busy(e),
                    Verdict::NotMigrated => DbError::NotMigrated(e),
                    Verdict::Other => DbError::Unexpected(e),
                },
            },
            _ => DbError::Unexpected(e),
        }
    }
}

/// sqlx's reading of a connection closed right after its TLS request (a zero
/// byte where the server's `S`/`N` answer belongs): an outage, not a bug. sqlx
/// gives it no error kind of its own, so the text is matched.
pub(crate) fn closed_before_tls(protocol_message: &str) -> bool {
    protocol_message.starts_with("unexpected response from SSLRequest: 0x00")
}

impl DbError {
    /// Back to the driver error it came from, so a failure inside a transaction
    /// aborts it and is sorted again by the same rules (`Down` becomes a pool
    /// timeout, which sorts as unavailable).
    pub(super) fn into_sqlx(self) -> sqlx::Error {
        match self {
            DbError::Unavailable(e)
            | DbError::Busy(e)
            | DbError::NotMigrated(e)
            | DbError::Conflict(e)
            | DbError::Unexpected(e) => e,
            DbError::Down => sqlx::Error::PoolTimedOut,
            DbError::FileGone(p) => sqlx::Error::Io(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("{} is gone", p.display()),
            )),
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

#[cfg(test)]
mod tests {
    use super::*;

    // Regression (#12): with TLS compiled in, sqlx's default `sslmode=prefer` asks
    // for TLS first; a connection dropped at that moment was a 500.
    #[test]
    fn a_connection_closed_at_the_tls_request_is_an_outage() {
        let closed = sqlx::Error::Protocol("unexpected response from SSLRequest: 0x00".into());
        assert!(matches!(DbError::from(closed), DbError::Unavailable(_)));
        let garbled = sqlx::Error::Protocol("unexpected response from SSLRequest: 0x48".into());
        assert!(matches!(DbError::from(garbled), DbError::Unexpected(_)));
    }
}

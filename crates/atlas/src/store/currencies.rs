//! Currencies.

use sqlx::{Any, Transaction};

use super::{write, Db, DbError, Versioned, WriteError};
use crate::domain::currency::Currency;
use crate::domain::{CurrencyCode, FieldError};

/// A row of `currencies`.
#[derive(Debug, sqlx::FromRow)]
struct CurrencyRow {
    code: String,
    numeric_code: String,
    name: String,
    minor_units: Option<i64>,
    version: i64,
}

impl From<CurrencyRow> for Versioned<Currency> {
    fn from(r: CurrencyRow) -> Self {
        Versioned {
            value: Currency {
                code: r.code,
                numeric: r.numeric_code,
                name: r.name,
                // The API accepts 0 to 6; anything else stored is shown as null.
                minor_units: r.minor_units.and_then(|m| u8::try_from(m).ok()),
            },
            version: r.version,
        }
    }
}

macro_rules! columns {
    () => {
        "SELECT code, numeric_code, name, CAST(minor_units AS BIGINT) AS minor_units, version \
         FROM currencies "
    };
}

/// `GET /currencies/{code}`.
pub const BY_CODE: &str = concat!(columns!(), "WHERE code = $1");

async fn find<'e, E>(exec: E, code: &str) -> Result<Option<Versioned<Currency>>, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = Any>,
{
    let row: Option<CurrencyRow> = sqlx::query_as(BY_CODE)
        .bind(code)
        .fetch_optional(exec)
        .await?;
    Ok(row.map(Versioned::from))
}

/// `GET /currencies/{code}`.
///
/// # Errors
/// Database failures.
pub async fn get(db: &Db, code: &CurrencyCode) -> Result<Option<Versioned<Currency>>, DbError> {
    db.run("currencies.get", async {
        let mut conn = db.lease().await?;
        let found = find(&mut *conn, code.as_str()).await?;
        conn.release();
        Ok(found)
    })
    .await
}

/// Why `c` cannot take its codes: another currency (not `except`) holds one.
pub(super) async fn conflict(
    tx: &mut Transaction<'_, Any>,
    c: &Currency,
    except: Option<&str>,
) -> Result<Option<String>, sqlx::Error> {
    let holder: Option<String> = sqlx::query_scalar(
        "SELECT code FROM currencies WHERE (code = $1 OR numeric_code = $2) AND code <> $3",
    )
    .bind(c.code.as_str())
    .bind(c.numeric.as_str())
    .bind(except.unwrap_or(""))
    .fetch_optional(&mut **tx)
    .await?;
    Ok(holder.map(|_| {
        format!(
            "a currency with code {} or numeric {} already exists",
            c.code, c.numeric
        )
    }))
}

/// `POST /currencies`.
///
/// # Errors
/// A taken code or database failures.
pub async fn create(db: &Db, c: Currency) -> Result<Versioned<Currency>, WriteError> {
    write(db, "currencies.create", move |tx| {
        Box::pin(async move {
            if let Some(d) = conflict(tx, &c, None).await? {
                return Err(WriteError::Duplicate(d));
            }
            sqlx::query(
                "INSERT INTO currencies (code, numeric_code, name, minor_units) VALUES ($1, $2, $3, $4)",
            )
            .bind(c.code.as_str())
            .bind(c.numeric.as_str())
            .bind(c.name.as_str())
            .bind(c.minor_units.map(i64::from))
            .execute(&mut **tx)
            .await?;
            Ok(Versioned { value: c, version: 1 })
        })
    })
    .await
}

/// Insert `c` or replace the row with its code (bulk imports).
pub(super) async fn upsert(tx: &mut Transaction<'_, Any>, c: &Currency) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO currencies (code, numeric_code, name, minor_units) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (code) DO UPDATE SET numeric_code = excluded.numeric_code, \
         name = excluded.name, minor_units = excluded.minor_units, \
         version = currencies.version + 1",
    )
    .bind(c.code.as_str())
    .bind(c.numeric.as_str())
    .bind(c.name.as_str())
    .bind(c.minor_units.map(i64::from))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Whether a currency with this code exists.
pub(super) async fn exists(tx: &mut Transaction<'_, Any>, code: &str) -> Result<bool, sqlx::Error> {
    Ok(find(&mut **tx, code).await?.is_some())
}

/// `PUT /currencies/{code}`: replace, if `precondition` (the `If-Match` check)
/// accepts the current row; the update names the version checked, in the same
/// transaction, so a concurrent change makes it [`WriteError::Stale`].
///
/// # Errors
/// Missing row, stale version, a taken code, database failures.
pub async fn replace(
    db: &Db,
    code: CurrencyCode,
    c: Currency,
    precondition: impl FnOnce(&Versioned<Currency>) -> bool + Send + 'static,
) -> Result<Versioned<Currency>, WriteError> {
    write(db, "currencies.replace", move |tx| {
        Box::pin(async move {
            let code = code.as_str();
            let current = find(&mut **tx, code).await?.ok_or(WriteError::Missing)?;
            if !precondition(&current) {
                return Err(WriteError::Stale);
            }
            if c.code != code {
                return Err(WriteError::Invalid(vec![FieldError::pointer(
                    "/code",
                    format!("must stay {code} (the code in the path)"),
                )]));
            }
            if let Some(d) = conflict(tx, &c, Some(code)).await? {
                return Err(WriteError::Duplicate(d));
            }
            let updated = sqlx::query(
                "UPDATE currencies SET numeric_code = $1, name = $2, minor_units = $3, \
                 version = version + 1 WHERE code = $4 AND version = $5",
            )
            .bind(c.numeric.as_str())
            .bind(c.name.as_str())
            .bind(c.minor_units.map(i64::from))
            .bind(code)
            .bind(current.version)
            .execute(&mut **tx)
            .await?;
            if updated.rows_affected() != 1 {
                return Err(WriteError::Stale);
            }
            let version = current.version + 1;
            Ok(Versioned { value: c, version })
        })
    })
    .await
}

/// `DELETE /currencies/{code}`: refused while a country uses it, or when
/// `precondition` (the `If-Match` check) rejects the current row.
///
/// The delete names the version checked, in the same transaction: a concurrent
/// change makes it affect no row ([`WriteError::Stale`]).
///
/// # Errors
/// Missing row, stale version, still in use, database failures.
pub async fn delete(
    db: &Db,
    code: CurrencyCode,
    precondition: impl FnOnce(&Versioned<Currency>) -> bool + Send + 'static,
) -> Result<(), WriteError> {
    write(db, "currencies.delete", move |tx| {
        Box::pin(async move {
            let code = code.as_str();
            let current = find(&mut **tx, code).await?.ok_or(WriteError::Missing)?;
            if !precondition(&current) {
                return Err(WriteError::Stale);
            }
            let users: i64 =
                sqlx::query_scalar("SELECT COUNT(*) FROM country_currencies WHERE currency = $1")
                    .bind(code)
                    .fetch_one(&mut **tx)
                    .await?;
            if users > 0 {
                return Err(WriteError::InUse(format!(
                    "{code} is used by {users} countries; remove it from them first"
                )));
            }
            let deleted = sqlx::query("DELETE FROM currencies WHERE code = $1 AND version = $2")
                .bind(code)
                .bind(current.version)
                .execute(&mut **tx)
                .await?;
            if deleted.rows_affected() != 1 {
                return Err(WriteError::Stale);
            }
            Ok(())
        })
    })
    .await
}

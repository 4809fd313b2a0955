//! The whole reference catalog (countries with their links, currencies,
//! subdivisions) in one read, for the in-memory snapshot; and the PostgreSQL
//! channel that tells other replicas it changed.

use super::countries::{self, CountryRow};
use super::subdivisions::{self, SubdivisionRow};
use super::{Backend, Db, DbError, Versioned};
use crate::domain::country::Country;
use crate::domain::currency::Currency;
use crate::domain::subdivision::Subdivision;

/// The channel writes announce themselves on (PostgreSQL `LISTEN/NOTIFY`).
pub const CHANNEL: &str = "atlas_catalog";

/// Every country (alpha-2 order, with currencies and zones) and every currency
/// (code order).
#[derive(Debug, Default)]
pub struct Everything {
    /// Countries.
    pub countries: Vec<Country>,
    /// Currencies.
    pub currencies: Vec<Currency>,
    /// Subdivisions (code order).
    pub subdivisions: Vec<Subdivision>,
}

#[derive(sqlx::FromRow)]
struct CurrencyRow {
    code: String,
    numeric_code: String,
    name: String,
    minor_units: Option<i64>,
}

const CURRENCIES: &str = "SELECT code, numeric_code, name, \
     CAST(minor_units AS BIGINT) AS minor_units FROM currencies ORDER BY code";
/// Read the catalog in one transaction (one consistent view on PostgreSQL).
///
/// # Errors
/// Database failures.
pub async fn load(db: &Db) -> Result<Everything, DbError> {
    db.run("catalog.load", async {
        let mut tx = db.pool().begin().await?;
        let countries: Vec<CountryRow> = sqlx::query_as(countries::ALL).fetch_all(&mut *tx).await?;
        let currencies: Vec<CurrencyRow> = sqlx::query_as(CURRENCIES).fetch_all(&mut *tx).await?;
        let subdivisions: Vec<SubdivisionRow> = sqlx::query_as(subdivisions::ALL)
            .fetch_all(&mut *tx)
            .await?;
        tx.commit().await?;
        let countries = countries
            .into_iter()
            .map(|r| Versioned::try_from(r).map(|c| c.value))
            .collect::<Result<_, _>>()?;
        let currencies = currencies.into_iter().map(currency).collect();
        Ok(Everything {
            countries,
            currencies,
            subdivisions: subdivisions.into_iter().map(Subdivision::from).collect(),
        })
    })
    .await
}

/// Every country, as [`load`] reads them, without the rest of the catalog (the
/// lists' source when the snapshot is off).
///
/// # Errors
/// Database failures.
pub async fn countries(db: &Db) -> Result<Vec<Country>, DbError> {
    db.run("catalog.countries", async {
        let rows: Vec<CountryRow> = sqlx::query_as(countries::ALL).fetch_all(db.pool()).await?;
        rows.into_iter()
            .map(|r| Versioned::try_from(r).map(|c| c.value))
            .collect::<Result<_, _>>()
    })
    .await
}

/// Every currency, as [`load`] reads them.
///
/// # Errors
/// Database failures.
pub async fn currencies(db: &Db) -> Result<Vec<Currency>, DbError> {
    db.run("catalog.currencies", async {
        let rows: Vec<CurrencyRow> = sqlx::query_as(CURRENCIES).fetch_all(db.pool()).await?;
        Ok(rows.into_iter().map(currency).collect())
    })
    .await
}

fn currency(r: CurrencyRow) -> Currency {
    Currency {
        code: r.code,
        numeric: r.numeric_code,
        name: r.name,
        // As the store's reads: anything outside 0..=255 is shown as null.
        minor_units: r.minor_units.and_then(|m| u8::try_from(m).ok()),
    }
}

/// Tell other replicas the catalog changed (PostgreSQL only; a no-op on SQLite,
/// where one process owns the file).
///
/// # Errors
/// Database failures.
pub async fn announce(db: &Db) -> Result<(), DbError> {
    if db.backend() != Backend::Postgres {
        return Ok(());
    }
    db.run("catalog.announce", async {
        sqlx::query("SELECT pg_notify($1, '')")
            .bind(CHANNEL)
            .execute(db.pool())
            .await
            .map(drop)
    })
    .await
}

//! The whole reference catalog (countries with their links, currencies) in one
//! read, for the in-memory snapshot; and the PostgreSQL channel that tells other
//! replicas it changed.

use std::collections::HashMap;

use super::{Backend, Db, DbError};
use crate::domain::country::Country;
use crate::domain::currency::Currency;

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
}

#[derive(sqlx::FromRow)]
struct CountryRow {
    alpha2: String,
    alpha3: String,
    numeric_code: String,
    name: String,
    official_name: Option<String>,
}

#[derive(sqlx::FromRow)]
struct CurrencyRow {
    code: String,
    numeric_code: String,
    name: String,
    minor_units: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct Link {
    country: String,
    value: String,
}

const COUNTRIES: &str = "SELECT alpha2, alpha3, numeric_code, name, official_name \
     FROM countries ORDER BY alpha2";
const CURRENCIES: &str = "SELECT code, numeric_code, name, \
     CAST(minor_units AS BIGINT) AS minor_units FROM currencies ORDER BY code";
const CURRENCY_LINKS: &str = "SELECT country, currency AS value FROM country_currencies \
     ORDER BY country, currency";
const ZONE_LINKS: &str =
    "SELECT country, zone AS value FROM country_timezones ORDER BY country, zone";

/// Read the catalog in one transaction (one consistent view on PostgreSQL).
///
/// # Errors
/// Database failures.
pub async fn load(db: &Db) -> Result<Everything, DbError> {
    db.run("catalog.load", async {
        let mut tx = db.pool().begin().await?;
        let countries: Vec<CountryRow> = sqlx::query_as(COUNTRIES).fetch_all(&mut *tx).await?;
        let currencies: Vec<CurrencyRow> = sqlx::query_as(CURRENCIES).fetch_all(&mut *tx).await?;
        let mut money = grouped(sqlx::query_as(CURRENCY_LINKS).fetch_all(&mut *tx).await?);
        let mut zones = grouped(sqlx::query_as(ZONE_LINKS).fetch_all(&mut *tx).await?);
        tx.commit().await?;
        let countries = countries
            .into_iter()
            .map(|r| Country {
                currencies: money.remove(&r.alpha2).unwrap_or_default(),
                timezones: zones.remove(&r.alpha2).unwrap_or_default(),
                alpha2: r.alpha2,
                alpha3: r.alpha3,
                numeric: r.numeric_code,
                name: r.name,
                official_name: r.official_name,
            })
            .collect();
        let currencies = currencies
            .into_iter()
            .map(|r| Currency {
                code: r.code,
                numeric: r.numeric_code,
                name: r.name,
                // As the store's reads: anything outside 0..=255 is shown as null.
                minor_units: r.minor_units.and_then(|m| u8::try_from(m).ok()),
            })
            .collect();
        Ok(Everything {
            countries,
            currencies,
        })
    })
    .await
}

fn grouped(links: Vec<Link>) -> HashMap<String, Vec<String>> {
    let mut by_country: HashMap<String, Vec<String>> = HashMap::new();
    for l in links {
        by_country.entry(l.country).or_default().push(l.value);
    }
    by_country
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

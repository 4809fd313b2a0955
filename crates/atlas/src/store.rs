//! Queries. Portable SQL with `$n` placeholders (SQLite reads them too), every
//! operation named for metrics and spans, every write in one transaction.

use std::collections::BTreeMap;

use sqlx::any::AnyRow;
use sqlx::{Any, AnyConnection, Row, Transaction};

use crate::db::{opt_text, Db, DbError};
use crate::domain::country::Country;
use crate::domain::currency::Currency;
use crate::domain::CountryRef;
use crate::error::{ApiError, FieldError};

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

/// Filters for `GET /countries`.
#[derive(Debug, Default)]
pub struct CountryFilter {
    /// Only countries using this currency.
    pub currency: Option<String>,
    /// Case-insensitive substring of the name or official name.
    pub q: Option<String>,
    /// Start after this alpha-2 code.
    pub after: Option<String>,
    /// Page size.
    pub limit: u32,
}

/// A stored row plus the row version that `If-Match` checks guard.
#[derive(Debug, Clone)]
pub struct Versioned<T> {
    /// The value.
    pub value: T,
    /// The row's write counter.
    pub version: i64,
}

const COUNTRY_COLUMNS: &str = "alpha2, alpha3, numeric_code, name, official_name, version";

fn like_pattern(q: &str) -> String {
    let escaped = q
        .to_lowercase()
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

fn country_row(row: &AnyRow) -> Result<(Country, i64), sqlx::Error> {
    Ok((
        Country {
            alpha2: row.try_get("alpha2")?,
            alpha3: row.try_get("alpha3")?,
            numeric: row.try_get("numeric_code")?,
            name: row.try_get("name")?,
            official_name: opt_text(row, "official_name")?,
            currencies: Vec::new(),
            timezones: Vec::new(),
        },
        row.try_get("version")?,
    ))
}

fn currency_row(row: &AnyRow) -> Result<(Currency, i64), sqlx::Error> {
    let minor: Option<i64> = row.try_get("minor_units")?;
    Ok((
        Currency {
            code: row.try_get("code")?,
            numeric: row.try_get("numeric_code")?,
            name: row.try_get("name")?,
            minor_units: minor.and_then(|m| u8::try_from(m).ok()),
        },
        row.try_get("version")?,
    ))
}

fn placeholders(from: usize, n: usize) -> String {
    (from..from + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Fill `currencies` and `timezones` for a batch of countries (two queries).
async fn attach_links(
    conn: &mut AnyConnection,
    countries: &mut [Country],
) -> Result<(), sqlx::Error> {
    if countries.is_empty() {
        return Ok(());
    }
    let codes: Vec<&str> = countries.iter().map(|c| c.alpha2.as_str()).collect();
    let ph = placeholders(1, codes.len());
    let mut links: BTreeMap<String, (Vec<String>, Vec<String>)> = BTreeMap::new();
    let sql = format!("SELECT country, currency FROM country_currencies WHERE country IN ({ph}) ORDER BY country, currency");
    let mut q = sqlx::query(&sql);
    for c in &codes {
        q = q.bind(*c);
    }
    for row in q.fetch_all(&mut *conn).await? {
        links
            .entry(row.try_get("country")?)
            .or_default()
            .0
            .push(row.try_get("currency")?);
    }
    let sql = format!("SELECT country, zone FROM country_timezones WHERE country IN ({ph}) ORDER BY country, zone");
    let mut q = sqlx::query(&sql);
    for c in &codes {
        q = q.bind(*c);
    }
    for row in q.fetch_all(&mut *conn).await? {
        links
            .entry(row.try_get("country")?)
            .or_default()
            .1
            .push(row.try_get("zone")?);
    }
    for c in countries.iter_mut() {
        if let Some((cur, tz)) = links.remove(&c.alpha2) {
            c.currencies = cur;
            c.timezones = tz;
        }
    }
    Ok(())
}

/// `GET /countries`.
///
/// # Errors
/// Database failures.
pub async fn list_countries(db: &Db, f: &CountryFilter) -> Result<Page<Country>, DbError> {
    db.run("countries.list", async {
        let mut conds = Vec::new();
        let mut args: Vec<String> = Vec::new();
        if let Some(c) = &f.currency {
            args.push(c.clone());
            conds.push(format!(
                "alpha2 IN (SELECT country FROM country_currencies WHERE currency = ${})",
                args.len()
            ));
        }
        if let Some(q) = &f.q {
            args.push(like_pattern(q));
            let n = args.len();
            conds.push(format!(
                "(lower(name) LIKE ${n} ESCAPE '\\' OR lower(coalesce(official_name, '')) LIKE ${n} ESCAPE '\\')"
            ));
        }
        let filter = if conds.is_empty() { String::new() } else { format!("WHERE {}", conds.join(" AND ")) };
        let count_sql = format!("SELECT COUNT(*) AS n FROM countries {filter}");
        let mut count = sqlx::query(&count_sql);
        for a in &args {
            count = count.bind(a.as_str());
        }
        let total: i64 = count.fetch_one(db.pool()).await?.try_get("n")?;

        let mut page_conds = conds.clone();
        let mut page_args = args.clone();
        if let Some(after) = &f.after {
            page_args.push(after.clone());
            page_conds.push(format!("alpha2 > ${}", page_args.len()));
        }
        let page_filter =
            if page_conds.is_empty() { String::new() } else { format!("WHERE {}", page_conds.join(" AND ")) };
        let sql = format!(
            "SELECT {COUNTRY_COLUMNS} FROM countries {page_filter} ORDER BY alpha2 LIMIT {}",
            i64::from(f.limit) + 1
        );
        let mut q = sqlx::query(&sql);
        for a in &page_args {
            q = q.bind(a.as_str());
        }
        let rows = q.fetch_all(db.pool()).await?;
        let mut items = rows.iter().map(|r| country_row(r).map(|(c, _)| c)).collect::<Result<Vec<_>, _>>()?;
        let next_cursor = if items.len() > f.limit as usize {
            items.truncate(f.limit as usize);
            items.last().map(|c| c.alpha2.clone())
        } else {
            None
        };
        attach_links(&mut *db.pool().acquire().await?, &mut items).await?;
        Ok(Page { items, total, next_cursor })
    })
    .await
}

async fn find_country(
    conn: &mut AnyConnection,
    r: &CountryRef,
) -> Result<Option<Versioned<Country>>, sqlx::Error> {
    let (col, code) = match r {
        CountryRef::Alpha2(c) => ("alpha2", c),
        CountryRef::Alpha3(c) => ("alpha3", c),
    };
    let sql = format!("SELECT {COUNTRY_COLUMNS} FROM countries WHERE {col} = $1");
    let Some(row) = sqlx::query(&sql)
        .bind(code.as_str())
        .fetch_optional(&mut *conn)
        .await?
    else {
        return Ok(None);
    };
    let (country, version) = country_row(&row)?;
    let mut one = [country];
    attach_links(conn, &mut one).await?;
    let [value] = one;
    Ok(Some(Versioned { value, version }))
}

/// `GET /countries/{code}`.
///
/// # Errors
/// Database failures.
pub async fn get_country(db: &Db, r: &CountryRef) -> Result<Option<Versioned<Country>>, DbError> {
    db.run("countries.get", async {
        find_country(&mut *db.pool().acquire().await?, r).await
    })
    .await
}

async fn unknown_currencies(
    tx: &mut Transaction<'_, Any>,
    codes: &[String],
) -> Result<Vec<FieldError>, sqlx::Error> {
    let mut missing = Vec::new();
    for (i, code) in codes.iter().enumerate() {
        let found = sqlx::query("SELECT code FROM currencies WHERE code = $1")
            .bind(code.as_str())
            .fetch_optional(&mut **tx)
            .await?;
        if found.is_none() {
            missing.push(FieldError::new(
                format!("#/currencies/{i}"),
                format!("unknown currency {code:?}"),
            ));
        }
    }
    Ok(missing)
}

async fn write_links(tx: &mut Transaction<'_, Any>, c: &Country) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM country_currencies WHERE country = $1")
        .bind(c.alpha2.as_str())
        .execute(&mut **tx)
        .await?;
    sqlx::query("DELETE FROM country_timezones WHERE country = $1")
        .bind(c.alpha2.as_str())
        .execute(&mut **tx)
        .await?;
    for cur in &c.currencies {
        sqlx::query("INSERT INTO country_currencies (country, currency) VALUES ($1, $2)")
            .bind(c.alpha2.as_str())
            .bind(cur.as_str())
            .execute(&mut **tx)
            .await?;
    }
    for z in &c.timezones {
        sqlx::query("INSERT INTO country_timezones (country, zone) VALUES ($1, $2)")
            .bind(c.alpha2.as_str())
            .bind(z.as_str())
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// What a write can come to besides success.
#[derive(Debug)]
pub enum WriteError {
    /// Fields refer to things that do not exist.
    Invalid(Vec<FieldError>),
    /// Rows of a bulk import conflict with existing data.
    Rows(Vec<crate::imports::RowError>),
    /// A unique key is taken.
    Duplicate(String),
    /// The row to change does not exist.
    Missing,
    /// `If-Match` does not match the current version.
    Stale,
    /// Still referenced by other rows.
    InUse(String),
    /// The database failed.
    Db(DbError),
}

impl From<sqlx::Error> for WriteError {
    fn from(e: sqlx::Error) -> Self {
        WriteError::Db(e.into())
    }
}

impl From<WriteError> for ApiError {
    fn from(e: WriteError) -> Self {
        match e {
            WriteError::Invalid(errors) => ApiError::Validation(errors),
            WriteError::Rows(rows) => ApiError::Validation(
                rows.into_iter()
                    .map(|r| {
                        FieldError::new(
                            format!("{}/{}{}", r.kind, r.row, r.pointer.trim_start_matches('#')),
                            r.detail,
                        )
                    })
                    .collect(),
            ),
            WriteError::Duplicate(d) | WriteError::InUse(d) => ApiError::Conflict(d),
            WriteError::Missing => ApiError::NotFound("no such resource".into()),
            WriteError::Stale => ApiError::PreconditionFailed(
                "the resource changed since it was read: fetch it again for a fresh ETag".into(),
            ),
            WriteError::Db(e) => e.into(),
        }
    }
}

/// Run a write in a transaction named `operation`, with metrics; commits on `Ok`.
async fn write<T, F>(db: &Db, operation: &'static str, f: F) -> Result<T, WriteError>
where
    F: for<'t> FnOnce(
        &'t mut Transaction<'static, Any>,
    ) -> std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<T, WriteError>> + Send + 't>,
    >,
{
    let _permit = db.write_permit().await;
    let mut outcome = None;
    let result = db
        .run(operation, async {
            let mut tx = db.pool().begin().await?;
            if db.backend() == crate::db::Backend::Postgres {
                // One writer at a time, across replicas: these are multi-row writes
                // to small reference tables, where concurrency buys nothing and
                // lock-order deadlocks cost a failed request. Bounded, so a long
                // import makes other writers wait at most 5 s before a 503.
                sqlx::query("SET LOCAL lock_timeout = '5s'")
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("SELECT pg_advisory_xact_lock(4242)")
                    .execute(&mut *tx)
                    .await?;
            }
            match f(&mut tx).await {
                Ok(v) => {
                    tx.commit().await?;
                    outcome = Some(Ok(v));
                }
                Err(WriteError::Db(
                    DbError::Unavailable(e) | DbError::Conflict(e) | DbError::Unexpected(e),
                )) => {
                    return Err(e);
                }
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

async fn country_conflict(
    tx: &mut Transaction<'_, Any>,
    c: &Country,
    except: Option<&str>,
) -> Result<Option<String>, sqlx::Error> {
    let row = sqlx::query("SELECT alpha2 FROM countries WHERE (alpha2 = $1 OR alpha3 = $2 OR numeric_code = $3) AND alpha2 <> $4")
        .bind(c.alpha2.as_str())
        .bind(c.alpha3.as_str())
        .bind(c.numeric.as_str())
        .bind(except.unwrap_or(""))
        .fetch_optional(&mut **tx)
        .await?;
    Ok(match row {
        Some(r) => Some(format!(
            "a country with code {} or {} or numeric {} already exists ({})",
            c.alpha2,
            c.alpha3,
            c.numeric,
            r.try_get::<String, _>("alpha2")?
        )),
        None => None,
    })
}

/// `POST /countries`.
///
/// # Errors
/// Unknown currencies, a taken code, or database failures.
pub async fn create_country(db: &Db, c: Country) -> Result<Versioned<Country>, WriteError> {
    write(db, "countries.create", move |tx| {
        Box::pin(async move {
            let missing = unknown_currencies(tx, &c.currencies).await?;
            if !missing.is_empty() {
                return Err(WriteError::Invalid(missing));
            }
            if let Some(d) = country_conflict(tx, &c, None).await? {
                return Err(WriteError::Duplicate(d));
            }
            sqlx::query("INSERT INTO countries (alpha2, alpha3, numeric_code, name, official_name) VALUES ($1, $2, $3, $4, $5)")
                .bind(c.alpha2.as_str())
                .bind(c.alpha3.as_str())
                .bind(c.numeric.as_str())
                .bind(c.name.as_str())
                .bind(c.official_name.as_deref())
                .execute(&mut **tx)
                .await?;
            write_links(tx, &c).await?;
            Ok(Versioned { value: c, version: 1 })
        })
    })
    .await
}

/// `PUT /countries/{code}`: replace, if `precondition` (the `If-Match` check) accepts
/// the current row.
///
/// # Errors
/// Missing row, stale version, unknown currencies, a taken code, database failures.
pub async fn replace_country(
    db: &Db,
    target: CountryRef,
    c: Country,
    precondition: impl FnOnce(&Versioned<Country>) -> bool + Send + 'static,
) -> Result<Versioned<Country>, WriteError> {
    write(db, "countries.replace", move |tx| {
        Box::pin(async move {
            let current = find_country(tx, &target).await?.ok_or(WriteError::Missing)?;
            if !precondition(&current) {
                return Err(WriteError::Stale);
            }
            if current.value.alpha2 != c.alpha2 {
                return Err(WriteError::Invalid(vec![FieldError::new(
                    "#/alpha2",
                    format!("must stay {} (the code in the path)", current.value.alpha2),
                )]));
            }
            let missing = unknown_currencies(tx, &c.currencies).await?;
            if !missing.is_empty() {
                return Err(WriteError::Invalid(missing));
            }
            if let Some(d) = country_conflict(tx, &c, Some(&current.value.alpha2)).await? {
                return Err(WriteError::Duplicate(d));
            }
            let updated = sqlx::query(
                "UPDATE countries SET alpha3 = $1, numeric_code = $2, name = $3, official_name = $4, version = version + 1 WHERE alpha2 = $5 AND version = $6",
            )
            .bind(c.alpha3.as_str())
            .bind(c.numeric.as_str())
            .bind(c.name.as_str())
            .bind(c.official_name.as_deref())
            .bind(c.alpha2.as_str())
            .bind(current.version)
            .execute(&mut **tx)
            .await?;
            if updated.rows_affected() != 1 {
                return Err(WriteError::Stale);
            }
            write_links(tx, &c).await?;
            Ok(Versioned { value: c, version: current.version + 1 })
        })
    })
    .await
}

/// `DELETE /countries/{code}`.
///
/// # Errors
/// Missing row or database failures.
pub async fn delete_country(db: &Db, target: CountryRef) -> Result<(), WriteError> {
    write(db, "countries.delete", move |tx| {
        Box::pin(async move {
            let current = find_country(tx, &target)
                .await?
                .ok_or(WriteError::Missing)?;
            // Links first: SQLite enforces ON DELETE CASCADE only with foreign keys on,
            // and being explicit costs nothing.
            for sql in [
                "DELETE FROM country_currencies WHERE country = $1",
                "DELETE FROM country_timezones WHERE country = $1",
                "DELETE FROM countries WHERE alpha2 = $1",
            ] {
                sqlx::query(sql)
                    .bind(current.value.alpha2.as_str())
                    .execute(&mut **tx)
                    .await?;
            }
            Ok(())
        })
    })
    .await
}

/// `GET /currencies`.
///
/// # Errors
/// Database failures.
pub async fn list_currencies(
    db: &Db,
    q: Option<&str>,
    after: Option<&str>,
    limit: u32,
) -> Result<Page<Currency>, DbError> {
    db.run("currencies.list", async {
        let (filter, pattern) = match q {
            Some(q) => ("WHERE lower(name) LIKE $1 ESCAPE '\\'", Some(like_pattern(q))),
            None => ("", None),
        };
        let count_sql = format!("SELECT COUNT(*) FROM currencies {filter}");
        let mut count = sqlx::query_scalar::<_, i64>(&count_sql);
        if let Some(p) = &pattern {
            count = count.bind(p.clone());
        }
        let total = count.fetch_one(db.pool()).await?;
        let mut conds: Vec<String> = Vec::new();
        let mut args: Vec<String> = Vec::new();
        if let Some(p) = pattern {
            args.push(p);
            conds.push("lower(name) LIKE $1 ESCAPE '\\'".into());
        }
        if let Some(a) = after {
            args.push(a.to_string());
            conds.push(format!("code > ${}", args.len()));
        }
        let w = if conds.is_empty() { String::new() } else { format!("WHERE {}", conds.join(" AND ")) };
        let sql = format!(
            "SELECT code, numeric_code, name, CAST(minor_units AS BIGINT) AS minor_units, version FROM currencies {w} ORDER BY code LIMIT {}",
            i64::from(limit) + 1
        );
        let mut qry = sqlx::query(&sql);
        for a in &args {
            qry = qry.bind(a.as_str());
        }
        let rows = qry.fetch_all(db.pool()).await?;
        let mut items = rows.iter().map(|r| currency_row(r).map(|(c, _)| c)).collect::<Result<Vec<_>, _>>()?;
        let next_cursor = if items.len() > limit as usize {
            items.truncate(limit as usize);
            items.last().map(|c| c.code.clone())
        } else {
            None
        };
        Ok(Page { items, total, next_cursor })
    })
    .await
}

async fn find_currency<'e, E>(
    exec: E,
    code: &str,
) -> Result<Option<Versioned<Currency>>, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = Any>,
{
    let row = sqlx::query(
        "SELECT code, numeric_code, name, CAST(minor_units AS BIGINT) AS minor_units, version FROM currencies WHERE code = $1",
    )
    .bind(code)
    .fetch_optional(exec)
    .await?;
    row.map(|r| currency_row(&r).map(|(value, version)| Versioned { value, version }))
        .transpose()
}

/// `GET /currencies/{code}`.
///
/// # Errors
/// Database failures.
pub async fn get_currency(db: &Db, code: &str) -> Result<Option<Versioned<Currency>>, DbError> {
    db.run("currencies.get", find_currency(db.pool(), code))
        .await
}

/// `GET /currencies/{code}/countries`: `None` when the currency does not exist.
///
/// # Errors
/// Database failures.
pub async fn countries_using(db: &Db, code: &str) -> Result<Option<Vec<Country>>, DbError> {
    db.run("currencies.countries", async {
        if find_currency(db.pool(), code).await?.is_none() {
            return Ok(None);
        }
        let sql = format!(
            "SELECT {COUNTRY_COLUMNS} FROM countries WHERE alpha2 IN (SELECT country FROM country_currencies WHERE currency = $1) ORDER BY alpha2"
        );
        let rows = sqlx::query(&sql).bind(code).fetch_all(db.pool()).await?;
        let mut items = rows.iter().map(|r| country_row(r).map(|(c, _)| c)).collect::<Result<Vec<_>, _>>()?;
        attach_links(&mut *db.pool().acquire().await?, &mut items).await?;
        Ok(Some(items))
    })
    .await
}

async fn currency_conflict(
    tx: &mut Transaction<'_, Any>,
    c: &Currency,
    except: Option<&str>,
) -> Result<Option<String>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT code FROM currencies WHERE (code = $1 OR numeric_code = $2) AND code <> $3",
    )
    .bind(c.code.as_str())
    .bind(c.numeric.as_str())
    .bind(except.unwrap_or(""))
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.map(|_| {
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
pub async fn create_currency(db: &Db, c: Currency) -> Result<Versioned<Currency>, WriteError> {
    write(db, "currencies.create", move |tx| {
        Box::pin(async move {
            if let Some(d) = currency_conflict(tx, &c, None).await? {
                return Err(WriteError::Duplicate(d));
            }
            sqlx::query("INSERT INTO currencies (code, numeric_code, name, minor_units) VALUES ($1, $2, $3, $4)")
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

/// `PUT /currencies/{code}`.
///
/// # Errors
/// Missing row, stale version, a taken code, database failures.
pub async fn replace_currency(
    db: &Db,
    code: String,
    c: Currency,
    precondition: impl FnOnce(&Versioned<Currency>) -> bool + Send + 'static,
) -> Result<Versioned<Currency>, WriteError> {
    write(db, "currencies.replace", move |tx| {
        Box::pin(async move {
            let current = find_currency(&mut **tx, &code).await?.ok_or(WriteError::Missing)?;
            if !precondition(&current) {
                return Err(WriteError::Stale);
            }
            if c.code != code {
                return Err(WriteError::Invalid(vec![FieldError::new("#/code", format!("must stay {code} (the code in the path)"))]));
            }
            if let Some(d) = currency_conflict(tx, &c, Some(&code)).await? {
                return Err(WriteError::Duplicate(d));
            }
            let updated = sqlx::query(
                "UPDATE currencies SET numeric_code = $1, name = $2, minor_units = $3, version = version + 1 WHERE code = $4 AND version = $5",
            )
            .bind(c.numeric.as_str())
            .bind(c.name.as_str())
            .bind(c.minor_units.map(i64::from))
            .bind(code.as_str())
            .bind(current.version)
            .execute(&mut **tx)
            .await?;
            if updated.rows_affected() != 1 {
                return Err(WriteError::Stale);
            }
            Ok(Versioned { value: c, version: current.version + 1 })
        })
    })
    .await
}

/// `DELETE /currencies/{code}`: refused while a country uses it.
///
/// # Errors
/// Missing row, still in use, database failures.
pub async fn delete_currency(db: &Db, code: String) -> Result<(), WriteError> {
    write(db, "currencies.delete", move |tx| {
        Box::pin(async move {
            find_currency(&mut **tx, &code)
                .await?
                .ok_or(WriteError::Missing)?;
            let users: i64 =
                sqlx::query("SELECT COUNT(*) AS n FROM country_currencies WHERE currency = $1")
                    .bind(code.as_str())
                    .fetch_one(&mut **tx)
                    .await?
                    .try_get("n")?;
            if users > 0 {
                return Err(WriteError::InUse(format!(
                    "{code} is used by {users} countries; remove it from them first"
                )));
            }
            sqlx::query("DELETE FROM currencies WHERE code = $1")
                .bind(code.as_str())
                .execute(&mut **tx)
                .await?;
            Ok(())
        })
    })
    .await
}

/// The IANA zones of a country, `None` when the country does not exist.
///
/// # Errors
/// Database failures.
pub async fn country_zones(db: &Db, r: &CountryRef) -> Result<Option<Country>, DbError> {
    db.run("countries.zones", async {
        Ok(find_country(&mut *db.pool().acquire().await?, r)
            .await?
            .map(|v| v.value))
    })
    .await
}

/// Why an import batch was not written.
#[derive(Debug)]
pub enum ImportError {
    /// Rows refer to currencies that exist neither in the database nor the batch.
    Rows(Vec<crate::imports::RowError>),
    /// The database failed (the transaction rolled back).
    Db(DbError),
}

/// Write validated rows in one transaction: currencies first (so countries may use
/// them), each created or replaced by key; then countries with their links.
/// `progress` is told how many rows are written.
///
/// # Errors
/// Unknown currency references (nothing written) or database failures.
pub async fn import_rows(
    db: &Db,
    currencies: Vec<Currency>,
    countries: Vec<Country>,
    progress: impl Fn(usize) + Send + Sync + 'static,
) -> Result<(), ImportError> {
    let result = write(db, "imports.write", move |tx| {
        Box::pin(async move {
            let mut done = 0;
            let mut taken = Vec::new();
            for (i, c) in currencies.iter().enumerate() {
                if let Some(d) = currency_conflict(tx, c, Some(&c.code)).await? {
                    taken.push(row_error("currencies", i + 1, "#/numeric", d));
                }
            }
            for (i, c) in countries.iter().enumerate() {
                if let Some(d) = country_conflict(tx, c, Some(&c.alpha2)).await? {
                    taken.push(row_error("countries", i + 1, "#", d));
                }
            }
            if !taken.is_empty() {
                return Err(WriteError::Rows(taken));
            }
            for c in &currencies {
                sqlx::query(
                    "INSERT INTO currencies (code, numeric_code, name, minor_units) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (code) DO UPDATE SET numeric_code = excluded.numeric_code, name = excluded.name, \
                     minor_units = excluded.minor_units, version = currencies.version + 1",
                )
                .bind(c.code.as_str())
                .bind(c.numeric.as_str())
                .bind(c.name.as_str())
                .bind(c.minor_units.map(i64::from))
                .execute(&mut **tx)
                .await?;
                done += 1;
                progress(done);
            }
            let mut known = std::collections::BTreeSet::new();
            let mut errors = Vec::new();
            for (i, c) in countries.iter().enumerate() {
                for (j, cur) in c.currencies.iter().enumerate() {
                    if known.contains(cur) {
                        continue;
                    }
                    let found = sqlx::query("SELECT code FROM currencies WHERE code = $1").bind(cur.as_str()).fetch_optional(&mut **tx).await?;
                    if found.is_some() {
                        known.insert(cur.clone());
                    } else {
                        errors.push(row_error("countries", i + 1, &format!("#/currencies/{j}"), format!("unknown currency {cur:?}")));
                    }
                }
            }
            if !errors.is_empty() {
                return Err(WriteError::Rows(errors));
            }
            for c in &countries {
                sqlx::query(
                    "INSERT INTO countries (alpha2, alpha3, numeric_code, name, official_name) VALUES ($1, $2, $3, $4, $5) \
                     ON CONFLICT (alpha2) DO UPDATE SET alpha3 = excluded.alpha3, numeric_code = excluded.numeric_code, \
                     name = excluded.name, official_name = excluded.official_name, version = countries.version + 1",
                )
                .bind(c.alpha2.as_str())
                .bind(c.alpha3.as_str())
                .bind(c.numeric.as_str())
                .bind(c.name.as_str())
                .bind(c.official_name.as_deref())
                .execute(&mut **tx)
                .await?;
                write_links(tx, c).await?;
                done += 1;
                progress(done);
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
            "#",
            format!("conflicts with a concurrent write: {other:?}"),
        )])),
    }
}

fn row_error(kind: &str, row: usize, pointer: &str, detail: String) -> crate::imports::RowError {
    crate::imports::RowError {
        kind: kind.into(),
        row,
        pointer: pointer.into(),
        detail,
    }
}

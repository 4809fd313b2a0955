//! Countries and their links to currencies and zones.

use std::collections::HashMap;

use sqlx::{Any, AnyConnection, Transaction};

use super::{write, Db, DbError, Page, Versioned, WriteError};
use crate::domain::country::Country;
use crate::domain::{CountryRef, CurrencyCode, Cursor, FieldError, PageLimit, SearchTerm};

/// Filters for `GET /countries`.
#[derive(Debug)]
pub struct CountryFilter {
    /// Only countries using this currency.
    pub currency: Option<CurrencyCode>,
    /// Case-insensitive substring of the name or official name.
    pub q: Option<SearchTerm>,
    /// Start after this alpha-2 code.
    pub after: Option<Cursor>,
    /// Page size.
    pub limit: PageLimit,
}

/// A row of `countries`.
#[derive(Debug, sqlx::FromRow)]
pub(super) struct CountryRow {
    alpha2: String,
    alpha3: String,
    numeric_code: String,
    name: String,
    official_name: Option<String>,
    version: i64,
}

/// A link row: a country and one of its currencies or zones.
#[derive(Debug, sqlx::FromRow)]
struct LinkRow {
    country: String,
    value: String,
}

macro_rules! columns {
    () => {
        "SELECT alpha2, alpha3, numeric_code, name, official_name, version FROM countries "
    };
}

/// `$1`: a currency code or NULL; `$2`: a `LIKE` pattern or NULL.
macro_rules! filter {
    () => {
        "WHERE ($1 IS NULL OR alpha2 IN (SELECT country FROM country_currencies WHERE currency = $1)) \
         AND ($2 IS NULL OR lower(name) LIKE $2 ESCAPE '\\' \
              OR lower(coalesce(official_name, '')) LIKE $2 ESCAPE '\\') "
    };
}

const COUNT: &str = concat!("SELECT COUNT(*) FROM countries ", filter!());
/// `$3`: the cursor or NULL; `$4`: the page size plus one.
const PAGE: &str = concat!(
    columns!(),
    filter!(),
    "AND ($3 IS NULL OR alpha2 > $3) ORDER BY alpha2 LIMIT $4"
);
const BY_ALPHA2: &str = concat!(columns!(), "WHERE alpha2 = $1");
const BY_ALPHA3: &str = concat!(columns!(), "WHERE alpha3 = $1");
const USING_CURRENCY: &str = concat!(
    columns!(),
    "WHERE alpha2 IN (SELECT country FROM country_currencies WHERE currency = $1) ORDER BY alpha2"
);
const CURRENCY_LINKS: &str = "SELECT country, currency AS value FROM country_currencies \
     WHERE country BETWEEN $1 AND $2 ORDER BY country, currency";
const ZONE_LINKS: &str = "SELECT country, zone AS value FROM country_timezones \
     WHERE country BETWEEN $1 AND $2 ORDER BY country, zone";

/// Links of every country from `first` to `last` (alpha-2 order), by country.
async fn links(
    conn: &mut AnyConnection,
    sql: &'static str,
    first: &str,
    last: &str,
) -> Result<HashMap<String, Vec<String>>, sqlx::Error> {
    let rows: Vec<LinkRow> = sqlx::query_as(sql)
        .bind(first)
        .bind(last)
        .fetch_all(conn)
        .await?;
    let mut by_country: HashMap<String, Vec<String>> = HashMap::new();
    for r in rows {
        by_country.entry(r.country).or_default().push(r.value);
    }
    Ok(by_country)
}

/// Countries with their currencies and zones, from rows in alpha-2 order.
///
/// The rows span one key range, so their links are two range scans on the link
/// tables' primary keys, whatever the filter was. Links of countries in the range
/// that the filter skipped are read and dropped: a few hundred short rows at most.
pub(super) async fn with_links(
    conn: &mut AnyConnection,
    rows: Vec<CountryRow>,
) -> Result<Vec<Versioned<Country>>, sqlx::Error> {
    let (Some(first), Some(last)) = (rows.first(), rows.last()) else {
        return Ok(Vec::new());
    };
    let (first, last) = (first.alpha2.clone(), last.alpha2.clone());
    let mut currencies = links(conn, CURRENCY_LINKS, &first, &last).await?;
    let mut zones = links(conn, ZONE_LINKS, &first, &last).await?;
    Ok(rows
        .into_iter()
        .map(|r| Versioned {
            value: Country {
                currencies: currencies.remove(&r.alpha2).unwrap_or_default(),
                timezones: zones.remove(&r.alpha2).unwrap_or_default(),
                alpha2: r.alpha2,
                alpha3: r.alpha3,
                numeric: r.numeric_code,
                name: r.name,
                official_name: r.official_name,
            },
            version: r.version,
        })
        .collect())
}

/// `GET /countries`.
///
/// # Errors
/// Database failures.
pub async fn list(db: &Db, f: &CountryFilter) -> Result<Page<Country>, DbError> {
    let currency = f.currency.as_ref().map(CurrencyCode::as_str);
    let pattern = f.q.as_ref().map(SearchTerm::like_pattern);
    db.run("countries.list", async {
        let total: i64 = sqlx::query_scalar(COUNT)
            .bind(currency)
            .bind(pattern.as_deref())
            .fetch_one(db.pool())
            .await?;
        let rows: Vec<CountryRow> = sqlx::query_as(PAGE)
            .bind(currency)
            .bind(pattern.as_deref())
            .bind(f.after.as_ref().map(Cursor::as_str))
            .bind(i64::from(f.limit.get()) + 1)
            .fetch_all(db.pool())
            .await?;
        let items = with_links(&mut *db.pool().acquire().await?, rows).await?;
        let items = items.into_iter().map(|v| v.value).collect();
        Ok(Page::from_rows(
            items,
            total,
            f.limit.as_usize(),
            |c: &Country| &c.alpha2,
        ))
    })
    .await
}

async fn find(
    conn: &mut AnyConnection,
    r: &CountryRef,
) -> Result<Option<Versioned<Country>>, sqlx::Error> {
    let query = match r {
        CountryRef::Alpha2(c) => sqlx::query_as(BY_ALPHA2).bind(c.as_str()),
        CountryRef::Alpha3(c) => sqlx::query_as(BY_ALPHA3).bind(c.as_str()),
    };
    let row: Option<CountryRow> = query.fetch_optional(&mut *conn).await?;
    Ok(with_links(conn, row.into_iter().collect()).await?.pop())
}

/// `GET /countries/{code}`.
///
/// # Errors
/// Database failures.
pub async fn get(db: &Db, r: &CountryRef) -> Result<Option<Versioned<Country>>, DbError> {
    db.run("countries.get", async {
        find(&mut *db.pool().acquire().await?, r).await
    })
    .await
}

/// The countries using a currency, in alpha-2 order.
pub(super) async fn using_currency(
    conn: &mut AnyConnection,
    code: &CurrencyCode,
) -> Result<Vec<Country>, sqlx::Error> {
    let rows: Vec<CountryRow> = sqlx::query_as(USING_CURRENCY)
        .bind(code.as_str())
        .fetch_all(&mut *conn)
        .await?;
    let items = with_links(conn, rows).await?;
    Ok(items.into_iter().map(|v| v.value).collect())
}

/// Currencies of `c` that do not exist, as errors on the body's `/currencies`.
///
/// The pointer names the list, not an index: the list was normalised (sorted,
/// de-duplicated), so an index here would not match the caller's body.
pub(super) async fn unknown_currencies(
    tx: &mut Transaction<'_, Any>,
    c: &Country,
) -> Result<Vec<FieldError>, sqlx::Error> {
    let mut missing = Vec::new();
    for code in &c.currencies {
        let found: Option<String> =
            sqlx::query_scalar("SELECT code FROM currencies WHERE code = $1")
                .bind(code.as_str())
                .fetch_optional(&mut **tx)
                .await?;
        if found.is_none() {
            missing.push(FieldError::pointer(
                "/currencies",
                format!("unknown currency {code:?}"),
            ));
        }
    }
    Ok(missing)
}

/// Replace the links of `c` with its currencies and zones.
pub(super) async fn write_links(
    tx: &mut Transaction<'_, Any>,
    c: &Country,
) -> Result<(), sqlx::Error> {
    for sql in [
        "DELETE FROM country_currencies WHERE country = $1",
        "DELETE FROM country_timezones WHERE country = $1",
    ] {
        sqlx::query(sql)
            .bind(c.alpha2.as_str())
            .execute(&mut **tx)
            .await?;
    }
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

/// Why `c` cannot take its codes: another country (not `except`) holds one.
pub(super) async fn conflict(
    tx: &mut Transaction<'_, Any>,
    c: &Country,
    except: Option<&str>,
) -> Result<Option<String>, sqlx::Error> {
    let holder: Option<String> = sqlx::query_scalar(
        "SELECT alpha2 FROM countries \
         WHERE (alpha2 = $1 OR alpha3 = $2 OR numeric_code = $3) AND alpha2 <> $4",
    )
    .bind(c.alpha2.as_str())
    .bind(c.alpha3.as_str())
    .bind(c.numeric.as_str())
    .bind(except.unwrap_or(""))
    .fetch_optional(&mut **tx)
    .await?;
    Ok(holder.map(|h| {
        format!(
            "a country with code {} or {} or numeric {} already exists ({h})",
            c.alpha2, c.alpha3, c.numeric
        )
    }))
}

/// Unknown currencies or a taken code, checked before `c` is written.
async fn check_writable(
    tx: &mut Transaction<'_, Any>,
    c: &Country,
    except: Option<&str>,
) -> Result<(), WriteError> {
    let missing = unknown_currencies(tx, c).await?;
    if !missing.is_empty() {
        return Err(WriteError::Invalid(missing));
    }
    match conflict(tx, c, except).await? {
        Some(d) => Err(WriteError::Duplicate(d)),
        None => Ok(()),
    }
}

/// `POST /countries`.
///
/// # Errors
/// Unknown currencies, a taken code, or database failures.
pub async fn create(db: &Db, c: Country) -> Result<Versioned<Country>, WriteError> {
    write(db, "countries.create", move |tx| {
        Box::pin(async move {
            check_writable(tx, &c, None).await?;
            sqlx::query(
                "INSERT INTO countries (alpha2, alpha3, numeric_code, name, official_name) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(c.alpha2.as_str())
            .bind(c.alpha3.as_str())
            .bind(c.numeric.as_str())
            .bind(c.name.as_str())
            .bind(c.official_name.as_deref())
            .execute(&mut **tx)
            .await?;
            write_links(tx, &c).await?;
            Ok(Versioned {
                value: c,
                version: 1,
            })
        })
    })
    .await
}

/// Insert `c` or replace the row with its alpha-2 code (bulk imports).
pub(super) async fn upsert(tx: &mut Transaction<'_, Any>, c: &Country) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO countries (alpha2, alpha3, numeric_code, name, official_name) \
         VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (alpha2) DO UPDATE SET alpha3 = excluded.alpha3, \
         numeric_code = excluded.numeric_code, name = excluded.name, \
         official_name = excluded.official_name, version = countries.version + 1",
    )
    .bind(c.alpha2.as_str())
    .bind(c.alpha3.as_str())
    .bind(c.numeric.as_str())
    .bind(c.name.as_str())
    .bind(c.official_name.as_deref())
    .execute(&mut **tx)
    .await?;
    write_links(tx, c).await
}

/// `PUT /countries/{code}`: replace, if `precondition` (the `If-Match` check) accepts
/// the current row; the update names the version checked, in the same transaction,
/// so a concurrent change makes it [`WriteError::Stale`].
///
/// # Errors
/// Missing row, stale version, unknown currencies, a taken code, database failures.
pub async fn replace(
    db: &Db,
    target: CountryRef,
    c: Country,
    precondition: impl FnOnce(&Versioned<Country>) -> bool + Send + 'static,
) -> Result<Versioned<Country>, WriteError> {
    write(db, "countries.replace", move |tx| {
        Box::pin(async move {
            let current = find(tx, &target).await?.ok_or(WriteError::Missing)?;
            if !precondition(&current) {
                return Err(WriteError::Stale);
            }
            if current.value.alpha2 != c.alpha2 {
                return Err(WriteError::Invalid(vec![FieldError::pointer(
                    "/alpha2",
                    format!("must stay {} (the code in the path)", current.value.alpha2),
                )]));
            }
            check_writable(tx, &c, Some(&current.value.alpha2)).await?;
            let updated = sqlx::query(
                "UPDATE countries SET alpha3 = $1, numeric_code = $2, name = $3, \
                 official_name = $4, version = version + 1 WHERE alpha2 = $5 AND version = $6",
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
            let version = current.version + 1;
            Ok(Versioned { value: c, version })
        })
    })
    .await
}

/// `DELETE /countries/{code}`, if `precondition` (the `If-Match` check) accepts the
/// current row.
///
/// The check and the delete are one transaction, and the delete names the version
/// checked: a writer that changed the row in between makes it affect no row, and
/// the caller gets [`WriteError::Stale`] rather than deleting what it never saw.
///
/// # Errors
/// Missing row, stale version, database failures.
pub async fn delete(
    db: &Db,
    target: CountryRef,
    precondition: impl FnOnce(&Versioned<Country>) -> bool + Send + 'static,
) -> Result<(), WriteError> {
    write(db, "countries.delete", move |tx| {
        Box::pin(async move {
            let current = find(tx, &target).await?.ok_or(WriteError::Missing)?;
            if !precondition(&current) {
                return Err(WriteError::Stale);
            }
            let alpha2 = current.value.alpha2.as_str();
            let deleted = sqlx::query("DELETE FROM countries WHERE alpha2 = $1 AND version = $2")
                .bind(alpha2)
                .bind(current.version)
                .execute(&mut **tx)
                .await?;
            if deleted.rows_affected() != 1 {
                return Err(WriteError::Stale);
            }
            // The links cascade on PostgreSQL; SQLite enforces ON DELETE CASCADE only
            // with foreign keys on, and being explicit costs nothing.
            for sql in [
                "DELETE FROM country_currencies WHERE country = $1",
                "DELETE FROM country_timezones WHERE country = $1",
            ] {
                sqlx::query(sql).bind(alpha2).execute(&mut **tx).await?;
            }
            Ok(())
        })
    })
    .await
}

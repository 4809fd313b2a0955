//! Countries and their links to currencies and zones.

use serde::Serialize;
use sqlx::{Any, Transaction};

use super::{write, Db, DbError, Versioned, WriteError};
use crate::domain::country::Country;
use crate::domain::{CountryRef, FieldError};

mod row;

pub(in crate::store) use row::CountryRow;

/// A list or map as its JSON column stores it.
fn json_text<T: Serialize>(value: &T) -> String {
    // Invariant: these are strings, numbers and maps with string keys.
    serde_json::to_string(value).unwrap_or_default()
}

/// The detail columns of a `countries` row named `c`, as [`CountryRow`] reads them.
macro_rules! detail_columns {
    () => {
        "c.region, c.subregion, c.latitude, c.longitude, c.area_km2, \
         CASE WHEN c.landlocked THEN 1 WHEN NOT c.landlocked THEN 0 END AS landlocked, \
         CASE WHEN c.independent THEN 1 WHEN NOT c.independent THEN 0 END AS independent, \
         CASE WHEN c.un_member THEN 1 WHEN NOT c.un_member THEN 0 END AS un_member, \
         c.capitals, c.languages, c.calling_codes, c.tlds, c.borders, c.demonyms, \
         c.native_names, c.alt_spellings, c.translations "
    };
}

/// The columns of [`CountryRow`] for a `countries` row named `c`, its currencies
/// and zones aggregated in correlated sub-selects (two primary-key range scans).
/// `string_agg(… ORDER BY …)` reads the same on PostgreSQL and SQLite (≥ 3.44):
/// one statement per read, one static text for both backends.
macro_rules! country_columns {
    () => {
        concat!(
            "c.alpha2, c.alpha3, c.numeric_code, c.name, c.official_name, c.version, \
             (SELECT string_agg(currency, ',' ORDER BY currency) FROM country_currencies \
              WHERE country = c.alpha2) AS currencies, \
             (SELECT string_agg(zone, ',' ORDER BY zone) FROM country_timezones \
              WHERE country = c.alpha2) AS timezones, ",
            detail_columns!()
        )
    };
}

/// Every country, in alpha-2 order (the snapshot's read).
pub(super) const ALL: &str = concat!(
    "SELECT ",
    country_columns!(),
    "FROM countries c ORDER BY c.alpha2"
);

/// `GET /countries/{alpha2}`: the row and its links in one statement.
pub const BY_ALPHA2: &str = concat!(
    "SELECT ",
    country_columns!(),
    "FROM countries c WHERE c.alpha2 = $1"
);
/// `GET /countries/{alpha3}`.
pub const BY_ALPHA3: &str = concat!(
    "SELECT ",
    country_columns!(),
    "FROM countries c WHERE c.alpha3 = $1"
);
async fn find<'e, E>(exec: E, r: &CountryRef) -> Result<Option<Versioned<Country>>, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = Any>,
{
    let query = match r {
        CountryRef::Alpha2(c) => sqlx::query_as(BY_ALPHA2).bind(c.as_str()),
        CountryRef::Alpha3(c) => sqlx::query_as(BY_ALPHA3).bind(c.as_str()),
    };
    let row: Option<CountryRow> = query.fetch_optional(exec).await?;
    row.map(Versioned::try_from).transpose()
}

/// `GET /countries/{code}`: one statement.
///
/// # Errors
/// Database failures.
pub async fn get(db: &Db, r: &CountryRef) -> Result<Option<Versioned<Country>>, DbError> {
    db.run("countries.get", async {
        let mut conn = db.lease().await?;
        let found = find(&mut *conn, r).await?;
        conn.release();
        Ok(found)
    })
    .await
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

/// Borders of `c` that name no country, as errors on the body's `/borders` (a
/// normalised list, so no index; see [`unknown_currencies`]).
pub(super) async fn unknown_borders(
    tx: &mut Transaction<'_, Any>,
    c: &Country,
) -> Result<Vec<FieldError>, sqlx::Error> {
    let mut missing = Vec::new();
    for code in &c.borders {
        let found: Option<String> =
            sqlx::query_scalar("SELECT alpha3 FROM countries WHERE alpha3 = $1")
                .bind(code.as_str())
                .fetch_optional(&mut **tx)
                .await?;
        if found.is_none() {
            missing.push(FieldError::pointer(
                "/borders",
                format!("unknown country {code:?}"),
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
    insert_links(tx, c).await
}

/// Insert the links of `c`, a country that had none.
async fn insert_links(tx: &mut Transaction<'_, Any>, c: &Country) -> Result<(), sqlx::Error> {
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

/// Unknown currencies or borders, or a taken code, checked before `c` is written.
async fn check_writable(
    tx: &mut Transaction<'_, Any>,
    c: &Country,
    except: Option<&str>,
) -> Result<(), WriteError> {
    let mut missing = unknown_currencies(tx, c).await?;
    missing.extend(unknown_borders(tx, c).await?);
    if !missing.is_empty() {
        return Err(WriteError::Invalid(missing));
    }
    match conflict(tx, c, except).await? {
        Some(d) => Err(WriteError::Duplicate(d)),
        None => Ok(()),
    }
}

/// The stored columns of a country, in the order [`bind_country`] binds them.
macro_rules! stored_columns {
    () => {
        "alpha2, alpha3, numeric_code, name, official_name, region, subregion, latitude, \
         longitude, area_km2, landlocked, independent, un_member, capitals, languages, \
         calling_codes, tlds, borders, demonyms, native_names, alt_spellings, translations"
    };
}

/// Placeholders for [`stored_columns!`].
macro_rules! stored_values {
    () => {
        "$1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, \
         $19, $20, $21, $22"
    };
}

const INSERT: &str = concat!(
    "INSERT INTO countries (",
    stored_columns!(),
    ") VALUES (",
    stored_values!(),
    ")"
);

/// Every stored column but `alpha2` (the key) set from `excluded`.
const UPSERT: &str = concat!(
    "INSERT INTO countries (",
    stored_columns!(),
    ") VALUES (",
    stored_values!(),
    ") ON CONFLICT (alpha2) DO UPDATE SET alpha3 = excluded.alpha3, \
     numeric_code = excluded.numeric_code, name = excluded.name, \
     official_name = excluded.official_name, region = excluded.region, \
     subregion = excluded.subregion, latitude = excluded.latitude, \
     longitude = excluded.longitude, area_km2 = excluded.area_km2, \
     landlocked = excluded.landlocked, independent = excluded.independent, \
     un_member = excluded.un_member, capitals = excluded.capitals, \
     languages = excluded.languages, calling_codes = excluded.calling_codes, \
     tlds = excluded.tlds, borders = excluded.borders, demonyms = excluded.demonyms, \
     native_names = excluded.native_names, alt_spellings = excluded.alt_spellings, \
     translations = excluded.translations, version = countries.version + 1"
);

/// `$1` is the key, `$23` the version checked.
const UPDATE: &str = "UPDATE countries SET alpha3 = $2, numeric_code = $3, name = $4, \
     official_name = $5, region = $6, subregion = $7, latitude = $8, longitude = $9, \
     area_km2 = $10, landlocked = $11, independent = $12, un_member = $13, capitals = $14, \
     languages = $15, calling_codes = $16, tlds = $17, borders = $18, demonyms = $19, \
     native_names = $20, alt_spellings = $21, translations = $22, version = version + 1 \
     WHERE alpha2 = $1 AND version = $23";

type AnyQuery<'q> = sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>>;

/// Bind `$1`..`$22`: the columns of [`stored_columns!`], lists and maps as JSON.
fn bind_country<'q>(q: AnyQuery<'q>, c: &'q Country) -> AnyQuery<'q> {
    let (lat, lng) = c.latlng.map(|p| (p.lat, p.lng)).unzip();
    q.bind(c.alpha2.as_str())
        .bind(c.alpha3.as_str())
        .bind(c.numeric.as_str())
        .bind(c.name.as_str())
        .bind(c.official_name.as_deref())
        .bind(c.region.as_deref())
        .bind(c.subregion.as_deref())
        .bind(lat)
        .bind(lng)
        .bind(c.area_km2)
        .bind(c.landlocked)
        .bind(c.independent)
        .bind(c.un_member)
        .bind(json_text(&c.capitals))
        .bind(json_text(&c.languages))
        .bind(json_text(&c.calling_codes))
        .bind(json_text(&c.tlds))
        .bind(json_text(&c.borders))
        .bind(json_text(&c.demonyms))
        .bind(json_text(&c.native_names))
        .bind(json_text(&c.alt_spellings))
        .bind(json_text(&c.translations))
}

/// `POST /countries`.
///
/// # Errors
/// Unknown currencies, a taken code, or database failures.
pub async fn create(db: &Db, c: Country) -> Result<Versioned<Country>, WriteError> {
    write(db, "countries.create", move |tx| {
        Box::pin(async move {
            check_writable(tx, &c, None).await?;
            bind_country(sqlx::query(INSERT), &c)
                .execute(&mut **tx)
                .await?;
            // The row is new, so it has no links to delete: they reference it
            // with a foreign key (enforced on SQLite too, `PRAGMA foreign_keys`),
            // and deleting a country deletes its links.
            insert_links(tx, &c).await?;
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
    bind_country(sqlx::query(UPSERT), c)
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
            let current = find(&mut **tx, &target).await?.ok_or(WriteError::Missing)?;
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
            let updated = bind_country(sqlx::query(UPDATE), &c)
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
            let current = find(&mut **tx, &target).await?.ok_or(WriteError::Missing)?;
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
            // The links and subdivisions cascade on PostgreSQL; SQLite enforces ON DELETE CASCADE only
            // with foreign keys on, and being explicit costs nothing.
            for sql in [
                "DELETE FROM country_currencies WHERE country = $1",
                "DELETE FROM country_timezones WHERE country = $1",
                "DELETE FROM subdivisions WHERE country = $1",
            ] {
                sqlx::query(sql).bind(alpha2).execute(&mut **tx).await?;
            }
            Ok(())
        })
    })
    .await
}

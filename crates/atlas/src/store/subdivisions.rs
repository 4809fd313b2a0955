//! Subdivisions (ISO 3166-2): read-only reference data.

use sqlx::{FromRow, Row};

use super::{Db, DbError, Page};
use crate::domain::subdivision::{Subdivision, SubdivisionCode, SubdivisionType};
use crate::domain::{CountryRef, PageLimit};

/// Filters for `GET /countries/{code}/subdivisions` (the country is the path's).
#[derive(Debug)]
pub struct SubdivisionFilter {
    /// Only subdivisions of this type (any ASCII case).
    pub kind: Option<SubdivisionType>,
    /// Start after this code.
    pub after: Option<SubdivisionCode>,
    /// Page size.
    pub limit: PageLimit,
}

/// A row of `subdivisions`: the one mapping, for single reads, pages and the
/// snapshot load.
#[derive(Debug, sqlx::FromRow)]
pub(super) struct SubdivisionRow {
    code: String,
    country: String,
    name: String,
    kind: String,
    parent: Option<String>,
}

impl From<SubdivisionRow> for Subdivision {
    fn from(r: SubdivisionRow) -> Self {
        Subdivision {
            code: r.code,
            country: r.country,
            name: r.name,
            kind: r.kind,
            parent: r.parent,
        }
    }
}

/// Every subdivision (the snapshot's read).
pub(super) const ALL: &str =
    "SELECT code, country, name, type AS kind, parent FROM subdivisions ORDER BY code";

/// `GET /subdivisions/{code}`.
pub const BY_CODE: &str =
    "SELECT code, country, name, type AS kind, parent FROM subdivisions WHERE code = $1";

/// `GET /countries/{code}/subdivisions` in one statement. `$1`: the country's
/// alpha-2 or alpha-3 code; `$2`: a lower-cased type or NULL; `$3`: the cursor or
/// NULL; `$4`: the page size plus one. No row: no such country. Otherwise the
/// total rides on every row, and an empty page is one row with a NULL `code`.
/// Codes are uppercase letters and digits after the same `XX-` prefix, so their
/// order is the same under any collation (and the snapshot's byte order).
pub const LIST: &str =
    "WITH ctry AS (SELECT alpha2 FROM countries WHERE alpha2 = $1 OR alpha3 = $1), \
     matching AS (SELECT s.code FROM subdivisions s JOIN ctry ON s.country = ctry.alpha2 \
       WHERE ($2 IS NULL OR lower(s.type) = $2)), \
     page AS (SELECT code FROM matching WHERE ($3 IS NULL OR code > $3) ORDER BY code LIMIT $4) \
     SELECT t.total, s.code, s.country, s.name, s.type AS kind, s.parent \
     FROM ctry CROSS JOIN (SELECT COUNT(*) AS total FROM matching) t \
     LEFT JOIN page p ON true LEFT JOIN subdivisions s ON s.code = p.code ORDER BY s.code";

/// A page of a country's subdivisions; `None` when there is no such country.
///
/// # Errors
/// Database failures.
pub async fn list(
    db: &Db,
    country: &CountryRef,
    f: &SubdivisionFilter,
) -> Result<Option<Page<Subdivision>>, DbError> {
    let code = match country {
        CountryRef::Alpha2(c) => c.as_str(),
        CountryRef::Alpha3(c) => c.as_str(),
    };
    db.run("subdivisions.list", async {
        let mut conn = db.lease().await?;
        let rows = sqlx::query(LIST)
            .bind(code)
            .bind(f.kind.as_ref().map(SubdivisionType::as_str))
            .bind(f.after.as_ref().map(SubdivisionCode::as_str))
            .bind(i64::from(f.limit.get()) + 1)
            .fetch_all(&mut *conn)
            .await?;
        conn.release();
        let Some(first) = rows.first() else {
            return Ok(None);
        };
        let total: i64 = first.try_get("total")?;
        let mut items = Vec::with_capacity(rows.len());
        for r in &rows {
            let code: Option<&str> = r.try_get("code")?;
            if code.is_some() {
                items.push(Subdivision::from(SubdivisionRow::from_row(r)?));
            }
        }
        let limit = f.limit.as_usize();
        Ok(Some(Page::from_rows(
            items,
            total,
            limit,
            |s: &Subdivision| &s.code,
        )))
    })
    .await
}

/// `GET /subdivisions/{code}`.
///
/// # Errors
/// Database failures.
pub async fn get(db: &Db, code: &SubdivisionCode) -> Result<Option<Subdivision>, DbError> {
    db.run("subdivisions.get", async {
        let mut conn = db.lease().await?;
        let row: Option<SubdivisionRow> = sqlx::query_as(BY_CODE)
            .bind(code.as_str())
            .fetch_optional(&mut *conn)
            .await?;
        conn.release();
        Ok(row.map(Subdivision::from))
    })
    .await
}

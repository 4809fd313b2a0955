//! Places (GeoNames), read once into the in-memory index.

use futures_util::TryStreamExt;

use super::{Db, DbError};

/// A row of `places`.
#[derive(Debug, sqlx::FromRow)]
pub struct PlaceRow {
    /// GeoNames id.
    pub id: i64,
    /// Name in local spelling.
    pub name: String,
    /// ASCII transliteration.
    pub ascii_name: String,
    /// The folded name searches match (see `places::fold`).
    pub search_name: String,
    /// Folded alternate names, `|`-separated.
    pub alternate_names: String,
    /// Alpha-2 code.
    pub country: String,
    /// GeoNames admin1 code.
    pub admin1: String,
    /// Inhabitants.
    pub population: i64,
    /// Degrees.
    pub latitude: f64,
    /// Degrees.
    pub longitude: f64,
    /// IANA zone.
    pub timezone: String,
}

/// Hand every place to `each`, one row at a time.
///
/// Streamed rather than collected: materialising 34k rows at once would leave a
/// peak in the heap that the allocator keeps long after the index is built.
///
/// # Errors
/// The database is unreachable or the table is missing (not migrated).
pub async fn for_each(db: &Db, mut each: impl FnMut(PlaceRow) + Send) -> Result<(), DbError> {
    db.run("places.load", async {
        let mut rows = sqlx::query_as::<_, PlaceRow>(
            "SELECT id, name, ascii_name, search_name, alternate_names, country, admin1, \
             population, latitude, longitude, timezone FROM places ORDER BY id",
        )
        .fetch(db.pool());
        while let Some(r) = rows.try_next().await? {
            each(r);
        }
        Ok(())
    })
    .await
}

/// The places' fingerprint as `places::layout::Fingerprint` computes it (see
/// there): one aggregate query instead of reading every row. Sums are cast back
/// to BIGINT because PostgreSQL sums BIGINTs as NUMERIC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct Fingerprint {
    /// Rows.
    pub count: i64,
    /// Sum of ids.
    pub ids: i64,
    /// Populations mixed with ids.
    pub populations: i64,
    /// Coordinates (micro-degrees) mixed with ids.
    pub coordinates: i64,
    /// String lengths (characters) mixed with ids.
    pub lengths: i64,
}

/// Read the places' [`Fingerprint`].
///
/// # Errors
/// The database is unreachable or the table is missing (not migrated).
pub async fn fingerprint(db: &Db) -> Result<Fingerprint, DbError> {
    db.run(
        "places.fingerprint",
        sqlx::query_as::<_, Fingerprint>(
            "SELECT COUNT(*) AS count, \
             CAST(COALESCE(SUM(id), 0) AS BIGINT) AS ids, \
             CAST(COALESCE(SUM((id % 1009) * population), 0) AS BIGINT) AS populations, \
             CAST(COALESCE(SUM((id % 1013) * CAST(ROUND(latitude * 1000000) AS BIGINT) \
                 + (id % 1019) * CAST(ROUND(longitude * 1000000) AS BIGINT)), 0) AS BIGINT) AS coordinates, \
             CAST(COALESCE(SUM((id % 1021) * (LENGTH(name) + 3 * LENGTH(ascii_name) \
                 + 5 * LENGTH(search_name) + 7 * LENGTH(alternate_names) + 11 * LENGTH(country) \
                 + 13 * LENGTH(admin1) + 17 * LENGTH(timezone))), 0) AS BIGINT) AS lengths \
             FROM places",
        )
        .fetch_one(db.pool()),
    )
    .await
}

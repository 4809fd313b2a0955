//! The one mapping from a `countries` row (links aggregated, details as
//! columns) to a [`Country`].

use serde::de::DeserializeOwned;

use crate::domain::country::Country;
use crate::domain::details::{flag_emoji, LatLng};
use crate::store::Versioned;

/// A row of `countries` with its links, each list aggregated into one
/// comma-separated column (`country_columns!`), and its details: scalars, the
/// booleans as 0/1 (SQLite's `BOOLEAN` is not a type the `Any` driver decodes),
/// lists and maps as JSON text. The one mapping from a country row to
/// [`Country`]: every read, the snapshot's included, goes through it.
#[derive(Debug, sqlx::FromRow)]
pub(in crate::store) struct CountryRow {
    alpha2: String,
    alpha3: String,
    numeric_code: String,
    name: String,
    official_name: Option<String>,
    version: i64,
    currencies: Option<String>,
    timezones: Option<String>,
    region: Option<String>,
    subregion: Option<String>,
    latitude: Option<f64>,
    longitude: Option<f64>,
    area_km2: Option<f64>,
    landlocked: Option<i64>,
    independent: Option<i64>,
    un_member: Option<i64>,
    capitals: Option<String>,
    languages: Option<String>,
    calling_codes: Option<String>,
    tlds: Option<String>,
    borders: Option<String>,
    demonyms: Option<String>,
    native_names: Option<String>,
    alt_spellings: Option<String>,
    translations: Option<String>,
}

impl TryFrom<CountryRow> for Versioned<Country> {
    type Error = sqlx::Error;

    fn try_from(r: CountryRow) -> Result<Self, sqlx::Error> {
        let latlng = match (r.latitude, r.longitude) {
            (Some(lat), Some(lng)) => Some(LatLng { lat, lng }),
            _ => None,
        };
        let value = Country {
            flag_emoji: flag_emoji(&r.alpha2),
            currencies: split_links(r.currencies),
            timezones: split_links(r.timezones),
            capitals: json_column("capitals", r.capitals)?,
            region: r.region,
            subregion: r.subregion,
            languages: json_column("languages", r.languages)?,
            calling_codes: json_column("calling_codes", r.calling_codes)?,
            tlds: json_column("tlds", r.tlds)?,
            latlng,
            area_km2: r.area_km2,
            landlocked: r.landlocked.map(|b| b != 0),
            borders: json_column("borders", r.borders)?,
            independent: r.independent.map(|b| b != 0),
            un_member: r.un_member.map(|b| b != 0),
            demonyms: json_column("demonyms", r.demonyms)?,
            native_names: json_column("native_names", r.native_names)?,
            alt_spellings: json_column("alt_spellings", r.alt_spellings)?,
            translations: json_column("translations", r.translations)?,
            alpha2: r.alpha2,
            alpha3: r.alpha3,
            numeric: r.numeric_code,
            name: r.name,
            official_name: r.official_name,
        };
        Ok(Versioned {
            value,
            version: r.version,
        })
    }
}

/// A JSON text column: NULL (a row written before the column existed, or by an
/// older release) is the empty value.
fn json_column<T: DeserializeOwned + Default>(
    column: &str,
    text: Option<String>,
) -> Result<T, sqlx::Error> {
    match text {
        None => Ok(T::default()),
        Some(t) => serde_json::from_str(&t).map_err(|e| sqlx::Error::ColumnDecode {
            index: column.to_string(),
            source: Box::new(e),
        }),
    }
}

/// A link list as `country_columns!` aggregates it: NULL when there are none.
///
/// A comma is a safe separator: what is stored passed [`CurrencyCode`] (three
/// letters) or `ZoneName` (an IANA name, no commas), and the seed data is the same.
fn split_links(joined: Option<String>) -> Vec<String> {
    match joined {
        Some(s) if !s.is_empty() => s.split(',').map(str::to_owned).collect(),
        _ => Vec::new(),
    }
}

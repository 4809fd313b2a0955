//! The query parameters of the country and currency lists, as documented and as
//! checked into [`CountryList`] and [`CurrencyList`].

use serde::Deserialize;
use utoipa::IntoParams;

use super::paging;
use crate::config::ApiConfig;
use crate::domain::{fold, CurrencyCode, FieldError, SearchTerm, Violations};
use crate::query::countries::{
    parse_calling_code, parse_folded, parse_region, CodeSet, CountryFilter, CountryList,
    COUNTRY_SHAPE,
};
use crate::query::currencies::{CurrencyFilter, CurrencyList, CURRENCY_SHAPE};
use crate::query::{Order, Projection};

use super::extract::FromQuery;

/// `?region=&language=&q=&codes=&fields=&sort=&limit=&cursor=` and the other filters.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CountryQuery {
    /// Only countries using this ISO 4217 currency.
    #[param(pattern = "^ *[A-Za-z]{3} *$", example = "EUR")]
    pub currency: Option<String>,
    /// Part of any name the country goes by: short, official, native, alternative
    /// spellings, translations. Case and accents do not matter (up to 100
    /// characters; blank means no filter).
    #[param(max_length = 100, example = "espanha")]
    pub q: Option<String>,
    /// Region: Africa, Americas, Antarctic, Asia, Europe or Oceania (any case).
    #[param(example = "Europe")]
    pub region: Option<String>,
    /// Subregion, any case and accents (up to 100 characters).
    #[param(max_length = 100, example = "Southern Europe")]
    pub subregion: Option<String>,
    /// A language spoken: ISO 639-3 code or English name, any case.
    #[param(max_length = 100, example = "por")]
    pub language: Option<String>,
    /// A calling code, with or without the plus sign.
    #[param(pattern = "^ *[+]?[0-9][0-9-]{0,7} *$", example = "+351")]
    pub calling_code: Option<String>,
    /// A capital city, any case and accents.
    #[param(max_length = 100, example = "Lisbon")]
    pub capital: Option<String>,
    /// Only independent countries (`true`) or only dependent territories (`false`).
    pub independent: Option<bool>,
    /// Only these countries: up to 300 comma-separated alpha-2, alpha-3 or
    /// numeric codes, mixed.
    #[param(example = "PT,ESP,250")]
    pub codes: Option<String>,
    /// Only these fields of each country: comma-separated, nested ones as dotted
    /// paths (up to 64). Absent means every field.
    #[param(example = "name,capitals,translations.deu.common,latlng.lat")]
    pub fields: Option<String>,
    /// Order by alpha2 (default), alpha3, numeric, name, area_km2, region or
    /// subregion; a leading minus sign sorts descending. Ties go by alpha-2 code.
    #[param(example = "-area_km2")]
    pub sort: Option<String>,
    /// Items per page, 1 to `api.max_page_size` (default 50).
    #[param(minimum = 1, example = 50)]
    pub limit: Option<u32>,
    /// `next_cursor` from the previous page (opaque).
    pub cursor: Option<String>,
}

/// The checked parameters in query order, for the `next` link.
fn echo(pairs: &[(&'static str, Option<&str>)]) -> Vec<(&'static str, String)> {
    pairs
        .iter()
        .filter_map(|(k, v)| Some((*k, v.map(str::trim).filter(|v| !v.is_empty())?.to_string())))
        .collect()
}

impl FromQuery for CountryList {
    type Raw = CountryQuery;

    fn check(raw: CountryQuery, api: &ApiConfig) -> Result<Self, Vec<FieldError>> {
        let mut v = Violations::default();
        let currency = raw.currency.as_deref().map(CurrencyCode::parse).transpose();
        let currency = v.parameter("currency", currency);
        let q = v.parameter("q", SearchTerm::parse_filter(raw.q.as_deref()));
        let region = v.parameter("region", parse_region(raw.region.as_deref()));
        let subregion = v.parameter("subregion", parse_folded(raw.subregion.as_deref()));
        let language = v.parameter("language", parse_folded(raw.language.as_deref()));
        let calling = v.parameter(
            "calling_code",
            parse_calling_code(raw.calling_code.as_deref()),
        );
        let capital = v.parameter("capital", parse_folded(raw.capital.as_deref()));
        let codes = v.parameter("codes", CodeSet::parse(raw.codes.as_deref()));
        let fields = v.parameter(
            "fields",
            Projection::parse(raw.fields.as_deref(), &COUNTRY_SHAPE),
        );
        let order = v.parameter("sort", Order::parse(raw.sort.as_deref()));
        let (limit, after) = paging(&mut v, raw.limit, raw.cursor.as_deref(), api);
        let independent = raw.independent.map(|i| i.to_string());
        let echo = echo(&[
            ("currency", raw.currency.as_deref()),
            ("q", raw.q.as_deref()),
            ("region", raw.region.as_deref()),
            ("subregion", raw.subregion.as_deref()),
            ("language", raw.language.as_deref()),
            ("calling_code", calling.as_ref().and_then(|c| c.as_deref())),
            ("capital", raw.capital.as_deref()),
            ("independent", independent.as_deref()),
            ("codes", raw.codes.as_deref()),
            ("fields", raw.fields.as_deref()),
            ("sort", raw.sort.as_deref()),
        ]);
        v.done(|| {
            Some(CountryList {
                filter: CountryFilter {
                    currency: currency?,
                    q: q?.map(|t| fold(t.as_str())),
                    region: region?,
                    subregion: subregion?,
                    language: language?,
                    calling_code: calling?,
                    capital: capital?,
                    independent: raw.independent,
                    codes: codes?,
                },
                order: order?,
                fields: fields?,
                after: after?,
                limit: limit?,
                echo,
            })
        })
    }
}

/// `?q=&fields=&sort=&limit=&cursor=`
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CurrencyQuery {
    /// Part of the name; case and accents do not matter (up to 100 characters;
    /// blank means no filter).
    #[param(max_length = 100, example = "dollar")]
    pub q: Option<String>,
    /// Only these fields of each currency, comma-separated. Absent means every field.
    #[param(example = "code,name")]
    pub fields: Option<String>,
    /// Order by code (default), numeric or name; a leading minus sign sorts
    /// descending.
    #[param(example = "name")]
    pub sort: Option<String>,
    /// Items per page, 1 to `api.max_page_size` (default 50).
    #[param(minimum = 1, example = 50)]
    pub limit: Option<u32>,
    /// `next_cursor` from the previous page (opaque).
    pub cursor: Option<String>,
}

impl FromQuery for CurrencyList {
    type Raw = CurrencyQuery;

    fn check(raw: CurrencyQuery, api: &ApiConfig) -> Result<Self, Vec<FieldError>> {
        let mut v = Violations::default();
        let q = v.parameter("q", SearchTerm::parse_filter(raw.q.as_deref()));
        let fields = v.parameter(
            "fields",
            Projection::parse(raw.fields.as_deref(), &CURRENCY_SHAPE),
        );
        let order = v.parameter("sort", Order::parse(raw.sort.as_deref()));
        let (limit, after) = paging(&mut v, raw.limit, raw.cursor.as_deref(), api);
        let echo = echo(&[
            ("q", raw.q.as_deref()),
            ("fields", raw.fields.as_deref()),
            ("sort", raw.sort.as_deref()),
        ]);
        v.done(|| {
            Some(CurrencyList {
                filter: CurrencyFilter {
                    q: q?.map(|t| fold(t.as_str())),
                },
                order: order?,
                fields: fields?,
                after: after?,
                limit: limit?,
                echo,
            })
        })
    }
}

/// `?fields=` on a single resource.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FieldsQuery {
    /// Only these fields, comma-separated, nested ones as dotted paths
    /// (`name,capitals,latlng.lat`). Absent means every field. No example value:
    /// Swagger UI would fill it in, and "try it out" would show a part.
    pub fields: Option<String>,
}

/// A checked `?fields=` of a country.
#[derive(Debug)]
pub struct CountryFields(pub Option<Projection>);

impl FromQuery for CountryFields {
    type Raw = FieldsQuery;

    fn check(raw: FieldsQuery, _: &ApiConfig) -> Result<Self, Vec<FieldError>> {
        let mut v = Violations::default();
        let fields = v.parameter(
            "fields",
            Projection::parse(raw.fields.as_deref(), &COUNTRY_SHAPE),
        );
        v.done(|| Some(Self(fields?)))
    }
}

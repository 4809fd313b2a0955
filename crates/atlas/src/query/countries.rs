//! A country list's query: filters, name search, codes, order and shape.

use crate::catalog::Encoded;
use crate::domain::country::Country;
use crate::domain::details::REGIONS;
use crate::domain::{fold, CountryRef, CurrencyCode, NumericCode, SearchTerm};
use crate::query::{Filter, Keyed, ListRequest, Shape, SortField, SortValue};

/// Fields a country list can be sorted by (`?sort=`), the default first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CountrySort {
    /// Alpha-2 code (the default).
    Alpha2,
    /// Alpha-3 code.
    Alpha3,
    /// Numeric code.
    Numeric,
    /// Short name, accents and case folded.
    Name,
    /// Area in km² (countries without one last).
    Area,
    /// Region.
    Region,
    /// Subregion.
    Subregion,
}

impl SortField for CountrySort {
    const ALL: &'static [(&'static str, Self)] = &[
        ("alpha2", Self::Alpha2),
        ("alpha3", Self::Alpha3),
        ("numeric", Self::Numeric),
        ("name", Self::Name),
        ("area_km2", Self::Area),
        ("region", Self::Region),
        ("subregion", Self::Subregion),
    ];
}

fn folded(s: Option<&str>) -> SortValue {
    s.map_or(SortValue::Missing, |s| SortValue::Text(fold(s)))
}

impl Keyed<CountrySort> for Country {
    fn key(&self) -> &str {
        &self.alpha2
    }

    fn sort_value(&self, field: CountrySort) -> SortValue {
        match field {
            CountrySort::Alpha2 => SortValue::Text(self.alpha2.clone()),
            CountrySort::Alpha3 => SortValue::Text(self.alpha3.clone()),
            CountrySort::Numeric => SortValue::Text(self.numeric.clone()),
            CountrySort::Name => folded(Some(&self.name)),
            CountrySort::Area => self.area_km2.map_or(SortValue::Missing, SortValue::Number),
            CountrySort::Region => folded(self.region.as_deref()),
            CountrySort::Subregion => folded(self.subregion.as_deref()),
        }
    }
}

/// Most codes one `?codes=` may list.
pub const MAX_CODES: usize = 300;

/// A checked `?codes=`: alpha-2, alpha-3 or numeric codes, mixed, upper-cased.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CodeSet(Vec<String>);

impl CodeSet {
    /// Parse a comma-separated list; blank means no filter.
    ///
    /// # Errors
    /// More than [`MAX_CODES`], or an entry that is no country code (named).
    pub fn parse(raw: Option<&str>) -> Result<Option<Self>, String> {
        let Some(raw) = raw.map(str::trim).filter(|r| !r.is_empty()) else {
            return Ok(None);
        };
        let parts: Vec<&str> = raw.split(',').map(str::trim).collect();
        if parts.len() > MAX_CODES {
            return Err(format!("at most {MAX_CODES} codes, got {}", parts.len()));
        }
        let code = |p: &str| match CountryRef::parse(p) {
            Ok(CountryRef::Alpha2(c)) => Ok(c.into_string()),
            Ok(CountryRef::Alpha3(c)) => Ok(c.into_string()),
            Err(_) => NumericCode::parse(p)
                .map(NumericCode::into_string)
                .map_err(|_| format!("{p:?} is not an alpha-2, alpha-3 or numeric country code")),
        };
        parts
            .into_iter()
            .map(code)
            .collect::<Result<_, _>>()
            .map(|c| Some(Self(c)))
    }

    fn has(&self, c: &Country) -> bool {
        self.0
            .iter()
            .any(|k| *k == c.alpha2 || *k == c.alpha3 || *k == c.numeric)
    }
}

/// A region filter: one of the [`REGIONS`], any case.
///
/// # Errors
/// Any other value; the message lists the regions.
pub fn parse_region(raw: Option<&str>) -> Result<Option<String>, String> {
    let Some(r) = raw.map(str::trim).filter(|r| !r.is_empty()) else {
        return Ok(None);
    };
    REGIONS
        .iter()
        .find(|x| x.eq_ignore_ascii_case(r))
        .map(|x| Some(fold(x)))
        .ok_or_else(|| format!("{r:?} is not a region; use one of {}", REGIONS.join(", ")))
}

/// A calling code filter: `+351`, `351` or ` 351` (a `+` left unescaped in a
/// query string arrives as a space), 1 to 7 digits with an optional `-`.
///
/// # Errors
/// Anything else.
pub fn parse_calling_code(raw: Option<&str>) -> Result<Option<String>, String> {
    let Some(r) = raw.map(str::trim).filter(|r| !r.is_empty()) else {
        return Ok(None);
    };
    let digits = r.strip_prefix('+').unwrap_or(r);
    let ok = (1..=8).contains(&digits.len())
        && digits.bytes().next().is_some_and(|b| b.is_ascii_digit())
        && digits.bytes().all(|b| b.is_ascii_digit() || b == b'-');
    if ok {
        Ok(Some(format!("+{digits}")))
    } else {
        Err(format!("{r:?} is not a calling code such as +351"))
    }
}

/// A free-text filter compared folded (`capital`, `language`, `subregion`).
///
/// # Errors
/// As [`SearchTerm::parse_filter`].
pub fn parse_folded(raw: Option<&str>) -> Result<Option<String>, String> {
    SearchTerm::parse_filter(raw).map(|t| t.map(|t| fold(t.as_str())))
}

/// The filters of a country list; every one given must hold.
#[derive(Debug, Clone, Default)]
pub struct CountryFilter {
    /// Uses this currency.
    pub currency: Option<CurrencyCode>,
    /// Folded part of one of its names.
    pub q: Option<String>,
    /// Region, folded.
    pub region: Option<String>,
    /// Subregion, folded.
    pub subregion: Option<String>,
    /// Language code (`por`) or English name (`portuguese`), folded.
    pub language: Option<String>,
    /// A calling code, `+351`.
    pub calling_code: Option<String>,
    /// A capital, folded.
    pub capital: Option<String>,
    /// Independent or not.
    pub independent: Option<bool>,
    /// One of these codes.
    pub codes: Option<CodeSet>,
}

impl Filter<Country> for CountryFilter {
    fn matches(&self, e: &Encoded<Country>) -> bool {
        let c = &e.value;
        let same = |want: &Option<String>, have: Option<&str>| {
            want.as_ref()
                .is_none_or(|w| have.is_some_and(|h| fold(h) == *w))
        };
        let any = |want: &Option<String>, mut have: std::slice::Iter<'_, String>| {
            want.as_ref().is_none_or(|w| have.any(|h| fold(h) == *w))
        };
        self.currency
            .as_ref()
            .is_none_or(|k| c.currencies.iter().any(|x| x == k.as_str()))
            && self.q.as_ref().is_none_or(|q| e.search.contains(q))
            && same(&self.region, c.region.as_deref())
            && same(&self.subregion, c.subregion.as_deref())
            && self.language.as_ref().is_none_or(|l| {
                c.languages
                    .iter()
                    .any(|x| x.code == *l || fold(&x.name) == *l)
            })
            && self
                .calling_code
                .as_ref()
                .is_none_or(|k| c.calling_codes.iter().any(|x| x == k))
            && any(&self.capital, c.capitals.iter())
            && self.independent.is_none_or(|i| c.independent == Some(i))
            && self.codes.as_ref().is_none_or(|s| s.has(c))
    }
}

/// A checked country list request.
pub type CountryList = ListRequest<CountryFilter, CountrySort>;

const NAMES: Shape = Shape::Object(&[("common", Shape::Leaf), ("official", Shape::Leaf)]);
const DEMONYM: Shape = Shape::Object(&[("f", Shape::Leaf), ("m", Shape::Leaf)]);
const LANGUAGE: Shape = Shape::Object(&[("code", Shape::Leaf), ("name", Shape::Leaf)]);

/// What `?fields=` can select in a country.
pub const COUNTRY_SHAPE: Shape = Shape::Object(&[
    ("alpha2", Shape::Leaf),
    ("alpha3", Shape::Leaf),
    ("numeric", Shape::Leaf),
    ("name", Shape::Leaf),
    ("official_name", Shape::Leaf),
    ("currencies", Shape::Leaf),
    ("timezones", Shape::Leaf),
    ("capitals", Shape::Leaf),
    ("region", Shape::Leaf),
    ("subregion", Shape::Leaf),
    ("languages", Shape::List(&LANGUAGE)),
    ("calling_codes", Shape::Leaf),
    ("tlds", Shape::Leaf),
    (
        "latlng",
        Shape::Object(&[("lat", Shape::Leaf), ("lng", Shape::Leaf)]),
    ),
    ("area_km2", Shape::Leaf),
    ("landlocked", Shape::Leaf),
    ("borders", Shape::Leaf),
    ("independent", Shape::Leaf),
    ("un_member", Shape::Leaf),
    ("demonyms", Shape::Map(&DEMONYM)),
    ("native_names", Shape::Map(&NAMES)),
    ("alt_spellings", Shape::Leaf),
    ("translations", Shape::Map(&NAMES)),
    ("flag_emoji", Shape::Leaf),
]);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::snapshot::tests::snap;
    use crate::domain::PageLimit;
    use crate::query::{Cursor, Order, Paged};

    fn list(filter: CountryFilter, sort: &str, after: Option<&str>, limit: u32) -> CountryList {
        CountryList {
            filter,
            order: Order::parse(Some(sort)).unwrap(),
            fields: None,
            after: after.map(|a| Cursor::parse(a).unwrap()),
            limit: PageLimit::parse(Some(limit), 50, 250).unwrap(),
            echo: Vec::new(),
        }
    }

    fn codes(p: &Paged<'_, Encoded<Country>>) -> Vec<String> {
        p.items.iter().map(|e| e.value.alpha2.clone()).collect()
    }

    #[test]
    fn pages_count_every_match_and_point_past_the_last_item() {
        let s = snap();
        let p = list(CountryFilter::default(), "", None, 2).select(s.countries().iter());
        assert_eq!((codes(&p), p.total), (vec!["AX".into(), "CH".into()], 4));
        let next = p.next.unwrap().encode();
        assert_eq!(next, "CH");
        let p = list(CountryFilter::default(), "", Some(&next), 2).select(s.countries().iter());
        assert_eq!(
            (codes(&p), p.total, p.next),
            (vec!["PT".into(), "US".into()], 4, None)
        );
        let eur = CountryFilter {
            currency: Some(CurrencyCode::parse("EUR").unwrap()),
            ..CountryFilter::default()
        };
        let p = list(eur, "-name", None, 50).select(s.countries().iter());
        assert_eq!(codes(&p), ["PT", "AX"]);
    }

    #[test]
    fn search_folds_case_and_accents_and_is_literal() {
        let s = snap();
        let q = |t: &str| CountryFilter {
            q: Some(fold(t)),
            ..CountryFilter::default()
        };
        let found = |t: &str| codes(&list(q(t), "", None, 50).select(s.countries().iter()));
        assert_eq!(found("ÅLAND"), ["AX"]);
        assert_eq!(found("aland"), ["AX"]);
        assert_eq!(found("united st"), ["US"]);
        assert!(found("%").is_empty());
    }

    #[test]
    fn the_shape_names_every_field_a_country_has() {
        let json = serde_json::to_value(Country::default()).unwrap();
        let mut have: Vec<&str> = json
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let mut shape = COUNTRY_SHAPE.field_names();
        have.sort_unstable();
        shape.sort_unstable();
        assert_eq!(
            have, shape,
            "COUNTRY_SHAPE must list every field of Country"
        );
    }

    #[test]
    fn codes_mix_kinds_and_name_a_bad_one() {
        let set = CodeSet::parse(Some("pt, ESP ,250")).unwrap().unwrap();
        assert_eq!(set.0, ["PT", "ESP", "250"]);
        assert_eq!(CodeSet::parse(Some(" ")), Ok(None));
        let err = CodeSet::parse(Some("PT,P1")).unwrap_err();
        assert!(err.contains("\"P1\""), "{err}");
        let many = vec!["PT"; MAX_CODES + 1].join(",");
        assert!(CodeSet::parse(Some(&many)).unwrap_err().contains("at most"));
    }

    #[test]
    fn calling_codes_and_regions_are_normalised_or_refused() {
        assert_eq!(parse_calling_code(Some(" 351")), Ok(Some("+351".into())));
        assert_eq!(
            parse_calling_code(Some("+1-684")),
            Ok(Some("+1-684".into()))
        );
        assert!(parse_calling_code(Some("+abc")).is_err());
        assert!(parse_calling_code(Some("+")).is_err());
        assert_eq!(parse_region(Some("europe")), Ok(Some("europe".into())));
        assert!(parse_region(Some("Atlantis"))
            .unwrap_err()
            .contains("Europe"));
    }
}

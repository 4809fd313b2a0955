//! Countries: what the API accepts and returns.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::details::{flag_emoji, ByLanguage, Demonym, Details, Language, LatLng, LocalName};
use super::{Alpha2, Alpha3, CurrencyCode, FieldError, Name, NumericCode, Violations, ZoneName};

/// A country (ISO 3166-1) with its currencies, IANA time zones and descriptive
/// data. Lists are empty and the other details null where nothing is known.
#[derive(Debug, Clone, Default, Serialize, ToSchema, PartialEq)]
pub struct Country {
    /// ISO 3166-1 alpha-2 code.
    #[schema(example = "PT")]
    pub alpha2: String,
    /// ISO 3166-1 alpha-3 code.
    #[schema(example = "PRT")]
    pub alpha3: String,
    /// ISO 3166-1 numeric code, three digits.
    #[schema(example = "620")]
    pub numeric: String,
    /// Short name.
    #[schema(example = "Portugal")]
    pub name: String,
    /// Official name, where one exists.
    #[schema(example = "Portuguese Republic")]
    pub official_name: Option<String>,
    /// ISO 4217 codes of the currencies in use.
    #[schema(example = json!(["EUR"]))]
    pub currencies: Vec<String>,
    /// IANA time zones.
    #[schema(example = json!(["Atlantic/Azores", "Atlantic/Madeira", "Europe/Lisbon"]))]
    pub timezones: Vec<String>,
    /// Capital cities.
    #[schema(example = json!(["Lisbon"]))]
    pub capitals: Vec<String>,
    /// Region: Africa, Americas, Antarctic, Asia, Europe or Oceania.
    #[schema(example = "Europe")]
    pub region: Option<String>,
    /// Subregion.
    #[schema(example = "Southern Europe")]
    pub subregion: Option<String>,
    /// Languages, by ISO 639 code.
    #[schema(example = json!([{"code": "por", "name": "Portuguese"}]))]
    pub languages: Vec<Language>,
    /// International calling codes.
    #[schema(example = json!(["+351"]))]
    pub calling_codes: Vec<String>,
    /// Country-code top-level domains.
    #[schema(example = json!([".pt"]))]
    pub tlds: Vec<String>,
    /// Approximate centre.
    pub latlng: Option<LatLng>,
    /// Area in square kilometres.
    #[schema(example = 92090.0)]
    pub area_km2: Option<f64>,
    /// Whether the country has no coastline.
    #[schema(example = false)]
    pub landlocked: Option<bool>,
    /// Alpha-3 codes of the countries it borders on land.
    #[schema(example = json!(["ESP"]))]
    pub borders: Vec<String>,
    /// Whether it is a sovereign state (null: disputed or unknown).
    #[schema(example = true)]
    pub independent: Option<bool>,
    /// Whether it is a member of the United Nations.
    #[schema(example = true)]
    pub un_member: Option<bool>,
    /// Demonyms by language code.
    #[schema(example = json!({"eng": {"f": "Portuguese", "m": "Portuguese"}}), value_type = BTreeMap<String, Demonym>)]
    pub demonyms: ByLanguage<Demonym>,
    /// Names in the country's own languages, by language code.
    #[schema(example = json!({"por": {"common": "Portugal", "official": "República Portuguesa"}}), value_type = BTreeMap<String, LocalName>)]
    pub native_names: ByLanguage<LocalName>,
    /// Other spellings and names.
    #[schema(example = json!(["PT", "Portuguesa"]))]
    pub alt_spellings: Vec<String>,
    /// Names in other languages, by language code.
    #[schema(example = json!({"deu": {"common": "Portugal", "official": "Portugiesische Republik"}}), value_type = BTreeMap<String, LocalName>)]
    pub translations: ByLanguage<LocalName>,
    /// The flag as an emoji, derived from `alpha2` (not stored).
    #[schema(example = "🇵🇹")]
    pub flag_emoji: String,
}

impl Country {
    /// Every name the country goes by, for search: short, official, native,
    /// alternative spellings and translations.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        let local = self
            .native_names
            .values()
            .chain(self.translations.values())
            .flat_map(|n| [n.common.as_str(), n.official.as_str()]);
        std::iter::once(self.name.as_str())
            .chain(self.official_name.as_deref())
            .chain(self.alt_spellings.iter().map(String::as_str))
            .chain(local)
    }
}

/// The body of `POST /countries` and `PUT /countries/{code}`.
///
/// Required fields default to empty when absent, so a missing field is reported
/// with the others (422), not as an undecodable body (400).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CountryInput {
    /// Two letters.
    #[serde(default)]
    #[schema(required = true, example = "PT", pattern = "^[A-Za-z]{2}$")]
    pub alpha2: String,
    /// Three letters.
    #[serde(default)]
    #[schema(required = true, example = "PRT", pattern = "^[A-Za-z]{3}$")]
    pub alpha3: String,
    /// Three digits.
    #[serde(default)]
    #[schema(required = true, example = "620", pattern = "^[0-9]{3}$")]
    pub numeric: String,
    /// 1 to 200 characters; no control or invisible characters (Unicode format,
    /// separator and private-use characters).
    #[serde(default)]
    #[schema(
        required = true,
        example = "Portugal",
        min_length = 1,
        max_length = 200
    )]
    pub name: String,
    /// 1 to 300 characters, or null; the same characters as `name`.
    #[serde(default)]
    #[schema(min_length = 1, max_length = 300)]
    pub official_name: Option<String>,
    /// Existing ISO 4217 codes, at most 20.
    #[serde(default)]
    #[schema(example = json!(["EUR"]), max_items = 20)]
    pub currencies: Vec<String>,
    /// IANA zone names, at most 50.
    #[serde(default)]
    #[schema(example = json!(["Europe/Lisbon"]), max_items = 50)]
    pub timezones: Vec<String>,
    /// Capital cities, at most 10, each 1 to 100 characters.
    #[serde(default)]
    #[schema(example = json!(["Lisbon"]), max_items = 10)]
    pub capitals: Vec<String>,
    /// Africa, Americas, Antarctic, Asia, Europe or Oceania (any case), or null.
    #[serde(default)]
    #[schema(example = "Europe")]
    pub region: Option<String>,
    /// 1 to 100 characters, or null.
    #[serde(default)]
    #[schema(example = "Southern Europe", min_length = 1, max_length = 100)]
    pub subregion: Option<String>,
    /// At most 30, each code listed once.
    #[serde(default)]
    #[schema(example = json!([{"code": "por", "name": "Portuguese"}]), max_items = 30)]
    pub languages: Vec<Language>,
    /// At most 20, like `+351` or `+1-876`: a plus, 1 to 4 digits, then optionally
    /// an optional dash and 1 to 4 more digits.
    #[serde(default)]
    #[schema(example = json!(["+351"]), max_items = 20)]
    pub calling_codes: Vec<String>,
    /// At most 10, like `.pt`: a dot and 2 to 63 letters or digits (internationalised
    /// domains included).
    #[serde(default)]
    #[schema(example = json!([".pt"]), max_items = 10)]
    pub tlds: Vec<String>,
    /// Latitude -90 to 90 and longitude -180 to 180, or null.
    #[serde(default)]
    pub latlng: Option<LatLng>,
    /// 0 to 20,000,000, or null.
    #[serde(default)]
    #[schema(example = 92090.0, minimum = 0, maximum = 20000000)]
    pub area_km2: Option<f64>,
    /// Whether it has no coastline, or null.
    #[serde(default)]
    pub landlocked: Option<bool>,
    /// Alpha-3 codes of existing countries, at most 30, not the country's own.
    #[serde(default)]
    #[schema(example = json!(["ESP"]), max_items = 30)]
    pub borders: Vec<String>,
    /// Whether it is a sovereign state, or null.
    #[serde(default)]
    pub independent: Option<bool>,
    /// Whether it is a UN member, or null.
    #[serde(default)]
    pub un_member: Option<bool>,
    /// By ISO 639 three-letter code, at most 30; each name 1 to 100 characters.
    #[serde(default)]
    #[schema(example = json!({"eng": {"f": "Portuguese", "m": "Portuguese"}}), value_type = BTreeMap<String, Demonym>)]
    pub demonyms: ByLanguage<Demonym>,
    /// By ISO 639 three-letter code, at most 30; `common` 1 to 200 characters,
    /// `official` 1 to 300.
    #[serde(default)]
    #[schema(example = json!({"por": {"common": "Portugal", "official": "República Portuguesa"}}), value_type = BTreeMap<String, LocalName>)]
    pub native_names: ByLanguage<LocalName>,
    /// At most 30, each 1 to 200 characters.
    #[serde(default)]
    #[schema(example = json!(["Portuguesa"]), max_items = 30)]
    pub alt_spellings: Vec<String>,
    /// By ISO 639 three-letter code, at most 60; as `native_names`.
    #[serde(default)]
    #[schema(example = json!({"deu": {"common": "Portugal", "official": "Portugiesische Republik"}}), value_type = BTreeMap<String, LocalName>)]
    pub translations: ByLanguage<LocalName>,
    /// Read-only: derived from `alpha2`. Accepted and ignored, so a body from
    /// `GET` can be sent back.
    #[serde(default)]
    #[schema(example = "🇵🇹")]
    pub flag_emoji: Option<String>,
}

/// Most currencies a country may list.
const MAX_CURRENCIES: usize = 20;
/// Most zones a country may list.
const MAX_ZONES: usize = 50;

impl CountryInput {
    /// Validate every field; all problems are reported together, as pointers into
    /// the body.
    ///
    /// # Errors
    /// One [`FieldError`] per invalid field.
    pub fn validate(mut self) -> Result<Country, Vec<FieldError>> {
        let mut v = Violations::default();
        let alpha2 = v.pointer("/alpha2", Alpha2::parse(&self.alpha2));
        let alpha3 = v.pointer("/alpha3", Alpha3::parse(&self.alpha3));
        let numeric = v.pointer("/numeric", NumericCode::parse(&self.numeric));
        let name = v.pointer("/name", Name::parse(&self.name, 200));
        let official_name = match &self.official_name {
            None => Some(None),
            Some(o) => v.pointer("/official_name", Name::parse(o, 300).map(Some)),
        };
        if self.currencies.len() > MAX_CURRENCIES {
            v.push(FieldError::pointer("/currencies", "at most 20 currencies"));
        }
        let currencies: BTreeSet<String> = (self.currencies.iter().enumerate())
            .filter_map(|(i, c)| v.pointer(&format!("/currencies/{i}"), CurrencyCode::parse(c)))
            .map(CurrencyCode::into_string)
            .collect();
        if self.timezones.len() > MAX_ZONES {
            v.push(FieldError::pointer("/timezones", "at most 50 time zones"));
        }
        let timezones: BTreeSet<String> = (self.timezones.iter().enumerate())
            .filter_map(|(i, z)| v.pointer(&format!("/timezones/{i}"), ZoneName::parse(z)))
            .map(|z| z.as_str().to_string())
            .collect();
        let own_alpha3 = self.alpha3.to_ascii_uppercase();
        let d = self.details().check(&mut v, &own_alpha3);
        v.done(|| {
            let alpha2 = alpha2?.into_string();
            Some(Country {
                flag_emoji: flag_emoji(&alpha2),
                alpha2,
                alpha3: alpha3?.into_string(),
                numeric: numeric?.into_string(),
                name: name?.into_string(),
                official_name: official_name?.map(Name::into_string),
                currencies: currencies.into_iter().collect(),
                timezones: timezones.into_iter().collect(),
                capitals: d.capitals,
                region: d.region,
                subregion: d.subregion,
                languages: d.languages,
                calling_codes: d.calling_codes,
                tlds: d.tlds,
                latlng: d.latlng,
                area_km2: d.area_km2,
                landlocked: d.landlocked,
                borders: d.borders,
                independent: d.independent,
                un_member: d.un_member,
                demonyms: d.demonyms,
                native_names: d.native_names,
                alt_spellings: d.alt_spellings,
                translations: d.translations,
            })
        })
    }

    /// The detail fields, moved out for [`Details::check`].
    fn details(&mut self) -> Details {
        Details {
            capitals: std::mem::take(&mut self.capitals),
            region: self.region.take(),
            subregion: self.subregion.take(),
            languages: std::mem::take(&mut self.languages),
            calling_codes: std::mem::take(&mut self.calling_codes),
            tlds: std::mem::take(&mut self.tlds),
            latlng: self.latlng.take(),
            area_km2: self.area_km2.take(),
            landlocked: self.landlocked.take(),
            borders: std::mem::take(&mut self.borders),
            independent: self.independent.take(),
            un_member: self.un_member.take(),
            demonyms: std::mem::take(&mut self.demonyms),
            native_names: std::mem::take(&mut self.native_names),
            alt_spellings: std::mem::take(&mut self.alt_spellings),
            translations: std::mem::take(&mut self.translations),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Location;

    fn input() -> CountryInput {
        CountryInput {
            alpha2: "xa".into(),
            alpha3: "xaa".into(),
            numeric: "999".into(),
            name: " Atlantis ".into(),
            official_name: None,
            currencies: vec!["eur".into(), "EUR".into()],
            timezones: vec!["europe/lisbon".into()],
            ..CountryInput::default()
        }
    }

    #[test]
    fn valid_input_is_normalised() {
        let c = input().validate().unwrap();
        assert_eq!(
            (c.alpha2.as_str(), c.alpha3.as_str(), c.name.as_str()),
            ("XA", "XAA", "Atlantis")
        );
        assert_eq!(c.currencies, vec!["EUR"], "upper-cased and de-duplicated");
        assert_eq!(c.timezones, vec!["Europe/Lisbon"], "canonical zone names");
    }

    #[test]
    fn every_invalid_field_is_reported_with_its_pointer() {
        type Mutation = Box<dyn Fn(&mut CountryInput)>;
        let cases: Vec<(&str, Mutation)> = vec![
            ("/alpha2", Box::new(|i| i.alpha2 = "X".into())),
            ("/alpha2", Box::new(|i| i.alpha2 = String::new())),
            ("/alpha3", Box::new(|i| i.alpha3 = "X1Y".into())),
            ("/numeric", Box::new(|i| i.numeric = "12".into())),
            ("/name", Box::new(|i| i.name = "x".repeat(201))),
            ("/name", Box::new(|i| i.name = "   ".into())),
            (
                "/official_name",
                Box::new(|i| i.official_name = Some("".into())),
            ),
            (
                "/currencies/0",
                Box::new(|i| i.currencies = vec!["EURO".into()]),
            ),
            (
                "/currencies",
                Box::new(|i| i.currencies = vec!["EUR".into(); 21]),
            ),
            (
                "/timezones/0",
                Box::new(|i| i.timezones = vec!["Mars/Olympus".into()]),
            ),
        ];
        for (pointer, mutate) in cases {
            let mut i = input();
            mutate(&mut i);
            let errors = i.validate().unwrap_err();
            assert!(
                errors
                    .iter()
                    .any(|e| e.at == Location::Pointer(pointer.into())),
                "case {pointer}: {errors:?}"
            );
        }
    }

    type Mutation = Box<dyn Fn(&mut CountryInput)>;

    fn names(n: usize, len: usize) -> Vec<String> {
        (0..n).map(|i| format!("{i:0len$}")).collect()
    }

    fn local(common: usize, official: usize) -> LocalName {
        LocalName {
            common: "c".repeat(common),
            official: "o".repeat(official),
        }
    }

    fn langs(n: usize) -> ByLanguage<LocalName> {
        (0..n)
            .map(|i| {
                (
                    format!(
                        "a{}{}",
                        (b'a' + (i / 26) as u8) as char,
                        (b'a' + (i % 26) as u8) as char
                    ),
                    local(1, 1),
                )
            })
            .collect()
    }

    /// Detail mutations: each breaks one rule (its pointer) or sits exactly at a
    /// bound (`None`: must pass).
    fn detail_cases() -> Vec<(&'static str, Option<&'static str>, Mutation)> {
        vec![
            (
                "11 capitals",
                Some("/capitals"),
                Box::new(|i| i.capitals = names(11, 3)),
            ),
            ("10 capitals", None, Box::new(|i| i.capitals = names(10, 3))),
            (
                "capital of 101",
                Some("/capitals/0"),
                Box::new(|i| i.capitals = names(1, 101)),
            ),
            (
                "capital of 100",
                None,
                Box::new(|i| i.capitals = names(1, 100)),
            ),
            (
                "blank capital",
                Some("/capitals/0"),
                Box::new(|i| i.capitals = vec![" ".into()]),
            ),
            (
                "region",
                Some("/region"),
                Box::new(|i| i.region = Some("Mars".into())),
            ),
            (
                "subregion of 101",
                Some("/subregion"),
                Box::new(|i| i.subregion = Some("s".repeat(101))),
            ),
            (
                "subregion of 100",
                None,
                Box::new(|i| i.subregion = Some("s".repeat(100))),
            ),
            (
                "language code",
                Some("/languages/0/code"),
                Box::new(|i| {
                    i.languages = vec![Language {
                        code: "pt".into(),
                        name: "Portuguese".into(),
                    }]
                }),
            ),
            (
                "language name",
                Some("/languages/0/name"),
                Box::new(|i| {
                    i.languages = vec![Language {
                        code: "por".into(),
                        name: String::new(),
                    }]
                }),
            ),
            (
                "language twice",
                Some("/languages/1/code"),
                Box::new(|i| {
                    i.languages = vec![
                        Language {
                            code: "por".into(),
                            name: "P".into(),
                        },
                        Language {
                            code: "POR".into(),
                            name: "P".into(),
                        },
                    ]
                }),
            ),
            (
                "31 languages",
                Some("/languages"),
                Box::new(|i| {
                    i.languages = langs(31)
                        .into_keys()
                        .map(|code| Language {
                            code,
                            name: "x".into(),
                        })
                        .collect()
                }),
            ),
            (
                "30 languages",
                None,
                Box::new(|i| {
                    i.languages = langs(30)
                        .into_keys()
                        .map(|code| Language {
                            code,
                            name: "x".into(),
                        })
                        .collect()
                }),
            ),
            (
                "calling code",
                Some("/calling_codes/1"),
                Box::new(|i| i.calling_codes = vec!["+351".into(), "351".into()]),
            ),
            (
                "21 calling codes",
                Some("/calling_codes"),
                Box::new(|i| i.calling_codes = (0..21).map(|n| format!("+{n}")).collect()),
            ),
            (
                "20 calling codes",
                None,
                Box::new(|i| i.calling_codes = (0..20).map(|n| format!("+{n}")).collect()),
            ),
            (
                "tld",
                Some("/tlds/0"),
                Box::new(|i| i.tlds = vec!["pt".into()]),
            ),
            (
                "11 tlds",
                Some("/tlds"),
                Box::new(|i| i.tlds = (0..11).map(|n| format!(".a{n}")).collect()),
            ),
            (
                "10 tlds",
                None,
                Box::new(|i| i.tlds = (0..10).map(|n| format!(".a{n}")).collect()),
            ),
            (
                "latitude",
                Some("/latlng/lat"),
                Box::new(|i| {
                    i.latlng = Some(LatLng {
                        lat: 90.01,
                        lng: 0.0,
                    })
                }),
            ),
            (
                "longitude",
                Some("/latlng/lng"),
                Box::new(|i| {
                    i.latlng = Some(LatLng {
                        lat: 0.0,
                        lng: -180.01,
                    })
                }),
            ),
            (
                "corner",
                None,
                Box::new(|i| {
                    i.latlng = Some(LatLng {
                        lat: -90.0,
                        lng: 180.0,
                    })
                }),
            ),
            (
                "negative area",
                Some("/area_km2"),
                Box::new(|i| i.area_km2 = Some(-1.0)),
            ),
            (
                "huge area",
                Some("/area_km2"),
                Box::new(|i| i.area_km2 = Some(20_000_001.0)),
            ),
            ("zero area", None, Box::new(|i| i.area_km2 = Some(0.0))),
            (
                "border",
                Some("/borders/0"),
                Box::new(|i| i.borders = vec!["ES".into()]),
            ),
            (
                "own border",
                Some("/borders/0"),
                Box::new(|i| i.borders = vec!["xaa".into()]),
            ),
            (
                "31 borders",
                Some("/borders"),
                Box::new(|i| i.borders = langs(31).into_keys().collect()),
            ),
            (
                "30 borders",
                None,
                Box::new(|i| i.borders = langs(30).into_keys().collect()),
            ),
            (
                "demonym",
                Some("/demonyms/eng/m"),
                Box::new(|i| {
                    i.demonyms = [(
                        "eng".to_string(),
                        Demonym {
                            f: "F".into(),
                            m: "m".repeat(101),
                        },
                    )]
                    .into()
                }),
            ),
            (
                "demonym key",
                Some("/demonyms/en~1g"),
                Box::new(|i| {
                    i.demonyms = [(
                        "en/g".to_string(),
                        Demonym {
                            f: "F".into(),
                            m: "M".into(),
                        },
                    )]
                    .into()
                }),
            ),
            (
                "31 native names",
                Some("/native_names"),
                Box::new(|i| i.native_names = langs(31)),
            ),
            (
                "30 native names",
                None,
                Box::new(|i| i.native_names = langs(30)),
            ),
            (
                "native common of 201",
                Some("/native_names/por/common"),
                Box::new(|i| i.native_names = [("por".to_string(), local(201, 1))].into()),
            ),
            (
                "native names at 200/300",
                None,
                Box::new(|i| i.native_names = [("por".to_string(), local(200, 300))].into()),
            ),
            (
                "translation official of 301",
                Some("/translations/deu/official"),
                Box::new(|i| i.translations = [("deu".to_string(), local(1, 301))].into()),
            ),
            (
                "translation key",
                Some("/translations/de"),
                Box::new(|i| i.translations = [("de".to_string(), local(1, 1))].into()),
            ),
            (
                "translation key twice",
                Some("/translations/deu"),
                Box::new(|i| {
                    i.translations = [
                        ("DEU".to_string(), local(1, 1)),
                        ("deu".to_string(), local(1, 1)),
                    ]
                    .into()
                }),
            ),
            (
                "61 translations",
                Some("/translations"),
                Box::new(|i| i.translations = langs(61)),
            ),
            (
                "60 translations",
                None,
                Box::new(|i| i.translations = langs(60)),
            ),
            (
                "31 alt spellings",
                Some("/alt_spellings"),
                Box::new(|i| i.alt_spellings = names(31, 2)),
            ),
            (
                "30 alt spellings",
                None,
                Box::new(|i| i.alt_spellings = names(30, 2)),
            ),
            (
                "alt spelling of 201",
                Some("/alt_spellings/0"),
                Box::new(|i| i.alt_spellings = names(1, 201)),
            ),
            (
                "a zero-width space in a translation",
                Some("/translations/per/common"),
                Box::new(|i| {
                    let n = LocalName {
                        common: "a\u{200B}b".into(),
                        official: "x".into(),
                    };
                    i.translations = [("per".to_string(), n)].into();
                }),
            ),
            (
                "a zero-width non-joiner in a translation",
                None,
                Box::new(|i| {
                    let n = LocalName {
                        common: "\u{645}\u{200C}\u{6CC}".into(),
                        official: "x".into(),
                    };
                    i.translations = [("per".to_string(), n)].into();
                }),
            ),
            (
                "alt spelling of 200",
                None,
                Box::new(|i| i.alt_spellings = names(1, 200)),
            ),
        ]
    }

    #[test]
    fn every_detail_rule_names_its_pointer_and_every_bound_holds() {
        for (case, pointer, mutate) in detail_cases() {
            let mut i = input();
            mutate(&mut i);
            match (i.validate(), pointer) {
                (Ok(_), None) => {}
                (Err(errors), Some(p)) => assert!(
                    errors.iter().any(|e| e.at == Location::Pointer(p.into())),
                    "case {case}: want {p}, got {errors:?}"
                ),
                (got, _) => panic!("case {case}: got {got:?}, want an error at {pointer:?}"),
            }
        }
    }

    #[test]
    fn details_are_normalised() {
        let mut i = input();
        i.region = Some("europe".into());
        i.calling_codes = vec!["+351".into(), "+1".into(), "+351".into()];
        i.tlds = vec![".PT".into(), ".pt".into(), ".中国".into()];
        i.borders = vec!["esp".into(), "AND".into()];
        i.languages = vec![
            Language {
                code: "SPA".into(),
                name: "Spanish".into(),
            },
            Language {
                code: "por".into(),
                name: " Portuguese ".into(),
            },
        ];
        i.flag_emoji = Some("ignored".into());
        let c = i.validate().unwrap();
        assert_eq!(c.region.as_deref(), Some("Europe"), "canonical region");
        assert_eq!(c.calling_codes, ["+1", "+351"], "sorted, once each");
        assert_eq!(c.tlds, [".pt", ".中国"], "lower-cased, first kept");
        assert_eq!(c.borders, ["AND", "ESP"], "upper-cased and sorted");
        let codes: Vec<_> = c.languages.iter().map(|l| l.code.as_str()).collect();
        assert_eq!(codes, ["por", "spa"], "sorted by code");
        assert_eq!(c.languages[0].name, "Portuguese", "trimmed");
        assert_eq!(
            c.flag_emoji, "\u{1F1FD}\u{1F1E6}",
            "derived from XA, not taken"
        );
    }

    /// The seed data obeys the rules a write must meet, unchanged by them: what
    /// `GET` shows can be written back.
    #[test]
    fn every_seeded_country_passes_validation_unchanged() {
        let text = include_str!("../../data/countries.json");
        let seeded: Vec<serde_json::Value> = serde_json::from_str(text).unwrap();
        assert!(seeded.len() >= 249);
        let mut refused = Vec::new();
        for raw in seeded {
            let code = raw["alpha2"].as_str().unwrap().to_string();
            let input: CountryInput = serde_json::from_value(raw.clone()).unwrap();
            let c = match input.validate() {
                Ok(c) => c,
                Err(e) => {
                    refused.push(format!("{code}: {e:?}"));
                    continue;
                }
            };
            let mut back = serde_json::to_value(&c).unwrap();
            back.as_object_mut().unwrap().remove("flag_emoji");
            let want = raw.as_object().unwrap().clone();
            for (k, v) in want {
                assert_eq!(back[&k], v, "{code}: {k}");
            }
        }
        assert!(refused.is_empty(), "{}", refused.join("\n"));
    }

    #[test]
    fn a_missing_field_is_an_invalid_value_not_a_malformed_body() {
        let body: CountryInput = serde_json::from_str(r#"{"alpha2": "XA"}"#).unwrap();
        let errors = body.validate().unwrap_err();
        let pointers: Vec<_> = errors.iter().map(|e| e.at.clone()).collect();
        assert_eq!(
            pointers,
            ["/alpha3", "/numeric", "/name"].map(|p| Location::Pointer(p.into()))
        );
    }
}

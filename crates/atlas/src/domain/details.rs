//! The descriptive parts of a country (from world-countries, see
//! `data/README.md`): the value types the API shows, the rules a write must meet
//! ([`Details::check`]), and the flag emoji.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use unicode_normalization::char::is_combining_mark;
use utoipa::ToSchema;

use super::{Alpha3, FieldError, Name, Violations};

/// The regions a country may belong to (world-countries' set).
pub const REGIONS: [&str; 6] = [
    "Africa",
    "Americas",
    "Antarctic",
    "Asia",
    "Europe",
    "Oceania",
];

/// A language spoken in a country.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Language {
    /// ISO 639 three-letter code, lowercase (ISO 639-3 where it has one).
    #[serde(default)]
    #[schema(example = "por", pattern = "^[A-Za-z]{3}$")]
    pub code: String,
    /// English name, 1 to 100 characters.
    #[serde(default)]
    #[schema(example = "Portuguese", min_length = 1, max_length = 100)]
    pub name: String,
}

/// A point: the country's approximate centre.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LatLng {
    /// Latitude in degrees, -90 to 90.
    #[schema(example = 39.5, minimum = -90, maximum = 90)]
    pub lat: f64,
    /// Longitude in degrees, -180 to 180.
    #[schema(example = -8.0, minimum = -180, maximum = 180)]
    pub lng: f64,
}

/// What the inhabitants are called, by grammatical gender.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Demonym {
    /// Feminine, 1 to 100 characters.
    #[serde(default)]
    #[schema(example = "Portuguese", min_length = 1, max_length = 100)]
    pub f: String,
    /// Masculine, 1 to 100 characters.
    #[serde(default)]
    #[schema(example = "Portuguese", min_length = 1, max_length = 100)]
    pub m: String,
}

/// A country's name in one language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LocalName {
    /// Short name, 1 to 200 characters.
    #[serde(default)]
    #[schema(example = "Portugal", min_length = 1, max_length = 200)]
    pub common: String,
    /// Official name, 1 to 300 characters.
    #[serde(default)]
    #[schema(example = "República Portuguesa", min_length = 1, max_length = 300)]
    pub official: String,
}

/// Names or demonyms by ISO 639 three-letter language code, in code order.
pub type ByLanguage<T> = BTreeMap<String, T>;

/// The flag emoji of an alpha-2 code: its two letters as Unicode regional
/// indicator symbols (`PT` → 🇵🇹). Empty for anything but two ASCII letters.
pub fn flag_emoji(alpha2: &str) -> String {
    const A: u32 = 0x1F1E6;
    if alpha2.len() != 2 || !alpha2.bytes().all(|b| b.is_ascii_alphabetic()) {
        return String::new();
    }
    alpha2
        .bytes()
        .filter_map(|b| char::from_u32(A + u32::from(b.to_ascii_uppercase() - b'A')))
        .collect()
}

/// Most capitals a country may list.
pub const MAX_CAPITALS: usize = 10;
/// Most languages, demonyms or native names.
pub const MAX_LANGUAGES: usize = 30;
/// Most calling codes.
pub const MAX_CALLING_CODES: usize = 20;
/// Most top-level domains.
pub const MAX_TLDS: usize = 10;
/// Most bordering countries.
pub const MAX_BORDERS: usize = 30;
/// Most alternative spellings.
pub const MAX_ALT_SPELLINGS: usize = 30;
/// Most translations.
pub const MAX_TRANSLATIONS: usize = 60;
/// Largest area accepted, km² (Russia is about 17.1 million).
pub const MAX_AREA_KM2: f64 = 20_000_000.0;
/// Longest top-level domain label (DNS: 63 octets; counted here in characters).
const MAX_TLD_CHARS: usize = 63;

/// A country's details as given in a write, before checking.
#[derive(Debug, Clone, Default)]
pub struct Details {
    /// Capital cities.
    pub capitals: Vec<String>,
    /// Region.
    pub region: Option<String>,
    /// Subregion.
    pub subregion: Option<String>,
    /// Languages.
    pub languages: Vec<Language>,
    /// Calling codes.
    pub calling_codes: Vec<String>,
    /// Top-level domains.
    pub tlds: Vec<String>,
    /// Centre.
    pub latlng: Option<LatLng>,
    /// Area, km².
    pub area_km2: Option<f64>,
    /// No coastline.
    pub landlocked: Option<bool>,
    /// Alpha-3 codes of neighbours.
    pub borders: Vec<String>,
    /// Sovereign.
    pub independent: Option<bool>,
    /// UN member.
    pub un_member: Option<bool>,
    /// Demonyms by language.
    pub demonyms: ByLanguage<Demonym>,
    /// Native names by language.
    pub native_names: ByLanguage<LocalName>,
    /// Other spellings.
    pub alt_spellings: Vec<String>,
    /// Translations by language.
    pub translations: ByLanguage<LocalName>,
}

impl Details {
    /// Check every field, recording each problem in `v` at its body pointer, and
    /// return the details normalised: codes in canonical case, calling codes and
    /// borders sorted and de-duplicated, languages sorted by code. What failed is
    /// left out (and `v` is then not empty). `alpha3` is the country's own code, which
    /// cannot be among its borders.
    pub fn check(self, v: &mut Violations, alpha3: &str) -> Self {
        Self {
            capitals: list(v, "/capitals", &self.capitals, MAX_CAPITALS, |s| {
                Name::parse(s, 100).map(Name::into_string)
            }),
            region: (self.region).and_then(|r| v.pointer("/region", region(&r))),
            subregion: (self.subregion)
                .and_then(|s| v.pointer("/subregion", Name::parse(&s, 100).map(Name::into_string))),
            languages: languages(v, self.languages),
            calling_codes: sorted(list(
                v,
                "/calling_codes",
                &self.calling_codes,
                MAX_CALLING_CODES,
                calling_code,
            )),
            tlds: first_of_each(list(v, "/tlds", &self.tlds, MAX_TLDS, tld)),
            latlng: self.latlng.filter(|p| check_latlng(v, *p)),
            area_km2: (self.area_km2).and_then(|a| v.pointer("/area_km2", area(a))),
            landlocked: self.landlocked,
            borders: sorted(list(v, "/borders", &self.borders, MAX_BORDERS, |b| {
                border(b, alpha3)
            })),
            independent: self.independent,
            un_member: self.un_member,
            demonyms: by_language(v, "/demonyms", self.demonyms, MAX_LANGUAGES, demonym),
            native_names: by_language(
                v,
                "/native_names",
                self.native_names,
                MAX_LANGUAGES,
                local_name,
            ),
            alt_spellings: list(
                v,
                "/alt_spellings",
                &self.alt_spellings,
                MAX_ALT_SPELLINGS,
                |s| Name::parse(s, 200).map(Name::into_string),
            ),
            translations: by_language(
                v,
                "/translations",
                self.translations,
                MAX_TRANSLATIONS,
                local_name,
            ),
        }
    }
}

/// Each item of `items` through `parse`, errors at `{at}/{index}`; more than `max`
/// items is an error at `at`.
fn list<T>(
    v: &mut Violations,
    at: &str,
    items: &[String],
    max: usize,
    parse: impl Fn(&str) -> Result<T, String>,
) -> Vec<T> {
    if items.len() > max {
        v.push(FieldError::pointer(at, format!("at most {max} items")));
    }
    (items.iter().enumerate())
        .filter_map(|(i, s)| v.pointer(&format!("{at}/{i}"), parse(s)))
        .collect()
}

/// Sorted, each once.
fn sorted(items: Vec<String>) -> Vec<String> {
    let set: BTreeSet<String> = items.into_iter().collect();
    set.into_iter().collect()
}

/// In the given order, each once (its first place).
fn first_of_each(mut items: Vec<String>) -> Vec<String> {
    let mut seen = BTreeSet::new();
    items.retain(|t| seen.insert(t.clone()));
    items
}

/// An alpha-3 code, upper-cased, that is not `own`.
fn border(value: &str, own: &str) -> Result<String, String> {
    let code = Alpha3::parse(value)?.into_string();
    if code == own {
        return Err("a country does not border itself".into());
    }
    Ok(code)
}

/// One of [`REGIONS`], in any case; the canonical spelling.
///
/// # Errors
/// Any other value.
pub fn region(value: &str) -> Result<String, String> {
    REGIONS
        .iter()
        .find(|r| r.eq_ignore_ascii_case(value.trim()))
        .map(|r| (*r).to_string())
        .ok_or_else(|| format!("expected one of {}", REGIONS.join(", ")))
}

/// `+`, 1 to 4 digits, then optionally another 1 to 4 digits, with or without a
/// dash: `+351`, `+1-876`, `+3906698`.
///
/// # Errors
/// Anything else.
pub fn calling_code(value: &str) -> Result<String, String> {
    let bad = || format!("{value:?} is not a calling code (like +351 or +1-876)");
    let digits = value.strip_prefix('+').ok_or_else(bad)?;
    // ASCII only from here, so the byte split below is on a character boundary.
    if !digits.bytes().all(|b| b.is_ascii_digit() || b == b'-') {
        return Err(bad());
    }
    let (head, tail) = match digits.split_once('-') {
        Some((h, t)) => (h, Some(t)),
        None => {
            let (h, t) = digits.split_at(digits.len().min(4));
            (h, Some(t).filter(|t| !t.is_empty()))
        }
    };
    let run = |s: &str| (1..=4).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit());
    if run(head) && tail.is_none_or(run) {
        Ok(value.to_string())
    } else {
        Err(bad())
    }
}

/// A dot, then 2 to 63 letters, digits or combining marks (internationalised
/// domains such as `.中国` or `.இலங்கை` included); ASCII letters are lower-cased,
/// other uppercase letters are refused.
///
/// # Errors
/// Anything else.
pub fn tld(value: &str) -> Result<String, String> {
    let bad = || format!("{value:?} is not a top-level domain (like .pt)");
    let label = value.strip_prefix('.').ok_or_else(bad)?;
    let n = label.chars().count();
    let ok = (2..=MAX_TLD_CHARS).contains(&n)
        && label.chars().all(|c| {
            c.is_ascii_alphanumeric()
                || (!c.is_ascii()
                    && !c.is_uppercase()
                    && (c.is_alphanumeric() || is_combining_mark(c)))
        });
    if ok {
        Ok(format!(".{}", label.to_ascii_lowercase()))
    } else {
        Err(bad())
    }
}

/// An ISO 639 three-letter code, any case; lower-cased.
///
/// # Errors
/// Anything but three ASCII letters.
pub fn language_code(value: &str) -> Result<String, String> {
    if value.len() == 3 && value.bytes().all(|b| b.is_ascii_alphabetic()) {
        Ok(value.to_ascii_lowercase())
    } else {
        Err(format!("{value:?} is not an ISO 639 three-letter code"))
    }
}

/// 0 to [`MAX_AREA_KM2`].
///
/// # Errors
/// Negative, too large, or not finite.
pub fn area(value: f64) -> Result<f64, String> {
    if value.is_finite() && (0.0..=MAX_AREA_KM2).contains(&value) {
        Ok(value)
    } else {
        Err(format!("expected 0 to {MAX_AREA_KM2} km²"))
    }
}

fn check_latlng(v: &mut Violations, p: LatLng) -> bool {
    let lat = v.pointer("/latlng/lat", super::Latitude::parse(p.lat).map(drop));
    let lng = v.pointer("/latlng/lng", super::Longitude::parse(p.lng).map(drop));
    lat.is_some() && lng.is_some()
}

fn languages(v: &mut Violations, given: Vec<Language>) -> Vec<Language> {
    if given.len() > MAX_LANGUAGES {
        v.push(FieldError::pointer(
            "/languages",
            format!("at most {MAX_LANGUAGES} items"),
        ));
    }
    let mut out: BTreeMap<String, Language> = BTreeMap::new();
    for (i, l) in given.into_iter().enumerate() {
        let code = v.pointer(&format!("/languages/{i}/code"), language_code(&l.code));
        let name = v.pointer(&format!("/languages/{i}/name"), Name::parse(&l.name, 100));
        let (Some(code), Some(name)) = (code, name) else {
            continue;
        };
        if out.contains_key(&code) {
            v.push(FieldError::pointer(
                format!("/languages/{i}/code"),
                format!("{code:?} is listed twice"),
            ));
            continue;
        }
        out.insert(
            code.clone(),
            Language {
                code,
                name: name.into_string(),
            },
        );
    }
    out.into_values().collect()
}

/// A map keyed by language code: keys lower-cased (two keys that then collide are
/// an error), each value through `check` at `{at}/{key}`.
fn by_language<T>(
    v: &mut Violations,
    at: &str,
    given: ByLanguage<T>,
    max: usize,
    check: fn(&mut Violations, &str, T) -> Option<T>,
) -> ByLanguage<T> {
    if given.len() > max {
        v.push(FieldError::pointer(at, format!("at most {max} languages")));
    }
    let mut out = BTreeMap::new();
    for (key, value) in given {
        let here = format!("{at}/{}", escape_pointer(&key));
        let Some(code) = v.pointer(&here, language_code(&key)) else {
            continue;
        };
        if out.contains_key(&code) {
            v.push(FieldError::pointer(
                here,
                format!("{code:?} is given twice"),
            ));
            continue;
        }
        if let Some(value) = check(v, &here, value) {
            out.insert(code, value);
        }
    }
    out
}

fn demonym(v: &mut Violations, at: &str, d: Demonym) -> Option<Demonym> {
    let f = v.pointer(&format!("{at}/f"), Name::parse(&d.f, 100));
    let m = v.pointer(&format!("{at}/m"), Name::parse(&d.m, 100));
    Some(Demonym {
        f: f?.into_string(),
        m: m?.into_string(),
    })
}

fn local_name(v: &mut Violations, at: &str, n: LocalName) -> Option<LocalName> {
    let common = v.pointer(&format!("{at}/common"), script_name(&n.common, 200));
    let official = v.pointer(&format!("{at}/official"), script_name(&n.official, 300));
    Some(LocalName {
        common: common?,
        official: official?,
    })
}

/// A [`Name`] in any script: the zero-width non-joiner and joiner (U+200C,
/// U+200D), format characters that Persian and Indic spelling need, are allowed
/// here; every other rule of [`Name`] holds.
fn script_name(value: &str, max: usize) -> Result<String, String> {
    let joiners = ['\u{200C}', '\u{200D}'];
    // Checked with the joiners as ordinary letters (the same character count).
    Name::parse(&value.replace(joiners, "x"), max)?;
    Ok(value.trim().to_string())
}

/// A map key as one RFC 6901 pointer segment (`~` → `~0`, `/` → `~1`).
fn escape_pointer(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calling_codes_tlds_and_regions_by_case() {
        for (raw, ok) in [
            ("+351", true),
            ("+1", true),
            ("+1-876", true),
            ("+1876", true),
            ("+3906698", true),
            ("+12345678", true),
            ("+123456789", false),
            ("+1-", false),
            ("+-876", false),
            ("351", false),
            ("+", false),
            ("+12345-1", false),
            ("+1-12345", false),
            ("+３５１", false),
            ("+35a", false),
        ] {
            assert_eq!(calling_code(raw).is_ok(), ok, "calling code {raw:?}");
        }
        for (raw, want) in [
            (".pt", Some(".pt")),
            (".PT", Some(".pt")),
            (".中国", Some(".中国")),
            (".இலங்கை", Some(".இலங்கை")),
            (".рф", Some(".рф")),
            (".РФ", None),
            (".p", None),
            ("pt", None),
            (".p t", None),
            (".p-t", None),
            ("..pt", None),
        ] {
            assert_eq!(tld(raw).ok().as_deref(), want, "tld {raw:?}");
        }
        let at_bound = format!(".{}", "a".repeat(MAX_TLD_CHARS));
        assert!(tld(&at_bound).is_ok(), "63 characters");
        assert!(tld(&format!("{at_bound}a")).is_err(), "64 characters");
        assert_eq!(region("europe").as_deref(), Ok("Europe"), "any case");
        assert!(region("Atlantis").is_err(), "unknown region");
        assert_eq!(language_code("POR").as_deref(), Ok("por"), "lower-cased");
        assert!(language_code("pt").is_err() && language_code("pör").is_err());
        assert!(area(0.0).is_ok() && area(MAX_AREA_KM2).is_ok(), "bounds");
        assert!(
            area(-0.5).is_err() && area(MAX_AREA_KM2 + 1.0).is_err(),
            "past them"
        );
    }

    #[test]
    fn flag_emoji_is_two_regional_indicators() {
        assert_eq!(flag_emoji("PT"), "🇵🇹", "PT");
        assert_eq!(flag_emoji("pt"), "🇵🇹", "lowercase");
        assert_eq!(flag_emoji("GB"), "\u{1F1EC}\u{1F1E7}", "GB");
        assert_eq!(flag_emoji("P"), "", "one letter");
        assert_eq!(flag_emoji("P1"), "", "a digit");
    }
}

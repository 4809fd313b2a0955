//! The descriptive parts of a country (from world-countries, see
//! `data/README.md`): the value types the API shows, and the flag emoji.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

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
    #[schema(example = "por", pattern = "^[a-z]{3}$")]
    pub code: String,
    /// English name, 1 to 100 characters.
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
    #[schema(example = "Portuguese", min_length = 1, max_length = 100)]
    pub f: String,
    /// Masculine, 1 to 100 characters.
    #[schema(example = "Portuguese", min_length = 1, max_length = 100)]
    pub m: String,
}

/// A country's name in one language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LocalName {
    /// Short name, 1 to 200 characters.
    #[schema(example = "Portugal", min_length = 1, max_length = 200)]
    pub common: String,
    /// Official name, 1 to 300 characters.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_emoji_is_two_regional_indicators() {
        assert_eq!(flag_emoji("PT"), "🇵🇹", "PT");
        assert_eq!(flag_emoji("pt"), "🇵🇹", "lowercase");
        assert_eq!(flag_emoji("GB"), "\u{1F1EC}\u{1F1E7}", "GB");
        assert_eq!(flag_emoji("P"), "", "one letter");
        assert_eq!(flag_emoji("P1"), "", "a digit");
    }
}

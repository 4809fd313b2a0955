//! Free text from callers: display names in bodies and search terms in queries.

use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;
use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

/// `value` trimmed, 1 to `max` characters, no control characters (Cc).
fn bounded_text(value: &str, max: usize) -> Result<&str, String> {
    let v = value.trim();
    let n = v.chars().count();
    if n == 0 || n > max {
        Err(format!("expected 1 to {max} characters, got {n}"))
    } else if v.chars().any(char::is_control) {
        Err("control characters are not allowed".into())
    } else {
        Ok(v)
    }
}

/// Why `c` may not appear in a stored name: invisible characters that change how
/// the text around them reads or compares. Bidi overrides (U+202E) make `Atlantis`
/// display as `sitnaltA`; zero-width and soft-hyphen characters make two names that
/// look equal differ.
fn invisible(c: char) -> Option<&'static str> {
    match c.general_category() {
        GeneralCategory::Format => Some("format character"),
        GeneralCategory::LineSeparator | GeneralCategory::ParagraphSeparator => {
            Some("line or paragraph separator")
        }
        GeneralCategory::PrivateUse => Some("private-use character"),
        _ => None,
    }
}

/// A display name: trimmed, 1 to `max` characters, no control characters and no
/// invisible ones: Unicode format characters (category Cf: bidi controls, zero-width
/// characters, the BOM, the soft hyphen), line and paragraph separators, private use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Name(String);

impl Name {
    /// Parse a name of at most `max` characters.
    ///
    /// # Errors
    /// Empty after trimming, too long, or containing control, format, separator or
    /// private-use characters (the first one is named).
    pub fn parse(value: &str, max: usize) -> Result<Self, String> {
        let v = bounded_text(value, max)?;
        match v.chars().find_map(|c| invisible(c).map(|what| (c, what))) {
            Some((c, what)) => Err(format!("{what} U+{:04X} is not allowed", u32::from(c))),
            None => Ok(Self(v.to_string())),
        }
    }

    /// The trimmed name.
    pub fn into_string(self) -> String {
        self.0
    }
}

/// What a caller searches for (`?q=`, a place name): trimmed, 1 to 100 characters,
/// no control characters. PostgreSQL text cannot hold NUL: unchecked, `?q=%00` was
/// a 500 there. Unlike [`Name`], format characters pass: stored place names carry
/// them (the zero-width non-joiner in Persian names), and a search must find those.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchTerm(String);

impl SearchTerm {
    /// Longest accepted term, in characters.
    pub const MAX_CHARS: usize = 100;

    /// Parse a required term.
    ///
    /// # Errors
    /// Blank, too long, or containing control characters.
    pub fn parse(value: &str) -> Result<Self, String> {
        bounded_text(value, Self::MAX_CHARS).map(|v| Self(v.to_string()))
    }

    /// Parse an optional filter: absent or blank means no filter.
    ///
    /// # Errors
    /// Too long, or containing control characters.
    pub fn parse_filter(value: Option<&str>) -> Result<Option<Self>, String> {
        match value.map(str::trim) {
            None | Some("") => Ok(None),
            Some(v) => Self::parse(v).map(Some),
        }
    }

    /// The trimmed term.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The term as a case-insensitive SQL `LIKE` substring pattern, with `%`, `_`
    /// and `\` matched literally (the queries say `ESCAPE '\'`).
    pub fn like_pattern(&self) -> String {
        let escaped = self
            .0
            .to_lowercase()
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        format!("%{escaped}%")
    }
}

/// Fold a name for matching: NFKD, drop combining marks, lower-case, collapse spaces.
/// "Covilhã" → "covilha", "  São   Paulo" → "sao paulo". The data generator
/// (scripts/gen_data.py) applies the same fold to the stored `search_name`.
pub fn fold(s: &str) -> String {
    let stripped: String = s.nfkd().filter(|c| !is_combining_mark(*c)).collect();
    stripped
        .to_lowercase()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Every name an entity goes by, folded ([`fold`]) and NUL-separated, so a search
/// term never matches across two names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchText(String);

impl SearchText {
    /// The folded `names`, blanks and duplicates dropped.
    pub fn new<'a>(names: impl IntoIterator<Item = &'a str>) -> Self {
        let mut folded: Vec<String> = names
            .into_iter()
            .map(fold)
            .filter(|n| !n.is_empty())
            .collect();
        folded.sort();
        folded.dedup();
        Self(folded.join("\0"))
    }

    /// Whether the folded `term` is part of one of the names.
    pub fn contains(&self, folded_term: &str) -> bool {
        self.0.contains(folded_term)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        let cases = [
            (" Atlantis ", Some("Atlantis")),
            ("", None),
            ("   ", None),
            ("a\u{0}b", None),
            ("a\nb", None),
        ];
        for (input, want) in cases {
            let got = Name::parse(input, 10).ok().map(Name::into_string);
            assert_eq!(got.as_deref(), want, "case {input:?}");
        }
        assert!(Name::parse(&"x".repeat(10), 10).is_ok(), "max is inclusive");
        assert!(Name::parse(&"x".repeat(11), 10).is_err(), "one over max");
        assert!(
            Name::parse(&"é".repeat(10), 10).is_ok(),
            "characters, not bytes"
        );
    }

    #[test]
    fn names_refuse_invisible_characters_and_name_the_first() {
        let cases = [
            ("Atlan\u{202E}tis", Some("U+202E"), "right-to-left override"),
            (
                "\u{202A}Atlantis",
                Some("U+202A"),
                "left-to-right embedding",
            ),
            ("Atlantis\u{2066}", Some("U+2066"), "left-to-right isolate"),
            (
                "Atlan\u{2069}tis",
                Some("U+2069"),
                "pop directional isolate",
            ),
            ("Atlan\u{200B}tis", Some("U+200B"), "zero-width space"),
            ("Atlan\u{200C}tis", Some("U+200C"), "zero-width non-joiner"),
            ("Atlan\u{200D}tis", Some("U+200D"), "zero-width joiner"),
            ("\u{FEFF}Atlantis", Some("U+FEFF"), "byte-order mark"),
            ("Atlan\u{00AD}tis", Some("U+00AD"), "soft hyphen"),
            ("Atlan\u{200E}tis", Some("U+200E"), "left-to-right mark"),
            ("Atlan\u{2028}tis", Some("U+2028"), "line separator"),
            ("Atlan\u{E000}tis", Some("U+E000"), "private use"),
            ("Atlan\u{7F}tis", Some("control"), "DEL"),
            ("Atlan\u{85}tis", Some("control"), "next line (C1)"),
            ("São Tomé", None, "accents"),
            ("Côte d'Ivoire", None, "apostrophe"),
            ("ประเทศไทย", None, "Thai"),
            ("日本", None, "CJK"),
            ("Atlantis\u{00A0}Nova", None, "no-break space is a space"),
        ];
        for (input, want, case) in cases {
            let got = Name::parse(input, 50);
            match want {
                None => assert!(got.is_ok(), "case {case}: {got:?}"),
                Some(named) => {
                    let e = got.expect_err(case);
                    assert!(e.contains(named), "case {case}: {e}");
                }
            }
        }
    }

    #[test]
    fn search_terms_keep_format_characters_that_stored_places_carry() {
        assert!(SearchTerm::parse("Sh\u{200C}ahr").is_ok());
        assert!(SearchTerm::parse("a\u{0}").is_err());
    }

    #[test]
    fn search_terms_one_rule_for_required_and_filters() {
        let cases: [(&str, Option<&str>); 5] = [
            ("united", Some("united")),
            ("  São  ", Some("São")),
            ("", None),
            ("%00\u{0}", None),
            (&"q".repeat(101), None),
        ];
        for (input, want) in cases {
            let got = SearchTerm::parse(input).ok();
            assert_eq!(got.as_ref().map(SearchTerm::as_str), want, "case {input:?}");
        }
        assert_eq!(SearchTerm::parse_filter(None), Ok(None));
        assert_eq!(
            SearchTerm::parse_filter(Some("  ")),
            Ok(None),
            "blank: no filter"
        );
        assert!(SearchTerm::parse_filter(Some("a\u{0}")).is_err());
    }

    #[test]
    fn like_patterns_match_wildcards_literally() {
        let cases = [
            ("United", "%united%"),
            ("50%", "%50\\%%"),
            ("a_b", "%a\\_b%"),
            ("c:\\", "%c:\\\\%"),
        ];
        for (input, want) in cases {
            assert_eq!(
                SearchTerm::parse(input).unwrap().like_pattern(),
                want,
                "case {input:?}"
            );
        }
    }
}

//! Free text from callers: display names in bodies and search terms in queries.

/// A display name: trimmed, 1 to `max` characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Name(String);

impl Name {
    /// Parse a name of at most `max` characters.
    ///
    /// # Errors
    /// Empty after trimming, too long, or containing control characters.
    pub fn parse(value: &str, max: usize) -> Result<Self, String> {
        let v = value.trim();
        let n = v.chars().count();
        if n == 0 || n > max {
            Err(format!("expected 1 to {max} characters, got {n}"))
        } else if v.chars().any(char::is_control) {
            Err("control characters are not allowed".into())
        } else {
            Ok(Self(v.to_string()))
        }
    }

    /// The trimmed name.
    pub fn into_string(self) -> String {
        self.0
    }
}

/// What a caller searches for (`?q=`, a place name): trimmed, 1 to 100 characters,
/// no control characters. PostgreSQL text cannot hold NUL: unchecked, `?q=%00` was
/// a 500 there.
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
        Name::parse(value, Self::MAX_CHARS).map(|n| Self(n.0))
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

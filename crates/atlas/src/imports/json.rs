//! Import documents in JSON, `{"currencies": [...], "countries": [...]}` (a request
//! body may hold `url` and `kind` instead), decoded by a serde visitor that counts
//! rows as they go by and stops at the first one over `max_rows`: memory is
//! O(`max_rows`), never O(document), and with `keep` false, O(1) beyond the input.

use std::cell::Cell;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

use super::parse::ParseError;
use super::Rows;
use crate::domain::country::CountryInput;
use crate::domain::currency::CurrencyInput;
use crate::domain::import::ImportKind;

/// Rows seen so far across the document's arrays, against `max_rows`.
#[derive(Debug)]
pub struct Budget {
    max: usize,
    keep: bool,
    seen: Cell<usize>,
    exceeded: Cell<Option<&'static str>>,
}

impl Budget {
    /// At most `max` rows; kept only if `keep` (else counted and dropped).
    pub fn new(max: usize, keep: bool) -> Self {
        Self {
            max,
            keep,
            seen: Cell::new(0),
            exceeded: Cell::new(None),
        }
    }

    /// The array (`currencies` or `countries`) that went over `max`, if one did.
    pub fn exceeded(&self) -> Option<&'static str> {
        self.exceeded.get()
    }

    /// The limit.
    pub fn max(&self) -> usize {
        self.max
    }
}

/// A JSON array of rows, decoded element by element within the budget.
struct RowsSeed<'b, T> {
    budget: &'b Budget,
    field: &'static str,
    _row: PhantomData<T>,
}

impl<'de, T: Deserialize<'de>> DeserializeSeed<'de> for RowsSeed<'_, T> {
    type Value = (Vec<T>, usize);

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de, T: Deserialize<'de>> Visitor<'de> for RowsSeed<'_, T> {
    type Value = (Vec<T>, usize);

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "an array of {}", self.field)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let b = self.budget;
        let (mut rows, mut n) = (Vec::new(), 0);
        loop {
            if b.seen.get() >= b.max {
                // One more element, skipped without being built, decides it.
                if seq.next_element::<IgnoredAny>()?.is_some() {
                    b.exceeded.set(Some(self.field));
                    return Err(de::Error::custom(format!(
                        "more than {0} rows; at most {0} per import (`imports.max_rows`)",
                        b.max
                    )));
                }
                return Ok((rows, n));
            }
            let Some(row) = seq.next_element::<T>()? else {
                return Ok((rows, n));
            };
            b.seen.set(b.seen.get() + 1);
            n += 1;
            if b.keep {
                rows.push(row);
            }
        }
    }
}

/// A decoded document: rows of type `C` and `K`, their counts, and (request bodies
/// only) a URL and its kind.
#[derive(Debug)]
pub struct Doc<C, K> {
    /// Currency rows (empty when counting only).
    pub currencies: Vec<C>,
    /// Country rows (empty when counting only).
    pub countries: Vec<K>,
    /// How many of each were in the document.
    pub counts: (usize, usize),
    /// Whether either array was present at all.
    pub has_rows: bool,
    /// `url`, when allowed and given.
    pub url: Option<String>,
    /// `kind`, when allowed and given.
    pub kind: Option<ImportKind>,
}

/// Decodes a [`Doc`]: unknown and repeated fields are errors, as with
/// `deny_unknown_fields`.
pub struct DocSeed<'b, C, K> {
    budget: &'b Budget,
    allow_url: bool,
    _rows: PhantomData<(C, K)>,
}

impl<'b, C, K> DocSeed<'b, C, K> {
    /// A document whose rows count against `budget`; `allow_url` admits `url` and
    /// `kind` (the request body).
    pub fn new(budget: &'b Budget, allow_url: bool) -> Self {
        Self {
            budget,
            allow_url,
            _rows: PhantomData,
        }
    }

    fn rows<T>(&self, field: &'static str) -> RowsSeed<'b, T> {
        RowsSeed {
            budget: self.budget,
            field,
            _row: PhantomData,
        }
    }
}

impl<'de, C: Deserialize<'de>, K: Deserialize<'de>> DeserializeSeed<'de> for DocSeed<'_, C, K> {
    type Value = Doc<C, K>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

const FIELDS: &[&str] = &["currencies", "countries", "url", "kind"];

impl<'de, C: Deserialize<'de>, K: Deserialize<'de>> Visitor<'de> for DocSeed<'_, C, K> {
    type Value = Doc<C, K>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an import document {\"currencies\": [...], \"countries\": [...]}")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut doc = Doc {
            currencies: Vec::new(),
            countries: Vec::new(),
            counts: (0, 0),
            has_rows: false,
            url: None,
            kind: None,
        };
        let mut seen = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            let allowed = match key.as_str() {
                "currencies" | "countries" => true,
                "url" | "kind" => self.allow_url,
                _ => false,
            };
            if !allowed {
                let known = if self.allow_url { FIELDS } else { &FIELDS[..2] };
                return Err(de::Error::unknown_field(&key, known));
            }
            if seen.contains(&key) {
                return Err(de::Error::custom(format!("duplicate field `{key}`")));
            }
            match key.as_str() {
                "currencies" => {
                    let v = map.next_value_seed(Optional(self.rows::<C>("currencies")))?;
                    if let Some((rows, n)) = v {
                        (doc.currencies, doc.counts.0, doc.has_rows) = (rows, n, true);
                    }
                }
                "countries" => {
                    let v = map.next_value_seed(Optional(self.rows::<K>("countries")))?;
                    if let Some((rows, n)) = v {
                        (doc.countries, doc.counts.1, doc.has_rows) = (rows, n, true);
                    }
                }
                "url" => doc.url = map.next_value()?,
                _ => doc.kind = map.next_value()?,
            }
            seen.push(key);
        }
        Ok(doc)
    }
}

/// `null` or the seed's value, as `Option<T>` does for plain types.
struct Optional<S>(S);

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for Optional<S> {
    type Value = Option<S::Value>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_option(self)
    }
}

impl<'de, S: DeserializeSeed<'de>> Visitor<'de> for Optional<S> {
    type Value = Option<S::Value>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array or null")
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        self.0.deserialize(d).map(Some)
    }
}

/// A row that may not decode: its error is kept for the row's report instead of
/// failing the document (fetched documents are reported row by row).
#[derive(Debug)]
pub struct Lenient<T>(pub Result<T, String>);

impl<'de, T: serde::de::DeserializeOwned> Deserialize<'de> for Lenient<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = serde_json::Value::deserialize(d)?;
        Ok(Lenient(
            serde_json::from_value(v).map_err(|e| e.to_string()),
        ))
    }
}

/// Rows from a fetched JSON document `{"currencies": [...], "countries": [...]}`,
/// read from `input` as it arrives. Rows are decoded one by one, so a bad row is
/// reported rather than the whole document.
///
/// # Errors
/// The document is not that shape, or it holds more than `max_rows` rows.
pub fn parse_json(input: impl std::io::Read, max_rows: usize) -> Result<Rows, ParseError> {
    let budget = Budget::new(max_rows, true);
    let mut de = serde_json::Deserializer::from_reader(std::io::BufReader::new(input));
    let doc = DocSeed::<Lenient<CurrencyInput>, Lenient<CountryInput>>::new(&budget, false)
        .deserialize(&mut de)
        .and_then(|doc| de.end().map(|()| doc));
    let doc = match doc {
        Ok(doc) => doc,
        Err(_) if budget.exceeded().is_some() => return Err(ParseError::TooManyRows(max_rows)),
        Err(e) => {
            return Err(ParseError::Malformed(format!(
                "not an import document: {e}"
            )))
        }
    };
    Ok(Rows {
        currencies: numbered(doc.currencies),
        countries: numbered(doc.countries),
    })
}

/// Rows numbered from 1, with their decode errors.
fn numbered<T>(rows: Vec<Lenient<T>>) -> Vec<(usize, Result<T, String>)> {
    rows.into_iter()
        .enumerate()
        .map(|(i, r)| (i + 1, r.0))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    type Strict = Doc<CurrencyInput, IgnoredAny>;

    fn decode(json: &str, max: usize, keep: bool) -> (Result<Strict, String>, Budget) {
        let budget = Budget::new(max, keep);
        let mut de = serde_json::Deserializer::from_str(json);
        let r = DocSeed::new(&budget, true)
            .deserialize(&mut de)
            .map_err(|e| e.to_string());
        (r, budget)
    }

    #[test]
    fn rows_are_counted_across_arrays_and_decoding_stops_past_max_rows() {
        let row = r#"{"code": "XQA", "numeric": "001", "name": "Q"}"#;
        let three = format!(r#"{{"currencies": [{row}, {row}], "countries": [1]}}"#);
        let (doc, b) = decode(&three, 3, true);
        let doc = doc.unwrap();
        assert_eq!((doc.counts, doc.currencies.len()), ((2, 1), 2));
        assert_eq!(b.exceeded(), None);
        let (doc, _) = decode(&three, 3, false);
        assert!(doc.unwrap().currencies.is_empty(), "counting keeps nothing");

        let (doc, b) = decode(&three, 2, true);
        assert!(doc.unwrap_err().contains("more than 2 rows"));
        assert_eq!(b.exceeded(), Some("countries"));

        // Past the limit, the rest of the document is never read: not even its syntax.
        let (doc, b) = decode(r#"{"currencies": [1, 2, 3, oops"#, 2, true);
        let e = doc.unwrap_err();
        assert!(e.contains("invalid type"), "the first row is checked: {e}");
        let broken = format!(r#"{{"currencies": [{row}, {row}, {row}, oops"#);
        let (doc, b2) = decode(&broken, 2, false);
        assert!(doc.unwrap_err().contains("more than 2 rows"));
        assert_eq!((b.exceeded(), b2.exceeded()), (None, Some("currencies")));
    }

    #[test]
    fn unknown_and_repeated_fields_are_refused_and_url_only_where_allowed() {
        assert!(decode(r#"{"rows": []}"#, 9, true)
            .0
            .unwrap_err()
            .contains("unknown field"));
        assert!(decode(r#"{"currencies": [], "currencies": []}"#, 9, true)
            .0
            .unwrap_err()
            .contains("duplicate"));
        let (doc, _) = decode(r#"{"url": "http://x/a.csv", "kind": "countries"}"#, 9, true);
        let doc = doc.unwrap();
        assert_eq!(doc.kind, Some(ImportKind::Countries));
        assert!(!doc.has_rows);
        let budget = Budget::new(9, true);
        let mut de = serde_json::Deserializer::from_str(r#"{"url": "x"}"#);
        let fetched =
            DocSeed::<Lenient<CurrencyInput>, IgnoredAny>::new(&budget, false).deserialize(&mut de);
        assert!(
            fetched.is_err(),
            "a fetched document cannot point elsewhere"
        );
    }

    #[test]
    fn fetched_rows_are_decoded_one_by_one_within_max_rows() {
        let rows = parse_json(
            &br#"{"currencies": [{"code": "XQA", "numeric": "001", "name": "Q"}, {"code": 5}]}"#[..],
            5,
        )
        .unwrap();
        assert!(rows.currencies[0].1.is_ok());
        assert!(rows.currencies[1].1.is_err());
        assert!(matches!(
            parse_json(&b"[1,2]"[..], 5),
            Err(ParseError::Malformed(_))
        ));
        assert_eq!(
            parse_json(&br#"{"countries": [1, 2, 3]} "#[..], 2).unwrap_err(),
            ParseError::TooManyRows(2)
        );
        assert!(matches!(
            parse_json(&b"{} x"[..], 5),
            Err(ParseError::Malformed(_))
        ));
    }
}

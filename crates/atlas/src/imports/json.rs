//! Import documents in JSON, `{"currencies": [...], "countries": [...]}` (a request
//! body may hold `url` and `kind` instead), decoded by a serde visitor that counts
//! rows as they go by, hands each to a [`RowSink`] as soon as it is decoded, and
//! stops at the first one over `max_rows`: nothing but the sink's own state grows
//! with the document.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

use super::parse::ParseError;
use super::RowSink;
use crate::domain::country::CountryInput;
use crate::domain::currency::CurrencyInput;
use crate::domain::import::ImportKind;

/// Rows seen so far across the document's arrays, against `max_rows`, and where
/// each row goes.
pub struct Budget<'s> {
    max: usize,
    sink: RefCell<&'s mut dyn RowSink>,
    seen: Cell<usize>,
    exceeded: Cell<Option<&'static str>>,
}

impl<'s> Budget<'s> {
    /// At most `max` rows, each handed to `sink` (`&mut ()` counts only).
    pub fn new(max: usize, sink: &'s mut dyn RowSink) -> Self {
        Self {
            max,
            sink: RefCell::new(sink),
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

/// A row type that knows which sink method takes it.
pub trait SinkRow {
    /// Hand the row, number `n`, to `sink`.
    fn send(self, n: usize, sink: &mut dyn RowSink);
}

impl SinkRow for CurrencyInput {
    fn send(self, n: usize, sink: &mut dyn RowSink) {
        sink.currency(n, Ok(self));
    }
}

impl SinkRow for CountryInput {
    fn send(self, n: usize, sink: &mut dyn RowSink) {
        sink.country(n, Ok(self));
    }
}

impl SinkRow for Lenient<CurrencyInput> {
    fn send(self, n: usize, sink: &mut dyn RowSink) {
        sink.currency(n, self.0);
    }
}

impl SinkRow for Lenient<CountryInput> {
    fn send(self, n: usize, sink: &mut dyn RowSink) {
        sink.country(n, self.0);
    }
}

impl SinkRow for IgnoredAny {
    fn send(self, _: usize, _: &mut dyn RowSink) {}
}

/// A JSON array of rows, decoded element by element within the budget.
struct RowsSeed<'b, 's, T> {
    budget: &'b Budget<'s>,
    field: &'static str,
    _row: PhantomData<T>,
}

impl<'de, T: Deserialize<'de> + SinkRow> DeserializeSeed<'de> for RowsSeed<'_, '_, T> {
    type Value = usize;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de, T: Deserialize<'de> + SinkRow> Visitor<'de> for RowsSeed<'_, '_, T> {
    type Value = usize;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "an array of {}", self.field)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let b = self.budget;
        let mut n = 0;
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
                return Ok(n);
            }
            let Some(row) = seq.next_element::<T>()? else {
                return Ok(n);
            };
            b.seen.set(b.seen.get() + 1);
            n += 1;
            row.send(n, &mut **b.sink.borrow_mut());
        }
    }
}

/// A decoded document (its rows went to the sink): row counts and, in request
/// bodies only, a URL and its kind.
#[derive(Debug)]
pub struct Doc {
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
pub struct DocSeed<'b, 's, C, K> {
    budget: &'b Budget<'s>,
    allow_url: bool,
    _rows: PhantomData<(C, K)>,
}

impl<'b, 's, C, K> DocSeed<'b, 's, C, K> {
    /// A document whose rows count against `budget`; `allow_url` admits `url` and
    /// `kind` (the request body).
    pub fn new(budget: &'b Budget<'s>, allow_url: bool) -> Self {
        Self {
            budget,
            allow_url,
            _rows: PhantomData,
        }
    }

    fn rows<T>(&self, field: &'static str) -> RowsSeed<'b, 's, T> {
        RowsSeed {
            budget: self.budget,
            field,
            _row: PhantomData,
        }
    }
}

impl<'de, C, K> DeserializeSeed<'de> for DocSeed<'_, '_, C, K>
where
    C: Deserialize<'de> + SinkRow,
    K: Deserialize<'de> + SinkRow,
{
    type Value = Doc;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

const FIELDS: &[&str] = &["currencies", "countries", "url", "kind"];

impl<'de, C, K> Visitor<'de> for DocSeed<'_, '_, C, K>
where
    C: Deserialize<'de> + SinkRow,
    K: Deserialize<'de> + SinkRow,
{
    type Value = Doc;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an import document {\"currencies\": [...], \"countries\": [...]}")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut doc = Doc {
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
                    if let Some(n) = v {
                        (doc.counts.0, doc.has_rows) = (n, true);
                    }
                }
                "countries" => {
                    let v = map.next_value_seed(Optional(self.rows::<K>("countries")))?;
                    if let Some(n) = v {
                        (doc.counts.1, doc.has_rows) = (n, true);
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
/// read from `input` as it arrives, each handed to `sink` once decoded (a bad row
/// is reported with its number, not the whole document). Returns the row count.
///
/// # Errors
/// The document is not that shape, or it holds more than `max_rows` rows.
pub fn parse_json(
    input: impl std::io::Read,
    max_rows: usize,
    sink: &mut dyn RowSink,
) -> Result<usize, ParseError> {
    let budget = Budget::new(max_rows, sink);
    let mut de = serde_json::Deserializer::from_reader(std::io::BufReader::new(input));
    let doc = DocSeed::<Lenient<CurrencyInput>, Lenient<CountryInput>>::new(&budget, false)
        .deserialize(&mut de)
        .and_then(|doc| de.end().map(|()| doc));
    match doc {
        Ok(doc) => Ok(doc.counts.0 + doc.counts.1),
        Err(_) if budget.exceeded().is_some() => Err(ParseError::TooManyRows(max_rows)),
        Err(e) => Err(ParseError::Malformed(format!(
            "not an import document: {e}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::imports::Rows;

    /// The document, the rows the sink got, and the array that went over, if any.
    fn decode(json: &str, max: usize) -> (Result<Doc, String>, Rows, Option<&'static str>) {
        let mut rows = Rows::default();
        let budget = Budget::new(max, &mut rows);
        let mut de = serde_json::Deserializer::from_str(json);
        let r = DocSeed::<CurrencyInput, IgnoredAny>::new(&budget, true)
            .deserialize(&mut de)
            .map_err(|e| e.to_string());
        let exceeded = budget.exceeded();
        (r, rows, exceeded)
    }

    #[test]
    fn rows_are_counted_across_arrays_and_decoding_stops_past_max_rows() {
        let row = r#"{"code": "XQA", "numeric": "001", "name": "Q"}"#;
        let three = format!(r#"{{"currencies": [{row}, {row}], "countries": [1]}}"#);
        let (doc, rows, exceeded) = decode(&three, 3);
        assert_eq!((doc.unwrap().counts, rows.currencies.len()), ((2, 1), 2));
        assert_eq!(exceeded, None);

        let (doc, _, exceeded) = decode(&three, 2);
        assert!(doc.unwrap_err().contains("more than 2 rows"));
        assert_eq!(exceeded, Some("countries"));

        // Past the limit, the rest of the document is never read: not even its syntax.
        let (doc, _, exceeded) = decode(r#"{"currencies": [1, 2, 3, oops"#, 2);
        let e = doc.unwrap_err();
        assert!(e.contains("invalid type"), "the first row is checked: {e}");
        assert_eq!(exceeded, None);
        let broken = format!(r#"{{"currencies": [{row}, {row}, {row}, oops"#);
        let (doc, rows, exceeded) = decode(&broken, 2);
        assert!(doc.unwrap_err().contains("more than 2 rows"));
        assert_eq!((exceeded, rows.currencies.len()), (Some("currencies"), 2));
    }

    #[test]
    fn unknown_and_repeated_fields_are_refused_and_url_only_where_allowed() {
        assert!(decode(r#"{"rows": []}"#, 9)
            .0
            .unwrap_err()
            .contains("unknown field"));
        assert!(decode(r#"{"currencies": [], "currencies": []}"#, 9)
            .0
            .unwrap_err()
            .contains("duplicate"));
        let (doc, _, _) = decode(r#"{"url": "http://x/a.csv", "kind": "countries"}"#, 9);
        let doc = doc.unwrap();
        assert_eq!(doc.kind, Some(ImportKind::Countries));
        assert!(!doc.has_rows);
        let mut count_only = ();
        let budget = Budget::new(9, &mut count_only);
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
        let mut rows = Rows::default();
        let json =
            br#"{"currencies": [{"code": "XQA", "numeric": "001", "name": "Q"}, {"code": 5}]}"#;
        assert_eq!(parse_json(&json[..], 5, &mut rows), Ok(2));
        assert!(rows.currencies[0].1.is_ok());
        assert!(rows.currencies[1].1.is_err());
        assert!(matches!(
            parse_json(&b"[1,2]"[..], 5, &mut ()),
            Err(ParseError::Malformed(_))
        ));
        assert_eq!(
            parse_json(&br#"{"countries": [1, 2, 3]} "#[..], 2, &mut ()).unwrap_err(),
            ParseError::TooManyRows(2)
        );
        assert!(matches!(
            parse_json(&b"{} x"[..], 5, &mut ()),
            Err(ParseError::Malformed(_))
        ));
    }
}

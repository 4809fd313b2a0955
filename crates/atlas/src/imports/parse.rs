//! Rows from a fetched JSON document or a CSV body, decoded one row at a time so a
//! bad row is reported with its number instead of failing the whole import.

use serde::Deserialize;

use super::Rows;
use crate::domain::country::CountryInput;
use crate::domain::currency::CurrencyInput;
use crate::domain::import::ImportKind;

/// Rows from a JSON document: `{"currencies": [...], "countries": [...]}`. Rows are
/// decoded one by one so a bad row is reported, not the whole document.
///
/// # Errors
/// The document itself is not that shape.
pub fn parse_json(bytes: &[u8]) -> Result<Rows, String> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Doc {
        #[serde(default)]
        currencies: Vec<serde_json::Value>,
        #[serde(default)]
        countries: Vec<serde_json::Value>,
    }
    let doc: Doc =
        serde_json::from_slice(bytes).map_err(|e| format!("not an import document: {e}"))?;
    Ok(Rows {
        currencies: doc
            .currencies
            .into_iter()
            .enumerate()
            .map(|(i, v)| (i + 1, serde_json::from_value(v).map_err(|e| e.to_string())))
            .collect(),
        countries: doc
            .countries
            .into_iter()
            .enumerate()
            .map(|(i, v)| (i + 1, serde_json::from_value(v).map_err(|e| e.to_string())))
            .collect(),
    })
}

/// Rows from CSV with a header. Currencies: `code,numeric,name,minor_units`.
/// Countries: `alpha2,alpha3,numeric,name,official_name,currencies,timezones`, the
/// last two separated by spaces or `;`.
///
/// # Errors
/// The header is missing required columns.
pub fn parse_csv(kind: ImportKind, bytes: &[u8]) -> Result<Rows, String> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(false)
        .from_reader(bytes);
    let headers = reader
        .headers()
        .map_err(|e| format!("CSV header: {e}"))?
        .clone();
    let col = |name: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(name));
    let mut rows = Rows::default();
    match kind {
        ImportKind::Currencies => {
            let columns = CurrencyColumns::find(col)?;
            for (i, rec) in reader.records().enumerate() {
                let row = rec.map_err(|e| e.to_string()).and_then(|r| columns.row(&r));
                rows.currencies.push((i + 1, row));
            }
        }
        ImportKind::Countries => {
            let columns = CountryColumns::find(col)?;
            for (i, rec) in reader.records().enumerate() {
                let row = rec.map_err(|e| e.to_string()).map(|r| columns.row(&r));
                rows.countries.push((i + 1, row));
            }
        }
    }
    Ok(rows)
}

/// Where each currency field is in the CSV.
struct CurrencyColumns {
    code: usize,
    numeric: usize,
    name: usize,
    minor: Option<usize>,
}

impl CurrencyColumns {
    fn find(col: impl Fn(&str) -> Option<usize>) -> Result<Self, String> {
        let (Some(code), Some(numeric), Some(name)) = (col("code"), col("numeric"), col("name"))
        else {
            return Err(
                "currency CSV needs columns code, numeric, name (and optionally minor_units)"
                    .into(),
            );
        };
        let minor = col("minor_units");
        Ok(Self {
            code,
            numeric,
            name,
            minor,
        })
    }

    fn row(&self, r: &csv::StringRecord) -> Result<CurrencyInput, String> {
        let field = |i: usize| r.get(i).unwrap_or_default().to_string();
        let minor_units = match self.minor.and_then(|m| r.get(m)).filter(|v| !v.is_empty()) {
            None => None,
            Some(v) => Some(
                v.parse::<i64>()
                    .map_err(|_| format!("minor_units {v:?} is not a whole number"))?,
            ),
        };
        Ok(CurrencyInput {
            code: field(self.code),
            numeric: field(self.numeric),
            name: field(self.name),
            minor_units,
        })
    }
}

/// Where each country field is in the CSV.
struct CountryColumns {
    alpha2: usize,
    alpha3: usize,
    numeric: usize,
    name: usize,
    official: Option<usize>,
    currencies: Option<usize>,
    timezones: Option<usize>,
}

impl CountryColumns {
    fn find(col: impl Fn(&str) -> Option<usize>) -> Result<Self, String> {
        let (Some(alpha2), Some(alpha3), Some(numeric), Some(name)) =
            (col("alpha2"), col("alpha3"), col("numeric"), col("name"))
        else {
            return Err("country CSV needs columns alpha2, alpha3, numeric, name (and optionally official_name, currencies, timezones)".into());
        };
        Ok(Self {
            alpha2,
            alpha3,
            numeric,
            name,
            official: col("official_name"),
            currencies: col("currencies"),
            timezones: col("timezones"),
        })
    }

    fn row(&self, r: &csv::StringRecord) -> CountryInput {
        let field = |i: usize| r.get(i).unwrap_or_default().to_string();
        let optional = |i: Option<usize>| i.and_then(|i| r.get(i)).filter(|v| !v.is_empty());
        let list = |i: Option<usize>| -> Vec<String> {
            optional(i)
                .map(|s| {
                    s.split([';', ' '])
                        .filter(|p| !p.is_empty())
                        .map(String::from)
                        .collect()
                })
                .unwrap_or_default()
        };
        CountryInput {
            alpha2: field(self.alpha2),
            alpha3: field(self.alpha3),
            numeric: field(self.numeric),
            name: field(self.name),
            official_name: optional(self.official).map(String::from),
            currencies: list(self.currencies),
            timezones: list(self.timezones),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_rows_parse_with_lists_and_report_bad_rows() {
        let csv = "alpha2,alpha3,numeric,name,official_name,currencies,timezones\nXA,XAA,901,Atlantis,,EUR;USD,Europe/Lisbon Atlantic/Azores\nXB,XBB,902\n";
        let rows = parse_csv(ImportKind::Countries, csv.as_bytes()).unwrap();
        let first = rows.countries[0].1.as_ref().unwrap();
        assert_eq!(first.currencies, vec!["EUR", "USD"]);
        assert_eq!(first.timezones, vec!["Europe/Lisbon", "Atlantic/Azores"]);
        assert_eq!(first.official_name, None);
        assert!(
            rows.countries[1].1.is_err(),
            "a short row is an error for that row only"
        );
        assert!(
            parse_csv(ImportKind::Currencies, b"x,y\n1,2\n").is_err(),
            "missing columns"
        );
    }

    #[test]
    fn json_rows_are_decoded_one_by_one() {
        let rows = parse_json(
            br#"{"currencies": [{"code": "XQA", "numeric": "001", "name": "Q"}, {"code": 5}]}"#,
        )
        .unwrap();
        assert!(rows.currencies[0].1.is_ok());
        assert!(rows.currencies[1].1.is_err());
        assert!(parse_json(b"[1,2]").is_err());
    }
}

//! Rows from CSV, read record by record from any reader (a request body, or a URL's
//! body as it arrives), stopping after `max_rows` + 1: memory is O(`max_rows`), not
//! O(input). A bad record is reported with its number instead of failing the whole
//! import.

use std::io::Read;

use super::RowSink;
use crate::domain::country::CountryInput;
use crate::domain::currency::CurrencyInput;
use crate::domain::details::{Language, LatLng};
use crate::domain::import::ImportKind;

/// Why an input could not be turned into rows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// The input is not the expected shape (CSV header, JSON document).
    #[error("{0}")]
    Malformed(String),
    /// More rows than `imports.max_rows`; reading stopped at the first one over.
    #[error("more than {0} rows; at most {0} per import (`imports.max_rows`)")]
    TooManyRows(usize),
}

/// Rows from CSV with a header. Currencies: `code,numeric,name,minor_units`.
/// Countries: `alpha2,alpha3,numeric,name,official_name,currencies,timezones`, the
/// last two separated by spaces or `;`, and optionally the detail columns
/// `capitals,region,subregion,languages,calling_codes,tlds,latitude,longitude,
/// area_km2,landlocked,borders,independent,un_member,alt_spellings` (see
/// `DetailColumns`). Each row goes to `sink` as it is read (to
/// count only, pass `&mut ()`); returns the number of rows.
///
/// # Errors
/// The header is missing required columns, or there are more than `max_rows` rows.
pub fn parse_csv(
    kind: ImportKind,
    input: impl Read,
    max_rows: usize,
    sink: &mut dyn RowSink,
) -> Result<usize, ParseError> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(false)
        .from_reader(input);
    let headers = reader
        .headers()
        .map_err(|e| ParseError::Malformed(format!("CSV header: {e}")))?
        .clone();
    let col = |name: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(name));
    let decode: Box<Decode> = match kind {
        ImportKind::Currencies => {
            let columns = CurrencyColumns::find(col)?;
            Box::new(move |r, sink, n| sink.currency(n, columns.row(r)))
        }
        ImportKind::Countries => {
            let columns = CountryColumns::find(col)?;
            Box::new(move |r, sink, n| sink.country(n, columns.row(r)))
        }
    };
    // One record buffer, reused: a long input never holds more than a row of text.
    let mut record = csv::StringRecord::new();
    let mut n = 0;
    loop {
        let more = match reader.read_record(&mut record) {
            Ok(more) => more,
            Err(e) if e.is_io_error() => return Err(ParseError::Malformed(e.to_string())),
            Err(e) => {
                n += 1;
                if n > max_rows {
                    return Err(ParseError::TooManyRows(max_rows));
                }
                match kind {
                    ImportKind::Currencies => sink.currency(n, Err(e.to_string())),
                    ImportKind::Countries => sink.country(n, Err(e.to_string())),
                }
                continue;
            }
        };
        if !more {
            break;
        }
        n += 1;
        if n > max_rows {
            return Err(ParseError::TooManyRows(max_rows));
        }
        decode(&record, sink, n);
    }
    Ok(n)
}

/// Decodes record number `n` into the sink.
type Decode = dyn Fn(&csv::StringRecord, &mut dyn RowSink, usize);

/// Where each currency field is in the CSV.
struct CurrencyColumns {
    code: usize,
    numeric: usize,
    name: usize,
    minor: Option<usize>,
}

impl CurrencyColumns {
    fn find(col: impl Fn(&str) -> Option<usize>) -> Result<Self, ParseError> {
        let (Some(code), Some(numeric), Some(name)) = (col("code"), col("numeric"), col("name"))
        else {
            return Err(ParseError::Malformed(
                "currency CSV needs columns code, numeric, name (and optionally minor_units)"
                    .into(),
            ));
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
    details: DetailColumns,
}

/// The optional detail columns. Codes are separated by spaces or `;`, names
/// (which may hold spaces) by `;` only; `languages` is `code=Name;code=Name`.
/// The maps (demonyms, native names, translations) are JSON imports only.
struct DetailColumns {
    capitals: Option<usize>,
    region: Option<usize>,
    subregion: Option<usize>,
    languages: Option<usize>,
    calling_codes: Option<usize>,
    tlds: Option<usize>,
    latitude: Option<usize>,
    longitude: Option<usize>,
    area_km2: Option<usize>,
    landlocked: Option<usize>,
    borders: Option<usize>,
    independent: Option<usize>,
    un_member: Option<usize>,
    alt_spellings: Option<usize>,
}

impl CountryColumns {
    fn find(col: impl Fn(&str) -> Option<usize>) -> Result<Self, ParseError> {
        let (Some(alpha2), Some(alpha3), Some(numeric), Some(name)) =
            (col("alpha2"), col("alpha3"), col("numeric"), col("name"))
        else {
            return Err(ParseError::Malformed("country CSV needs columns alpha2, alpha3, numeric, name (and optionally official_name, currencies, timezones and the detail columns)".into()));
        };
        let details = DetailColumns {
            capitals: col("capitals"),
            region: col("region"),
            subregion: col("subregion"),
            languages: col("languages"),
            calling_codes: col("calling_codes"),
            tlds: col("tlds"),
            latitude: col("latitude"),
            longitude: col("longitude"),
            area_km2: col("area_km2"),
            landlocked: col("landlocked"),
            borders: col("borders"),
            independent: col("independent"),
            un_member: col("un_member"),
            alt_spellings: col("alt_spellings"),
        };
        Ok(Self {
            alpha2,
            alpha3,
            numeric,
            name,
            official: col("official_name"),
            currencies: col("currencies"),
            timezones: col("timezones"),
            details,
        })
    }

    fn row(&self, r: &csv::StringRecord) -> Result<CountryInput, String> {
        let cells = Cells(r);
        let mut input = CountryInput {
            alpha2: cells.field(self.alpha2),
            alpha3: cells.field(self.alpha3),
            numeric: cells.field(self.numeric),
            name: cells.field(self.name),
            official_name: cells.optional(self.official).map(String::from),
            currencies: cells.codes(self.currencies),
            timezones: cells.codes(self.timezones),
            ..CountryInput::default()
        };
        self.details.fill(&cells, &mut input)?;
        Ok(input)
    }
}

impl DetailColumns {
    fn fill(&self, c: &Cells<'_>, input: &mut CountryInput) -> Result<(), String> {
        input.capitals = c.names(self.capitals);
        input.region = c.optional(self.region).map(String::from);
        input.subregion = c.optional(self.subregion).map(String::from);
        input.languages = c.languages(self.languages)?;
        input.calling_codes = c.codes(self.calling_codes);
        input.tlds = c.codes(self.tlds);
        input.latlng = match (
            c.number(self.latitude, "latitude")?,
            c.number(self.longitude, "longitude")?,
        ) {
            (Some(lat), Some(lng)) => Some(LatLng { lat, lng }),
            (None, None) => None,
            _ => return Err("latitude and longitude go together: give both or neither".into()),
        };
        input.area_km2 = c.number(self.area_km2, "area_km2")?;
        input.landlocked = c.flag(self.landlocked, "landlocked")?;
        input.borders = c.codes(self.borders);
        input.independent = c.flag(self.independent, "independent")?;
        input.un_member = c.flag(self.un_member, "un_member")?;
        input.alt_spellings = c.names(self.alt_spellings);
        Ok(())
    }
}

/// One CSV record's cells, read by column.
struct Cells<'r>(&'r csv::StringRecord);

impl Cells<'_> {
    fn field(&self, i: usize) -> String {
        self.0.get(i).unwrap_or_default().to_string()
    }

    fn optional(&self, i: Option<usize>) -> Option<&str> {
        i.and_then(|i| self.0.get(i)).filter(|v| !v.is_empty())
    }

    /// Codes separated by spaces or `;`.
    fn codes(&self, i: Option<usize>) -> Vec<String> {
        self.split(i, &[';', ' '])
    }

    /// Names separated by `;` (they may hold spaces).
    fn names(&self, i: Option<usize>) -> Vec<String> {
        self.split(i, &[';'])
    }

    fn split(&self, i: Option<usize>, by: &[char]) -> Vec<String> {
        (self.optional(i).into_iter())
            .flat_map(|s| s.split(by))
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(String::from)
            .collect()
    }

    /// `code=Name` pairs separated by `;`.
    fn languages(&self, i: Option<usize>) -> Result<Vec<Language>, String> {
        (self.names(i).iter())
            .map(|pair| match pair.split_once('=') {
                Some((code, name)) => Ok(Language {
                    code: code.trim().to_string(),
                    name: name.trim().to_string(),
                }),
                None => Err(format!(
                    "languages: {pair:?} is not code=Name (por=Portuguese)"
                )),
            })
            .collect()
    }

    fn number(&self, i: Option<usize>, column: &str) -> Result<Option<f64>, String> {
        match self.optional(i) {
            None => Ok(None),
            Some(v) => (v.parse::<f64>().ok())
                .filter(|n| n.is_finite())
                .map(Some)
                .ok_or_else(|| format!("{column} {v:?} is not a number")),
        }
    }

    fn flag(&self, i: Option<usize>, column: &str) -> Result<Option<bool>, String> {
        match self.optional(i) {
            None => Ok(None),
            Some(v) if v.eq_ignore_ascii_case("true") => Ok(Some(true)),
            Some(v) if v.eq_ignore_ascii_case("false") => Ok(Some(false)),
            Some(v) => Err(format!("{column} {v:?} is not true or false")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::imports::Rows;

    fn parse(kind: ImportKind, input: impl Read, max: usize) -> Result<(Rows, usize), ParseError> {
        let mut rows = Rows::default();
        parse_csv(kind, input, max, &mut rows).map(|n| (rows, n))
    }

    #[test]
    fn csv_rows_parse_with_lists_and_report_bad_rows() {
        let csv = "alpha2,alpha3,numeric,name,official_name,currencies,timezones\nXA,XAA,901,Atlantis,,EUR;USD,Europe/Lisbon Atlantic/Azores\nXB,XBB,902\n";
        let (rows, n) = parse(ImportKind::Countries, csv.as_bytes(), 10).unwrap();
        assert_eq!(n, 2);
        let first = rows.countries[0].1.as_ref().unwrap();
        assert_eq!(first.currencies, vec!["EUR", "USD"]);
        assert_eq!(first.timezones, vec!["Europe/Lisbon", "Atlantic/Azores"]);
        assert_eq!(first.official_name, None);
        assert!(
            rows.countries[1].1.is_err(),
            "a short row is an error for that row only"
        );
        assert!(
            matches!(
                parse(ImportKind::Currencies, &b"x,y\n1,2\n"[..], 10),
                Err(ParseError::Malformed(_))
            ),
            "missing columns"
        );
    }

    #[test]
    fn csv_detail_columns_parse_and_bad_cells_fail_their_row() {
        let csv = "alpha2,alpha3,numeric,name,capitals,region,languages,calling_codes,tlds,latitude,longitude,area_km2,landlocked,borders,independent,un_member,alt_spellings\n\
            XA,XAA,901,Atlantis,Atlantis City;Port Royal,europe,por=Portuguese;eng=English,+351 +1-876,.xa,39.5,-8,100.5,TRUE,ESP;FRA,false,,Atlantida;The Isle\n\
            XB,XBB,902,Bad,,,,,,1,,,,,,,\n\
            XC,XCC,903,Bad,,,,,,,,,maybe,,,,\n\
            XD,XDD,904,Bad,,,por,,,,,,,,,,\n\
            XE,XEE,905,Bad,,,,,,,,many,,,,,\n";
        let (rows, n) = parse(ImportKind::Countries, csv.as_bytes(), 10).unwrap();
        assert_eq!(n, 5);
        let xa = rows.countries[0].1.as_ref().unwrap();
        assert_eq!(
            xa.capitals,
            ["Atlantis City", "Port Royal"],
            "names split on ; only"
        );
        assert_eq!(xa.region.as_deref(), Some("europe"));
        let langs: Vec<_> = xa
            .languages
            .iter()
            .map(|l| (l.code.as_str(), l.name.as_str()))
            .collect();
        assert_eq!(langs, [("por", "Portuguese"), ("eng", "English")]);
        assert_eq!(xa.calling_codes, ["+351", "+1-876"]);
        assert_eq!(xa.tlds, [".xa"]);
        assert_eq!(
            xa.latlng,
            Some(LatLng {
                lat: 39.5,
                lng: -8.0
            })
        );
        assert_eq!(xa.area_km2, Some(100.5));
        assert_eq!(
            (xa.landlocked, xa.independent, xa.un_member),
            (Some(true), Some(false), None)
        );
        assert_eq!(xa.borders, ["ESP", "FRA"]);
        assert_eq!(xa.alt_spellings, ["Atlantida", "The Isle"]);
        for (i, why) in [
            (1, "latitude without longitude"),
            (2, "not a boolean"),
            (3, "language without a name"),
            (4, "not a number"),
        ] {
            assert!(rows.countries[i].1.is_err(), "row {}: {why}", i + 1);
        }
    }

    /// A reader that fails the test if it is read past `limit` bytes.
    struct Bounded<'a> {
        data: &'a [u8],
        read: usize,
        limit: usize,
    }

    impl Read for Bounded<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            assert!(
                self.read <= self.limit,
                "read {} bytes, past the stop",
                self.read
            );
            let n = buf.len().min(self.data.len() - self.read).min(512);
            buf[..n].copy_from_slice(&self.data[self.read..self.read + n]);
            self.read += n;
            Ok(n)
        }
    }

    #[test]
    fn csv_reading_stops_at_the_first_row_over_max_rows() {
        let mut csv = String::from("code,numeric,name\n");
        for i in 0..100_000 {
            csv.push_str(&format!("X{i:02},{i:03},Name {i}\n"));
        }
        let input = Bounded {
            data: csv.as_bytes(),
            read: 0,
            // 11 rows of under 30 bytes, plus the reader's own buffer (8 KiB).
            limit: 16 * 1024,
        };
        assert_eq!(
            parse(ImportKind::Currencies, input, 10).unwrap_err(),
            ParseError::TooManyRows(10)
        );
        let n = parse_csv(ImportKind::Currencies, &csv.as_bytes()[..200], 100, &mut ()).unwrap();
        assert!(n > 10, "counted: {n}");
        let exactly = csv.lines().take(11).collect::<Vec<_>>().join("\n");
        let (rows, n) = parse(ImportKind::Currencies, exactly.as_bytes(), 10).unwrap();
        assert_eq!(
            (n, rows.currencies.len()),
            (10, 10),
            "max_rows itself is fine"
        );
    }
}

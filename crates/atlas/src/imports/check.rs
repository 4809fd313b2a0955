//! Rows checked as they are parsed: valid ones kept for the write, bad ones counted
//! and the first `imports.max_errors` of their field errors listed.

use std::collections::BTreeSet;

use super::{Outcome, RowSink};
use crate::domain::country::{Country, CountryInput};
use crate::domain::currency::{Currency, CurrencyInput};
use crate::domain::{FieldError, RowError};

/// Validates each row as it is parsed: only valid rows are kept (they are to be
/// written), bad ones are counted (and the first `max_errors` listed). A batch of
/// bad rows never exists in memory as a whole.
pub(super) struct Checked {
    currencies: Vec<Currency>,
    countries: Vec<Country>,
    seen: BTreeSet<(&'static str, String)>,
    rejected: Rejections,
    done: usize,
    progress: Box<dyn Fn(usize) + Send>,
}

impl Checked {
    pub(super) fn new(max_errors: usize, progress: Box<dyn Fn(usize) + Send>) -> Self {
        Self {
            currencies: Vec::new(),
            countries: Vec::new(),
            seen: BTreeSet::new(),
            rejected: Rejections::new(max_errors),
            done: 0,
            progress,
        }
    }

    fn step(&mut self) {
        self.done += 1;
        (self.progress)(self.done);
    }

    /// The valid rows, unless any row was rejected.
    pub(super) fn finish(self) -> Result<(Vec<Currency>, Vec<Country>), Outcome> {
        if self.rejected.rows > 0 {
            return Err(Outcome::Rows(self.rejected));
        }
        Ok((self.currencies, self.countries))
    }
}

impl RowSink for Checked {
    fn currency(&mut self, n: usize, row: Result<CurrencyInput, String>) {
        match checked(row, CurrencyInput::validate) {
            Ok(c) if !self.seen.insert(("currencies", c.code.clone())) => {
                let e = FieldError::pointer("/code", format!("{} appears twice", c.code));
                self.rejected.row("currencies", n, vec![e]);
            }
            Ok(c) => self.currencies.push(c),
            Err(es) => self.rejected.row("currencies", n, es),
        }
        self.step();
    }

    fn country(&mut self, n: usize, row: Result<CountryInput, String>) {
        match checked(row, CountryInput::validate) {
            Ok(c) if !self.seen.insert(("countries", c.alpha2.clone())) => {
                let e = FieldError::pointer("/alpha2", format!("{} appears twice", c.alpha2));
                self.rejected.row("countries", n, vec![e]);
            }
            Ok(c) => self.countries.push(c),
            Err(es) => self.rejected.row("countries", n, es),
        }
        self.step();
    }
}

/// Rejected rows: all counted, the first `max_errors` field errors kept for the
/// job (a job of 10 000 bad rows would otherwise store and serve every error).
#[derive(Debug)]
pub(super) struct Rejections {
    pub(super) listed: Vec<RowError>,
    pub(super) rows: usize,
    fields: usize,
    max: usize,
}

impl Rejections {
    pub(super) fn new(max: usize) -> Self {
        Self {
            listed: Vec::new(),
            rows: 0,
            fields: 0,
            max,
        }
    }

    /// A row's field errors (none: the row is fine).
    fn row(&mut self, kind: &str, row: usize, errors: Vec<FieldError>) {
        if errors.is_empty() {
            return;
        }
        self.rows += 1;
        self.fields += errors.len();
        let room = self.max.saturating_sub(self.listed.len());
        let kept = errors.into_iter().take(room);
        self.listed
            .extend(kept.map(|e| RowError::new(kind, row, e)));
    }

    pub(super) fn from_list(mut errors: Vec<RowError>, max: usize) -> Self {
        let rows: BTreeSet<(&str, usize)> =
            errors.iter().map(|e| (e.kind.as_str(), e.row)).collect();
        let (rows, fields) = (rows.len(), errors.len());
        errors.truncate(max);
        Self {
            listed: errors,
            rows,
            fields,
            max,
        }
    }

    /// "3 rows rejected (5 field errors); …": rows, then the field errors in them.
    pub(super) fn message(&self) -> String {
        let plural =
            |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
        let listed = if self.listed.len() < self.fields {
            format!(
                "; the first {} are listed (`imports.max_errors`)",
                self.listed.len()
            )
        } else {
            String::new()
        };
        format!(
            "{} rejected ({}){listed}; nothing was written",
            plural(self.rows, "row", "rows"),
            plural(self.fields, "field error", "field errors"),
        )
    }
}

/// A row that decoded (or not), then validated: errors either way, as pointers
/// into the row.
fn checked<I, T>(
    input: Result<I, String>,
    validate: impl FnOnce(I) -> Result<T, Vec<FieldError>>,
) -> Result<T, Vec<FieldError>> {
    input
        .map_err(|e| vec![FieldError::pointer("", e)])
        .and_then(validate)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejections_count_rows_and_field_errors_and_list_at_most_max_errors() {
        let e = |d: &str| FieldError::pointer("/x", d);
        let mut r = Rejections::new(3);
        r.row("countries", 1, vec![e("a"), e("b")]);
        r.row("countries", 2, vec![]);
        r.row("countries", 3, vec![e("c"), e("d"), e("e")]);
        assert_eq!((r.rows, r.fields, r.listed.len()), (2, 5, 3));
        assert_eq!(
            r.message(),
            "2 rows rejected (5 field errors); the first 3 are listed (`imports.max_errors`); nothing was written"
        );
        let one = Rejections::from_list(vec![RowError::new("currencies", 4, e("f"))], 3);
        assert_eq!(
            one.message(),
            "1 row rejected (1 field error); nothing was written"
        );
    }
}

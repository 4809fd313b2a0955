//! Where a request is wrong, and what is wrong there: the entries of a problem's
//! `errors` array, and the per-row errors of an import.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// What part of the request an error is about.
///
/// The member names follow JSON:API's `source` object: `pointer` for the body,
/// `parameter` for the query string and path, `header` for headers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Location {
    /// An RFC 6901 JSON pointer into the body: `/countries/1/alpha2`; `""` is the
    /// whole body.
    Pointer(String),
    /// A query or path parameter, by name: `limit`.
    Parameter(String),
    /// A request header, by name: `content-type`.
    Header(String),
}

/// One thing wrong with a request: where, and what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FieldError {
    /// Where: exactly one of `pointer`, `parameter` or `header`.
    #[serde(flatten)]
    pub at: Location,
    /// What is wrong.
    pub detail: String,
}

impl FieldError {
    /// An error at a JSON pointer into the body.
    pub fn pointer(pointer: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            at: Location::Pointer(pointer.into()),
            detail: detail.into(),
        }
    }

    /// An error in a query or path parameter.
    pub fn parameter(name: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            at: Location::Parameter(name.into()),
            detail: detail.into(),
        }
    }

    /// An error in a request header.
    pub fn header(name: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            at: Location::Header(name.into()),
            detail: detail.into(),
        }
    }

    /// The same error one level down: `/alpha2` under `/countries/1` is
    /// `/countries/1/alpha2`. Parameters and headers stay as they are.
    pub fn under(self, prefix: &str) -> Self {
        match self.at {
            Location::Pointer(p) => Self::pointer(format!("{prefix}{p}"), self.detail),
            _ => self,
        }
    }
}

/// Collects every rule a request breaks, so all are reported at once.
///
/// Each check returns `Some(value)` when it passes and records an error otherwise:
/// a `None` always comes with an error, so [`Violations::finish`] succeeding means
/// every value is `Some`.
#[derive(Debug, Default)]
pub struct Violations(Vec<FieldError>);

impl Violations {
    /// Record `checked`'s error at the body pointer `pointer`.
    pub fn pointer<T>(&mut self, pointer: &str, checked: Result<T, String>) -> Option<T> {
        checked
            .map_err(|e| self.0.push(FieldError::pointer(pointer, e)))
            .ok()
    }

    /// Record `checked`'s error at the parameter `name`.
    pub fn parameter<T>(&mut self, name: &str, checked: Result<T, String>) -> Option<T> {
        checked
            .map_err(|e| self.0.push(FieldError::parameter(name, e)))
            .ok()
    }

    /// A parameter that must be present.
    pub fn required<T>(&mut self, name: &str, value: Option<T>) -> Option<T> {
        if value.is_none() {
            self.0.push(FieldError::parameter(name, "required"));
        }
        value
    }

    /// Record an error.
    pub fn push(&mut self, e: FieldError) {
        self.0.push(e);
    }

    /// `Ok` when nothing was recorded.
    ///
    /// # Errors
    /// Everything recorded.
    pub fn finish(self) -> Result<(), Vec<FieldError>> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(self.0)
        }
    }

    /// The value `build` makes from the checked values (`?` on each), or every
    /// error recorded.
    ///
    /// # Errors
    /// Everything recorded.
    ///
    /// # Panics
    /// If `build` finds a `None` although nothing was recorded: a check that failed
    /// without saying why, which is a bug in the caller.
    pub fn done<T>(self, build: impl FnOnce() -> Option<T>) -> Result<T, Vec<FieldError>> {
        self.finish()?;
        Ok(build().expect("a failed check without an error"))
    }
}

/// One failed row of an import.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RowError {
    /// `countries` or `currencies`.
    pub kind: String,
    /// Row number within its kind, from 1 (CSV: the line after the header).
    pub row: usize,
    /// The field within the row, as an RFC 6901 pointer (`/alpha2`); `""` for the
    /// whole row.
    pub pointer: String,
    /// What is wrong.
    pub detail: String,
}

impl RowError {
    /// A row error from a field error of that row's body.
    pub fn new(kind: &str, row: usize, e: FieldError) -> Self {
        let (Location::Pointer(pointer) | Location::Parameter(pointer) | Location::Header(pointer)) =
            e.at;
        Self {
            kind: kind.into(),
            row,
            pointer,
            detail: e.detail,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_errors_serialize_with_one_location_member() {
        let cases = [
            (
                FieldError::pointer("/countries/1/alpha2", "bad"),
                r#"{"pointer":"/countries/1/alpha2","detail":"bad"}"#,
            ),
            (
                FieldError::parameter("limit", "bad"),
                r#"{"parameter":"limit","detail":"bad"}"#,
            ),
            (
                FieldError::header("content-type", "bad"),
                r#"{"header":"content-type","detail":"bad"}"#,
            ),
        ];
        for (e, want) in cases {
            assert_eq!(serde_json::to_string(&e).unwrap(), want, "case {want}");
        }
    }

    #[test]
    fn nested_pointers_keep_their_prefix() {
        let e = FieldError::pointer("/alpha2", "bad").under("/countries/1");
        assert_eq!(e.at, Location::Pointer("/countries/1/alpha2".into()));
        let p = FieldError::parameter("limit", "bad").under("/x");
        assert_eq!(p.at, Location::Parameter("limit".into()));
    }

    #[test]
    fn violations_report_every_failed_check() {
        let mut v = Violations::default();
        assert_eq!(v.pointer("/a", Ok::<_, String>(1)), Some(1));
        assert_eq!(v.pointer::<u8>("/b", Err("no".into())), None);
        assert_eq!(v.required::<u8>("c", None), None);
        let errors = v.done(|| Some(())).unwrap_err();
        assert_eq!(
            errors,
            vec![
                FieldError::pointer("/b", "no"),
                FieldError::parameter("c", "required")
            ]
        );
    }
}

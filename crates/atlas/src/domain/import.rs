//! Bulk imports: the request body and the job a caller polls.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::country::CountryInput;
use super::currency::CurrencyInput;
use super::RowError;

/// What a URL or CSV import holds.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ImportKind {
    /// Country rows.
    Countries,
    /// Currency rows.
    Currencies,
}

impl ImportKind {
    /// `countries` or `currencies`.
    pub fn as_str(self) -> &'static str {
        match self {
            ImportKind::Countries => "countries",
            ImportKind::Currencies => "currencies",
        }
    }
}

/// The JSON body of `POST /imports`: rows inline, or a URL to fetch them from.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportRequest {
    /// Currencies to create or replace (applied before countries).
    #[serde(default)]
    pub currencies: Option<Vec<CurrencyInput>>,
    /// Countries to create or replace.
    #[serde(default)]
    pub countries: Option<Vec<CountryInput>>,
    /// Fetch the rows from this URL instead (host must be in `imports.allowed_hosts`):
    /// JSON in this same shape, or CSV with `kind`.
    #[serde(default)]
    pub url: Option<String>,
    /// What a CSV at `url` holds.
    #[serde(default)]
    pub kind: Option<ImportKind>,
}

/// An import job, as `GET /imports/{id}` shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ImportJob {
    /// Job id.
    pub id: String,
    /// `countries`, `currencies` or `mixed`.
    pub kind: String,
    /// `body`, `csv`, or the URL.
    pub source: String,
    /// `queued`, `running`, `succeeded`, `failed`, `cancelled` or `interrupted`.
    pub status: String,
    /// Rows in the import (known once parsed).
    pub total_rows: i64,
    /// Rows validated or written so far.
    pub processed_rows: i64,
    /// Every failed row; empty unless `failed`.
    pub errors: Vec<RowError>,
    /// A summary, or why the job failed as a whole.
    pub message: Option<String>,
    /// When it was accepted, RFC 3339.
    pub created_at: String,
    /// Last change, RFC 3339.
    pub updated_at: String,
}

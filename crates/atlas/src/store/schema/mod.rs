//! The schema: the migrations a binary knows, their kinds, and where the database
//! stands (docs/schema-changes.md).
//!
//! - this module: [`Kind`] and the [`Catalog`] of migrations, embedded in the
//!   binary at build time, that builds the sqlx migrator.
//! - `status`: [`SchemaStatus`], the compatibility window readiness holds to.
//! - `ledger`: the kinds as the database remembers them, so a binary older than
//!   a migration can tell whether that migration is one it may serve.

mod ledger;
mod status;

use sqlx::migrate::{MigrateError, Migration, MigrationType, Migrator};

pub use ledger::record_kinds;
pub use status::{Blocker, SchemaStatus, Window};

include!(concat!(env!("OUT_DIR"), "/migrations.rs"));

/// What a migration does to the binaries that do not know it yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Only adds (tables, nullable columns, rows, indexes): a binary built before
    /// it keeps serving, so readiness holds across it.
    Expand,
    /// Removes or changes what an older binary reads or writes: every binary built
    /// before it must be gone first, and turns unready if it is not.
    Contract,
}

impl Kind {
    /// The word in the SQL file's `-- kind:` line and in the ledger.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Expand => "expand",
            Kind::Contract => "contract",
        }
    }

    /// The kind a word names, if any.
    pub fn parse(word: &str) -> Option<Self> {
        match word {
            "expand" => Some(Kind::Expand),
            "contract" => Some(Kind::Contract),
            _ => None,
        }
    }
}

/// A migration from outside the embedded set: the next release's, played by a
/// test against this binary's code (see [`Catalog::with`]).
#[derive(Debug, Clone)]
pub struct ExtraMigration {
    /// Its version, above every embedded one.
    pub version: i64,
    /// What it does, in a few words.
    pub description: String,
    /// Expand or contract.
    pub kind: Kind,
    /// The SQL that applies it.
    pub up: String,
    /// The SQL that reverts it.
    pub down: String,
}

/// The migrations a binary knows: the embedded ones, plus any added with
/// [`Catalog::with`]. A release is its catalog; the service only ever uses
/// [`Catalog::embedded`].
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    extra: Vec<ExtraMigration>,
}

impl Catalog {
    /// The migrations built into this binary.
    pub fn embedded() -> Self {
        Self::default()
    }

    /// This catalog and one more migration: how a test plays the next release
    /// in-process, on both backends, without building a second binary. A
    /// rehearsal binary gets extra migrations at build time instead
    /// (`ATLAS_EXTRA_MIGRATIONS`, see `build.rs`).
    #[must_use]
    pub fn with(mut self, migration: ExtraMigration) -> Self {
        self.extra.push(migration);
        self
    }

    /// Every version with its kind, oldest first, without inflating anything.
    pub fn kinds(&self) -> Vec<(i64, Kind)> {
        let embedded = MIGRATIONS_GZ
            .iter()
            .filter_map(|(name, kind, _)| Some((name.split_once('_')?.0.parse().ok()?, (*kind)?)));
        let extra = self.extra.iter().map(|m| (m.version, m.kind));
        let mut kinds: Vec<_> = embedded.chain(extra).collect();
        kinds.sort_unstable_by_key(|(v, _)| *v);
        kinds
    }

    /// The newest version this catalog knows.
    pub fn latest(&self) -> Option<i64> {
        self.kinds().last().map(|(v, _)| *v)
    }

    /// The sqlx migrator over this catalog. The SQL is portable: the same files
    /// run on PostgreSQL and SQLite.
    ///
    /// # Errors
    /// Never for a binary that built: the embedded files are valid gzip and UTF-8.
    pub async fn migrator(&self) -> Result<Migrator, MigrateError> {
        Migrator::new(Source(self.extra.clone())).await
    }
}

/// The embedded migrations, inflated only while migrating (the places seed is
/// 5 MB of SQL; a pod should not carry it in memory), and the extra ones.
#[derive(Debug)]
struct Source(Vec<ExtraMigration>);

impl<'s> sqlx::migrate::MigrationSource<'s> for Source {
    fn resolve(
        self,
    ) -> futures_util::future::BoxFuture<'s, Result<Vec<Migration>, sqlx::error::BoxDynError>> {
        Box::pin(async move {
            let mut migrations = Vec::new();
            for (name, _, gz) in MIGRATIONS_GZ {
                migrations.push(inflate(name, gz)?);
            }
            for m in self.0 {
                let description = std::borrow::Cow::from(m.description);
                for (kind, sql) in [
                    (MigrationType::ReversibleUp, m.up),
                    (MigrationType::ReversibleDown, m.down),
                ] {
                    let d = description.clone();
                    migrations.push(Migration::new(m.version, d, kind, sql.into(), false));
                }
            }
            migrations.sort_by_key(|m| m.version);
            Ok(migrations)
        })
    }
}

/// One embedded file as an sqlx migration.
fn inflate(name: &str, gz: &[u8]) -> Result<Migration, sqlx::error::BoxDynError> {
    use std::io::Read;
    let bad = || format!("unexpected migration file name {name:?}");
    let (version, rest) = name.split_once('_').ok_or_else(bad)?;
    let (description, kind) = if let Some(d) = rest.strip_suffix(".up.sql") {
        (d, MigrationType::ReversibleUp)
    } else if let Some(d) = rest.strip_suffix(".down.sql") {
        (d, MigrationType::ReversibleDown)
    } else {
        return Err(bad().into());
    };
    let mut sql = String::new();
    flate2::read::GzDecoder::new(gz).read_to_string(&mut sql)?;
    let version: i64 = version.parse()?;
    let description = description.replace('_', " ").into();
    Ok(Migration::new(
        version,
        description,
        kind,
        sql.into(),
        false,
    ))
}

/// The newest migration version this binary knows, without inflating anything.
pub fn expected_version() -> Option<i64> {
    Catalog::embedded().latest()
}

/// How many (up) migrations this binary ships.
pub fn migration_count() -> usize {
    Catalog::embedded().kinds().len()
}

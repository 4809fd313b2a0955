//! The compatibility window (docs/schema-changes.md): a binary serves a schema
//! when every migration it knows is applied and every applied migration it does
//! not know is an expand one. Readiness holds exactly while that is true.

use std::collections::BTreeMap;

use super::{Catalog, Kind};

/// The first applied migration, newer than a binary, that keeps it from serving.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Blocker {
    /// Its version.
    pub version: i64,
    /// Its recorded kind: a contract, or `None` when nothing recorded one.
    pub kind: Option<Kind>,
}

/// Where the schema stands, for one binary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SchemaStatus {
    /// Highest applied version.
    pub applied: Option<i64>,
    /// Highest version this binary knows.
    pub expected: Option<i64>,
    /// A migration that failed half-way.
    pub dirty: Option<i64>,
    /// The oldest migration this binary knows that is not applied.
    pub pending: Option<i64>,
    /// Applied past what this binary knows, and not an expand migration.
    pub blocker: Option<Blocker>,
}

impl SchemaStatus {
    /// The status of `applied` (version, succeeded; oldest first) with the
    /// recorded `kinds`, for a binary that knows `catalog`.
    pub fn assess(catalog: &Catalog, applied: &[(i64, bool)], kinds: &BTreeMap<i64, Kind>) -> Self {
        let done = |v: i64| applied.contains(&(v, true));
        let expected = catalog.latest();
        let blocker = applied
            .iter()
            .filter(|(v, ok)| *ok && expected.is_some_and(|e| *v > e))
            .map(|(v, _)| Blocker {
                version: *v,
                kind: kinds.get(v).copied(),
            })
            .find(|b| b.kind != Some(Kind::Expand));
        Self {
            applied: applied.iter().filter(|(_, ok)| *ok).map(|(v, _)| *v).max(),
            expected,
            dirty: applied.iter().find(|(_, ok)| !ok).map(|(v, _)| *v),
            pending: catalog
                .kinds()
                .into_iter()
                .map(|(v, _)| v)
                .find(|v| !done(*v)),
            blocker,
        }
    }

    /// Whether the database is ahead of this binary, within its window.
    pub fn is_newer_and_compatible(&self) -> bool {
        self.verdict().is_ok() && self.applied > self.expected
    }

    /// `Ok` when this binary can serve the schema: inside its window.
    ///
    /// # Errors
    /// What is wrong and what to run.
    pub fn verdict(&self) -> Result<(), String> {
        if let Some(v) = self.dirty {
            return Err(format!(
                "migration {v} failed part-way; fix it and run `atlas migrate up`"
            ));
        }
        let show = |v: Option<i64>| v.map_or("none".to_string(), |v| v.to_string());
        if let Some(b) = self.blocker {
            let why = match b.kind {
                Some(k) => format!("is a {} migration", k.as_str()),
                None => "has no recorded kind".to_string(),
            };
            return Err(format!(
                "schema version {} is newer than this binary knows ({}) and migration {} {why}, \
                 which binaries built before it cannot serve; roll forward the binary or \
                 `atlas migrate down` with the newer one",
                show(self.applied),
                show(self.expected),
                b.version
            ));
        }
        if self.pending.is_some() {
            return Err(format!(
                "schema version {} is behind this binary ({}); run `atlas migrate up`",
                show(self.applied),
                show(self.expected)
            ));
        }
        Ok(())
    }
}

/// Which binaries can serve a database: those whose newest known version lies in
/// `oldest..=newest`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// The newest contract (or unrecorded) migration applied, else the first one.
    pub oldest: i64,
    /// The newest migration applied.
    pub newest: i64,
}

impl Window {
    /// The window of the applied versions (oldest first) with their kinds, or
    /// `None` with nothing applied.
    pub fn of(applied: &[(i64, Option<Kind>)]) -> Option<Self> {
        let newest = applied.last()?.0;
        let first = applied.first()?.0;
        let last_contract = applied
            .iter()
            .filter(|(_, k)| *k != Some(Kind::Expand))
            .map(|(v, _)| *v)
            .max();
        Some(Window {
            oldest: last_contract.map_or(first, |c| c.max(first)),
            newest,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::schema::ExtraMigration;

    fn next(version: i64, kind: Kind) -> ExtraMigration {
        ExtraMigration {
            version,
            description: "next".into(),
            kind,
            up: String::new(),
            down: String::new(),
        }
    }

    /// The binary's own schema version (its newest embedded migration).
    fn own() -> i64 {
        super::super::migration_count() as i64
    }

    /// Versions 1..=n applied, with `kinds` recorded for those past the binary's.
    fn status(n: i64, kinds: &[(i64, Kind)]) -> SchemaStatus {
        let applied: Vec<_> = (1..=n).map(|v| (v, true)).collect();
        let kinds = kinds.iter().copied().collect();
        SchemaStatus::assess(&Catalog::embedded(), &applied, &kinds)
    }

    #[test]
    fn the_window_rule_case_by_case() {
        use Kind::{Contract, Expand};
        let b = own();
        let behind = format!("behind this binary ({b}); run `atlas migrate up`");
        let second = format!("migration {}", b + 2);
        let cases: &[(&str, SchemaStatus, Result<(), &str>)] = &[
            ("exactly the binary's schema", status(b, &[]), Ok(())),
            (
                "one expand newer",
                status(b + 1, &[(b + 1, Expand)]),
                Ok(()),
            ),
            (
                "two expands newer",
                status(b + 2, &[(b + 1, Expand), (b + 2, Expand)]),
                Ok(()),
            ),
            (
                "a contract newer",
                status(b + 1, &[(b + 1, Contract)]),
                Err("is a contract migration"),
            ),
            (
                "expand then contract",
                status(b + 2, &[(b + 1, Expand), (b + 2, Contract)]),
                Err(&second),
            ),
            (
                "newer, kind unrecorded",
                status(b + 1, &[]),
                Err("has no recorded kind"),
            ),
            ("behind", status(b - 1, &[]), Err(&behind)),
            (
                "empty",
                status(0, &[]),
                Err("schema version none is behind"),
            ),
        ];
        for (name, status, want) in cases {
            match (status.verdict(), want) {
                (Ok(()), Ok(())) => {}
                (Err(e), Err(w)) => assert!(e.contains(w), "{name}: {e}"),
                (got, _) => panic!("{name}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn a_failed_migration_is_reported_before_anything_else() {
        let b = own();
        let mut applied: Vec<_> = (1..b).map(|v| (v, true)).collect();
        applied.push((b, false));
        let s = SchemaStatus::assess(&Catalog::embedded(), &applied, &BTreeMap::new());
        assert!(s
            .verdict()
            .unwrap_err()
            .contains(&format!("migration {b} failed part-way")));
    }

    #[test]
    fn the_next_release_sees_its_own_migration_as_pending_then_current() {
        let b = own();
        let catalog = Catalog::embedded().with(next(b + 1, Kind::Contract));
        let current: Vec<_> = (1..=b).map(|v| (v, true)).collect();
        let s = SchemaStatus::assess(&catalog, &current, &BTreeMap::new());
        assert_eq!((s.pending, s.expected), (Some(b + 1), Some(b + 1)));
        let next_applied: Vec<_> = (1..=b + 1).map(|v| (v, true)).collect();
        let s = SchemaStatus::assess(&catalog, &next_applied, &BTreeMap::new());
        assert_eq!(s.verdict(), Ok(()));
        assert!(!s.is_newer_and_compatible());
    }

    #[test]
    fn the_window_starts_at_the_newest_contract() {
        use Kind::{Contract, Expand};
        let w = |a: &[(i64, Option<Kind>)]| Window::of(a).map(|w| (w.oldest, w.newest));
        assert_eq!(w(&[]), None);
        assert_eq!(w(&[(1, Some(Expand)), (2, Some(Expand))]), Some((1, 2)));
        assert_eq!(
            w(&[(1, Some(Expand)), (2, Some(Contract)), (3, Some(Expand))]),
            Some((2, 3))
        );
        assert_eq!(
            w(&[(1, Some(Expand)), (2, None), (3, Some(Expand))]),
            Some((2, 3))
        );
    }
}

//! `bench/pgbench/*.sql` hold the statements atlas runs, for `pgbench` to measure
//! the database's own limit. These tests fail when a file and the Rust constant
//! drift apart.

use super::countries;

/// A pgbench script read back as the statement atlas sends: comments dropped,
/// its `-- params: a b …` line naming `$1`, `$2`, … in order, `NULLIF(:a, '-')`
/// (how the script passes a NULL) and `:a` read as `$1`, whitespace normalised.
fn as_statement(script: &str) -> String {
    let params: Vec<&str> = script
        .lines()
        .find_map(|l| l.strip_prefix("-- params:"))
        .map(|p| p.split_whitespace().collect())
        .unwrap_or_default();
    let mut sql: String = script
        .lines()
        .filter(|l| !l.trim_start().starts_with("--"))
        .collect::<Vec<_>>()
        .join("\n");
    for (i, name) in params.iter().enumerate() {
        let n = format!("${}", i + 1);
        sql = sql.replace(&format!("NULLIF(:{name}, '-')"), &n);
        sql = sql.replace(&format!(":{name}"), &n);
    }
    normalise(sql.trim().trim_end_matches(';'))
}

/// One space between tokens, none just inside parentheses.
fn normalise(sql: &str) -> String {
    sql.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace("( ", "(")
        .replace(" )", ")")
}

#[test]
fn pgbench_get_country_is_the_statement_atlas_runs() {
    let script = include_str!("../../../../bench/pgbench/get_country.sql");
    assert_eq!(as_statement(script), normalise(countries::BY_ALPHA2));
}

#[test]
fn pgbench_all_countries_is_the_statement_atlas_runs() {
    let script = include_str!("../../../../bench/pgbench/all_countries.sql");
    assert_eq!(as_statement(script), normalise(countries::ALL));
}

#[test]
fn as_statement_reads_params_and_nulls_and_catches_a_changed_statement() {
    let script = "-- params: a b\nSELECT x FROM t\n WHERE (NULLIF(:a, '-') IS NULL OR y = :b);\n";
    assert_eq!(
        as_statement(script),
        "SELECT x FROM t WHERE ($1 IS NULL OR y = $2)"
    );
    assert_ne!(
        as_statement(script),
        normalise("SELECT x FROM t WHERE ($1 IS NULL OR y = $1)"),
        "a different placeholder is a drift"
    );
}

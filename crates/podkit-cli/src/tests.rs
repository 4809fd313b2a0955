//! The option matrix rendered in memory, and the writer on a temp directory.

use std::path::PathBuf;

use crate::{render_tree, Db, GenerateError, Options, PodkitSource, ServiceName};

fn opts(db: Db, workers: bool) -> Options {
    Options {
        name: ServiceName::parse("order-api").unwrap(),
        db,
        workers,
        podkit: PodkitSource::Path(PathBuf::from("/src/podkit/crates/podkit")),
    }
}

fn matrix() -> Vec<Options> {
    let mut all = Vec::new();
    for db in [Db::Postgres, Db::None] {
        for workers in [true, false] {
            all.push(opts(db, workers));
        }
    }
    all
}

fn file<'a>(files: &'a [crate::generate::File], path: &str) -> Option<&'a str> {
    files
        .iter()
        .find(|f| f.path == path)
        .map(|f| f.text.as_str())
}

#[test]
fn every_option_combination_renders_with_no_placeholder_left() {
    for o in matrix() {
        let files = render_tree(&o).unwrap_or_else(|e| panic!("{o:?}: {e}"));
        for f in &files {
            assert!(!f.text.contains("@@"), "{o:?}: `@@` left in {}", f.path);
            assert!(
                !f.path.contains("@@"),
                "{o:?}: `@@` left in the path {}",
                f.path
            );
            assert!(!f.path.ends_with(".tmpl"), "{}", f.path);
        }
    }
}

#[test]
fn atlas_appears_nowhere_in_a_generated_tree() {
    for o in matrix() {
        for f in render_tree(&o).unwrap() {
            if f.path == "Cargo.lock" {
                continue; // the workspace's lock lists atlas; cargo prunes it on first build
            }
            let hit = f.text.to_ascii_lowercase().find("atlas");
            assert!(
                hit.is_none(),
                "{o:?}: `atlas` in {} at byte {hit:?}",
                f.path
            );
            assert!(!f.path.contains("atlas"), "{}", f.path);
        }
    }
}

#[test]
fn the_name_flows_into_crate_binary_env_prefix_and_metrics() {
    let files = render_tree(&opts(Db::Postgres, true)).unwrap();
    let cargo = file(&files, "Cargo.toml").unwrap();
    assert!(cargo.contains("name = \"order-api\""), "{cargo}");
    assert!(
        cargo.contains(r#"podkit = { path = "/src/podkit/crates/podkit" }"#),
        "{cargo}"
    );
    let main = file(&files, "src/main.rs").unwrap();
    assert!(main.contains("order_api::start") && main.contains("name = \"order-api\""));
    let config = file(&files, "src/config.rs").unwrap();
    assert!(config.contains("pub const ENV_PREFIX: &str = \"ORDER_API\";"));
    let routes = file(&files, "src/routes/mod.rs").unwrap();
    assert!(routes.contains("\"order_api_greetings_total\""));
}

#[test]
fn the_name_flows_into_image_chart_namespace_dashboard_and_alerts() {
    let files = render_tree(&opts(Db::None, false)).unwrap();
    let has = |path: &str, needle: &str| {
        let text = file(&files, path).unwrap_or_else(|| panic!("{path} missing"));
        assert!(text.contains(needle), "{path} lacks {needle:?}");
    };
    has("deploy/helm/order-api/Chart.yaml", "name: order-api");
    has(
        "deploy/helm/order-api/values.yaml",
        "repository: ghcr.io/example/order-api",
    );
    has(
        "deploy/kubernetes/base/kustomization.yaml",
        "namespace: order-api",
    );
    has(
        "deploy/kubernetes/base/kustomization.yaml",
        "ORDER_API_SHUTDOWN__TIMEOUT=25s",
    );
    has(
        "deploy/grafana/dashboards/order-api.json",
        "\"title\": \"order-api\"",
    );
    let rules = "deploy/prometheus/rules/order-api.rules.yaml";
    has(rules, "alert: OrderApiErrorBudgetBurnFast");
    has(rules, "RUNBOOK.md#orderapierrorbudgetburnfast");
    has("deploy/RUNBOOK.md", "## OrderApiErrorBudgetBurnFast");
    has("compose.yaml", "name: order-api");
    has("deploy/docker/Dockerfile", "/usr/local/bin/order-api");
    let helm_rules = file(&files, "deploy/helm/order-api/files/order-api.rules.yaml");
    assert_eq!(
        helm_rules,
        file(&files, rules),
        "the chart carries the same rules"
    );
}

#[test]
fn the_grace_period_covers_one_hook_timeout_per_shutdown_hook() {
    for (db, workers, grace) in [
        (Db::None, false, 45),
        (Db::Postgres, false, 45),
        (Db::Postgres, true, 50),
    ] {
        let files = render_tree(&opts(db, workers)).unwrap();
        let values = file(&files, "deploy/helm/order-api/values.yaml").unwrap();
        let line = format!("terminationGracePeriodSeconds: {grace}\n");
        assert!(values.contains(&line), "{db:?} workers={workers}: {grace}");
    }
}

#[test]
fn a_published_podkit_is_a_version_requirement() {
    let mut o = opts(Db::None, false);
    o.podkit = PodkitSource::Version("0.1.0".into());
    let files = render_tree(&o).unwrap();
    assert!(file(&files, "Cargo.toml")
        .unwrap()
        .contains("podkit = \"0.1.0\"\n"));
}

#[test]
fn database_and_worker_parts_come_only_with_their_option() {
    for o in matrix() {
        let files = render_tree(&o).unwrap();
        let db = o.db == Db::Postgres;
        assert_eq!(file(&files, "src/db.rs").is_some(), db, "{o:?}");
        assert_eq!(
            file(&files, "migrations/0001_items.sql").is_some(),
            db,
            "{o:?}"
        );
        assert_eq!(file(&files, "src/routes/items.rs").is_some(), db, "{o:?}");
        let job = "deploy/kubernetes/base/migrate-job.yaml";
        assert_eq!(file(&files, job).is_some(), db, "{o:?}");
        let helm_job = "deploy/helm/order-api/templates/migrate-job.yaml";
        assert_eq!(file(&files, helm_job).is_some(), db, "{o:?}");
        let compose = file(&files, "compose.yaml").unwrap();
        assert_eq!(compose.contains("postgres:"), db, "{o:?}");
        let netpol = file(&files, "deploy/kubernetes/base/networkpolicy.yaml").unwrap();
        assert_eq!(netpol.contains("5432"), db, "{o:?}");
        assert_eq!(
            file(&files, "src/routes/jobs.rs").is_some(),
            o.workers,
            "{o:?}"
        );
        let cargo = file(&files, "Cargo.toml").unwrap();
        assert_eq!(cargo.contains("sqlx"), db, "{o:?}");
        let startup = file(&files, "src/startup.rs").unwrap();
        assert_eq!(startup.contains("WorkerPool::build"), o.workers, "{o:?}");
        assert_eq!(startup.contains("db::migrate"), db, "{o:?}");
    }
}

fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("podkit-cli-{tag}-{}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    dir
}

#[test]
fn generate_writes_into_a_missing_or_empty_dir_and_refuses_a_non_empty_one() {
    let dir = temp_dir("gen");
    let files = crate::generate(&dir, &opts(Db::None, false)).unwrap();
    assert!(dir.join("Cargo.toml").is_file());
    assert_eq!(files.len(), walk_count(&dir));
    let again = crate::generate(&dir, &opts(Db::None, false));
    assert!(
        matches!(again, Err(GenerateError::NotEmpty(_))),
        "{again:?}"
    );
    let msg = again.unwrap_err().to_string();
    assert!(msg.contains("not empty"), "{msg}");
    std::fs::remove_dir_all(&dir).unwrap();
    std::fs::create_dir_all(&dir).unwrap();
    crate::generate(&dir, &opts(Db::None, false)).expect("an empty dir is fine");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.join("deploy/check.sh"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o111, 0o111, "scripts are executable");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

fn walk_count(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| if p.is_dir() { walk_count(&p) } else { 1 })
        .sum()
}

//! Fail fast on bad config: exit 2 within a second, one line naming key, source, reason.

use std::time::Duration;

use crate::helpers::{base_env, run, TempDir};

fn assert_config_error(extra: &[(&str, &str)], args: &[&str], needles: &[&str]) {
    let mut env = base_env();
    for (k, v) in extra {
        env.insert(k.to_string(), v.to_string());
    }
    let (status, stdout, stderr, took) = run(args, &env);
    let case = format!("{extra:?} {args:?}");
    assert_eq!(status.code(), Some(2), "case {case}: {stderr}");
    assert!(took < Duration::from_secs(1), "case {case}: took {took:?}");
    assert!(
        stdout.is_empty(),
        "case {case}: nothing is served or logged first: {stdout}"
    );
    assert_eq!(
        stderr.trim().lines().count(),
        1,
        "case {case}: one line: {stderr}"
    );
    for n in needles {
        assert!(stderr.contains(n), "case {case}: {stderr:?} lacks {n:?}");
    }
}

#[test]
fn bad_port_values_exit_2_naming_key_and_source() {
    assert_config_error(
        &[("PORT", "abc")],
        &[],
        &["server.port", "environment variable `PORT`"],
    );
    assert_config_error(
        &[("PORT", "70000")],
        &[],
        &["server.port", "`PORT`", "expected u16"],
    );
    assert_config_error(
        &[],
        &["--port", "70000"],
        &["server.port", "command-line flag `--port`"],
    );
}

#[test]
fn bad_duration_exits_2_naming_the_variable() {
    assert_config_error(
        &[("ATLAS_SHUTDOWN__DRAIN_DELAY", "soon")],
        &[],
        &[
            "shutdown.drain_delay",
            "ATLAS_SHUTDOWN__DRAIN_DELAY",
            "invalid duration",
        ],
    );
}

#[test]
fn unreadable_or_unknown_keys_in_file_exit_2() {
    assert_config_error(
        &[("CONFIG_FILE", "/nonexistent/atlas.yaml")],
        &[],
        &["/nonexistent/atlas.yaml"],
    );
    let dir = TempDir::new();
    let file = dir.0.join("atlas.yaml");
    std::fs::write(&file, "server:\n  port: 9000\n  colour: blue\n").unwrap();
    let path = file.to_str().unwrap();
    assert_config_error(
        &[],
        &["--config", path],
        &["server.colour", path, "unknown field"],
    );
}

#[test]
fn config_prints_effective_yaml_with_layers_applied_and_secrets_hidden() {
    let dir = TempDir::new();
    let file = dir.0.join("atlas.yaml");
    std::fs::write(&file, "shutdown:\n  drain_delay: 2s\n  timeout: 10s\n").unwrap();
    let mut env = base_env();
    env.insert("ADMIN_TOKEN".into(), "s3cret-token".into());
    env.insert("ATLAS_SHUTDOWN__TIMEOUT".into(), "7s".into());
    env.insert("CONFIG_FILE".into(), file.to_str().unwrap().into());
    let (status, stdout, stderr, _) = run(&["config"], &env);
    assert!(status.success(), "{stderr}");
    let doc: serde_yaml::Value = serde_yaml::from_str(&stdout).unwrap();
    assert_eq!(doc["shutdown"]["drain_delay"], "2s", "file layer");
    assert_eq!(doc["shutdown"]["timeout"], "7s", "env beats file");
    assert_eq!(doc["admin"]["token"], "***");
    assert!(!stdout.contains("s3cret"), "{stdout}");
    assert_eq!(
        doc["otel"]["service_name"], "atlas",
        "the name traces go out under (#16)"
    );

    env.insert(
        "OTEL_RESOURCE_ATTRIBUTES".into(),
        "service.name=geo%20api".into(),
    );
    let (_, stdout, _, _) = run(&["config"], &env);
    let doc: serde_yaml::Value = serde_yaml::from_str(&stdout).unwrap();
    assert_eq!(
        doc["otel"]["service_name"], "geo api",
        "the attribute beats the build"
    );
}

#[test]
fn version_prints_release_commit_and_build_time() {
    let (status, stdout, _, _) = run(&["--version"], &base_env());
    assert!(status.success());
    for key in ["release: ", "commit: ", "buildTime: "] {
        assert!(stdout.contains(key), "{stdout}");
    }
    assert!(
        stdout.contains(env!("CARGO_PKG_VERSION")) || std::env::var("BUILD_RELEASE").is_ok(),
        "{stdout}"
    );
}

#[test]
fn bad_cache_control_values_exit_2_naming_the_key() {
    for (key, value, name) in [
        (
            "ATLAS_API__CACHE_CONTROL__COUNTRIES",
            "max-age 300",
            "api.cache_control.countries",
        ),
        (
            "ATLAS_API__CACHE_CONTROL__FLAGS",
            "public\u{1}, max-age=1",
            "api.cache_control.flags",
        ),
        (
            "ATLAS_API__CACHE_CONTROL__PLACES",
            "",
            "api.cache_control.places",
        ),
    ] {
        assert_config_error(&[(key, value)], &["config"], &[name, key]);
    }
}

//! The `podkit` binary: exit codes and messages a user sees.

use std::process::{Command, Output};

fn podkit(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_podkit"))
        .args(args)
        .output()
        .expect("the binary runs")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn an_invalid_name_exits_2_naming_the_argument_and_the_rule() {
    let out = podkit(&["new", "My_Svc"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("<NAME>") && err.contains("My_Svc"), "{err}");
    assert!(err.contains("must start with a lowercase letter"), "{err}");
}

#[test]
fn a_non_empty_target_dir_is_refused_and_left_alone() {
    let dir = std::env::temp_dir().join(format!("podkit-cli-busy-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("keep.txt"), "mine").unwrap();
    let out = podkit(&["new", "svc", "--dir", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("is not empty"), "{}", stderr(&out));
    let left: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
    assert_eq!(left.len(), 1, "nothing written");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_podkit_path_without_podkit_is_refused() {
    let out = podkit(&["new", "svc", "--podkit-path", "/nonexistent"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("no podkit crate in /nonexistent"),
        "{}",
        stderr(&out)
    );
}

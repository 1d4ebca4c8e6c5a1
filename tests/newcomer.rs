//! What a newcomer meets first: the README's two commands, the same test command in CI, and
//! `drpilot lab` (what `cargo run --release -- lab` runs) showing both nodes on a fresh lab.

mod support;

use support::bin;

fn readme_commands() -> Vec<String> {
    let readme = include_str!("../README.md");
    let block = readme
        .split("```sh\n")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .expect("a sh block in README.md");
    block
        .lines()
        .map(|l| l.split('#').next().unwrap_or_default().trim().to_string())
        .filter(|l| !l.is_empty())
        .collect()
}

#[test]
fn readme_opens_with_the_lab_and_the_test_command_and_ci_runs_the_same() {
    let cmds = readme_commands();
    assert_eq!(cmds, vec!["cargo run --release -- lab", "cargo test"]);
    let ci = include_str!("../.ci/run");
    assert!(
        ci.lines().any(|l| l.trim() == cmds[1]),
        ".ci/run must run `{}`",
        cmds[1]
    );
}

#[test]
fn lab_creates_a_fresh_lab_and_shows_both_nodes() {
    let d = tempfile::tempdir().unwrap();
    // `cargo run -- lab` runs `drpilot lab` in the working directory.
    let out = bin().arg("lab").current_dir(d.path()).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("== deb1 (production)") && text.contains("== deb2 (DRP)"),
        "{text}"
    );
    assert_eq!(text.matches("\nbusybox\noverall").count(), 2, "{text}");
    assert!(text.contains("svc busybox syncupdate --force"), "{text}");
    assert!(d.path().join("drpilot-lab/nodes.toml").exists());
    // Running it again reuses the lab.
    let again = bin().arg("lab").current_dir(d.path()).output().unwrap();
    assert!(again.status.success());
    let destroyed = bin()
        .args(["lab", "destroy"])
        .current_dir(d.path())
        .output()
        .unwrap();
    assert!(destroyed.status.success());
    assert!(!d.path().join("drpilot-lab").exists());
}

#[test]
fn lab_destroy_refuses_a_directory_that_is_not_a_lab() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("precious"), "data").unwrap();
    let out = bin()
        .args(["lab", "destroy"])
        .arg(d.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a drpilot lab"));
    assert!(d.path().join("precious").exists());
    let init = bin().args(["lab", "init"]).arg(d.path()).output().unwrap();
    assert!(
        !init.status.success(),
        "init must not take over a non-empty directory"
    );
}

#[test]
fn lab_dir_option_names_the_lab_that_destroy_removes() {
    let d = tempfile::tempdir().unwrap();
    let (here, there) = (d.path().join("drpilot-lab"), d.path().join("other"));
    for lab in [&here, &there] {
        let init = bin().args(["lab", "init"]).arg(lab).output().unwrap();
        assert!(init.status.success(), "{init:?}");
    }
    // `--dir` on `lab` names the lab its subcommand acts on: never the default one.
    let out = bin()
        .args(["lab", "--dir"])
        .arg(&there)
        .arg("destroy")
        .current_dir(d.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(!there.exists(), "the named lab is removed");
    assert!(here.exists(), "the default lab is untouched");
    // Two different directories are refused, nothing removed.
    let out = bin()
        .args(["lab", "--dir"])
        .arg(&there)
        .arg("destroy")
        .arg(&here)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("two lab directories"));
    assert!(here.exists());
    let _ = bin().args(["lab", "destroy"]).arg(&here).output();
}

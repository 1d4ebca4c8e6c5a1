//! The command line of an operations tool: shell completions, man pages, `--version` naming the
//! commit, `print status --exit-code` with Nagios codes, `--color`, empty XDG variables, and the
//! node map's path named when it is missing.

mod support;

use std::path::Path;
use std::process::Command;

use support::{bin, Run, TestLab};

fn run(cmd: &mut Command) -> Run {
    cmd.output().expect("run drpilot").into()
}

#[test]
fn completions_are_generated_for_every_shell() {
    for shell in ["bash", "zsh", "fish"] {
        let out = run(bin().args(["completions", shell])).expect_ok(shell);
        assert!(!out.stdout.trim().is_empty(), "{shell}: empty");
        for word in ["svc", "drp", "console", "startstandby"] {
            assert!(out.stdout.contains(word), "{shell} completions lack {word}");
        }
    }
    run(bin().args(["completions", "tcsh"])).expect_err("an unknown shell");
}

#[test]
fn a_man_page_per_command() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("man1");
    run(bin().arg("man").arg(&dir)).expect_ok("drpilot man");
    for page in [
        "drpilot",
        "drpilot-svc",
        "drpilot-svc-start",
        "drpilot-svc-print-status",
        "drpilot-drp",
        "drpilot-drp-rehearse",
        "drpilot-console",
        "drpilot-completions",
        "drpilot-lab-init",
    ] {
        let path = dir.join(format!("{page}.1"));
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(text.contains("\n.TH "), "{page}: no .TH header");
        check_with_man(&path, page);
    }
    // Help texts speak the operator's language: no word of the project's own making.
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap().to_lowercase();
        for word in ["seed", "the lead", "issue "] {
            assert!(!text.contains(word), "{} says {word:?}", path.display());
        }
    }
    // Node-to-node plumbing is hidden from the help, and from the manual.
    assert!(!dir.join("drpilot-peer.1").exists());
    assert!(!dir.join("drpilot-help.1").exists());
}

/// Renders the page with `man -l` when man is installed: it must parse and name the command.
fn check_with_man(path: &Path, page: &str) {
    if !support::on_path("man") {
        return;
    }
    let out: Run = Command::new("man")
        .args(["-P", "cat", "-l"])
        .arg(path)
        .env("MANWIDTH", "100")
        .output()
        .expect("run man")
        .into();
    let out = out.expect_ok(&format!("man -l {page}"));
    assert!(
        out.stdout.contains("NAME") && out.stdout.contains(page),
        "{page} rendered as:\n{}",
        out.stdout
    );
}

#[test]
fn version_names_the_git_commit() {
    let out = run(bin().arg("--version")).expect_ok("--version");
    let prefix = format!("drpilot {} (commit ", env!("CARGO_PKG_VERSION"));
    let line = out.stdout.trim();
    assert!(line.starts_with(&prefix) && line.ends_with(')'), "{line}");
    let commit = &line[prefix.len()..line.len() - 1];
    let git = |args: &[&str]| {
        Command::new("git")
            .args(["-C", env!("CARGO_MANIFEST_DIR")])
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    // The package's own checkout only (a tarball unpacked inside another repository is not).
    let top = git(&["rev-parse", "--show-toplevel"]).map(std::path::PathBuf::from);
    let ours = top.and_then(|t| t.canonicalize().ok())
        == Path::new(env!("CARGO_MANIFEST_DIR")).canonicalize().ok();
    let head = git(&["rev-parse", "--short", "HEAD"]).filter(|_| ours);
    match head {
        // Built from a checkout: its commit, maybe `-dirty`.
        Some(head) => assert!(
            commit == head || commit == format!("{head}-dirty"),
            "{commit} is not HEAD {head}"
        ),
        None => assert_eq!(commit, "unknown"),
    }
    // Every subcommand says the same.
    let sub = run(bin().args(["svc", "--version"])).expect_ok("svc --version");
    assert!(
        sub.stdout.contains(&format!("(commit {commit})")),
        "{}",
        sub.stdout
    );
}

fn code(lab: &TestLab, node: &str, svc: &str) -> Option<i32> {
    lab.node_cmd(node)
        .args(["svc", svc, "print", "status", "--exit-code"])
        .output()
        .expect("run drpilot")
        .status
        .code()
}

#[test]
fn print_status_exit_codes_follow_nagios() {
    let lab = TestLab::new();
    // Never started nor synced: down on production is critical.
    assert_eq!(code(&lab, "deb1", "busybox"), Some(2), "down on production");
    drop(lab);

    let lab = TestLab::replicated();
    assert_eq!(code(&lab, "deb1", "busybox"), Some(0), "up on production");
    // The DRP node does not run it, its replica is fresh: its normal state, ok.
    assert_eq!(
        code(&lab, "deb2", "busybox"),
        Some(0),
        "standby on the DRP node"
    );
    // The status is still printed.
    let out = run(lab
        .node_cmd("deb1")
        .args(["svc", "busybox", "print", "status", "--exit-code"]));
    assert!(out.stdout.starts_with("busybox\n"), "{}", out.stdout);

    lab.svc("deb1", &["stopapp"]).expect_ok("stopapp");
    assert_eq!(code(&lab, "deb1", "busybox"), Some(1), "partly up: warn");

    lab.svc("deb1", &["stop"]).expect_ok("stop");
    assert_eq!(
        code(&lab, "deb1", "busybox"),
        Some(2),
        "stopped on production"
    );

    // No config here, and a config that does not load: drpilot cannot tell.
    assert_eq!(code(&lab, "deb1", "nosuch"), Some(3), "not configured");
    let broken = lab.root("deb1").join("etc/drpilot/broken.env");
    std::fs::write(
        &broken,
        "[DEFAULT]\nnodes = deb1\n[fs#1]\ntype = nosuchtype\n",
    )
    .unwrap();
    assert_eq!(code(&lab, "deb1", "broken"), Some(3), "a broken config");
    // Several services: the worst verdict (down beats unknown).
    assert_eq!(
        code(&lab, "deb1", "busybox,broken"),
        Some(2),
        "worst of two"
    );
}

#[test]
fn an_explicit_color_flag_wins_over_no_color() {
    let lab = TestLab::new();
    let status = |extra: &[&str], no_color: bool| {
        let mut cmd = lab.node_cmd("deb1");
        if !no_color {
            cmd.env_remove("NO_COLOR");
        }
        cmd.args(["svc", "busybox", "print", "status"]).args(extra);
        run(&mut cmd).expect_ok("print status").stdout
    };
    // Into a pipe: plain by default, coloured when asked, even under NO_COLOR.
    assert!(!status(&[], false).contains('\x1b'));
    assert!(status(&["--color", "always"], false).contains("\x1b["));
    assert!(status(&["--color", "always"], true).contains("\x1b["));
    assert!(!status(&["--color", "never"], false).contains('\x1b'));
    // A global flag: before the command too.
    let out = run(lab
        .node_cmd("deb1")
        .args(["--color", "always", "svc", "busybox", "print", "status"]))
    .expect_ok("--color before svc");
    assert!(out.stdout.contains("\x1b["));
    run(lab
        .node_cmd("deb1")
        .args(["--color", "sometimes", "svc", "busybox", "print", "status"]))
    .expect_err("a bad --color");
}

#[test]
fn an_empty_xdg_config_home_is_unset_and_the_missing_map_is_named() {
    let home = tempfile::tempdir().unwrap();
    let default = home.path().join(".config/drpilot/nodes.toml");
    let missing = home.path().join("elsewhere.toml");
    let commands: [&[&str]; 2] = [&["console"], &["drp", "rehearse", "busybox", "--yes"]];
    for args in commands {
        let what = args.join(" ");
        let out = run(bin()
            .args(args)
            .env("HOME", home.path())
            .env("XDG_CONFIG_HOME", "")
            .env("XDG_STATE_HOME", ""))
        .expect_err(&what);
        assert!(
            out.stderr.contains(&default.display().to_string())
                && out.stderr.contains("does not exist"),
            "{what} should name {}:\n{}",
            default.display(),
            out.stderr
        );
        let out = run(bin()
            .args(args)
            .arg("--nodes")
            .arg(&missing)
            .env("HOME", home.path()))
        .expect_err(&what);
        assert!(
            out.stderr.contains(&format!(
                "--nodes {}: the file does not exist",
                missing.display()
            )),
            "{what} --nodes:\n{}",
            out.stderr
        );
    }
    // Nothing was written relative to the current directory.
    assert!(!Path::new("drpilot").exists());
}

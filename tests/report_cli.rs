//! `drpilot report` on hand-written journals, through the binary with a state directory of its
//! own: `--list` (every run, newest first, a garbage journal listed as unreadable), `latest`,
//! `--write` (reports and outputs beside the journal, signed with DRPILOT_SIGNING_KEY) and
//! `--verify` (the journal's chain and the signatures, failing after a one-byte change).

mod support;

use std::path::PathBuf;
use std::process::Command;

use drpilot::protocol::journal::{EntryKind, Record, GENESIS};
use serde_json::json;
use support::{bin, testbed_required, Run};

/// A state directory, a home and a config directory of their own: no key or map of the
/// machine running the tests is used.
struct Reports {
    tmp: tempfile::TempDir,
}

impl Reports {
    fn new() -> Self {
        let r = Self {
            tmp: tempfile::tempdir().unwrap(),
        };
        std::fs::create_dir_all(r.runs()).unwrap();
        std::fs::create_dir_all(r.tmp.path().join("home")).unwrap();
        r
    }

    fn runs(&self) -> PathBuf {
        self.tmp.path().join("state/drpilot/runs")
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = bin();
        c.args(args)
            .env("XDG_STATE_HOME", self.tmp.path().join("state"))
            .env("XDG_CONFIG_HOME", self.tmp.path().join("config"))
            .env("HOME", self.tmp.path().join("home"))
            .env_remove("SSH_AUTH_SOCK")
            .env_remove("DRPILOT_SIGNING_KEY");
        c
    }

    fn run(&self, args: &[&str]) -> Run {
        self.cmd(args).output().unwrap().into()
    }

    /// Writes the journal of run `run` of `svc` started at `ts` (a rehearsal refused at its
    /// first gate, or finished when `finished`).
    fn journal(&self, run: &str, svc: &str, ts: &str, finished: bool) -> PathBuf {
        let plan = ["preflight", "cut_access"];
        let mut lines = vec![
            (
                EntryKind::RunStarted,
                None,
                json!({"mode": "rehearsal", "service": svc, "production": "deb1",
                       "drp": "deb2", "operator": "alice", "plan": plan}),
            ),
            (
                EntryKind::StepDone,
                Some("preflight"),
                json!({"output_digest": "ab", "output": "both nodes read\n"}),
            ),
        ];
        lines.push(if finished {
            (
                EntryKind::RunFinished,
                None,
                json!({"final": {"production": null, "drp": null}}),
            )
        } else {
            (
                EntryKind::RunAborted,
                Some("cut_access"),
                json!({"reason": "refused at the gate"}),
            )
        });
        let mut prev = GENESIS.to_string();
        let mut text = String::new();
        for (seq, (kind, step, detail)) in lines.into_iter().enumerate() {
            let mut r = Record {
                seq: seq as u64,
                ts: ts.to_string(),
                run: run.to_string(),
                kind,
                step: step.map(str::to_string),
                detail,
                prev: prev.clone(),
                hash: String::new(),
            };
            r.hash = r.digest(&prev);
            prev = r.hash.clone();
            text.push_str(&serde_json::to_string(&r).unwrap());
            text.push('\n');
        }
        let path = self.runs().join(format!("{run}.jsonl"));
        std::fs::write(&path, text).unwrap();
        path
    }
}

/// Whether ssh-keygen runs here; without it the test fails under DRPILOT_REQUIRE_TESTBED=1 and
/// is skipped, saying why, otherwise.
fn ssh_keygen_ready(test: &str) -> bool {
    if support::on_path("ssh-keygen") {
        return true;
    }
    assert!(
        !testbed_required(),
        "DRPILOT_REQUIRE_TESTBED=1 but {test}: ssh-keygen is not installed (openssh-client)"
    );
    eprintln!("skipping {test}: ssh-keygen is not installed (openssh-client)");
    false
}

#[test]
fn report_list_shows_every_run_and_skips_a_garbage_journal() {
    let r = Reports::new();
    r.journal(
        "busybox-20261201T090000Z-0001",
        "busybox",
        "2026-12-01T09:00:00.000Z",
        true,
    );
    r.journal(
        "web-20261201T110000Z-0002",
        "web",
        "2026-12-01T11:00:00.000Z",
        false,
    );
    std::fs::write(r.runs().join("garbage.jsonl"), "not a record\nnor this\n").unwrap();
    let edited = r.journal(
        "db-20261201T100000Z-0003",
        "db",
        "2026-12-01T10:00:00.000Z",
        true,
    );
    let text = std::fs::read_to_string(&edited)
        .unwrap()
        .replace("alice", "mallory");
    std::fs::write(&edited, text).unwrap();

    let out = r.run(&["report", "--list"]).expect_ok("report --list");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 5, "{}", out.stdout);
    assert!(
        lines[0].starts_with("run "),
        "a header first: {}",
        out.stdout
    );
    for (line, words) in [
        (
            lines[1],
            [
                "web-20261201T110000Z-0002",
                "web",
                "rehearsal",
                "aborted",
                "2026-12-01T11:00:00.000Z",
                "alice",
            ],
        ),
        (
            lines[2],
            [
                "busybox-20261201T090000Z-0001",
                "busybox",
                "rehearsal",
                "succeeded",
                "2026-12-01T09:00:00.000Z",
                "alice",
            ],
        ),
    ] {
        for w in words {
            assert!(line.contains(w), "{w} not in {line:?}:\n{}", out.stdout);
        }
    }
    let unreadable: Vec<&&str> = lines.iter().filter(|l| l.contains("unreadable")).collect();
    assert_eq!(unreadable.len(), 2, "{}", out.stdout);
    assert!(
        out.stdout.contains("garbage.jsonl: unreadable:")
            && out.stdout.contains("not a journal record"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("db-20261201T100000Z-0003.jsonl: unreadable:")
            && out.stdout.contains("hash chain"),
        "{}",
        out.stdout
    );

    let out = r
        .run(&["report", "--list", "--format", "json"])
        .expect_ok("report --list json");
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let states: Vec<(&str, &str)> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["state"].as_str().unwrap(),
                l["run"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        states,
        [
            ("run", "web-20261201T110000Z-0002"),
            ("run", "busybox-20261201T090000Z-0001"),
            ("unreadable", ""),
            ("unreadable", ""),
        ]
    );
}

#[test]
fn report_latest_is_the_newest_run() {
    let r = Reports::new();
    // The newest by its start, not by its name.
    r.journal(
        "alpha-20261201T120000Z-0001",
        "alpha",
        "2026-12-01T12:00:00.000Z",
        true,
    );
    r.journal(
        "zulu-20261201T080000Z-0002",
        "zulu",
        "2026-12-01T08:00:00.000Z",
        true,
    );
    std::fs::write(r.runs().join("zzz.jsonl"), "garbage\ngarbage\n").unwrap();
    let out = r
        .run(&["report", "latest", "--format", "json"])
        .expect_ok("report latest");
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["run"], "alpha-20261201T120000Z-0001");
    let out = r.run(&["report", "latest"]).expect_ok("report latest md");
    assert!(
        out.stdout.contains("# DRP rehearsal of alpha"),
        "{}",
        out.stdout
    );

    let empty = Reports::new();
    let out = empty
        .run(&["report", "latest"])
        .expect_err("latest of no run");
    assert!(out.stderr.contains("no readable run in"), "{}", out.stderr);
}

#[test]
fn a_signed_report_verifies_and_fails_after_a_one_byte_change() {
    let test = "a_signed_report_verifies_and_fails_after_a_one_byte_change";
    if !ssh_keygen_ready(test) {
        return;
    }
    let r = Reports::new();
    let run = "busybox-20261201T090000Z-0001";
    let journal = r.journal(run, "busybox", "2026-12-01T09:00:00.000Z", false);
    let keys = r.tmp.path().join("keys");
    std::fs::create_dir_all(&keys).unwrap();
    let key = keys.join("id_ed25519");
    let st = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "auditor", "-f"])
        .arg(&key)
        .status()
        .unwrap();
    assert!(st.success());
    let public = std::fs::read_to_string(keys.join("id_ed25519.pub")).unwrap();
    let allowed = keys.join("allowed_signers");
    std::fs::write(
        &allowed,
        format!(
            "alice@example.org namespaces=\"drpilot-report\" {}",
            public.trim()
        ),
    )
    .unwrap();
    let allowed_arg = allowed.to_str().unwrap();

    // Unsigned reports verify their journal and say "unsigned".
    r.run(&["report", run, "--write"])
        .expect_ok("report --write without a key");
    let out = r
        .run(&["report", "--verify", run, "--allowed-signers", allowed_arg])
        .expect_ok("verify unsigned");
    assert!(
        out.stdout.contains(&format!("unsigned {run}.md signature")),
        "{}",
        out.stdout
    );

    let out = r
        .cmd(&["report", run, "--write"])
        .env("DRPILOT_SIGNING_KEY", &key)
        .output()
        .unwrap();
    let out: Run = out.into();
    let out = out.expect_ok("report --write");
    assert!(out.stdout.contains("signed with"), "{}", out.stdout);
    let md = r.runs().join(format!("{run}.md"));
    assert!(r.runs().join(format!("{run}.md.sig")).is_file());
    assert!(r.runs().join(format!("{run}.json.sig")).is_file());
    assert!(r
        .runs()
        .join(format!("{run}.outputs/01-preflight.txt"))
        .is_file());

    let out = r
        .run(&["report", "--verify", run, "--allowed-signers", allowed_arg])
        .expect_ok("verify signed");
    for check in [
        "journal hash chain",
        &format!("{run}.md signature"),
        &format!("{run}.json signature"),
    ] {
        assert!(
            out.stdout
                .lines()
                .any(|l| l.starts_with("ok") && l.contains(check)),
            "{check} not ok:\n{}",
            out.stdout
        );
    }
    assert!(
        out.stdout.contains("good signature by alice@example.org"),
        "{}",
        out.stdout
    );

    // The default allowed signers: $XDG_CONFIG_HOME/drpilot/allowed_signers.
    let config = r.tmp.path().join("config/drpilot");
    std::fs::create_dir_all(&config).unwrap();
    std::fs::copy(&allowed, config.join("allowed_signers")).unwrap();
    r.run(&["report", "--verify", run])
        .expect_ok("verify with the default allowed signers");

    // One byte changed in the Markdown.
    let mut bytes = std::fs::read(&md).unwrap();
    let at = bytes.iter().position(|&b| b == b'a').unwrap();
    bytes[at] = b'b';
    std::fs::write(&md, bytes).unwrap();
    let out = r
        .run(&["report", "--verify", run, "--allowed-signers", allowed_arg])
        .expect_err("verify after a one-byte change");
    assert!(
        out.stdout
            .lines()
            .any(|l| l.starts_with("FAILED") && l.contains(&format!("{run}.md signature"))),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .lines()
            .any(|l| l.starts_with("ok") && l.contains(&format!("{run}.json signature"))),
        "{}",
        out.stdout
    );

    // An edited journal fails its chain, and its JSON report no longer names its end.
    let text = std::fs::read_to_string(&journal)
        .unwrap()
        .replace("alice", "mallory");
    std::fs::write(&journal, text).unwrap();
    let out = r
        .run(&["report", "--verify", run, "--allowed-signers", allowed_arg])
        .expect_err("verify an edited journal");
    assert!(
        out.stdout
            .lines()
            .any(|l| l.starts_with("FAILED") && l.contains("journal hash chain")),
        "{}",
        out.stdout
    );
}

#[test]
fn report_names_a_bad_run_id() {
    let r = Reports::new();
    let out = r.run(&["report", "../etc/passwd"]).expect_err("bad run id");
    assert!(out.stderr.contains("invalid run id"), "{}", out.stderr);
    let out = r.run(&["report", "busybox-1"]).expect_err("no such run");
    assert!(out.stderr.contains("no run busybox-1 in"), "{}", out.stderr);
}

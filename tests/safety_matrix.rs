//! The fault matrix of docs/safety.md: for every way production (deb1) can answer a status
//! query — up, warn, down, standby up, standby down, n/a, no config, an error, garbage, silence past
//! the timeout, unreachable (lab root gone, or no ssh server) — the lab's DRP node (deb2) is
//! asked to `start`, `start --force`, `start --declared-lost deb1` and `startstandby`, and the
//! runbook is asked to declare a disaster; each decision is asserted against the table.
//!
//! Every answer is real: the lab's deb1 in that state, its config broken or gone, its root moved
//! away, or deb1 reached over a real sshd whose `bin` prints garbage or hangs.

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use support::sshd::TestSshd;
use support::{bin, Run, TestLab};

/// One way production answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answer {
    Up,
    Warn,
    Down,
    StdbyUp,
    StdbyDown,
    NotApplicable,
    NotConfigured,
    Error,
    Garbage,
    Silent,
    UnreachableRootGone,
    UnreachableNoSshd,
}

const ROWS: [Answer; 12] = [
    Answer::Up,
    Answer::Warn,
    Answer::Down,
    Answer::StdbyUp,
    Answer::StdbyDown,
    Answer::NotApplicable,
    Answer::NotConfigured,
    Answer::Error,
    Answer::Garbage,
    Answer::Silent,
    Answer::UnreachableRootGone,
    Answer::UnreachableNoSshd,
];

impl Answer {
    /// The table's "does the peer positively say the service does not run there?".
    fn says_not_running(self) -> bool {
        matches!(
            self,
            Answer::Down
                | Answer::StdbyUp
                | Answer::StdbyDown
                | Answer::NotApplicable
                | Answer::NotConfigured
        )
    }

    fn unreachable(self) -> bool {
        matches!(
            self,
            Answer::UnreachableRootGone | Answer::UnreachableNoSshd
        )
    }

    /// What deb2's log or refusal says about deb1 in this row.
    fn words(self) -> &'static str {
        match self {
            Answer::Up => "busybox is up on deb1",
            Answer::Warn => "busybox is warn on deb1",
            Answer::Down => "deb1 answered down",
            Answer::StdbyUp => "deb1 answered stdby up",
            Answer::StdbyDown => "deb1 answered stdby down",
            Answer::NotApplicable => "deb1 answered n/a",
            Answer::NotConfigured => "deb1 answered that it has no config",
            Answer::Error => "it answered an error",
            Answer::Garbage => "it answered garbage",
            Answer::Silent => "it did not answer within 2s",
            Answer::UnreachableRootGone | Answer::UnreachableNoSshd => "is unreachable",
        }
    }
}

/// The lab, an sshd that reaches deb1 with a misbehaving `bin`, and the two scripts.
struct Matrix {
    lab: TestLab,
    sshd: TestSshd,
    scripts: tempfile::TempDir,
    state: tempfile::TempDir,
    config: Vec<u8>,
}

fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    p
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

impl Matrix {
    fn svc(&self, node: &str, args: &[&str]) -> Run {
        self.lab.svc(node, args)
    }

    /// The node map deb2's agent and the runbook use in this row: deb2 local, deb1 as the row
    /// needs; status queries time out after 2 s.
    fn write_maps(&self, row: Answer) {
        let deb2 = format!("deb2 = \"local:{}\"\n", self.lab.root("deb2").display());
        let deb1 = match row {
            Answer::Garbage | Answer::Silent => {
                let bin = if row == Answer::Garbage {
                    script(self.scripts.path(), "garbage", "echo 'garbage from deb1'")
                } else {
                    script(self.scripts.path(), "hang", "exec sleep 600")
                };
                format!(
                    "deb1 = \"{}\"\n[options.deb1]\nbin = \"{}\"\nssh_config = \"{}\"\n",
                    self.sshd.address(),
                    bin.display(),
                    self.sshd.ssh_config().display()
                )
            }
            Answer::UnreachableNoSshd => format!(
                "deb1 = \"ssh://nobody@127.0.0.1:{}\"\n[options.deb1]\nssh_config = \"{}\"\n",
                free_port(),
                self.sshd.ssh_config().display()
            ),
            _ => format!("deb1 = \"local:{}\"\n", self.lab.root("deb1").display()),
        };
        // [options.deb1] must come after [nodes]; [timeouts] last.
        let (nodes_line, options) = deb1.split_once('\n').unwrap();
        let text = format!("[nodes]\n{nodes_line}\n{deb2}{options}[timeouts]\nstatus = 2\n");
        std::fs::write(self.lab.root("deb2").join("etc/drpilot/nodes.toml"), &text).unwrap();
        std::fs::write(self.lab.dir.join("matrix-nodes.toml"), &text).unwrap();
    }

    /// Puts deb1 in the state of `row` (from: stopped, its config as the lab wrote it).
    fn enter(&self, row: Answer) {
        let standby = |on: bool| {
            let cfg = String::from_utf8(self.config.clone()).unwrap();
            std::fs::write(
                self.lab.config("deb1"),
                cfg.replace(
                    "mnt = /opt/busybox",
                    "mnt = /opt/busybox\nalways_on = nodes",
                ),
            )
            .unwrap();
            if on {
                self.svc("deb1", &["startstandby"])
                    .expect_ok("startstandby deb1");
            }
        };
        match row {
            Answer::Up | Answer::Garbage | Answer::Silent => {
                self.svc("deb1", &["start"]).expect_ok("start deb1");
            }
            Answer::Warn => {
                self.svc("deb1", &["start"]).expect_ok("start deb1");
                self.svc("deb1", &["stopapp"]).expect_ok("stopapp deb1");
            }
            Answer::Down | Answer::UnreachableNoSshd => {}
            Answer::StdbyUp => standby(true),
            Answer::StdbyDown => standby(false),
            Answer::NotApplicable => {
                // Every resource disabled on deb1: nothing to run there.
                let cfg = String::from_utf8(self.config.clone()).unwrap();
                let cfg = cfg
                    .replace("[fs#1]", "[fs#1]\ndisable = true")
                    .replace("[app#1]", "[app#1]\ndisable = true");
                std::fs::write(self.lab.config("deb1"), cfg).unwrap();
            }
            Answer::NotConfigured => std::fs::remove_file(self.lab.config("deb1")).unwrap(),
            Answer::Error => {
                self.svc("deb1", &["start"]).expect_ok("start deb1");
                let mut cfg = self.config.clone();
                cfg.extend_from_slice(b"garbage line\n");
                std::fs::write(self.lab.config("deb1"), cfg).unwrap();
            }
            Answer::UnreachableRootGone => {
                std::fs::rename(self.lab.root("deb1"), self.lab.dir.join("deb1-gone")).unwrap()
            }
        }
        self.write_maps(row);
    }

    /// Back to: deb1 stopped with its config, deb2 stopped.
    fn leave(&self, row: Answer) {
        if row == Answer::UnreachableRootGone {
            std::fs::rename(self.lab.dir.join("deb1-gone"), self.lab.root("deb1")).unwrap();
        }
        std::fs::write(self.lab.config("deb1"), &self.config).unwrap();
        self.svc("deb1", &["stop", "--force"])
            .expect_ok("stop deb1");
        self.svc("deb2", &["stop", "--force"])
            .expect_ok("stop deb2");
    }

    fn deb2_avail(&self) -> String {
        self.lab.status("deb2")["avail"]
            .as_str()
            .unwrap()
            .to_string()
    }

    fn drp(&self, which: &str) -> Run {
        bin()
            .args(["drp", which, "busybox", "--yes", "--nodes"])
            .arg(self.lab.dir.join("matrix-nodes.toml"))
            .env("XDG_STATE_HOME", self.state.path())
            .output()
            .unwrap()
            .into()
    }
}

/// Asserts that a start on deb2 went as the table says, and stops deb2 again.
fn check_start(m: &Matrix, row: Answer, args: &[&str], proceeds: bool, overridden: bool) {
    let out = m.svc("deb2", args);
    let what = format!("{row:?}: deb2 {}", args.join(" "));
    let text = format!("{}{}", out.stdout, out.stderr);
    if proceeds {
        let out = out.expect_ok(&what);
        assert_eq!(m.deb2_avail(), "up", "{what}");
        assert!(
            text.contains(row.words()),
            "{what}: no '{}' in:\n{text}",
            row.words()
        );
        assert_eq!(
            out.stdout
                .contains("--force overrides the split-brain guard"),
            overridden,
            "{what}:\n{text}"
        );
        m.svc("deb2", &["stop"]).expect_ok("stop deb2");
    } else {
        out.expect_err(&what);
        assert!(text.contains("refusing to start"), "{what}:\n{text}");
        assert!(
            text.contains(row.words()),
            "{what}: no '{}' in:\n{text}",
            row.words()
        );
        assert_eq!(m.deb2_avail(), "down", "{what}: nothing may start on deb2");
    }
}

#[test]
fn every_row_of_the_safety_table_decides_as_written() {
    let Some(sshd) = TestSshd::start() else {
        return;
    };
    let lab = TestLab::replicated();
    lab.svc("deb1", &["stop"]).expect_ok("stop deb1");
    let config = std::fs::read(lab.config("deb1")).unwrap();
    let m = Matrix {
        lab,
        sshd,
        scripts: tempfile::tempdir().unwrap(),
        state: tempfile::tempdir().unwrap(),
        config,
    };
    for row in ROWS {
        m.enter(row);
        // start: only a positive "it does not run here" lets it through.
        check_start(&m, row, &["start"], row.says_not_running(), false);
        // start --force: always, saying what it overrode.
        check_start(
            &m,
            row,
            &["start", "--force"],
            true,
            !row.says_not_running(),
        );
        // start --declared-lost deb1: also through a deb1 that cannot be reached, nothing else.
        check_start(
            &m,
            row,
            &["start", "--declared-lost", "deb1"],
            row.says_not_running() || row.unreachable(),
            false,
        );
        // startstandby asks no peer: it acts on this node's standby resources only.
        let standby = m.svc("deb2", &["startstandby"]).expect_ok("startstandby");
        assert!(
            !standby.stdout.contains("deb1"),
            "{row:?}: {}",
            standby.stdout
        );
        // The disaster: declared only against a production that cannot be reached at all.
        let out = m.drp("disaster");
        let what = format!("{row:?}: drp disaster --yes");
        if row.unreachable() {
            out.expect_ok(&what);
            assert_eq!(m.deb2_avail(), "up", "{what}");
        } else {
            let out = out.expect_err(&what);
            assert!(
                out.stdout.contains("a node that answers is not lost"),
                "{what}:\n{}\n{}",
                out.stdout,
                out.stderr
            );
            assert_eq!(m.deb2_avail(), "down", "{what}");
        }
        // The rehearsal: only a production that answers that it runs the service.
        m.svc("deb2", &["stop"]).expect_ok("stop deb2");
        if matches!(row, Answer::Up | Answer::Warn) {
            m.svc("deb1", &["syncupdate", "--force"])
                .expect_ok("a fresh sync before the rehearsal");
        }
        let out = m.drp("rehearse");
        let what = format!("{row:?}: drp rehearse --yes");
        if matches!(row, Answer::Up | Answer::Warn) {
            out.expect_ok(&what);
            assert_eq!(m.deb2_avail(), "up", "{what}");
        } else {
            let out = out.expect_err(&what);
            assert!(out.stdout.contains("preflight"), "{what}:\n{}", out.stdout);
            assert_ne!(m.deb2_avail(), "up", "{what}");
        }
        m.leave(row);
    }
}

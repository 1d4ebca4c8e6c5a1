//! The receiving side of replication (`drpilot peer ...` on the DRP node) on the lab: sync paths
//! confined by the config, the receiver trusting only its own config, the service lock held for
//! the whole receive, streams that would cross a symlink, and hostile peer arguments.

mod support;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use support::{bin, wait_until, Run, TestLab};

const T: Duration = Duration::from_secs(20);
const DATA: &str = "/srv/busybox/data";
const WHEN: &str = "2026-01-01T00:00:00Z";

/// A lab with data on deb1 and a full copy on deb2, the service stopped everywhere.
fn synced_and_stopped() -> TestLab {
    let lab = TestLab::new();
    lab.svc("deb1", &["start"]).expect_ok("start on deb1");
    wait_until(T, "data on deb1", || !lab.lines("deb1").is_empty());
    lab.svc("deb1", &["syncfullsync", "--force"])
        .expect_ok("syncfullsync");
    lab.svc("deb1", &["stop"]).expect_ok("stop on deb1");
    lab
}

/// Every file under `dir` (paths relative to it), to show that a refusal wrote nothing.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                todo.push(p.clone());
            }
            // The service lock file is created by any verb that locks; it holds no data.
            if !p.ends_with("lock") {
                out.push(p.strip_prefix(dir).unwrap_or(&p).to_path_buf());
            }
        }
    }
    out.sort();
    out
}

fn put_str(buf: &mut Vec<u8>, s: &str) {
    buf.extend_from_slice(&(s.len() as u32).to_le_bytes());
    buf.extend_from_slice(s.as_bytes());
}

/// A `sync` type=dir record carrying a file.
fn file_record(buf: &mut Vec<u8>, path: &str, content: &[u8]) {
    buf.push(b'F');
    put_str(buf, path);
    buf.extend_from_slice(&0o644u32.to_le_bytes());
    buf.extend_from_slice(&0i128.to_le_bytes());
    buf.extend_from_slice(&(content.len() as u64).to_le_bytes());
    buf.extend_from_slice(content);
}

fn end_record(buf: &mut Vec<u8>, records: u64) {
    buf.push(b'E');
    buf.extend_from_slice(&records.to_le_bytes());
}

const MAGIC: &[u8] = b"DRPSYNC1\n";

/// `drpilot peer dir-receive` on `node` with the given arguments after the verb.
fn dir_receive(lab: &TestLab, node: &str, args: &[&str]) -> Command {
    let mut c = lab.node_cmd(node);
    c.args(["peer", "dir-receive"]).args(args);
    c
}

fn spawn_with_stdin(c: &mut Command) -> Child {
    c.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn drpilot")
}

fn run_with_stdin(c: &mut Command, input: &[u8]) -> Run {
    let mut child = spawn_with_stdin(c);
    if let Some(mut stdin) = child.stdin.take() {
        // A receiver that refuses before reading closes the pipe: not an error here.
        let _ = stdin.write_all(input);
    }
    child.wait_with_output().expect("wait drpilot").into()
}

fn replace_in_config(lab: &TestLab, node: &str, from: &str, to: &str) {
    let cfg = std::fs::read_to_string(lab.config(node)).unwrap();
    assert!(cfg.contains(from), "{from} not in the config");
    std::fs::write(lab.config(node), cfg.replacen(from, to, 1)).unwrap();
}

// Rule 7: sync paths are confined by the config.

#[test]
fn check_config_refuses_sync_paths_that_escape_or_hit_the_system() {
    let lab = TestLab::new();
    for (dst, why) in [
        ("/", "'/' is the root directory"),
        ("/../victim", "'/../victim' contains '..'"),
        ("/etc", "'/etc' is the system directory /etc"),
        (
            "/usr/share/x",
            "'/usr/share/x' is beneath the system directory /usr",
        ),
        ("srv/data", "'srv/data' is not an absolute path"),
    ] {
        replace_in_config(
            &lab,
            "deb1",
            "dst = /srv/busybox/data",
            &format!("dst = {dst}"),
        );
        let out = Run::from(
            bin()
                .arg("check-config")
                .arg(lab.config("deb1"))
                .output()
                .unwrap(),
        )
        .expect_err(&format!("check-config with dst = {dst}"));
        let at = format!("busybox.env:29: [sync#1] dst: {why}");
        assert!(out.stderr.contains(&at), "{at}\n{}", out.stderr);
        replace_in_config(
            &lab,
            "deb1",
            &format!("dst = {dst}"),
            "dst = /srv/busybox/data",
        );
    }
}

#[test]
fn a_sync_dst_of_root_never_replaces_the_drp_node() {
    let lab = TestLab::new();
    lab.svc("deb1", &["start"]).expect_ok("start on deb1");
    wait_until(T, "data on deb1", || !lab.lines("deb1").is_empty());
    let victim = lab.dir.join("victim");
    std::fs::create_dir_all(&victim).unwrap();
    std::fs::write(victim.join("keep.txt"), "keep\n").unwrap();
    for dst in ["/", "/../victim"] {
        for node in ["deb1", "deb2"] {
            replace_in_config(
                &lab,
                node,
                "dst = /srv/busybox/data",
                &format!("dst = {dst}"),
            );
        }
        let out = lab
            .svc("deb1", &["syncfullsync", "--force"])
            .expect_err(&format!("syncfullsync to dst = {dst}"));
        assert!(out.stderr.contains("[sync#1] dst:"), "{}", out.stderr);
        // And the receiver, asked directly, refuses its own config before touching anything.
        let mut stream = MAGIC.to_vec();
        end_record(&mut stream, 0);
        let args = [
            "--svc", "busybox", "--rid", "sync#1", "--dst", dst, "--from", "deb1",
        ];
        let out = run_with_stdin(
            dir_receive(&lab, "deb2", &args).args(["--id", "x1", "--when", WHEN]),
            &stream,
        )
        .expect_err(&format!("peer dir-receive --dst {dst}"));
        assert!(out.stderr.contains("does not load here"), "{}", out.stderr);
        for node in ["deb1", "deb2"] {
            replace_in_config(
                &lab,
                node,
                &format!("dst = {dst}"),
                "dst = /srv/busybox/data",
            );
        }
    }
    assert!(lab.root("deb2").join("etc/drpilot/nodes.toml").exists());
    assert_eq!(
        std::fs::read_to_string(victim.join("keep.txt")).unwrap(),
        "keep\n"
    );
    lab.svc("deb1", &["stop"]).expect_ok("stop on deb1");
}

#[test]
fn the_receiver_refuses_a_dst_its_own_config_does_not_name() {
    let lab = synced_and_stopped();
    let other = lab.root("deb2").join("srv/other");
    let before = files(&lab.root("deb2"));
    let mut stream = MAGIC.to_vec();
    file_record(&mut stream, "planted.txt", b"x\n");
    end_record(&mut stream, 1);
    let args = ["--svc", "busybox", "--rid", "sync#1", "--dst", "/srv/other"];
    let out = run_with_stdin(
        dir_receive(&lab, "deb2", &args).args(["--from", "deb1", "--id", "x1", "--when", WHEN]),
        &stream,
    )
    .expect_err("dir-receive to another directory");
    assert!(
        out.stderr.contains(
            "sync#1 on deb2: the sender asks for --dst /srv/other but this node's config \
             resolves dst to /srv/busybox/data"
        ),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("syncnodes on deb1"), "{}", out.stderr);
    assert!(!other.exists());
    // The manifest verb checks the same way.
    let out = Run::from(
        lab.node_cmd("deb2")
            .args(["peer", "dir-manifest"])
            .args(args)
            .output()
            .unwrap(),
    )
    .expect_err("dir-manifest of another directory");
    assert!(out.stderr.contains("--dst /srv/other"), "{}", out.stderr);
    assert_eq!(files(&lab.root("deb2")), before, "deb2 changed");
}

#[test]
fn the_receiver_refuses_without_its_own_config_or_the_right_sync() {
    let lab = synced_and_stopped();
    let before = files(&lab.root("deb2"));
    let mut stream = MAGIC.to_vec();
    end_record(&mut stream, 0);
    let transfer = |rid: &str| {
        let mut c = dir_receive(&lab, "deb2", &["--svc", "busybox", "--rid", rid]);
        c.args([
            "--dst", DATA, "--from", "deb1", "--id", "x1", "--when", WHEN,
        ]);
        c
    };
    let out = run_with_stdin(&mut transfer("fs#1"), &stream).expect_err("a rid that is no sync");
    assert!(
        out.stderr.contains("[fs#1] in ")
            && out
                .stderr
                .contains("is a resource of kind fs, not a sync of type dir"),
        "{}",
        out.stderr
    );
    let out = run_with_stdin(&mut transfer("sync#9"), &stream).expect_err("an unknown sync");
    assert!(
        out.stderr.contains("has no [sync#9] section"),
        "{}",
        out.stderr
    );
    let out = Run::from(
        lab.node_cmd("deb2")
            .args(["peer", "btrfs-list", "--svc", "busybox", "--rid", "sync#1"])
            .args(["--dst", "/dev/loop9:root"])
            .output()
            .unwrap(),
    )
    .expect_err("a btrfs listing of a dir sync");
    assert!(
        out.stderr
            .contains("is a sync of type 'dir', not a sync of type btrfs"),
        "{}",
        out.stderr
    );
    assert_eq!(files(&lab.root("deb2")), before, "deb2 changed");
    std::fs::remove_file(lab.config("deb2")).unwrap();
    let out = run_with_stdin(&mut transfer("sync#1"), &stream).expect_err("no config on deb2");
    assert!(
        out.stderr.contains("busybox has no config on deb2")
            && out
                .stderr
                .contains("push the config first: syncnodes on deb1"),
        "{}",
        out.stderr
    );
}

// Rule 8: the receiver holds the service lock for the whole receive.

#[test]
fn a_start_during_a_receive_never_runs_the_app_in_a_replaced_directory() {
    let lab = synced_and_stopped();
    let staging = lab.root("deb2").join("srv/busybox/.data.drpilot-incoming");
    let args = ["--svc", "busybox", "--rid", "sync#1", "--dst", DATA];
    let mut receive = spawn_with_stdin(
        dir_receive(&lab, "deb2", &args).args(["--from", "deb1", "--id", "slow1", "--when", WHEN]),
    );
    let mut stdin = receive.stdin.take().unwrap();
    stdin.write_all(MAGIC).unwrap();
    stdin.flush().unwrap();
    wait_until(T, "the receive to start on deb2", || staging.exists());
    let start = lab.svc("deb2", &["start", "--force", "--waitlock", "1"]);
    let mut rest = Vec::new();
    file_record(&mut rest, "date.log", b"replicated\n");
    end_record(&mut rest, 1);
    stdin.write_all(&rest).unwrap();
    drop(stdin);
    let received: Run = receive.wait_with_output().unwrap().into();
    if start.ok {
        // The start won the service: the receive must not have pulled its directory away.
        received.expect_err("a receive swapping under a running app");
    } else {
        assert!(
            start.stderr.contains("for the lock held by")
                && start.stderr.contains("receive of sync#1 from deb1"),
            "{}",
            start.stderr
        );
        received.expect_ok("the receive holding the lock");
        assert_eq!(lab.lines("deb2"), ["replicated"]);
        lab.svc("deb2", &["start", "--force"])
            .expect_ok("start on deb2 after the receive");
    }
    // Whichever came first, what the app writes is in the live directory.
    let now = lab.lines("deb2").len();
    wait_until(T, "the app's writes in the live directory", || {
        lab.lines("deb2").len() > now
    });
    lab.svc("deb2", &["stop"]).expect_ok("stop on deb2");
}

#[test]
fn a_receive_is_refused_while_an_action_holds_the_lock() {
    let lab = synced_and_stopped();
    let before = lab.lines("deb2");
    // A receive on deb2 holds its lock; a second one arriving meanwhile fails fast.
    let staging = lab.root("deb2").join("srv/busybox/.data.drpilot-incoming");
    let args = [
        "--svc", "busybox", "--rid", "sync#1", "--dst", DATA, "--from", "deb1",
    ];
    let mut first =
        spawn_with_stdin(dir_receive(&lab, "deb2", &args).args(["--id", "a1", "--when", WHEN]));
    let mut stdin = first.stdin.take().unwrap();
    stdin.write_all(MAGIC).unwrap();
    stdin.flush().unwrap();
    wait_until(T, "the first receive to start", || staging.exists());
    let mut stream = MAGIC.to_vec();
    end_record(&mut stream, 0);
    let second = run_with_stdin(
        dir_receive(&lab, "deb2", &args).args(["--id", "a2", "--when", WHEN]),
        &stream,
    )
    .expect_err("a second receive");
    assert!(
        second
            .stderr
            .contains("busybox: receive of sync#1 from deb1 refused: already running"),
        "{}",
        second.stderr
    );
    drop(stdin);
    let first: Run = first.wait_with_output().unwrap().into();
    first.expect_err("a cut first receive");
    assert_eq!(lab.lines("deb2"), before, "the replica changed");
}

// Rule 9: a stream never crosses a symlink.

#[test]
fn a_stream_crossing_a_symlink_is_refused_and_the_copy_stays() {
    let lab = synced_and_stopped();
    let outside = lab.dir.join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    let before = lab.lines("deb2");
    let mut stream = MAGIC.to_vec();
    stream.push(b'L');
    put_str(&mut stream, "esc");
    put_str(&mut stream, outside.to_str().unwrap());
    file_record(&mut stream, "esc/pwned.txt", b"pwned\n");
    end_record(&mut stream, 2);
    let args = [
        "--svc", "busybox", "--rid", "sync#1", "--dst", DATA, "--from", "deb1",
    ];
    let out = run_with_stdin(
        dir_receive(&lab, "deb2", &args).args(["--id", "esc1", "--when", WHEN]),
        &stream,
    )
    .expect_err("a stream through a symlink");
    assert!(
        out.stderr
            .contains("'esc/pwned.txt' goes through 'esc', a symbolic link"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("previous copy"), "{}", out.stderr);
    assert!(!outside.join("pwned.txt").exists(), "wrote outside");
    assert_eq!(lab.lines("deb2"), before, "the replica changed");
}

// Rule 10: peer arguments are checked before anything runs.

#[test]
fn a_hostile_rid_is_refused_with_a_clear_message_and_nothing_written() {
    let lab = synced_and_stopped();
    let before = files(&lab.dir);
    let mut stream = MAGIC.to_vec();
    end_record(&mut stream, 0);
    let out = run_with_stdin(
        dir_receive(
            &lab,
            "deb2",
            &["--svc", "busybox", "--rid", "../../../../x", "--dst", DATA],
        )
        .args(["--from", "deb1", "--id", "x1", "--when", WHEN]),
        &stream,
    )
    .expect_err("dir-receive --rid ../../../../x");
    assert!(
        out.stderr
            .contains("invalid value '../../../../x' for '--rid <RID>'")
            && out.stderr.contains("invalid resource id '../../../../x'"),
        "{}",
        out.stderr
    );
    assert_eq!(files(&lab.dir), before, "something was written");
}

#[test]
fn every_peer_argument_is_checked_by_its_parser() {
    let lab = TestLab::new();
    let before = files(&lab.dir);
    let good: &[(&str, &str)] = &[
        ("--svc", "busybox"),
        ("--rid", "sync#1"),
        ("--dst", DATA),
        ("--from", "deb1"),
        ("--id", "x1"),
        ("--when", WHEN),
    ];
    let cases: &[(&str, &str, &str, &str)] = &[
        (
            "dir-receive",
            "--svc",
            "../x",
            "invalid service name '../x'",
        ),
        ("dir-receive", "--from", "../x", "invalid node name '../x'"),
        ("dir-receive", "--id", "../x", "invalid sync id '../x'"),
        (
            "dir-receive",
            "--when",
            "yesterday",
            "invalid time 'yesterday'",
        ),
        (
            "dir-receive",
            "--rid",
            "sync#1/..",
            "invalid resource id 'sync#1/..'",
        ),
        (
            "btrfs-receive",
            "--snap",
            "../root@x1",
            "invalid snapshot name '../root@x1'",
        ),
        ("dds-receive", "--base", "a/b", "invalid snap uuid 'a/b'"),
    ];
    for (verb, key, bad, why) in cases {
        let mut c = lab.node_cmd("deb2");
        c.args(["peer", verb]);
        for (k, v) in good {
            c.args([k, if k == key { bad } else { v }]);
        }
        match *verb {
            "btrfs-receive" => c.args(["--snap", if *key == "--snap" { bad } else { "root@x1" }]),
            "dds-receive" => c.args(["--base", bad]),
            _ => &mut c,
        };
        let out = run_with_stdin(&mut c, b"").expect_err(&format!("{verb} {key} {bad}"));
        assert!(out.stderr.contains(why), "{why}\n{}", out.stderr);
    }
    let out = Run::from(
        lab.node_cmd("deb2")
            .args([
                "peer",
                "config-receive",
                "--svc",
                "busybox",
                "--from",
                "deb1",
            ])
            .args(["--hash", "../../x"])
            .output()
            .unwrap(),
    )
    .expect_err("config-receive --hash ../../x");
    assert!(
        out.stderr.contains("invalid SHA-256 '../../x'"),
        "{}",
        out.stderr
    );
    assert_eq!(files(&lab.dir), before, "something was written");
}

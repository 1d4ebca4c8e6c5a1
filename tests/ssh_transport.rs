//! The ssh transport against a real OpenSSH server on 127.0.0.1, with this build's drpilot as
//! the remote binary. Skipped (with a reason) when OpenSSH is not installed, unless
//! DRPILOT_REQUIRE_TESTBED=1.

mod support;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use drpilot::transport::{Link, NodeAddress, NodeMap, NodeOptions, SshNode, SshOptions, Transport};
use support::sshd::TestSshd;
use support::TestLab;

const DRPILOT: &str = env!("CARGO_BIN_EXE_drpilot");
const LIMIT: Option<Duration> = Some(Duration::from_secs(60));

fn args(a: &[&str]) -> Vec<String> {
    a.iter().map(|s| s.to_string()).collect()
}

fn options(sshd: &TestSshd, bin: &str, root: Option<PathBuf>) -> NodeOptions {
    NodeOptions {
        bin: Some(bin.to_string()),
        root,
        ssh_config: Some(sshd.ssh_config().to_path_buf()),
        flavor: None,
        ..NodeOptions::default()
    }
}

fn address(sshd: &TestSshd) -> NodeAddress {
    NodeAddress::parse(&sshd.address()).expect("sshd address")
}

fn connect(sshd: &TestSshd, opts: &NodeOptions) -> Link {
    Link::connect_ssh("deb2", &address(sshd), opts, &SshOptions::default())
        .unwrap_or_else(|e| panic!("{e:#}\nsshd log:\n{}", sshd.log()))
}

#[test]
fn runs_the_remote_binary_through_one_master() {
    let Some(sshd) = TestSshd::start() else {
        return;
    };
    let started = Instant::now();
    let t = connect(&sshd, &options(&sshd, DRPILOT, None));
    let connected = started.elapsed();
    assert_eq!(t.node(), "deb2");
    let out = t.call(&args(&["--version"]), None, LIMIT).expect("call");
    assert!(out.success, "{out:?}");
    assert!(out.stdout_text().contains("drpilot"), "{out:?}");

    let n = 20;
    let started = Instant::now();
    for _ in 0..n {
        let out = t.call(&args(&["--version"]), None, LIMIT).expect("call");
        assert!(out.success, "{out:?}");
    }
    eprintln!(
        "ssh connect {connected:?}; multiplexed `drpilot --version`: {:?} per call",
        started.elapsed() / n
    );
}

#[test]
fn streams_stdin_both_ways() {
    let Some(sshd) = TestSshd::start() else {
        return;
    };
    let t = connect(&sshd, &options(&sshd, "cat", None));
    let data: Vec<u8> = (0..(3 << 20) + 17)
        .map(|i: u32| (i * 7 % 251) as u8)
        .collect();
    let mut input: &[u8] = &data;
    let started = Instant::now();
    let out = t.call(&[], Some(&mut input), LIMIT).expect("call");
    eprintln!("3 MiB through cat over ssh: {:?}", started.elapsed());
    assert!(out.success, "{out:?}");
    assert!(out.stdout == data, "{} bytes back", out.stdout.len());
}

#[test]
fn reads_a_lab_node_status_with_its_root() {
    let Some(sshd) = TestSshd::start() else {
        return;
    };
    let lab = TestLab::new();
    let t = connect(&sshd, &options(&sshd, DRPILOT, Some(lab.root("deb2"))));
    let out = t
        .call(
            &args(&["svc", "busybox", "print", "status", "--format", "json"]),
            None,
            LIMIT,
        )
        .expect("call");
    assert!(out.success, "{out:?}");
    let st: serde_json::Value = serde_json::from_slice(&out.stdout).expect("status JSON");
    assert_eq!(st["node"], "deb2", "{st}");
}

#[test]
fn the_agent_syncs_to_a_peer_over_ssh() {
    let Some(sshd) = TestSshd::start() else {
        return;
    };
    let lab = TestLab::new();
    let map_path = lab.root("deb1").join("etc/drpilot/nodes.toml");
    let mut map = NodeMap::load(&map_path).expect("deb1's nodes.toml");
    map.insert("deb2", address(&sshd));
    map.set_options("deb2", options(&sshd, DRPILOT, Some(lab.root("deb2"))));
    std::fs::write(&map_path, map.to_toml()).expect("write nodes.toml");

    lab.svc("deb1", &["start"]).expect_ok("deb1 start");
    support::wait_until(Duration::from_secs(10), "the app writes", || {
        !lab.lines("deb1").is_empty()
    });
    lab.svc("deb1", &["syncfullsync", "--force"])
        .expect_ok("deb1 syncfullsync over ssh");
    assert!(lab.data_file("deb2").is_file(), "no data replicated");
    assert!(
        lab.root("deb2")
            .join("var/lib/drpilot/busybox/sync#1.state")
            .is_file(),
        "deb2 recorded no sync"
    );
    lab.svc("deb1", &["stop"]).expect_ok("deb1 stop");
}

#[test]
fn a_changed_host_key_is_refused_by_name() {
    let Some(mut sshd) = TestSshd::start() else {
        return;
    };
    let opts = options(&sshd, DRPILOT, None);
    drop(connect(&sshd, &opts));
    sshd.change_host_key();
    let err = match Link::connect_ssh("deb2", &address(&sshd), &opts, &SshOptions::default()) {
        Ok(_) => panic!("connected despite a changed host key"),
        Err(e) => format!("{e:#}"),
    };
    eprintln!("{err}");
    assert!(err.contains("host key"), "{err}");
    assert!(err.contains("deb2"), "{err}");
    assert!(err.contains("changed"), "{err}");
    // Opting in to new keys does not accept a changed one.
    let accept = SshOptions {
        accept_new_host_keys: true,
        ..SshOptions::default()
    };
    assert!(Link::connect_ssh("deb2", &address(&sshd), &opts, &accept).is_err());
}

#[test]
fn an_unknown_host_needs_known_hosts_or_the_opt_in() {
    let Some(sshd) = TestSshd::start() else {
        return;
    };
    let tmp = tempfile::tempdir().expect("tempdir");
    let known = tmp.path().join("known_hosts");
    let config: String = std::fs::read_to_string(sshd.ssh_config())
        .expect("ssh_config")
        .lines()
        .map(|l| {
            if l.trim_start().starts_with("UserKnownHostsFile") {
                format!("  UserKnownHostsFile {}\n", known.display())
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    let cfg = tmp.path().join("ssh_config");
    std::fs::write(&cfg, config).expect("ssh_config");
    let opts = NodeOptions {
        ssh_config: Some(cfg),
        flavor: None,
        ..options(&sshd, DRPILOT, None)
    };
    let err = match Link::connect_ssh("deb2", &address(&sshd), &opts, &SshOptions::default()) {
        Ok(_) => panic!("connected to an unknown host under strict checking"),
        Err(e) => format!("{e:#}"),
    };
    eprintln!("{err}");
    assert!(err.contains("deb2") && err.contains("known_hosts"), "{err}");
    assert!(err.contains("--accept-new-host-keys"), "{err}");

    let accept = SshOptions {
        accept_new_host_keys: true,
        ..SshOptions::default()
    };
    let t = Link::connect_ssh("deb2", &address(&sshd), &opts, &accept)
        .unwrap_or_else(|e| panic!("{e:#}"));
    assert!(
        t.call(&args(&["--version"]), None, LIMIT)
            .expect("call")
            .success
    );
    let recorded = std::fs::read_to_string(&known).unwrap_or_default();
    assert!(recorded.contains("127.0.0.1"), "known_hosts: {recorded}");
}

#[test]
fn a_call_past_its_deadline_returns_timed_out() {
    let Some(sshd) = TestSshd::start() else {
        return;
    };
    let t = connect(&sshd, &options(&sshd, "sleep", None));
    let limit = Duration::from_secs(1);
    let started = Instant::now();
    // A duration no other process uses, to find the remote sleep (sshd runs on this machine).
    let marker = format!("30.{}", std::process::id());
    let out = t.call(&args(&[&marker]), None, Some(limit)).expect("call");
    let took = started.elapsed();
    assert!(out.timed_out, "{out:?}");
    assert!(!out.success);
    assert_eq!(out.failure_reason(), "timed out");
    assert!(took < limit + Duration::from_secs(2), "took {took:?}");
    // The mux protocol cannot signal it: the remote deadline (`timeout -s KILL`) reaps it.
    support::wait_until(
        Duration::from_secs(15),
        "the remote sleep to be killed",
        || !running_with_arg(&marker),
    );
    // The session is still usable afterwards.
    let out = t.call(&args(&["0"]), None, LIMIT).expect("call");
    assert!(out.success, "{out:?}");
}

/// Whether a process of this machine has `arg` among its arguments.
fn running_with_arg(arg: &str) -> bool {
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return false;
    };
    procs.flatten().any(|p| {
        std::fs::read(p.path().join("cmdline"))
            .map(|c| c.split(|b| *b == 0).any(|a| a == arg.as_bytes()))
            .unwrap_or(false)
    })
}

#[test]
fn a_missing_remote_binary_is_named() {
    let Some(sshd) = TestSshd::start() else {
        return;
    };
    let t = connect(&sshd, &options(&sshd, "/nonexistent/drpilot", None));
    let err = match t.call(&args(&["--version"]), None, LIMIT) {
        Ok(out) => panic!("a missing binary answered {out:?}"),
        Err(e) => format!("{e:#}"),
    };
    assert!(err.contains("deb2") && err.contains("not found"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_async_node_reads_lines_and_checks() {
    let Some(sshd) = TestSshd::start() else {
        return;
    };
    let node = SshNode::connect(
        "deb2",
        &address(&sshd),
        &options(&sshd, "seq", None),
        &SshOptions::default(),
    )
    .await
    .unwrap_or_else(|e| panic!("{e:#}"));
    node.check().await.expect("alive");
    assert_eq!(node.remote_argv(&args(&["3"])), ["seq", "3"]);
    let mut lines = node.spawn_lines(&args(&["3"])).await.expect("spawn");
    let mut got = Vec::new();
    while let Some(l) = lines.next_line().await.expect("line") {
        got.push(l);
    }
    assert_eq!(got, ["1", "2", "3"]);
    let end = lines.finish().await.expect("finish");
    assert!(end.success && end.stdout.is_empty(), "{end:?}");

    let out = node
        .call(&args(&["2"]), None, Duration::from_secs(30))
        .await
        .expect("call");
    assert_eq!(out.stdout_text(), "1\n2\n");
    // Concurrent calls share the master.
    let one = args(&["1"]);
    let calls = (0..8).map(|_| node.call(&one, None, Duration::from_secs(30)));
    for out in futures::future::join_all(calls).await {
        assert!(out.expect("call").success);
    }
    let watch = node
        .spawn_lines(&args(&["1000000000"]))
        .await
        .expect("spawn");
    watch.kill().await;
    node.check().await.expect("still alive");
}

#[test]
fn lines_stream_live_over_ssh() {
    let Some(sshd) = TestSshd::start() else {
        return;
    };
    // The remote "binary" is a shell here: each line must reach us before the next is written.
    let t = connect(&sshd, &options(&sshd, "/bin/sh", None));
    let mut seen: Vec<(String, Instant)> = Vec::new();
    let script = "echo one; sleep 1; echo two";
    let out = t
        .call_lines(
            &args(&["-c", script]),
            &mut |l| seen.push((l.to_string(), Instant::now())),
            LIMIT,
        )
        .expect("call_lines");
    assert!(out.success, "{out:?}");
    let lines: Vec<&str> = seen.iter().map(|(l, _)| l.as_str()).collect();
    assert_eq!(lines, vec!["one", "two"]);
    assert!(
        seen[1].1 - seen[0].1 >= Duration::from_millis(700),
        "lines arrived together: not live"
    );
    assert_eq!(out.stdout_text(), "one\ntwo\n");
}

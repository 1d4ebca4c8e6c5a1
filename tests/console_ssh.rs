//! The console reaching a node through a real OpenSSH sshd on loopback, and refusing it, with a
//! clear message, once the node's host key changed.

mod support;

use std::time::Duration;

use drpilot::transport::{NodeAddress, NodeMap, NodeOptions};
use support::pty::PtyApp;
use support::sshd::TestSshd;
use support::TestLab;

const T: Duration = Duration::from_secs(30);

/// deb1 through the local transport, deb2 through sshd (its drpilot run with deb2's root).
fn write_map(lab: &TestLab, sshd: &TestSshd) -> String {
    let mut map = NodeMap::default();
    map.insert(
        "deb1",
        NodeAddress::Local {
            root: lab.root("deb1"),
        },
    );
    map.insert("deb2", NodeAddress::parse(&sshd.address()).unwrap());
    map.set_options(
        "deb2",
        NodeOptions {
            bin: Some(env!("CARGO_BIN_EXE_drpilot").to_string()),
            root: Some(lab.root("deb2")),
            ssh_config: Some(sshd.ssh_config().to_path_buf()),
            flavor: None,
            ..NodeOptions::default()
        },
    );
    let path = lab.dir.join("console-nodes.toml");
    std::fs::write(&path, map.to_toml()).unwrap();
    path.to_string_lossy().into_owned()
}

#[test]
fn console_watches_a_node_over_ssh_and_refuses_a_changed_host_key() {
    let Some(mut sshd) = TestSshd::start() else {
        return;
    };
    let lab = TestLab::new();
    let nodes = write_map(&lab, &sshd);

    let mut app = PtyApp::spawn(&["console", "--read-only", "--nodes", &nodes], &lab.dir);
    app.wait_screen(T, "both trees, deb2 over ssh", |s| {
        s.contains("deb2 · DRP") && s.matches("|- avail").count() == 2 && s.contains("deb2 updated")
    });
    app.send("q");
    assert!(app.wait_exit(T));
    assert!(app.terminal_restored());

    sshd.change_host_key();
    let mut app = PtyApp::spawn(&["console", "--read-only", "--nodes", &nodes], &lab.dir);
    app.wait_screen(T, "the host key refusal", |s| {
        let flat: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
        flat.contains("host key") && flat.contains("changed") && s.contains("deb2 UNREACHABLE")
    });
    // deb1, reached locally, is still live beside it.
    assert!(app.screen().contains("deb1 updated"));
    app.send("q");
    assert!(app.wait_exit(T));
}

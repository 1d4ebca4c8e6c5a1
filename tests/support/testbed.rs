//! Test support for the root testbed: build it (or skip with a reason), run drpilot on a host
//! over real SSH as an operator would, and read statuses there.

use std::path::PathBuf;

use drpilot::lab::testbed::{Spec, Testbed};

use super::{root_testbed_ready, Run};

/// The tools a testbed needs on this machine.
pub const TOOLS: &[&str] = &[
    "unshare",
    "nsenter",
    "docker-init",
    "ip",
    "losetup",
    "ssh",
    "/usr/sbin/sshd",
    "mkfs.btrfs",
    "mkfs.ext4",
];

/// The drpilot binary under test, as built.
pub fn bin_path() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_drpilot"))
}

/// The drpilot binary under test as the testbed's hosts see it (installed in the testbed).
pub fn host_bin(tb: &Testbed) -> PathBuf {
    tb.install(&bin_path())
        .expect("installing drpilot in the testbed")
}

/// A seed-shaped testbed, or None when this machine cannot build one (and CI does not demand
/// it). `extra` are tools the test needs beyond the testbed's own.
pub fn testbed(test: &str, extra: &[&str]) -> Option<Testbed> {
    let tools: Vec<&str> = TOOLS.iter().chain(extra).copied().collect();
    if !root_testbed_ready(test, &tools) {
        return None;
    }
    Some(Testbed::create(&Spec::seed()).unwrap_or_else(|e| panic!("{test}: testbed: {e:?}")))
}

/// What the seed's service needs on this machine beyond the testbed's own tools.
pub const SEED_TOOLS: &[&str] = &["dockerd", "docker", "btrfs", "arping", "busybox", "tar"];

/// A testbed with the seed's service deployed (down everywhere), or None when it skips.
pub fn seed_testbed(test: &str) -> Option<Testbed> {
    let tb = testbed(test, SEED_TOOLS)?;
    drpilot::lab::testbed::seed_service::deploy(&tb, &bin_path())
        .unwrap_or_else(|e| panic!("{test}: deploying the seed's service: {e:?}"));
    Some(tb)
}

/// The operator's nodes map of `tb`, for a console or `drp` run from the operator's seat.
pub fn operator_nodes(tb: &Testbed) -> String {
    tb.write_operator_nodes(&host_bin(tb))
        .expect("nodes map")
        .to_string_lossy()
        .into_owned()
}

/// `drpilot ARGS` on `node`, over SSH from the operator's seat.
pub fn drpilot(tb: &Testbed, node: &str, args: &[&str]) -> Run {
    let bin = host_bin(tb);
    let mut full = vec![bin.to_str().expect("utf-8 path")];
    full.extend_from_slice(args);
    tb.ssh_command(node, &full)
        .output()
        .expect("running ssh")
        .into()
}

/// `drpilot svc SVC ARGS` on `node` over SSH.
pub fn svc(tb: &Testbed, node: &str, service: &str, args: &[&str]) -> Run {
    let mut full = vec!["svc", service];
    full.extend_from_slice(args);
    drpilot(tb, node, &full)
}

/// A command run on `node` over SSH (test checks: `ip addr`, `cat`).
pub fn on(tb: &Testbed, node: &str, args: &[&str]) -> Run {
    tb.ssh_command(node, args)
        .output()
        .expect("running ssh")
        .into()
}

/// The JSON status of `service` on `node`.
pub fn status(tb: &Testbed, node: &str, service: &str) -> serde_json::Value {
    let r =
        svc(tb, node, service, &["print", "status", "--format", "json"]).expect_ok("print status");
    serde_json::from_str(&r.stdout).expect("status json")
}

/// Runs `f` with `node`'s btrfs volume mounted read-only at its top level (every subvolume and
/// snapshot visible under the path `f` gets), unmounted again afterwards.
pub fn with_volume_top<T>(tb: &Testbed, node: &str, f: impl FnOnce(&str) -> T) -> T {
    let dev = tb
        .volumes_of(node)
        .expect("volumes")
        .btrfs
        .device
        .to_string_lossy()
        .into_owned();
    let top = "/run/drpilot-test-top";
    on(tb, node, &["mkdir", "-p", top]).expect_ok("mkdir");
    on(tb, node, &["mount", "-o", "ro,subvolid=5", &dev, top]).expect_ok("mount top");
    let out = f(top);
    on(tb, node, &["umount", top]).expect_ok("umount top");
    out
}

/// Runs `syncupdate --force --rid RID` of `service` on `node` over SSH and drops `receiver`'s
/// link once the sync's bytes flow (its first progress line, not a guessed delay), then brings
/// the link back; the sync's exit status and its output lines.
pub fn sync_cut_by_the_link(
    tb: &Testbed,
    node: &str,
    service: &str,
    rid: &str,
    receiver: &str,
) -> (std::process::ExitStatus, Vec<String>) {
    use std::process::Stdio;
    let mut cut = tb
        .ssh_command(
            node,
            &[
                host_bin(tb).to_str().expect("utf-8"),
                "svc",
                service,
                "syncupdate",
                "--force",
                "--rid",
                rid,
            ],
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("syncupdate");
    let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let reader = {
        let lines = lines.clone();
        let out = cut.stdout.take().expect("stdout");
        std::thread::spawn(move || {
            for l in std::io::BufRead::lines(std::io::BufReader::new(out)).map_while(Result::ok) {
                lines.lock().expect("lines").push(l);
            }
        })
    };
    super::wait_until(
        std::time::Duration::from_secs(60),
        "the sync's bytes to flow",
        || {
            lines
                .lock()
                .expect("lines")
                .iter()
                .any(|l| l.contains("progress bytes="))
        },
    );
    let veth = tb.host(receiver).expect("receiver").record.veth.clone();
    let link = |state: &str| {
        let ok = tb
            .operator_command("ip")
            .args(["link", "set", &veth, state])
            .status()
            .expect("ip")
            .success();
        assert!(ok, "ip link set {veth} {state}");
    };
    link("down");
    let out = cut.wait_with_output().expect("syncupdate ends");
    link("up");
    reader.join().expect("reader");
    let lines = lines.lock().expect("lines").clone();
    (out.status, lines)
}

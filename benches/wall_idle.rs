//! `drpilot console --wall` idle on a lab with 50 services: the release binary in a pty for 20 s
//! once the wall shows every node; its CPU time (and that of the node watches it started) and
//! its peak resident memory (VmHWM) from /proc. Targets: ≤ 1 % of a core and ≤ 40 MiB
//! (docs/performance.md). Run with `cargo bench --bench wall_idle`.

#[allow(dead_code)]
#[path = "../tests/support/pty.rs"]
mod pty;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

const IDLE: Duration = Duration::from_secs(20);
const SERVICES: usize = 50;

/// utime + stime of a process, in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces) start after the last ')'.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let n = |i: usize| f.get(i).and_then(|x| x.parse::<u64>().ok()).unwrap_or(0);
    n(11) + n(12)
}

fn parent(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = stat.rsplit_once(')')?.1;
    rest.split_whitespace().nth(1)?.parse().ok()
}

/// Every live descendant of `pid`.
fn descendants(pid: u32) -> Vec<u32> {
    let all: Vec<u32> = std::fs::read_dir("/proc")
        .map(|d| {
            d.flatten()
                .filter_map(|e| e.file_name().to_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default();
    let mut out = vec![];
    let mut frontier = vec![pid];
    while let Some(p) = frontier.pop() {
        for &c in &all {
            if parent(c) == Some(p) {
                out.push(c);
                frontier.push(c);
            }
        }
    }
    out
}

fn vm_hwm_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn lab_with_services(dir: &Path) {
    let ok = Command::new(env!("CARGO_BIN_EXE_drpilot"))
        .args(["lab", "init"])
        .arg(dir)
        .status()
        .expect("run drpilot lab init")
        .success();
    assert!(ok, "lab init");
    for node in ["deb1", "deb2"] {
        let etc = dir.join(node).join("etc/drpilot");
        let config = std::fs::read_to_string(etc.join("busybox.env")).expect("lab config");
        for i in 1..SERVICES {
            std::fs::write(etc.join(format!("svc{i:02}.env")), &config).expect("write config");
        }
    }
}

fn main() {
    // `cargo bench` passes --bench; `cargo test` runs benches with no argument: stay quick then.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let lab = tmp.path().join("lab");
    lab_with_services(&lab);
    let nodes = lab.join("nodes.toml").to_string_lossy().into_owned();
    let mut app = pty::PtyApp::spawn(&["console", "--wall", "--nodes", &nodes], &lab);
    app.wait_screen(Duration::from_secs(60), "the wall with both nodes", |s| {
        s.contains("deb1 updated") && s.contains("deb2 updated") && s.contains("svc")
    });
    let pid = app.pid().expect("pid");
    std::thread::sleep(Duration::from_secs(3));
    let kids = descendants(pid);
    let before = cpu_ticks(pid);
    let kids_before: u64 = kids.iter().map(|&k| cpu_ticks(k)).sum();
    std::thread::sleep(IDLE);
    let after = cpu_ticks(pid);
    let kids_after: u64 = kids.iter().map(|&k| cpu_ticks(k)).sum();
    // SAFETY: sysconf only reads a system constant.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    let pct = |t: u64| t as f64 / hz / IDLE.as_secs_f64() * 100.0;
    println!(
        "wall idle, {SERVICES} services, {}s: console {:.2} % of a core, peak RSS {:.1} MiB",
        IDLE.as_secs(),
        pct(after - before),
        vm_hwm_kib(pid) as f64 / 1024.0
    );
    println!(
        "  its {} node watch processes: {:.2} % of a core together",
        kids.len(),
        pct(kids_after.saturating_sub(kids_before))
    );
    app.send("q");
    app.wait_exit(Duration::from_secs(10));
}

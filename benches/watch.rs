//! The watch stream, measured (run with `cargo bench --bench watch`). Figures go to
//! docs/performance.md:
//! - probe CPU on a node with 1 and 3 `agent watch` processes (target: 3 cost ≤ 1.2× one);
//! - change → status record on the watch stream, for a drpilot action (`svc start`/`stop`;
//!   target ≤ 200 ms) and for an external change (the lab's link removed by hand; target: within
//!   one probe interval), on the lab (`local:`) and over SSH on loopback (a real sshd, skipped
//!   when OpenSSH is not installed).

#[path = "../tests/support/mod.rs"]
#[allow(unused_imports)]
mod support;

use std::io::BufRead;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant};

use support::sshd::TestSshd;
use support::TestLab;

const CPU_WINDOW: Duration = Duration::from_secs(10);
const ROUNDS: usize = 10;

/// A watch process whose records arrive on a channel with their arrival time.
struct Watch {
    child: Child,
    rx: Receiver<(Instant, serde_json::Value)>,
}

impl Watch {
    fn spawn(mut cmd: Command) -> Self {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("agent watch");
        let out = child.stdout.take().expect("stdout");
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            for l in std::io::BufReader::new(out).lines().map_while(Result::ok) {
                if let Ok(v) = serde_json::from_str(&l) {
                    if tx.send((Instant::now(), v)).is_err() {
                        return;
                    }
                }
            }
        });
        Self { child, rx }
    }

    /// Waits for a status record of busybox whose avail is `avail`; its arrival time.
    fn status(&self, avail: &str, limit: Duration) -> Option<(Instant, String)> {
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.checked_duration_since(Instant::now())?;
            let (at, v) = self.rx.recv_timeout(left).ok()?;
            if v["type"] == "status" && v["status"]["avail"] == avail {
                return Some((at, v["cause"].as_str().unwrap_or("").to_string()));
            }
        }
    }

    fn drain(&self) {
        while self.rx.try_recv().is_ok() {}
    }

    /// CPU time of the process's threads (nanosecond `schedstat`) and of its reaped children
    /// (`cutime` + `cstime` ticks), in seconds.
    fn cpu(&self) -> f64 {
        let pid = self.child.id();
        let mut ns = 0u64;
        if let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) {
            for t in tasks.flatten() {
                let stat = std::fs::read_to_string(t.path().join("schedstat")).unwrap_or_default();
                ns += stat
                    .split_whitespace()
                    .next()
                    .and_then(|x| x.parse::<u64>().ok())
                    .unwrap_or(0);
            }
        }
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let after = stat.rsplit(')').next().unwrap_or("");
        let f: Vec<u64> = after
            .split_whitespace()
            .map(|x| x.parse().unwrap_or(0))
            .collect();
        // Fields 16-17 (cutime cstime) are 13-14 after the name.
        let ticks: u64 = f.get(13..15).map_or(0, |s| s.iter().sum());
        // SAFETY: sysconf reads a constant.
        let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
        ns as f64 / 1e9 + ticks as f64 / hz
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn local_watch(lab: &TestLab) -> Watch {
    let mut c = lab.node_cmd("deb1");
    c.args(["agent", "watch"]);
    Watch::spawn(c)
}

fn probe_cpu(watchers: usize) -> f64 {
    let lab = TestLab::new();
    lab.svc("deb1", &["start"]).expect_ok("start");
    let ws: Vec<Watch> = (0..watchers).map(|_| local_watch(&lab)).collect();
    std::thread::sleep(Duration::from_secs(2));
    let before: f64 = ws.iter().map(Watch::cpu).sum();
    std::thread::sleep(CPU_WINDOW);
    let after: f64 = ws.iter().map(Watch::cpu).sum();
    lab.svc("deb1", &["stop"]).expect_ok("stop");
    (after - before) / CPU_WINDOW.as_secs_f64()
}

fn ms(d: f64) -> String {
    format!("{:.0} ms", d * 1000.0)
}

fn summary(mut v: Vec<f64>) -> String {
    v.sort_by(f64::total_cmp);
    let med = v[v.len() / 2];
    let max = v[v.len() - 1];
    format!("median {} max {} (n={})", ms(med), ms(max), v.len())
}

/// Action → record: from the moment `svc start`/`stop` returns to the status record (negative:
/// the record came before the command's exit was seen). External → record: from removing the
/// lab's link by hand to the record showing the service down.
fn latencies(lab: &TestLab, w: &Watch) -> (Vec<f64>, Vec<f64>, usize) {
    let mut action = Vec::new();
    let mut external = Vec::new();
    let mut notified = 0;
    let signed = |at: Instant, t0: Instant| match at.checked_duration_since(t0) {
        Some(d) => d.as_secs_f64(),
        None => -(t0 - at).as_secs_f64(),
    };
    w.status("down", Duration::from_secs(10))
        .expect("first status");
    for _ in 0..ROUNDS {
        w.drain();
        lab.svc("deb1", &["start"]).expect_ok("start");
        let t0 = Instant::now();
        let (at, cause) = w.status("up", Duration::from_secs(5)).expect("up");
        action.push(signed(at, t0));
        notified += usize::from(cause == "notified");
        // An external change: the service's link removed behind drpilot's back.
        std::thread::sleep(Duration::from_millis(300));
        w.drain();
        let link = lab.root("deb1").join("opt/busybox");
        let t0 = Instant::now();
        std::fs::remove_file(&link).expect("rm the link");
        let (at, _) = w
            .status("warn", Duration::from_secs(5))
            .or_else(|| w.status("down", Duration::from_secs(5)))
            .expect("the change");
        external.push(signed(at, t0));
        lab.svc("deb1", &["stop"]).expect_ok("stop");
        w.drain();
    }
    (action, external, notified)
}

fn main() {
    let one = probe_cpu(1);
    let three = probe_cpu(3);
    println!(
        "probe CPU over {}s: 1 watcher {:.2} % of a core, 3 watchers {:.2} % ({:.2}×)",
        CPU_WINDOW.as_secs(),
        one * 100.0,
        three * 100.0,
        three / one
    );

    let lab = TestLab::new();
    let w = local_watch(&lab);
    let (a, e, n) = latencies(&lab, &w);
    println!(
        "lab, the prober: action → status {} ({n} notified); external → status {}",
        summary(a),
        summary(e)
    );
    // A second watcher follows what the first publishes.
    let f = local_watch(&lab);
    let (a, e, n) = latencies(&lab, &f);
    println!(
        "lab, a follower: action → status {} ({n} notified); external → status {}",
        summary(a),
        summary(e)
    );
    drop((w, f));

    if let Some(sshd) = TestSshd::start() {
        let lab = TestLab::new();
        let mut c = Command::new("ssh");
        c.arg("-F").arg(sshd.ssh_config()).arg("127.0.0.1").args([
            "env",
            &format!("DRPILOT_ROOT={}", lab.root("deb1").display()),
            "DRPILOT_NODENAME=deb1",
            env!("CARGO_BIN_EXE_drpilot"),
            "agent",
            "watch",
        ]);
        let w = Watch::spawn(c);
        let (a, e, n) = latencies(&lab, &w);
        println!(
            "ssh loopback: action → status {} ({n} notified); external → status {}",
            summary(a),
            summary(e)
        );
    }
}

//! `print status` of the seed's service as a whole process: wall time per run and peak resident
//! memory of the child. Targets: under 10 ms and 10 MiB (docs/performance.md).
//! Run with `cargo bench --bench print_status`.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const RUNS: usize = 200;

fn setup(root: &Path, svc: &str, config: &str) {
    let etc = root.join("etc/drpilot");
    std::fs::create_dir_all(&etc).expect("mkdir etc");
    std::fs::write(etc.join(format!("{svc}.env")), config).expect("write config");
}

fn measure(label: &str, root: &Path, node: &str, svc: &str) -> (Duration, Duration) {
    let run = || {
        let t = Instant::now();
        let status = Command::new(env!("CARGO_BIN_EXE_drpilot"))
            .args(["svc", svc, "print", "status"])
            .env("DRPILOT_ROOT", root)
            .env("DRPILOT_NODENAME", node)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("run drpilot");
        assert!(status.success(), "print status failed");
        t.elapsed()
    };
    for _ in 0..10 {
        run();
    }
    let mut times: Vec<Duration> = (0..RUNS).map(|_| run()).collect();
    times.sort();
    let median = times[RUNS / 2];
    let p95 = times[RUNS * 95 / 100];
    println!(
        "{label:<40} median {:>6.2} ms   p95 {:>6.2} ms   ({RUNS} runs)",
        ms(median),
        ms(p95)
    );
    (median, p95)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn peak_child_rss_kib() -> i64 {
    // SAFETY: getrusage only writes into the struct we pass.
    unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage);
        usage.ru_maxrss
    }
}

fn main() {
    // `cargo bench` passes --bench; `cargo test` runs benches with no argument: stay quick then.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let seed = tmp.path().join("seed");
    setup(
        &seed,
        "busybox.opensvc.com",
        include_str!("../assets/examples/busybox.opensvc.com.env"),
    );
    measure(
        "seed service on deb1.opensvc.com",
        &seed,
        "deb1.opensvc.com",
        "busybox.opensvc.com",
    );
    measure(
        "seed service on deb2.opensvc.com",
        &seed,
        "deb2.opensvc.com",
        "busybox.opensvc.com",
    );
    let lab = tmp.path().join("lab");
    setup(&lab, "busybox", include_str!("../assets/lab/busybox.env"));
    measure("lab service on deb1", &lab, "deb1", "busybox");
    println!(
        "peak resident memory of one run: {:.1} MiB",
        peak_child_rss_kib() as f64 / 1024.0
    );
}

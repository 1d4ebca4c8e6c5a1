//! Reading a service config of many sections: `ServiceConfig::parse` in process and
//! `drpilot check-config FILE` as a whole process, at 10,000, 20,000 and 100,000 sections.
//! Reading must stay linear (it was quadratic: 100,000 sections took minutes).
//! Run with `cargo bench --bench config_parse`; figures go to docs/performance.md.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use drpilot::config::ServiceConfig;

const SIZES: [usize; 3] = [10_000, 20_000, 100_000];
const RUNS: usize = 5;

/// `n` resource sections of the kinds validation looks up the most: required keywords, typed
/// keywords, node scopes (the same shape as the unit test in src/config/tests.rs).
fn config(n: usize) -> String {
    let mut text = String::from("[DEFAULT]\nnodes = n1\ndrpnodes = d1\n");
    for i in 0..n {
        text.push_str(&match i % 3 {
            0 => format!("[fs#{i}]\ntype = directory\ndev = /srv/d{i}\nmnt = /opt/m{i}\n"),
            1 => format!("[app#{i}]\nstart = /bin/true {i}\nstop@n1 = /bin/true\n"),
            _ => format!(
                "[sync#{i}]\ntype = btrfs\nsrc = /dev/vdb:s{i}\ndst = /dev/vdc:d{i}\ntarget = drpnodes\nsnap_dir = /x\n"
            ),
        });
    }
    text
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn in_process(text: &str) -> Duration {
    let t = Instant::now();
    let loaded = ServiceConfig::parse(
        "svc",
        Path::new("svc.env"),
        text,
        drpilot::drivers::catalogue(),
    );
    let took = t.elapsed();
    assert!(loaded.is_ok(), "the generated config is refused");
    took
}

fn check_config(file: &Path) -> Duration {
    let t = Instant::now();
    let status = Command::new(env!("CARGO_BIN_EXE_drpilot"))
        .arg("check-config")
        .arg(file)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("run drpilot");
    assert!(
        status.success(),
        "check-config refused the generated config"
    );
    t.elapsed()
}

fn main() {
    // `cargo bench` passes --bench; `cargo test` runs benches with no argument: stay quick then.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    for n in SIZES {
        let text = config(n);
        let file = tmp.path().join("svc.env");
        std::fs::write(&file, &text).expect("write config");
        let parse = median((0..RUNS).map(|_| in_process(&text)).collect());
        let process = median((0..RUNS).map(|_| check_config(&file)).collect());
        println!(
            "{n:>7} sections ({:>5.1} MiB)   parse median {:>8.1} ms   check-config median {:>8.1} ms   ({RUNS} runs)",
            text.len() as f64 / (1u64 << 20) as f64,
            ms(parse),
            ms(process)
        );
    }
}

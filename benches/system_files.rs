//! sync#i1's cost on production: the owners scan it runs at every sync (a walk of the
//! service's mount points, capped at 200,000 entries) at 10,000, 100,000 and 400,000 files, and
//! the drift check's comparison of 5,000 ids. Run with `cargo bench --bench system_files`;
//! figures go to docs/performance.md.

use std::path::Path;
use std::time::{Duration, Instant};

use drpilot::agent::probe::with_local_ctx;
use drpilot::agent::Service;
use drpilot::drivers::system_files::drift::{compare, IdTable, Ids};
use drpilot::drivers::system_files::owners;
use drpilot::paths::NodeEnv;
use drpilot::protocol::drift::{OwnerUse, ServiceOwners};

const SIZES: [usize; 3] = [10_000, 100_000, 400_000];
const RUNS: usize = 5;

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// `n` files under `root/data`, 100 per directory.
fn files(root: &Path, n: usize) {
    for i in 0..n {
        let dir = root.join(format!("data/d{}", i / 100));
        if i % 100 == 0 {
            std::fs::create_dir_all(&dir).expect("mkdir");
        }
        std::fs::write(dir.join(format!("f{i}")), b"").expect("write");
    }
}

/// The owners scan of a service whose one fs is mounted at `root/data`, timed.
fn scan(root: &Path) -> (Duration, ServiceOwners) {
    let env = NodeEnv::new(root, "n1");
    let config = env.config_path("svc");
    std::fs::create_dir_all(config.parent().expect("etc")).expect("mkdir");
    std::fs::write(
        &config,
        "[DEFAULT]\nnodes = n1\ndrpnodes = d1\n[fs#1]\ntype = directory\ndev = /srv/x\nmnt = /data\n",
    )
    .expect("config");
    let svc = Service::load(&env, "svc").expect("service");
    with_local_ctx(&env, &svc, false, |ctx| {
        let t = Instant::now();
        let found = owners::scan(ctx);
        (t.elapsed(), found)
    })
}

fn main() {
    println!("| files | entries counted | scan median |");
    println!("|---|---|---|");
    for n in SIZES {
        let tmp = tempfile::tempdir().expect("tempdir");
        files(tmp.path(), n);
        let mut times = Vec::new();
        let mut counted = 0;
        for _ in 0..RUNS {
            let (took, found) = scan(tmp.path());
            counted = found.users.iter().map(|u| u.files).sum::<u64>();
            times.push(took);
        }
        println!("| {n} | {counted} | {:.1} ms |", ms(median(times)));
    }
    let n = 5_000u32;
    let passwd: String = (0..n)
        .map(|i| format!("u{i}:x:{}:1::/:/bin/sh\n", 1000 + i))
        .collect();
    let ids = Ids {
        users: IdTable::parse(&passwd),
        groups: IdTable::parse(""),
    };
    let owners = ServiceOwners {
        users: (0..n)
            .map(|i| OwnerUse {
                id: 1000 + i,
                files: 1,
                ..OwnerUse::default()
            })
            .collect(),
        ..ServiceOwners::default()
    };
    let mut times = Vec::new();
    for _ in 0..RUNS {
        let t = Instant::now();
        let checks = compare(&owners, &ids, &ids, "d1");
        times.push(t.elapsed());
        assert_eq!(checks.len(), n as usize);
    }
    println!(
        "drift comparison of {n} ids (passwd parsed once per side): {:.2} ms",
        ms(median(times))
    );
}

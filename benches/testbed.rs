//! Replication and failover on the root testbed, measured in one run (root only; run with
//! `cargo bench --bench testbed`). Figures go to docs/performance.md:
//! - full btrfs sync throughput against `dd bs=1M | ssh dd` of the same bytes (target ≥ 0.9×);
//! - bytes an incremental sync sends against the bytes changed (target ≤ 1.05× + 1 MiB);
//! - the failover's RTO (stop on deb1 begins → the service up and verified on deb2; target
//!   ≤ 5 s), its floor (the command time that could not overlap, from the agent's own accounting,
//!   `DRPILOT_TIMINGS=1`) and drpilot's overhead (RTO − floor; target ≤ 5 %), with the service's
//!   declared lanes (`parallel_groups = ip | fs`) and, for comparison, without them.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use color_eyre::eyre::{bail, eyre, Result};
use drpilot::lab::testbed::seed_service::{clean_env, deploy, drpilot_on, DRP, PROD, SERVICE};
use drpilot::lab::testbed::{Host, Spec, Testbed};
use drpilot::protocol::verb::{Action, SvcFlags};
use drpilot::transport::{client, run_child, CallOutput};

const MIB: u64 = 1 << 20;
const BLOB_MIB: u64 = 384;
const APPDATA: &str = "/opt/busybox.opensvc.com/appdata";
const ROUNDS: usize = 3;

fn must(out: CallOutput, what: &str) -> Result<String> {
    if !out.success {
        bail!("{what}: {}\n{}", out.failure_reason(), out.stderr);
    }
    Ok(out.stdout_text())
}

fn agent(host: &Host, bin: &Path, action: Action, flags: SvcFlags) -> Result<String> {
    let args = client::svc(SERVICE, &action, &flags);
    must(drpilot_on(host, bin, &args)?, &args.join(" "))
}

/// `--force` (we run outside the sync period), optionally for some resources only.
fn forced(rids: &[&str]) -> SvcFlags {
    SvcFlags {
        force: true,
        rids: rids.iter().map(|r| r.to_string()).collect(),
        ..SvcFlags::default()
    }
}

/// Bytes the sync reported sending: the `sent N bytes` line.
fn bytes_sent(log: &str) -> Result<u64> {
    log.lines()
        .filter_map(|l| l.split("sent ").nth(1))
        .filter_map(|rest| rest.split_whitespace().next()?.parse::<u64>().ok())
        .next_back()
        .ok_or_else(|| eyre!("no 'sent N bytes' line in:\n{log}"))
}

/// `dd if=FILE bs=1M` on deb1 piped into `ssh deb2 dd of=TARGET bs=1M`; returns the seconds.
fn dd_over_ssh(tb: &Testbed, prod: &Host, file: &str, target: &str) -> Result<f64> {
    let started = Instant::now();
    let mut reader = prod.command("dd");
    clean_env(&mut reader);
    let mut reader = reader
        .args([&format!("if={file}"), "bs=1M", "status=none"])
        .stdout(Stdio::piped())
        .spawn()?;
    let pipe = reader.stdout.take().ok_or_else(|| eyre!("dd stdout"))?;
    let config = tb.ssh.config().to_string_lossy().into_owned();
    let mut writer = prod.command("ssh");
    clean_env(&mut writer);
    writer
        .args([
            "-F",
            &config,
            "deb2",
            "dd",
            &format!("of={target}"),
            "bs=1M",
            "status=none",
            "conv=fsync",
        ])
        .stdin(pipe)
        .stderr(Stdio::piped());
    let child = writer.spawn()?;
    // The Command keeps its copy of the pipe until dropped: drop it so dd sees ssh go.
    drop(writer);
    let out = child.wait_with_output()?;
    let read = reader.wait()?;
    if !out.status.success() || !read.success() {
        bail!(
            "dd | ssh dd failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(started.elapsed().as_secs_f64())
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// One agent run's own accounting (`DRPILOT_TIMINGS=1`), in seconds.
#[derive(Debug, Clone, Copy, Default)]
struct Timed {
    total: f64,
    commands: f64,
    floor: f64,
}

impl std::ops::Add for Timed {
    type Output = Timed;
    fn add(self, o: Timed) -> Timed {
        Timed {
            total: self.total + o.total,
            commands: self.commands + o.commands,
            floor: self.floor + o.floor,
        }
    }
}

/// Runs `drpilot svc SERVICE ARGS` on `host` with DRPILOT_TIMINGS=1; its stdout and timings.
fn timed_svc(host: &Host, bin: &Path, args: &[String]) -> Result<(String, Timed)> {
    let mut cmd = host.command(&bin.to_string_lossy());
    cmd.args(args);
    clean_env(&mut cmd);
    cmd.env("DRPILOT_TIMINGS", "1");
    let out = run_child(cmd, None, Some(Duration::from_secs(300)))?;
    if !out.success {
        bail!(
            "{}: {}\n{}",
            args.join(" "),
            out.failure_reason(),
            out.stderr
        );
    }
    let line = out
        .stderr
        .lines()
        .find(|l| l.starts_with("timings:"))
        .ok_or_else(|| eyre!("no timings line from {}", args.join(" ")))?;
    let field = |k: &str| -> Result<f64> {
        line.split_whitespace()
            .find_map(|w| w.strip_prefix(&format!("{k}=")))
            .and_then(|v| v.parse::<f64>().ok())
            .map(|ms| ms / 1000.0)
            .ok_or_else(|| eyre!("no {k} in {line}"))
    };
    let t = Timed {
        total: field("total_ms")?,
        commands: field("commands_ms")?,
        floor: field("floor_ms")?,
    };
    Ok((out.stdout_text(), t))
}

/// One failover, timed from the operator's side: stop on deb1, start on deb2, and the status
/// on deb2 saying up. Returns the RTO and the three runs' accounting.
struct Failover {
    rto: f64,
    stop: Timed,
    start: Timed,
    verify: Timed,
}

fn failover(prod: &Host, drp: &Host, bin: &Path) -> Result<Failover> {
    let verb = |a: Action| client::svc(SERVICE, &a, &SvcFlags::default());
    let began = Instant::now();
    let (_, stop) = timed_svc(prod, bin, &verb(Action::Stop(None)))?;
    let (_, start) = timed_svc(drp, bin, &verb(Action::Start(None)))?;
    let mut status = vec![
        "svc".to_string(),
        SERVICE.to_string(),
        "print".into(),
        "status".into(),
    ];
    status.extend(["--format".to_string(), "json".into()]);
    let (json, verify) = timed_svc(drp, bin, &status)?;
    let rto = began.elapsed().as_secs_f64();
    let st: serde_json::Value = serde_json::from_str(&json)?;
    if st["avail"] != "up" {
        bail!("the service is not up on deb2 after the failover: {json}");
    }
    Ok(Failover {
        rto,
        stop,
        start,
        verify,
    })
}

/// Rewrites the service's config on both hosts with or without its declared lanes.
fn set_lanes(tb: &Testbed, lanes: bool) -> Result<()> {
    for node in [PROD, DRP] {
        let host = tb.host(node).ok_or_else(|| eyre!("no {node}"))?;
        let path = format!("/etc/drpilot/{SERVICE}.env");
        let text = host.run(&["cat", &path])?;
        let text: String = text
            .lines()
            .filter(|l| !l.starts_with("parallel_groups"))
            .map(|l| {
                if lanes && l.starts_with("drp_cut_access") {
                    format!("{l}\nparallel_groups = ip | fs\n")
                } else {
                    format!("{l}\n")
                }
            })
            .collect();
        tb.write_file(node, &path, &text)?;
    }
    Ok(())
}

fn failover_rows(label: &str, f: &Failover) {
    let floor = f.stop.floor + f.start.floor + f.verify.floor;
    let agent = f.stop + f.start + f.verify;
    println!(
        "| {label}: RTO (stop on deb1 begins → up and verified on deb2) | **{:.2} s** (stop {:.2} s, start {:.2} s, status {:.2} s) | ≤ 5 s |",
        f.rto, f.stop.total, f.start.total, f.verify.total
    );
    println!(
        "| {label}: floor (command time that could not overlap) | {floor:.2} s (all command time {:.2} s) | — |",
        agent.commands
    );
    println!(
        "| {label}: drpilot's overhead (RTO − floor) | **{:.1} %** ({:.0} ms; inside the agent {:.0} ms) | ≤ 5 % |",
        (f.rto - floor) / f.rto * 100.0,
        (f.rto - floor) * 1000.0,
        (agent.total - floor) * 1000.0
    );
}

fn main() -> Result<()> {
    if !std::env::args().any(|a| a == "--bench") {
        return Ok(());
    }
    if !rustix::process::geteuid().is_root() {
        println!("skipping the testbed benchmark: it needs root");
        return Ok(());
    }
    let built = Path::new(env!("CARGO_BIN_EXE_drpilot"));
    let setup = Instant::now();
    // Room for the blob, its snapshots and the dd copies (sparse files).
    let tb = Testbed::create(&Spec {
        btrfs_size: 4 << 30,
        ..Spec::seed()
    })?;
    let setup = setup.elapsed();
    let bin = &tb.install(built)?;
    deploy(&tb, bin)?;
    let prod = tb.host(PROD).ok_or_else(|| eyre!("no deb1"))?;
    let drp = tb.host(DRP).ok_or_else(|| eyre!("no deb2"))?;
    agent(prod, bin, Action::Start(None), SvcFlags::default())?;
    let blob = format!("{APPDATA}/blob");
    prod.run(&[
        "dd",
        "if=/dev/urandom",
        &format!("of={blob}"),
        "bs=1M",
        &format!("count={BLOB_MIB}"),
        "status=none",
    ])?;
    prod.run(&["sync"])?;

    // Full sync against dd | ssh dd of the same bytes, into deb2's btrfs volume.
    let dev2 = tb
        .volumes_of(DRP)
        .map(|v| v.btrfs.device.to_string_lossy().into_owned())
        .ok_or_else(|| eyre!("no deb2 volume"))?;
    let scratch = "/run/bench-dd";
    drp.run(&["mkdir", "-p", scratch])?;
    drp.run(&["mount", &dev2, scratch])?;
    let (mut t_sync, mut t_dd, mut sent_full) = (Vec::new(), Vec::new(), 0);
    for _ in 0..ROUNDS {
        t_dd.push(dd_over_ssh(&tb, prod, &blob, &format!("{scratch}/ddcopy"))?);
        drp.run(&["rm", "-f", &format!("{scratch}/ddcopy")])?;
        drp.run(&["sync"])?;
        let started = Instant::now();
        let rid_only = SvcFlags {
            rids: vec!["sync#2".into()],
            ..SvcFlags::default()
        };
        let log = agent(prod, bin, Action::SyncFull, rid_only)?;
        t_sync.push(started.elapsed().as_secs_f64());
        sent_full = bytes_sent(&log)?;
    }
    drp.run(&["umount", scratch])?;
    let dd_bytes = (BLOB_MIB * MIB) as f64;
    let (t_sync, t_dd) = (median(t_sync), median(t_dd));
    let rate_sync = sent_full as f64 / t_sync;
    let rate_dd = dd_bytes / t_dd;

    // Incremental: 64 MiB of new data and 16 MiB rewritten in place.
    let fresh = format!("{APPDATA}/fresh");
    prod.run(&[
        "dd",
        "if=/dev/urandom",
        &format!("of={fresh}"),
        "bs=1M",
        "count=64",
        "status=none",
    ])?;
    prod.run(&[
        "dd",
        "if=/dev/urandom",
        &format!("of={blob}"),
        "bs=1M",
        "count=16",
        "seek=100",
        "conv=notrunc",
        "status=none",
    ])?;
    prod.run(&["sync"])?;
    let changed = 80 * MIB;
    let started = Instant::now();
    let log = agent(prod, bin, Action::SyncUpdate, forced(&["sync#2"]))?;
    let t_inc = started.elapsed().as_secs_f64();
    let sent_inc = bytes_sent(&log)?;
    let allowed = changed as f64 * 1.05 + MIB as f64;

    // Failover: the last sync, then stop on deb1 and start on deb2, with the declared lanes
    // (the testbed's config), then once more with the tutorial's plain sequence.
    agent(prod, bin, Action::SyncUpdate, forced(&[]))?;
    let laned = failover(prod, drp, bin)?;
    agent(drp, bin, Action::Stop(None), SvcFlags::default())?;
    set_lanes(&tb, false)?;
    agent(prod, bin, Action::Start(None), SvcFlags::default())?;
    let sequential = failover(prod, drp, bin)?;
    agent(drp, bin, Action::Stop(None), SvcFlags::default())?;
    set_lanes(&tb, true)?;
    let teardown = Instant::now();
    tb.teardown()?;
    let teardown = teardown.elapsed();

    println!("| measure | value | target |");
    println!("|---|---|---|");
    println!(
        "| testbed setup / teardown | {:.2} s / {:.2} s | — |",
        setup.as_secs_f64(),
        teardown.as_secs_f64()
    );
    println!(
        "| full btrfs sync, {} MiB sent (median of {ROUNDS}) | {t_sync:.2} s, {:.0} MiB/s | — |",
        sent_full / MIB,
        rate_sync / MIB as f64
    );
    println!("| `dd bs=1M \\| ssh dd` of {BLOB_MIB} MiB (median of {ROUNDS}) | {t_dd:.2} s, {:.0} MiB/s | — |", rate_dd / MIB as f64);
    println!(
        "| full sync throughput / dd throughput | {:.2}× | ≥ 0.9× |",
        rate_sync / rate_dd
    );
    println!(
        "| incremental sync of {} MiB changed | {sent_inc} bytes sent ({:.3}× changed) in {t_inc:.2} s | ≤ {:.0} bytes (1.05× + 1 MiB) |",
        changed / MIB,
        sent_inc as f64 / changed as f64,
        allowed
    );
    failover_rows("with lanes (`parallel_groups = ip \\| fs`)", &laned);
    failover_rows("the plain sequence", &sequential);
    Ok(())
}

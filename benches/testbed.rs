//! Replication and failover on the root testbed, measured in one run (root only; run with
//! `cargo bench --bench testbed`). Figures go to docs/performance.md:
//! - full btrfs sync throughput against `dd bs=1M | ssh dd` of the same bytes (target ≥ 0.9×);
//! - bytes an incremental sync sends against the bytes changed (target ≤ 1.05× + 1 MiB);
//! - stop on deb1 + start on deb2 against the time its underlying commands took (target: agent
//!   overhead ≤ 10 %), from the agent's own accounting (`DRPILOT_TIMINGS=1`).

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

/// `total_ms` and `commands_ms` of an action run with DRPILOT_TIMINGS=1.
fn timed_action(host: &Host, bin: &Path, verb: Action) -> Result<(f64, f64)> {
    let mut cmd = host.command(&bin.to_string_lossy());
    cmd.args(client::svc(SERVICE, &verb, &SvcFlags::default()));
    clean_env(&mut cmd);
    cmd.env("DRPILOT_TIMINGS", "1");
    let out = run_child(cmd, None, Some(Duration::from_secs(300)))?;
    if !out.success {
        bail!("{}: {}", verb.verb(), out.failure_reason());
    }
    let line = out
        .stderr
        .lines()
        .find(|l| l.starts_with("timings:"))
        .ok_or_else(|| eyre!("no timings line from {}", verb.verb()))?;
    let field = |k: &str| -> Result<f64> {
        line.split_whitespace()
            .find_map(|w| w.strip_prefix(&format!("{k}=")))
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| eyre!("no {k} in {line}"))
    };
    Ok((field("total_ms")? / 1000.0, field("commands_ms")? / 1000.0))
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

    // Failover: the last sync, then stop on deb1 and start on deb2.
    agent(prod, bin, Action::SyncUpdate, forced(&[]))?;
    let (stop_total, stop_cmds) = timed_action(prod, bin, Action::Stop(None))?;
    let (start_total, start_cmds) = timed_action(drp, bin, Action::Start(None))?;
    let total = stop_total + start_total;
    let cmds = stop_cmds + start_cmds;
    let overhead = (total - cmds) / total * 100.0;
    agent(drp, bin, Action::Stop(None), SvcFlags::default())?;
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
    println!("| stop on deb1 | {stop_total:.2} s, commands {stop_cmds:.2} s | — |");
    println!("| start on deb2 | {start_total:.2} s, commands {start_cmds:.2} s | — |");
    println!("| failover agent overhead | {overhead:.1} % of {total:.2} s | ≤ 10 % |");
    Ok(())
}

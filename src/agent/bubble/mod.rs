//! The non-disruptive DRP test on the DRP node: the latest replica is cloned (never the replica
//! itself), and the service starts from the clone in a bubble (its own network and mount
//! namespaces, `holder.rs`) while production runs and keeps replicating to the replica.
//!
//! The bubble's agent runs with `DRPILOT_BUBBLE=1`, which skips the split-brain guard
//! (production runs by design and the bubble cannot reach it), never makes a replica live and
//! refuses every sync. It sees its own copy of the config (made to use the clones) and its own
//! state directory:
//! - on a real node, in its mount namespace: `/etc/drpilot` and `/var/lib/drpilot/SVC` are
//!   bind mounts of the bubble's `etc` and `state` directories, and a btrfs clone is a snapshot
//!   in the volume that the copied config mounts;
//! - on a lab node (a node under a `DRPILOT_ROOT`), the bubble is a node root of its own
//!   (`bubble/root`), where each directory clone lies where its replica lies.
//!
//! Everything of a test lives under `/var/lib/drpilot/SVC/bubble`, and its clones: ending the
//! holder, dropping the clones and removing that directory leaves nothing behind.

mod follow;
mod holder;

pub use follow::BubbleFollow;

use std::path::{Path, PathBuf};
use std::process::Stdio;

use chrono::{DateTime, Utc};
use color_eyre::eyre::{bail, eyre, Result, WrapErr};

use super::{probe, Service};
use crate::drivers::Ctx;
use crate::paths::{write_atomic, NodeEnv};
use crate::protocol::bubble::{BubbleState, CloneInfo};
use crate::protocol::verb::Action;
use crate::status::ServiceStatus;
use holder::Holder;

/// The environment variable that marks an agent run inside a bubble.
pub const BUBBLE_ENV: &str = "DRPILOT_BUBBLE";
/// The file that marks a bubble's root (without it, `DRPILOT_BUBBLE` means nothing).
const MARKER: &str = ".drpilot-bubble";

/// Whether this agent runs inside a test bubble: the variable is set and its config directory
/// is a bubble's (an operator cannot skip the split-brain guard on a real node with the
/// variable).
pub fn inside(env: &NodeEnv) -> bool {
    std::env::var_os(BUBBLE_ENV).is_some() && env.path("/etc/drpilot").join(MARKER).is_file()
}

struct Paths {
    dir: PathBuf,
    /// A lab node's bubble root; `None` on a real node (bind mounts in its mount namespace).
    root: Option<PathBuf>,
    /// The bubble's config directory.
    etc: PathBuf,
    /// The bubble's state directory (a real node's; a lab bubble's lies under its root).
    inner_state: PathBuf,
    holder: PathBuf,
    state: PathBuf,
    /// Where the config and state directories are bound, inside (a real node).
    etc_at: PathBuf,
    state_at: PathBuf,
}

fn paths(env: &NodeEnv, svc: &str) -> Paths {
    let dir = env.state_dir(svc).join("bubble");
    let rooted = !(env.root.as_os_str().is_empty() || env.root == Path::new("/"));
    let root = rooted.then(|| dir.join("root"));
    let etc = match &root {
        Some(r) => NodeEnv::new(r, &env.nodename).etc_dir(),
        None => dir.join("etc"),
    };
    Paths {
        inner_state: dir.join("state"),
        holder: dir.join("holder.json"),
        state: dir.join("clone.json"),
        etc_at: env.etc_dir(),
        state_at: env.state_dir(svc),
        root,
        etc,
        dir,
    }
}

fn read_json<T: serde::de::DeserializeOwned>(p: &Path) -> Option<T> {
    serde_json::from_str(&std::fs::read_to_string(p).ok()?).ok()
}

/// Runs a bubble verb.
pub fn run(ctx: &Ctx, svc: &Service, action: &Action) -> Result<()> {
    match action {
        Action::BubbleClone => clone(ctx, svc),
        Action::BubbleStart => start(ctx, svc),
        Action::BubbleCheck => check(ctx, svc),
        Action::BubbleDown => down(ctx, svc),
        _ => Ok(()),
    }
}

/// `bubblestatus`: what this node holds of a bubble.
pub fn status(env: &NodeEnv, svc: &Service) -> BubbleState {
    let p = paths(env, &svc.name);
    let mut st: BubbleState = read_json(&p.state).unwrap_or_default();
    st.exists = p.dir.exists();
    let holder: Option<Holder> = read_json(&p.holder);
    st.running = holder.and_then(|h| h.tracked()).is_some();
    if st.running {
        st.inside = holder.and_then(|h| inner_status(env, svc, &h, p.root.as_deref()).ok());
    }
    // A clone needs at most the replica's size (a dir copy where blocks cannot be shared; a
    // btrfs `dst` is `DEV:SUBVOL`, no path, and its snapshot needs no room).
    st.needed_bytes = svc
        .resources
        .iter()
        .filter_map(|r| r.driver.as_sync())
        .filter(|s| s.is_service_data())
        .filter_map(|s| {
            svc.cfg
                .get(s.rid_for_state(), "dst", &env.nodename)
                .map(|d| env.path(d.value))
        })
        .map(|p| tree_bytes(&p))
        .sum();
    let state_dir = env.state_dir(&svc.name);
    let parent = state_dir
        .ancestors()
        .find(|a| a.exists())
        .unwrap_or(Path::new("/"));
    st.free_bytes = rustix::fs::statvfs(parent)
        .map(|v| v.f_bavail.saturating_mul(v.f_frsize))
        .unwrap_or(0);
    st
}

/// Bytes of the regular files under `p`.
fn tree_bytes(p: &Path) -> u64 {
    let Ok(meta) = std::fs::symlink_metadata(p) else {
        return 0;
    };
    if meta.is_file() {
        return meta.len();
    }
    if !meta.is_dir() {
        return 0;
    }
    std::fs::read_dir(p)
        .map(|d| d.flatten().map(|e| tree_bytes(&e.path())).sum())
        .unwrap_or(0)
}

/// `bubbleclone`: the clone of every replica, in a fresh bubble root.
fn clone(ctx: &Ctx, svc: &Service) -> Result<()> {
    if svc.cfg.role(&ctx.env.nodename) != crate::config::Role::Drp {
        bail!(
            "{} is not a DRP node of {}: a test bubble runs on the DRP node",
            ctx.env.nodename,
            svc.name
        );
    }
    let st = probe::probe(ctx.env, svc);
    if st.avail.is_active() {
        bail!(
            "{} is {} on {}: the DRP node runs the service, there is no replica to test",
            svc.name,
            st.avail,
            ctx.env.nodename
        );
    }
    let p = paths(ctx.env, &svc.name);
    if p.dir.exists() {
        ctx.log
            .warn("", "removing what an earlier step of this test left");
        down(ctx, svc)?;
    }
    for d in [&p.etc, &p.inner_state] {
        std::fs::create_dir_all(d).wrap_err_with(|| format!("creating {}", d.display()))?;
    }
    let clone_root = p.root.clone().unwrap_or_else(|| p.dir.clone());
    let cloned_at = Utc::now();
    let mut clones = Vec::new();
    for r in &svc.resources {
        let Some(sync) = r.driver.as_sync().filter(|s| s.is_service_data()) else {
            continue;
        };
        if r.common.disabled {
            continue;
        }
        let rid = sync.rid_for_state();
        let synced = sync.last_sync(ctx).map(|s| s.when);
        sync.clone_replica(ctx, &clone_root)?;
        ctx.log.info(
            rid,
            &match synced {
                Some(w) => format!(
                    "cloned the replica into the test bubble (its last sync: {}, {}s before the clone)",
                    w.to_rfc3339(),
                    (cloned_at - w).num_seconds()
                ),
                None => "cloned the replica into the test bubble (it never completed a sync)".into(),
            },
        );
        clones.push(CloneInfo {
            rid: rid.to_string(),
            replica_synced_at: synced.map(|w| w.to_rfc3339()),
        });
    }
    if clones.is_empty() {
        bail!(
            "{}: no data sync resource: nothing to clone for a test",
            svc.name
        );
    }
    let mut config = std::fs::read_to_string(&svc.cfg.raw.path)
        .wrap_err_with(|| format!("reading {}", svc.cfg.raw.path.display()))?;
    for sync in svc.resources.iter().filter_map(|r| r.driver.as_sync()) {
        config = sync.clone_config(ctx, &config)?;
    }
    write_atomic(&p.etc.join(format!("{}.env", svc.name)), config.as_bytes())?;
    let rpo_s = clones
        .iter()
        .map(|c| {
            c.replica_synced_at
                .as_deref()
                .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                .map(|w| (cloned_at - w.with_timezone(&Utc)).num_seconds())
        })
        .collect::<Option<Vec<i64>>>()
        .and_then(|v| v.into_iter().max());
    let state = BubbleState {
        exists: true,
        cloned_at: Some(cloned_at.to_rfc3339()),
        clones,
        rpo_s,
        ..BubbleState::default()
    };
    write_atomic(&p.state, serde_json::to_string(&state)?.as_bytes())?;
    write_atomic(&p.etc.join(MARKER), b"a drpilot test bubble\n")?;
    Ok(())
}

/// The holder of this node's bubble, started (and furnished) when none runs.
fn holder(ctx: &Ctx, svc: &Service, p: &Paths) -> Result<Holder> {
    if let Some(h) = read_json::<Holder>(&p.holder).filter(|h| h.tracked().is_some()) {
        return Ok(h);
    }
    let h = Holder::spawn()?;
    write_atomic(&p.holder, serde_json::to_string(&h)?.as_bytes())?;
    ctx.log.info(
        "",
        &format!("test bubble: namespaces held by pid {}", h.pid),
    );
    // A real node's bubble sees its own config and state where the agent looks for them.
    if p.root.is_none() {
        for (from, to) in [(&p.etc, &p.etc_at), (&p.inner_state, &p.state_at)] {
            let mut bind = h.command(Path::new("mount"));
            bind.arg("--bind").arg(from).arg(to);
            must(ctx, bind, "binding the bubble's directories")?;
        }
    }
    // Loopback up, for applications that talk to themselves.
    let mut lo = h.command(Path::new("ip"));
    lo.args(["link", "set", "lo", "up"]);
    must(ctx, lo, "bringing the bubble's loopback up")?;
    // Each interface the service's addresses go on, as one end of a veth pair whose other end
    // stays in the bubble too, with the node's own addresses (their subnets give the service's
    // address its prefix): nothing sent on it leaves the bubble.
    for (n, dev) in ip_devices(ctx, svc).into_iter().enumerate() {
        let Ok(out) = std::process::Command::new("ip")
            .args(["-o", "-4", "addr", "show", "dev", &dev])
            .output()
        else {
            continue;
        };
        let peer = format!("bubblepeer{n}");
        let mut add = h.command(Path::new("ip"));
        add.args(["link", "add", &dev, "type", "veth", "peer", "name", &peer]);
        must(ctx, add, "creating the bubble's interface")?;
        let mut up = h.command(Path::new("ip"));
        up.args(["link", "set", &peer, "up"]);
        must(ctx, up, "bringing the bubble's interface up")?;
        for cidr in String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.split_whitespace().skip_while(|w| *w != "inet").nth(1))
        {
            let mut a = h.command(Path::new("ip"));
            a.args(["addr", "add", cidr, "dev", &dev]);
            must(ctx, a, "addressing the bubble's interface")?;
        }
        let mut up = h.command(Path::new("ip"));
        up.args(["link", "set", &dev, "up"]);
        must(ctx, up, "bringing the bubble's interface up")?;
        ctx.log.info(
            "",
            &format!("test bubble: {dev} is a link closed inside it (no wire, no ARP out)"),
        );
    }
    Ok(h)
}

/// The interfaces of the service's ip resources on this node.
fn ip_devices(ctx: &Ctx, svc: &Service) -> Vec<String> {
    let mut devs: Vec<String> = svc
        .resources
        .iter()
        .map(|r| r.driver.rid())
        .filter(|rid| rid.starts_with("ip#"))
        .filter_map(|rid| ctx.get(rid, "ipdev"))
        .collect();
    devs.sort();
    devs.dedup();
    devs
}

/// Runs a setup command inside the bubble; its failure stops the start.
fn must(ctx: &Ctx, mut cmd: std::process::Command, what: &str) -> Result<()> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .wrap_err_with(|| format!("{what}: cannot run nsenter"))?;
    if !out.status.success() {
        let why = String::from_utf8_lossy(&out.stderr);
        ctx.log.error("", &format!("{what}: {}", why.trim()));
        bail!("{what} failed: {}", why.trim());
    }
    Ok(())
}

/// `drpilot svc SVC ARGS` inside the bubble, with its root; its output goes to ours.
/// The environment of a command run inside the bubble.
fn bubble_env(cmd: &mut std::process::Command, env: &NodeEnv, root: Option<&Path>) {
    match root {
        Some(r) => cmd.env("DRPILOT_ROOT", r),
        None => cmd.env_remove("DRPILOT_ROOT"),
    };
    cmd.env("DRPILOT_NODENAME", &env.nodename)
        .env(BUBBLE_ENV, "1");
}

fn inner(
    env: &NodeEnv,
    svc: &str,
    h: &Holder,
    root: Option<&Path>,
    args: &[&str],
) -> Result<std::process::Output> {
    let exe = crate::transport::self_exe()?;
    let mut cmd = h.command(&exe);
    cmd.args(["svc", svc]).args(args).stdin(Stdio::null());
    bubble_env(&mut cmd, env, root);
    cmd.output()
        .wrap_err("cannot run drpilot inside the test bubble (nsenter)")
}

fn inner_status(
    env: &NodeEnv,
    svc: &Service,
    h: &Holder,
    root: Option<&Path>,
) -> Result<ServiceStatus> {
    let args = ["print", "status", "--format", "json"];
    let out = inner(env, &svc.name, h, root, &args)?;
    serde_json::from_slice(&out.stdout).map_err(|e| eyre!("the bubble's status: {e}"))
}

/// Passes an inner command's lines on to this action's log and fails with its stderr.
fn relay(ctx: &Ctx, what: &str, out: std::process::Output) -> Result<()> {
    let text = String::from_utf8_lossy(&out.stdout);
    if !text.trim().is_empty() {
        ctx.log.output("", &text);
    }
    if !out.status.success() {
        bail!(
            "{what} in the test bubble failed: {}",
            crate::text::clean_lines(String::from_utf8_lossy(&out.stderr).trim())
        );
    }
    Ok(())
}

/// `bubblestart`: the service started from the clone inside the bubble.
fn start(ctx: &Ctx, svc: &Service) -> Result<()> {
    let p = paths(ctx.env, &svc.name);
    if !p.etc.join(MARKER).is_file() {
        bail!(
            "no clone to start from on {}: run bubbleclone first",
            ctx.env.nodename
        );
    }
    let h = holder(ctx, svc, &p)?;
    let out = inner(ctx.env, &svc.name, &h, p.root.as_deref(), &["start"])?;
    relay(ctx, "the start", out)
}

/// `bubblecheck`: up inside the bubble, and `drp_app_check` passes there.
fn check(ctx: &Ctx, svc: &Service) -> Result<()> {
    let p = paths(ctx.env, &svc.name);
    let Some(h) = read_json::<Holder>(&p.holder).filter(|h| h.tracked().is_some()) else {
        bail!("no test bubble runs on {}", ctx.env.nodename);
    };
    let st = inner_status(ctx.env, svc, &h, p.root.as_deref())?;
    if st.avail != crate::status::Status::Up {
        bail!("{} is {} in the test bubble", svc.name, st.avail);
    }
    ctx.log
        .info("", &format!("{} is up in the test bubble", svc.name));
    let out = inner(ctx.env, &svc.name, &h, p.root.as_deref(), &["appcheck"])?;
    relay(ctx, "the application check", out)
}

/// `bubbleenter`: a shell inside the running bubble, with its root, on this terminal.
pub fn enter(env: &NodeEnv, svc: &Service) -> Result<()> {
    let p = paths(env, &svc.name);
    let Some(h) = read_json::<Holder>(&p.holder).filter(|h| h.tracked().is_some()) else {
        bail!("no test bubble runs on {}", env.nodename);
    };
    let shell = std::env::var_os("SHELL").unwrap_or_else(|| "/bin/sh".into());
    eprintln!(
        "inside the test bubble of {} on {}; exit leaves it running",
        svc.name, env.nodename
    );
    let mut cmd = h.command(Path::new(&shell));
    bubble_env(&mut cmd, env, p.root.as_deref());
    if let Some(r) = &p.root {
        cmd.current_dir(r);
    }
    let status = cmd
        .status()
        .wrap_err("cannot open a shell inside the test bubble (nsenter)")?;
    if !status.success() {
        bail!("the shell in the test bubble ended with {status}");
    }
    Ok(())
}

/// `bubbledown`: the bubble's service stopped, its namespaces ended, the clone destroyed.
fn down(ctx: &Ctx, svc: &Service) -> Result<()> {
    let p = paths(ctx.env, &svc.name);
    if !p.dir.exists() {
        ctx.log.info(
            "",
            &format!("no test bubble on {}: nothing to remove", ctx.env.nodename),
        );
        return Ok(());
    }
    if let Some(h) = read_json::<Holder>(&p.holder).filter(|h| h.tracked().is_some()) {
        match inner(ctx.env, &svc.name, &h, p.root.as_deref(), &["stop"]) {
            Ok(out) => {
                if let Err(e) = relay(ctx, "the stop", out) {
                    ctx.log
                        .warn("", &format!("{e:#}; its processes are killed"));
                }
            }
            Err(e) => ctx.log.warn("", &format!("{e:#}")),
        }
        let killed = h.end();
        if !killed.is_empty() {
            ctx.log.warn(
                "",
                &format!("killed what the bubble's stop left running: pids {killed:?}"),
            );
        }
        ctx.log.info("", "test bubble: namespaces ended");
    }
    for sync in svc.resources.iter().filter_map(|r| r.driver.as_sync()) {
        sync.drop_clone(ctx)?;
    }
    std::fs::remove_dir_all(&p.dir).wrap_err_with(|| format!("removing {}", p.dir.display()))?;
    ctx.log.info(
        "",
        &format!(
            "test bubble removed: {} and its clone are gone",
            p.dir.display()
        ),
    );
    Ok(())
}

//! The sending side: a read-only snapshot of the live subvolume, `btrfs send` (with `-p` the
//! newest snapshot both nodes hold, for an update) piped through the transport into the
//! target's `drpilot peer btrfs-receive`, bytes counted on the way; then the state file, the
//! record of what the target now shares, and rotation. A failure deletes the unsent snapshot
//! and leaves the target at its previous one.

use std::time::Duration;

use color_eyre::eyre::{bail, eyre, Result, WrapErr};

use super::location::{Location, SNAP_DIR};
use super::plan;
use super::rotate::{kept_for_others, record_common, rotate};
use super::stream::stream;
use super::subvol::Subvol;
use super::volume::{argv, Tool, Top};
use super::wire::{list_args, receive_args, ReceiveReport, Transfer};
use crate::drivers::sync_state::{record_transfer, write_state, SyncState};
use crate::drivers::{Ctx, SyncMode};
use crate::transport::Transport;

/// How long a target may take to list its snapshots.
const LIST_TIMEOUT: Duration = Duration::from_secs(120);

/// The snapshots the target holds of its subvolume.
fn remote_snapshots(
    ctx: &Ctx,
    rid: &str,
    dst: &Location,
    target: &dyn Transport,
) -> Result<Vec<Subvol>> {
    let out = target
        .call(&list_args(ctx.svc, rid, dst)?, None, Some(LIST_TIMEOUT))
        .wrap_err_with(|| format!("{rid}: asking {} for its snapshots", target.node()))?;
    if !out.success {
        bail!(
            "{rid}: {} could not list its snapshots of {dst}: {}",
            target.node(),
            out.failure_reason()
        );
    }
    serde_json::from_slice(&out.stdout)
        .wrap_err_with(|| format!("{rid}: bad snapshot list from {}", target.node()))
}

/// A rough size of a full send: the data the snapshot references.
fn estimate(tool: &Tool, top: &Top, rel: &str) -> Option<u64> {
    let out = tool
        .query(&argv(&[
            &"btrfs",
            &"filesystem",
            &"du",
            &"-s",
            &"--raw",
            &top.join(rel),
        ]))
        .ok()?;
    let text = out.stdout_text();
    text.lines().nth(1)?.split_whitespace().next()?.parse().ok()
}

/// Everything one send needs.
struct Job<'a> {
    ctx: &'a Ctx<'a>,
    rid: &'a str,
    tool: &'a Tool<'a>,
    top: &'a Top<'a>,
    src: &'a Location,
    dst: &'a Location,
    target: &'a dyn Transport,
    state: &'a SyncState,
    name: &'a str,
}

/// Replicates the live subvolume of `src` to `target`.
pub fn sync_to(rid: &str, ctx: &Ctx, mode: SyncMode, target: &dyn Transport) -> Result<()> {
    let node = ctx.env.nodename.as_str();
    let cfg_path = ctx.cfg.raw.path.display();
    let src = Location::parse(&ctx.require(rid, "src")?)
        .map_err(|e| eyre!("{cfg_path}: [{rid}] src for {node}: {e}"))?;
    let dst_text = ctx.dst_for(rid, target.node())?;
    let dst = Location::parse(&dst_text)
        .map_err(|e| eyre!("{cfg_path}: [{rid}] dst for {}: {e}", target.node()))?;
    let dev = ctx.env.path(&src.dev);
    if !dev.exists() {
        bail!("{rid} on {node}: device {} not found", src.dev);
    }
    let tool = Tool {
        log: ctx.log,
        rid,
        node,
    };
    let top = Top::open(&tool, &ctx.state_dir(), &dev)?;
    if plan::live(&top.list()?, &src).is_none() {
        return Err(tool.fail(
            "nothing to send",
            format!(
                "no subvolume {} at the top level of {}",
                src.subvol, src.dev
            ),
        ));
    }
    let remote = match mode {
        SyncMode::Full => None,
        SyncMode::Update => Some(remote_snapshots(ctx, rid, &dst, target)?),
    };
    let state = SyncState::now();
    let name = src.snap_name(&state.id);
    let rel = Location::snap_rel(&name);
    top.mkdir(SNAP_DIR)?;
    top.snapshot(&src.subvol, &rel, true)?;
    let job = Job {
        ctx,
        rid,
        tool: &tool,
        top: &top,
        src: &src,
        dst: &dst,
        target,
        state: &state,
        name: &name,
    };
    let began = std::time::Instant::now();
    let report = match transfer(&job, remote.as_deref()) {
        Ok(r) => r,
        Err(e) => {
            ctx.log.info(
                rid,
                &format!("the transfer failed: deleting the unsent snapshot {name}"),
            );
            if let Err(d) = top.delete(&rel) {
                ctx.log.warn(rid, &format!("{d:#}"));
            }
            return Err(e);
        }
    };
    write_state(ctx.env, ctx.svc, rid, &state)
        .wrap_err_with(|| format!("{rid} on {node}: writing the state file"))?;
    ctx.log
        .info(rid, &format!("update state file with sync id {}", state.id));
    if let Err(e) = record_transfer(ctx.env, ctx.svc, rid, report.bytes, began) {
        ctx.log.warn(rid, &format!("{e:#}"));
    }
    finish(&job, &report)?;
    top.close()
}

/// Picks the parent, streams the snapshot and checks the target's report.
fn transfer(job: &Job, remote: Option<&[Subvol]>) -> Result<ReceiveReport> {
    let (rid, log, target) = (job.rid, job.ctx.log, job.target);
    let all = job.top.list()?;
    let snaps = plan::snapshots(&all, job.src);
    let new = snaps.iter().find(|s| s.name() == job.name).ok_or_else(|| {
        job.tool
            .fail("after the snapshot", format!("{} is not listed", job.name))
    })?;
    let older: Vec<&Subvol> = snaps
        .iter()
        .filter(|s| s.name() != job.name)
        .copied()
        .collect();
    let to = format!("{}:{}", target.node(), job.dst);
    let parent = match remote {
        None => {
            log.info(
                rid,
                &format!(
                    "full send of {} to {to} (sync id {})",
                    job.name, job.state.id
                ),
            );
            None
        }
        Some(r) => match plan::common_parent(&older, r) {
            Some(p) => {
                log.info(
                    rid,
                    &format!(
                        "incremental send of {} to {to} from {}, the newest snapshot both nodes hold (sync id {})",
                        job.name,
                        p.name(),
                        job.state.id
                    ),
                );
                Some(p)
            }
            None => {
                log.info(
                    rid,
                    &format!(
                        "no snapshot of {} in common with {} (it holds {} of {}): full send of {} to {to}",
                        job.src.subvol,
                        target.node(),
                        r.len(),
                        job.dst.subvol,
                        job.name
                    ),
                );
                None
            }
        },
    };
    let mut send = argv(&[&"btrfs", &"send", &"-q"]);
    if let Some(p) = parent {
        send.extend(argv(&[&"-p", &job.top.join(&p.path)]));
    }
    send.push(job.top.join(&new.path).to_string_lossy().into_owned());
    let total = if parent.is_none() {
        estimate(job.tool, job.top, &new.path)
    } else {
        None
    };
    let when = job
        .state
        .when
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let args = receive_args(
        job.ctx.svc,
        rid,
        job.dst,
        &Transfer {
            from: &job.ctx.env.nodename,
            id: &job.state.id,
            when: &when,
            snap: job.name,
        },
    )?;
    log.cmd(rid, &send);
    log.info(
        rid,
        &format!("| {}: drpilot {}", target.node(), shell_words::join(&args)),
    );
    let (sent, elapsed, out) = stream(job.tool, &send, target, &args, total)?;
    let report: ReceiveReport = serde_json::from_slice(&out)
        .wrap_err_with(|| format!("{rid}: bad receive report from {}", target.node()))?;
    if report.bytes != sent {
        bail!(
            "{rid}: {} read {} bytes of the stream but {sent} were sent",
            target.node(),
            report.bytes
        );
    }
    if report.received_uuid != new.uuid {
        bail!(
            "{rid}: {} holds {} received from {}, not from {} ({})",
            target.node(),
            report.name,
            report.received_uuid,
            job.name,
            new.uuid
        );
    }
    let how = match parent {
        Some(p) => format!("incremental, -p {}", p.name()),
        None => "full".to_string(),
    };
    log.info(
        rid,
        &format!(
            "sent {sent} bytes to {} in {:.1} s ({how}): {} holds {}",
            target.node(),
            elapsed.as_secs_f64(),
            target.node(),
            report.name
        ),
    );
    Ok(report)
}

/// After a successful transfer: what the target did, the record, and the local rotation.
fn finish(job: &Job, report: &ReceiveReport) -> Result<()> {
    let (rid, log, peer) = (job.rid, job.ctx.log, job.target.node());
    if !report.cleaned.is_empty() {
        log.info(
            rid,
            &format!(
                "{peer} removed leftovers of a cut transfer: {}",
                report.cleaned.join(", ")
            ),
        );
    }
    if !report.deleted.is_empty() {
        log.info(
            rid,
            &format!(
                "{peer} deleted older snapshots: {}",
                report.deleted.join(", ")
            ),
        );
    }
    for w in &report.warnings {
        log.warn(rid, &format!("{peer}: {w}"));
    }
    let state_dir = job.ctx.state_dir();
    record_common(&state_dir, rid, peer, job.name).wrap_err_with(|| {
        format!(
            "{rid} on {}: recording the snapshot {peer} holds",
            job.tool.node
        )
    })?;
    let nodes = job.ctx.cfg.all_nodes();
    let keep = kept_for_others(&state_dir, rid, peer, Some(&nodes));
    match rotate(job.top, job.src, job.name, &keep) {
        Ok(r) => {
            for w in r.warnings {
                log.warn(rid, &w);
            }
        }
        Err(e) => log.warn(rid, &format!("rotation skipped: {e:#}")),
    }
    Ok(())
}

//! The receiving half of `sync` type=btrfs, run by the sending node through its transport:
//! `drpilot peer btrfs-list` (the snapshots this node holds, to find the common parent) and
//! `drpilot peer btrfs-receive` (a send stream on stdin lands in `.drpilot-snap/.incoming`, and
//! becomes a snapshot beside the others only once complete, read-only and received).

use std::io::{Read, Write};
use std::process::Command;

use color_eyre::eyre::{bail, eyre, Result, WrapErr};

use super::location::{Location, INCOMING_DIR, REPLACED_PREFIX, SNAP_DIR};
use super::plan;
use super::rotate::{kept_for_others, record_common, rotate};
use super::volume::{Tool, Top};
use super::wire::{ReceiveReport, Tail};
use crate::action_log::ActionLog;
use crate::drivers::receive::{local_sync, receive_lock, Incoming, LocalSync, SyncType};
use crate::drivers::sync_state::{write_state, SyncState};
use crate::paths::NodeEnv;
use crate::protocol::names::{Rid, ServiceName, SnapName};
use crate::transport::run_child;

/// The relative path of the incoming directory.
fn incoming_rel() -> String {
    format!("{SNAP_DIR}/{INCOMING_DIR}")
}

/// The volume this node's config names for `rid` (see [`local_sync`]), whose device must exist
/// on this node.
fn volume(env: &NodeEnv, rid: &Rid, local: &LocalSync) -> Result<(Location, std::path::PathBuf)> {
    let loc =
        Location::parse(&local.dst).map_err(|e| eyre!("{rid} on {}: dst: {e}", env.nodename))?;
    let dev = env.path(&loc.dev);
    if !dev.exists() {
        bail!("{rid} on {}: device {} not found", env.nodename, loc.dev);
    }
    Ok((loc, dev))
}

/// Prints, as JSON, the snapshots this node holds of the subvolume of `rid`; `dst` is what the
/// sender believes it is, checked against this node's config.
pub fn btrfs_list(
    env: &NodeEnv,
    svc: &ServiceName,
    rid: &Rid,
    dst: &str,
    out: &mut impl Write,
) -> Result<()> {
    let local = local_sync(env, svc, rid, SyncType::Btrfs, dst, None)?;
    let (loc, dev) = volume(env, rid, &local)?;
    let log = ActionLog::silent(svc);
    let tool = Tool {
        log: &log,
        rid,
        node: &env.nodename,
    };
    let top = Top::open(&tool, &env.state_dir(svc), &dev)?;
    let all = top.list()?;
    let snaps: Vec<_> = plan::snapshots(&all, &loc).into_iter().cloned().collect();
    top.close()?;
    serde_json::to_writer(&mut *out, &snaps)?;
    writeln!(out)?;
    Ok(())
}

/// What `btrfs-receive` is told about the transfer: the common part, and the snapshot's name.
pub struct BtrfsIncoming<'a> {
    /// Service, resource, volume (`DEV:SUBVOL`), sender, sync id and time.
    pub transfer: Incoming<'a>,
    /// The snapshot's name on the sender: the name the stream creates.
    pub snap: &'a SnapName,
}

impl<'a> std::ops::Deref for BtrfsIncoming<'a> {
    type Target = Incoming<'a>;
    fn deref(&self) -> &Incoming<'a> {
        &self.transfer
    }
}

impl BtrfsIncoming<'_> {
    /// What the names' parsers cannot know: a sync id is not a promotion's, and the snapshot
    /// is the one of this sync id.
    fn check(&self) -> Result<()> {
        if self.id.starts_with(REPLACED_PREFIX) {
            bail!(
                "invalid sync id '{}': {REPLACED_PREFIX}... names a promotion's",
                self.id
            );
        }
        if self.snap.id() != &**self.id {
            bail!(
                "invalid snapshot name '{}' for sync id {}",
                self.snap,
                self.id
            );
        }
        Ok(())
    }
}

/// Deletes what cut transfers left in `.incoming`: subvolumes first (nested ones before their
/// parents), then anything else.
fn clean_incoming(top: &Top) -> Result<Vec<String>> {
    let prefix = format!("{}/", incoming_rel());
    let mut left: Vec<_> = top
        .list()?
        .into_iter()
        .filter(|s| s.path.starts_with(&prefix))
        .collect();
    left.sort_by_key(|s| std::cmp::Reverse(s.path.len()));
    let mut cleaned = Vec::new();
    for s in left {
        top.delete(&s.path)?;
        cleaned.push(s.path.trim_start_matches(&prefix).to_string());
    }
    let dir = top.join(&incoming_rel());
    for e in std::fs::read_dir(&dir).wrap_err_with(|| format!("reading {}", dir.display()))? {
        let e = e?;
        let p = e.path();
        let r = if e.file_type()?.is_dir() {
            std::fs::remove_dir_all(&p)
        } else {
            std::fs::remove_file(&p)
        };
        r.wrap_err_with(|| format!("removing {}", p.display()))?;
        cleaned.push(e.file_name().to_string_lossy().into_owned());
    }
    Ok(cleaned)
}

/// Receives a btrfs send stream from `input`; prints the [`ReceiveReport`] as JSON. A cut or
/// refused stream leaves the previous snapshots and the state file as they were.
pub fn btrfs_receive(
    env: &NodeEnv,
    inc: &BtrfsIncoming,
    input: &mut (dyn Read + Send),
    out: &mut impl Write,
) -> Result<()> {
    inc.check()?;
    let local = local_sync(
        env,
        inc.svc,
        inc.rid,
        SyncType::Btrfs,
        inc.dst,
        Some(inc.from),
    )?;
    let _lock = receive_lock(env, inc.svc, inc.rid, inc.from)?;
    let (rid, node) = (inc.rid, env.nodename.as_str());
    let (loc, dev) = volume(env, rid, &local)?;
    let log = ActionLog::silent(inc.svc);
    let tool = Tool {
        log: &log,
        rid,
        node,
    };
    let state_dir = env.state_dir(inc.svc);
    let top = Top::open(&tool, &state_dir, &dev)?;
    top.mkdir(&incoming_rel())?;
    let cleaned = clean_incoming(&top)?;
    let name = loc.snap_name(inc.id);
    let rel = Location::snap_rel(&name);
    if std::fs::symlink_metadata(top.join(&rel)).is_ok() {
        bail!(
            "{rid} on {node}: {rel} already exists: sync id {} was received before",
            inc.id
        );
    }
    let landed = format!("{}/{}", incoming_rel(), inc.snap);
    let intact = format!(
        "the previous snapshots of {} on {node} are intact",
        loc.subvol
    );
    let mut tail = Tail::new(input);
    let mut cmd = Command::new("btrfs");
    cmd.args(["receive", "-e"]).arg(top.join(&incoming_rel()));
    let got = run_child(cmd, Some(&mut tail), None)
        .map_err(|e| tool.fail("cannot run btrfs receive", format!("{e:#}")));
    let failure = match &got {
        Err(e) => Some(format!("{e:#}")),
        Ok(o) if !o.success => Some(format!("btrfs receive failed: {}", o.failure_reason())),
        Ok(_) if !tail.ended() => Some(format!(
            "the stream from {} stopped after {} bytes without its end marker (a cut transfer)",
            inc.from,
            tail.bytes_read()
        )),
        Ok(_) => None,
    };
    if let Some(why) = failure {
        let _ = clean_incoming(&top);
        bail!(
            "{rid} on {node}: receiving {} from {} failed: {why}; {intact}",
            inc.snap,
            inc.from
        );
    }
    let shown = top.show(&landed)?;
    let Some(received_uuid) = shown.received_uuid.filter(|_| shown.readonly) else {
        let _ = clean_incoming(&top);
        bail!("{rid} on {node}: {landed} is not a complete received snapshot (read-only with a received uuid); {intact}");
    };
    // A read-only subvolume cannot be renamed into another directory (its `..` entry is
    // read-only: EROFS); a read-only snapshot of it keeps its received uuid, so that is the move.
    top.snapshot(&landed, &rel, true)?;
    let mut warnings = Vec::new();
    if let Err(e) = top.delete(&landed) {
        warnings.push(format!("{e:#} (the next receive removes it)"));
    }
    let placed = top.show(&rel)?;
    if placed.received_uuid.as_deref() != Some(received_uuid.as_str()) || !placed.readonly {
        let _ = top.delete(&rel);
        bail!(
            "{rid} on {node}: {rel} lost its received uuid when moved out of {INCOMING_DIR}; {intact}"
        );
    }
    write_state(
        env,
        inc.svc,
        rid,
        &SyncState {
            when: inc.when.0,
            id: inc.id.to_string(),
        },
    )
    .wrap_err_with(|| format!("{rid} on {node}: writing the state file"))?;
    record_common(&state_dir, rid, inc.from, &name).wrap_err_with(|| {
        format!(
            "{rid} on {node}: recording the snapshot shared with {}",
            inc.from
        )
    })?;
    let nodes = local.config.all_nodes();
    let keep = kept_for_others(&state_dir, rid, inc.from, Some(&nodes));
    let deleted = match rotate(&top, &loc, &name, &keep) {
        Ok(r) => {
            warnings.extend(r.warnings);
            r.deleted
        }
        Err(e) => {
            warnings.push(format!("rotation skipped: {e:#}"));
            Vec::new()
        }
    };
    if let Err(e) = top.close() {
        warnings.push(format!("{e:#}"));
    }
    let report = ReceiveReport {
        name,
        uuid: placed.uuid,
        received_uuid,
        bytes: tail.bytes_read(),
        cleaned,
        deleted,
        warnings,
    };
    serde_json::to_writer(&mut *out, &report)?;
    writeln!(out)?;
    Ok(())
}

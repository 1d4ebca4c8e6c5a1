//! The target's side of `sync` type=dds, run by the sending node through its transport:
//! `drpilot peer dds-state` (the state file, a cut-merge mark and the device size, as JSON) and
//! `drpilot peer dds-receive` (a stream on stdin merged into the `dst` volume in place).
//!
//! A receive refuses before writing anything when the service runs here, when the volume is in
//! use (opened `O_EXCL`: a mounted block device answers EBUSY), when it is smaller than the
//! source, or, for a delta, when this node's state is not the sender's base snapshot. Once
//! writing starts the volume is marked (see `sync_dds::marker`): a cut merge leaves it
//! inconsistent but flagged, keeping the old state file, and the next `syncupdate` is refused
//! until a `syncfullsync`. Success is reported only after the trailer verified, the volume was
//! synced and the new state file `datetime;snap uuid` written.

use super::peer::{refuse_if_running, Incoming};
use std::fs::{File, OpenOptions};
use std::io::{BufReader, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};

use chrono::{DateTime, Utc};
use color_eyre::eyre::{bail, eyre, Result, WrapErr};

use crate::drivers::sync_btrfs::is_plain_name;
use crate::drivers::sync_dds::delta::{merge, MergeProgress};
use crate::drivers::sync_dds::marker::{clear_marker, read_marker, write_marker, CutMarker};
use crate::drivers::sync_dds::wire::{ReceiveReport, TargetState};
use crate::drivers::sync_state::{read_state, write_state, SyncState};
use crate::paths::NodeEnv;

/// Checks a resource id before it becomes part of a path.
fn check_rid(rid: &str) -> Result<()> {
    if !is_plain_name(rid, true) {
        bail!("invalid resource id '{rid}'");
    }
    Ok(())
}

/// Checks an LVM uuid (letters, digits, dashes).
fn check_uuid(what: &str, id: &str) -> Result<()> {
    if id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        bail!("invalid {what} '{id}' (an LVM uuid: letters, digits and dashes)");
    }
    Ok(())
}

/// `dst` must name a device: a config typo must not turn into writing a file elsewhere.
fn check_dst(dst: &str) -> Result<()> {
    if !dst.starts_with("/dev/") || dst.contains("/../") {
        bail!("invalid --dst '{dst}': a dds destination is a device under /dev");
    }
    Ok(())
}

/// Prints, as JSON, this node's dds state of `dst`: [`TargetState`].
pub fn dds_state(
    env: &NodeEnv,
    svc: &str,
    rid: &str,
    dst: &str,
    out: &mut impl Write,
) -> Result<()> {
    check_rid(rid)?;
    check_dst(dst)?;
    let node = &env.nodename;
    let state = read_state(env, svc, rid)
        .wrap_err_with(|| format!("{rid} on {node}: reading the state file"))?;
    let cut = read_marker(env, svc, rid)?;
    let dst_size = File::open(env.path(dst))
        .and_then(|mut f| f.seek(SeekFrom::End(0)))
        .ok();
    let answer = TargetState {
        id: state.as_ref().map(|s| s.id.clone()),
        when: state
            .as_ref()
            .map(|s| s.when.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
        cut,
        dst_size,
    };
    serde_json::to_writer(&mut *out, &answer)?;
    writeln!(out)?;
    Ok(())
}

/// What `dds-receive` is told about the transfer: the common part (the sync id is the uuid of
/// the snapshot sent, this node's state once merged), and full copy or delta.
pub struct DdsIncoming<'a> {
    /// Service, resource, volume (`/dev/mapper/VG-LV`), sender, snapshot uuid and time.
    pub transfer: Incoming<'a>,
    /// A full copy (`--full`); otherwise a delta on top of `base`.
    pub full: bool,
    /// The snapshot uuid this node must hold for a delta.
    pub base: Option<&'a str>,
}

impl<'a> std::ops::Deref for DdsIncoming<'a> {
    type Target = Incoming<'a>;
    fn deref(&self) -> &Incoming<'a> {
        &self.transfer
    }
}

impl DdsIncoming<'_> {
    fn check(&self) -> Result<DateTime<Utc>> {
        check_rid(self.rid)?;
        check_dst(self.dst)?;
        check_uuid("snap uuid", self.id)?;
        if !is_plain_name(self.from, false) {
            bail!("invalid node name '{}'", self.from);
        }
        match (self.full, self.base) {
            (true, None) => {}
            (false, Some(b)) => check_uuid("base snap uuid", b)?,
            _ => bail!("give either --full or --base UUID"),
        }
        Ok(DateTime::parse_from_rfc3339(self.when)
            .map_err(|e| eyre!("bad --when '{}': {e}", self.when))?
            .with_timezone(&Utc))
    }
}

/// Opens the volume for writing, exclusively: a mounted or otherwise held block device refuses.
fn open_target(env: &NodeEnv, inc: &DdsIncoming) -> Result<File> {
    let node = &env.nodename;
    let path = env.path(inc.dst);
    let meta = std::fs::metadata(&path)
        .wrap_err_with(|| format!("{} on {node}: {} not found", inc.rid, inc.dst))?;
    // Under DRPILOT_ROOT (the lab, tests) a plain file may stand for a volume.
    let lab = !env.root.as_os_str().is_empty();
    if !(meta.file_type().is_block_device() || lab && meta.is_file()) {
        bail!("{} on {node}: {} is not a block device", inc.rid, inc.dst);
    }
    OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(rustix::fs::OFlags::EXCL.bits() as i32)
        .open(&path)
        .map_err(|e| match e.raw_os_error() {
            Some(code) if code == rustix::io::Errno::BUSY.raw_os_error() => eyre!(
                "{} on {node}: {} is in use (mounted or held open): refusing to write under it",
                inc.rid,
                inc.dst
            ),
            _ => eyre!(e).wrap_err(format!("{} on {node}: opening {}", inc.rid, inc.dst)),
        })
}

/// Receives a dds stream from `input` into `dst`; prints the [`ReceiveReport`] as JSON.
pub fn dds_receive(
    env: &NodeEnv,
    inc: &DdsIncoming,
    input: &mut dyn Read,
    out: &mut impl Write,
) -> Result<()> {
    let when = inc.check()?;
    let (rid, node, svc) = (inc.rid, env.nodename.as_str(), inc.svc);
    refuse_if_running(env, svc)?;
    let old = read_state(env, svc, rid)
        .wrap_err_with(|| format!("{rid} on {node}: reading the state file"))?;
    let old_id = old.as_ref().map(|s| s.id.clone());
    if let Some(base) = inc.base {
        if let Some(cut) = read_marker(env, svc, rid)? {
            bail!(
                "{rid} on {node}: {} is inconsistent: {}; a delta cannot repair it, run \
                 syncfullsync",
                inc.dst,
                cut.describe()
            );
        }
        if old_id.as_deref() != Some(base) {
            bail!(
                "{rid} on {node}: this node holds snap uuid {} but the delta from {} applies on \
                 top of {base}; run syncfullsync",
                old_id.as_deref().unwrap_or("(none: no state file)"),
                inc.from
            );
        }
    }
    let mut file = open_target(env, inc)?;
    let dst_size = file
        .seek(SeekFrom::End(0))
        .wrap_err_with(|| format!("{rid} on {node}: measuring {}", inc.dst))?;
    let earlier_cut = read_marker(env, svc, rid)?.is_some();
    write_marker(
        env,
        svc,
        rid,
        &CutMarker {
            from: inc.from.to_string(),
            id: inc.id.to_string(),
            full: inc.full,
            started: Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        },
    )
    .wrap_err_with(|| format!("{rid} on {node}: marking {} as being merged", inc.dst))?;
    let mut progress = MergeProgress::default();
    let mut reader = BufReader::with_capacity(1 << 20, input);
    let merged = merge(&mut reader, &mut file, dst_size, inc.full, &mut progress).and_then(|m| {
        file.sync_all()
            .wrap_err_with(|| format!("syncing {} to disk", inc.dst))?;
        Ok(m)
    });
    let (_, stats) = match merged {
        Ok(m) => m,
        Err(e) => {
            let _ = file.sync_all();
            let kept = old_id.as_deref().unwrap_or("(none)");
            let untouched = !progress.touched;
            if untouched && !earlier_cut {
                // Nothing was written: the volume is as it was, the mark can go.
                let _ = clear_marker(env, svc, rid);
            }
            let what = if untouched {
                format!("nothing was written to {}", inc.dst)
            } else {
                format!(
                    "{} chunks ({} bytes) were already written: {} is inconsistent and flagged, \
                     its state file still names snap uuid {kept}, and the next syncupdate will \
                     be refused: run syncfullsync",
                    progress.records, progress.data_bytes, inc.dst
                )
            };
            return Err(eyre!(
                "{rid} on {node}: merging from {} failed: {e:#}; {what}",
                inc.from
            ));
        }
    };
    write_state(
        env,
        svc,
        rid,
        &SyncState {
            when,
            id: inc.id.to_string(),
        },
    )
    .wrap_err_with(|| format!("{rid} on {node}: writing the state file"))?;
    clear_marker(env, svc, rid)
        .wrap_err_with(|| format!("{rid} on {node}: clearing the merge mark"))?;
    serde_json::to_writer(&mut *out, &ReceiveReport { stats, dst_size })?;
    writeln!(out)?;
    Ok(())
}

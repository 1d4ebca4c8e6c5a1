//! The receiving half of `sync` type=dds, run by the sending node through its transport:
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

use std::fs::{File, OpenOptions};
use std::io::{BufReader, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};

use chrono::Utc;
use color_eyre::eyre::{bail, eyre, Result, WrapErr};

use super::delta::{merge, MergeProgress};
use super::marker::{clear_marker, read_marker, write_marker, CutMarker};
use super::wire::{ReceiveReport, TargetState};
use crate::drivers::receive::{local_sync, receive_lock, Incoming, LiveCheck, SyncType};
use crate::drivers::sync_state::{read_state, write_state, SyncState};
use crate::paths::NodeEnv;
use crate::protocol::names::{LvmUuid, Rid, ServiceName};

/// Prints, as JSON, this node's dds state of the volume of `rid`: [`TargetState`]; `dst` is
/// what the sender believes it is, checked against this node's config.
pub fn dds_state(
    env: &NodeEnv,
    svc: &ServiceName,
    rid: &Rid,
    dst: &str,
    out: &mut impl Write,
) -> Result<()> {
    let local = local_sync(env, svc, rid, SyncType::Dds, dst, None)?;
    let node = &env.nodename;
    let state = read_state(env, svc, rid)
        .wrap_err_with(|| format!("{rid} on {node}: reading the state file"))?;
    let cut = read_marker(env, svc, rid)?;
    let dst_size = File::open(env.path(&local.dst))
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
    pub base: Option<&'a LvmUuid>,
}

impl<'a> std::ops::Deref for DdsIncoming<'a> {
    type Target = Incoming<'a>;
    fn deref(&self) -> &Incoming<'a> {
        &self.transfer
    }
}

impl DdsIncoming<'_> {
    /// The sync id is the snapshot's LVM uuid, and a transfer is a full copy or a delta.
    fn check(&self) -> Result<()> {
        self.id.parse::<LvmUuid>()?;
        match (self.full, self.base) {
            (true, None) | (false, Some(_)) => Ok(()),
            _ => bail!("give either --full or --base UUID"),
        }
    }
}

/// Opens the volume `dst` (this node's) for writing, exclusively: a mounted or otherwise held
/// block device refuses.
fn open_target(env: &NodeEnv, inc: &DdsIncoming, dst: &str) -> Result<File> {
    let node = &env.nodename;
    let path = env.path(dst);
    let meta = std::fs::metadata(&path)
        .wrap_err_with(|| format!("{} on {node}: {dst} not found", inc.rid))?;
    // Under DRPILOT_ROOT (the lab, tests) a plain file may stand for a volume.
    let lab = !env.root.as_os_str().is_empty();
    if !(meta.file_type().is_block_device() || lab && meta.is_file()) {
        bail!("{} on {node}: {dst} is not a block device", inc.rid);
    }
    OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(rustix::fs::OFlags::EXCL.bits() as i32)
        .open(&path)
        .map_err(|e| match e.raw_os_error() {
            Some(code) if code == rustix::io::Errno::BUSY.raw_os_error() => eyre!(
                "{} on {node}: {dst} is in use (mounted or held open): refusing to write under it",
                inc.rid,
            ),
            _ => eyre!(e).wrap_err(format!("{} on {node}: opening {dst}", inc.rid)),
        })
}

/// Receives a dds stream from `input` into `dst`; prints the [`ReceiveReport`] as JSON.
pub fn dds_receive(
    env: &NodeEnv,
    inc: &DdsIncoming,
    refuse_if_running: LiveCheck,
    input: &mut dyn Read,
    out: &mut impl Write,
) -> Result<()> {
    inc.check()?;
    let local = local_sync(
        env,
        inc.svc,
        inc.rid,
        SyncType::Dds,
        inc.dst,
        Some(inc.from),
    )?;
    let dst = local.dst.as_str();
    let _lock = receive_lock(env, inc.svc, inc.rid, inc.from)?;
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
                dst,
                cut.describe()
            );
        }
        if old_id.as_deref() != Some(&**base) {
            bail!(
                "{rid} on {node}: this node holds snap uuid {} but the delta from {} applies on \
                 top of {base}; run syncfullsync",
                old_id.as_deref().unwrap_or("(none: no state file)"),
                inc.from
            );
        }
    }
    let mut file = open_target(env, inc, dst)?;
    let dst_size = file
        .seek(SeekFrom::End(0))
        .wrap_err_with(|| format!("{rid} on {node}: measuring {}", dst))?;
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
    .wrap_err_with(|| format!("{rid} on {node}: marking {} as being merged", dst))?;
    let mut progress = MergeProgress::default();
    let mut reader = BufReader::with_capacity(1 << 20, input);
    let merged = merge(&mut reader, &mut file, dst_size, inc.full, &mut progress).and_then(|m| {
        file.sync_all()
            .wrap_err_with(|| format!("syncing {} to disk", dst))?;
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
                format!("nothing was written to {}", dst)
            } else {
                format!(
                    "{} chunks ({} bytes) were already written: {} is inconsistent and flagged, \
                     its state file still names snap uuid {kept}, and the next syncupdate will \
                     be refused: run syncfullsync",
                    progress.records, progress.data_bytes, dst
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
            when: inc.when.0,
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

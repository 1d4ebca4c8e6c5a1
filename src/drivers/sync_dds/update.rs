//! `syncupdate`: the target's state checked against snap1, snap2 created, snap1's COW store
//! read, the chunks it lists streamed from snap2, then the rotation (snap2 becomes snap1). A
//! failure before the target confirmed removes snap2; after, snap2 is kept and the next update
//! completes the rotation first.

use std::fs::File;

use chrono::Utc;
use color_eyre::eyre::{bail, eyre, Result, WrapErr};

use super::cow::{parse_cow, CowSummary};
use super::delta::{StreamHeader, StreamStats};
use super::lvm::{self, LvInfo};
use super::report::delta_report;
use super::send::{device_size, Job};
use super::wire::Transfer;
use crate::drivers::sync_state::SyncState;

/// Opens and parses the COW store of a snapshot, dropping cached pages first: the kernel writes
/// the store underneath the page cache.
fn read_cow(job: &Job, snap: &str) -> Result<(String, CowSummary)> {
    let dev = lvm::cow_device(&job.origin.vg, snap);
    let path = job.ctx.env.path(&dev);
    let mut f = File::open(&path)
        .wrap_err_with(|| format!("{} on {}: opening the COW store {dev}", job.rid, job.node))?;
    let _ = rustix::fs::fadvise(&f, 0, None, rustix::fs::Advice::DontNeed);
    let cow = parse_cow(&mut f).map_err(|e| {
        eyre!(
            "{} on {}: reading the COW store {dev} of {snap}: {e:#}; without it the changes \
             since {snap} are unknown: if this persists, run syncfullsync (a snapshot that \
             overflowed needs a bigger snap_size)",
            job.rid,
            job.node
        )
    })?;
    Ok((dev, cow))
}

/// `syncupdate`: snap2, the chunks snap1's COW store lists, read from snap2, merged on the
/// target; then snap2 becomes snap1.
pub(super) fn update(job: &Job) -> Result<()> {
    let (rid, node, log) = (job.rid, job.node, job.ctx.log);
    let tnode = job.target.node();
    let remote = job.target_state()?;
    if let Some(cut) = &remote.cut {
        bail!(
            "{rid}: {tnode}'s copy {} is inconsistent: {}; a syncupdate cannot repair it, run \
             syncfullsync",
            job.dst,
            cut.describe()
        );
    }
    let Some(remote_id) = remote.id.clone() else {
        bail!(
            "{rid}: {tnode} has no dds state file for {}: it never received a full copy; run \
             syncfullsync first",
            job.dst
        );
    };
    let lvs = job.lvs()?;
    let has = |n: &str| lvs.iter().find(|l| l.lv == n).cloned();
    if let Some(s2) = has(&job.snap2) {
        if s2.uuid == remote_id {
            log.info(
                rid,
                &format!(
                    "{tnode} already holds {} (snap uuid {}): completing the rotation an earlier \
                     syncupdate left undone",
                    job.snap2, s2.uuid
                ),
            );
            job.rotate(has(&job.snap1).is_some())?;
            job.write_local_state(&SyncState {
                when: Utc::now(),
                id: s2.uuid,
            })?;
        } else {
            log.info(
                rid,
                &format!("removing {} left by an interrupted syncupdate", job.snap2),
            );
            job.remove(&job.snap2)?;
        }
    }
    let Some(s1) = job.find(&job.snap1)? else {
        bail!(
            "{rid} on {node}: no snapshot {} of {}: the changes since the last sync are unknown; \
             run syncfullsync",
            job.snap1,
            job.origin.path()
        );
    };
    if s1.uuid != remote_id {
        bail!(
            "{rid}: {tnode} holds snap uuid {remote_id} but {} on {node} is snap uuid {}: the \
             replica is not the image of this snapshot; run syncfullsync",
            job.snap1,
            s1.uuid
        );
    }
    if let Some(size) = remote.dst_size.filter(|s| *s < job.origin.size) {
        bail!(
            "{rid}: {}:{} is {size} bytes, smaller than {} ({} bytes): extend it before syncing",
            tnode,
            job.dst,
            job.origin.path(),
            job.origin.size
        );
    }
    let when = Utc::now();
    let s2 = job.create(&job.snap2)?;
    if let Err(e) = delta(job, &s1, &s2, when) {
        log.info(
            rid,
            &format!(
                "the update failed: removing {}, keeping {}",
                job.snap2, job.snap1
            ),
        );
        if let Err(r) = job.remove(&job.snap2) {
            log.warn(rid, &format!("{r:#}"));
        }
        return Err(e);
    }
    job.rotate(true).wrap_err_with(|| {
        format!(
            "{rid} on {node}: {tnode} holds the image of {} (snap uuid {}) but the rotation \
             failed; {} is kept and the next syncupdate completes the rotation",
            job.snap2, s2.uuid, job.snap2
        )
    })?;
    job.write_local_state(&SyncState { when, id: s2.uuid })
}

/// Parses snap1's COW store and streams the listed chunks of snap2.
fn delta(job: &Job, s1: &LvInfo, s2: &LvInfo, when: chrono::DateTime<Utc>) -> Result<StreamStats> {
    let (rid, node) = (job.rid, job.node);
    let (cow_dev, cow) = read_cow(job, &s1.lv)?;
    let source = s2.path();
    let size = device_size(&job.ctx.env.path(&source))
        .wrap_err_with(|| format!("{rid} on {node}: the new snapshot {}", s2.lv))?;
    let chunk_size = u32::try_from(cow.chunk_bytes)
        .map_err(|_| eyre!("{rid}: chunk size {} too big", cow.chunk_bytes))?;
    let chunks = cow.sorted_chunks();
    let header = StreamHeader {
        full: false,
        chunk_size,
        device_size: size,
        count: chunks.len() as u64,
    };
    if let Some(c) = chunks.iter().find(|c| header.chunk_len(**c).is_none()) {
        bail!(
            "{rid} on {node}: {cow_dev} lists origin chunk {c}, past the end of {source} \
             ({size} bytes): the COW store does not belong to this volume"
        );
    }
    let when_text = when.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let t = Transfer {
        from: node,
        id: &s2.uuid,
        when: &when_text,
        base: Some(&s1.uuid),
    };
    let what = format!("extract --cow {cow_dev} --source {source}");
    let sent = job.transfer(&source, &header, &chunks, &t, &what)?;
    job.ctx.log.info(rid, &delta_report(&cow, &sent));
    Ok(sent)
}

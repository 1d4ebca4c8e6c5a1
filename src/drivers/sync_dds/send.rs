//! The sending side of `syncfullsync` and `syncupdate`: snapshots, the COW store, the transfer
//! and the rotation, each step logged and each failure naming the step and what is left.

use std::fs::File;
use std::io::{Seek, SeekFrom};
use std::path::Path;
use std::time::Duration;

use chrono::Utc;
use color_eyre::eyre::{bail, eyre, Result, WrapErr};

use super::cow::{parse_cow, CowSummary};
use super::delta::StreamHeader;
use super::lvm::{self, LvInfo};
use super::report::delta_report;
use super::stream;
use super::wire::{receive_args, state_args, TargetState, Transfer};
use crate::drivers::sync_state::{write_state, SyncState};
use crate::drivers::{Ctx, SyncMode};
use crate::transport::Transport;

/// How long a target may take to answer `dds-state`.
const STATE_TIMEOUT: Duration = Duration::from_secs(120);

/// One sync of one resource to one target.
struct Job<'a> {
    ctx: &'a Ctx<'a>,
    rid: &'a str,
    node: &'a str,
    origin: LvInfo,
    dst: String,
    target: &'a dyn Transport,
    snap_size: String,
    snap1: String,
    snap2: String,
}

/// Replicates the logical volume `src` of this node to `dst` on `target`.
pub fn sync_to(rid: &str, ctx: &Ctx, mode: SyncMode, target: &dyn Transport) -> Result<()> {
    let node = ctx.env.nodename.as_str();
    let src = ctx.require(rid, "src")?;
    let dst = ctx
        .cfg
        .get(rid, "dst", target.node())
        .map(|r| r.value.to_string())
        .ok_or_else(|| eyre!("{rid}: dst has no value for node {}", target.node()))?;
    if !ctx.env.path(&src).exists() {
        bail!("{rid} on {node}: source device {src} not found (is its volume group active?)");
    }
    let origin = lvm::lv_of_path(ctx, rid, &src)?;
    let snap_size = match ctx.get(rid, "snap_size") {
        Some(s) => lvm::check_snap_size(&s)
            .map_err(|e| eyre!("{}: [{rid}] {e}", ctx.cfg.raw.path.display()))?,
        None => lvm::default_snap_size(origin.size),
    };
    let (snap1, snap2) = lvm::snap_names(&origin.lv);
    let job = Job {
        ctx,
        rid,
        node,
        origin,
        dst,
        target,
        snap_size,
        snap1,
        snap2,
    };
    match mode {
        SyncMode::Full => full(&job),
        SyncMode::Update => update(&job),
    }
}

/// Size of a device (or file) in bytes.
fn device_size(path: &Path) -> Result<u64> {
    let mut f = File::open(path).wrap_err_with(|| format!("opening {}", path.display()))?;
    f.seek(SeekFrom::End(0))
        .wrap_err_with(|| format!("measuring {}", path.display()))
}

impl Job<'_> {
    fn lvs(&self) -> Result<Vec<LvInfo>> {
        lvm::lvs_of_vg(self.ctx, self.rid, &self.origin.vg)
    }

    fn find(&self, name: &str) -> Result<Option<LvInfo>> {
        Ok(self.lvs()?.into_iter().find(|l| l.lv == name))
    }

    fn remove(&self, name: &str) -> Result<()> {
        lvm::run(
            self.ctx,
            self.rid,
            &lvm::lvremove_argv(&self.origin.vg, name),
        )
    }

    /// Creates a snapshot of the origin and returns it as `lvs` shows it.
    fn create(&self, name: &str) -> Result<LvInfo> {
        let argv = lvm::lvcreate_snapshot_argv(&self.origin, name, &self.snap_size);
        lvm::run(self.ctx, self.rid, &argv)?;
        self.find(name)?.ok_or_else(|| {
            eyre!(
                "{} on {}: {name} is not listed by lvs after its creation",
                self.rid,
                self.node
            )
        })
    }

    fn write_local_state(&self, state: &SyncState) -> Result<()> {
        write_state(self.ctx.env, self.ctx.svc, self.rid, state)
            .wrap_err_with(|| format!("{} on {}: writing the state file", self.rid, self.node))?;
        self.ctx.log.info(
            self.rid,
            &format!("update state file with snap uuid {}", state.id),
        );
        Ok(())
    }

    /// Streams `chunks` of the snapshot device at `source` to the target.
    fn transfer(
        &self,
        source: &str,
        header: &StreamHeader,
        chunks: &[u64],
        t: &Transfer,
        what: &str,
    ) -> Result<super::delta::StreamStats> {
        let args = receive_args(self.ctx.svc, self.rid, &self.dst, t);
        self.ctx.log.info(
            self.rid,
            &format!(
                "{what} | {}: drpilot {}",
                self.target.node(),
                shell_words::join(&args)
            ),
        );
        stream::send(
            self.ctx,
            self.rid,
            &self.ctx.env.path(source),
            header,
            chunks,
            self.target,
            &args,
        )
    }

    /// Asks the target for its state of `dst`.
    fn target_state(&self) -> Result<TargetState> {
        let t = self.target.node();
        let out = self
            .target
            .call(
                &state_args(self.ctx.svc, self.rid, &self.dst),
                None,
                Some(STATE_TIMEOUT),
            )
            .wrap_err_with(|| format!("{}: asking {t} for its dds state", self.rid))?;
        if !out.success {
            bail!(
                "{}: {t} could not report its dds state of {}: {}",
                self.rid,
                self.dst,
                out.failure_reason()
            );
        }
        serde_json::from_slice(&out.stdout)
            .wrap_err_with(|| format!("{}: bad dds state from {t}", self.rid))
    }

    /// `lvremove` snap1 (when present) then `lvrename` snap2 to snap1.
    fn rotate(&self, snap1_present: bool) -> Result<()> {
        if snap1_present {
            self.remove(&self.snap1)?;
        }
        lvm::run(
            self.ctx,
            self.rid,
            &lvm::lvrename_argv(&self.origin.vg, &self.snap2, &self.snap1),
        )
    }
}

/// `syncfullsync`: fresh snap1, copied whole.
fn full(job: &Job) -> Result<()> {
    let (rid, node, log) = (job.rid, job.node, job.ctx.log);
    let lvs = job.lvs()?;
    for name in [&job.snap2, &job.snap1] {
        if lvs.iter().any(|l| &l.lv == name) {
            log.info(rid, &format!("removing {name} left by an earlier sync"));
            job.remove(name)?;
        }
    }
    let when = Utc::now();
    let s1 = job.create(&job.snap1)?;
    let source = s1.path();
    let size = device_size(&job.ctx.env.path(&source))
        .wrap_err_with(|| format!("{rid} on {node}: the new snapshot {}", job.snap1))?;
    let header = StreamHeader::full(size);
    let chunks: Vec<u64> = (0..header.count).collect();
    let when_text = when.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let t = Transfer {
        from: node,
        id: &s1.uuid,
        when: &when_text,
        base: None,
    };
    let sent = job
        .transfer(
            &source,
            &header,
            &chunks,
            &t,
            &format!("full copy of {source}"),
        )
        .wrap_err_with(|| {
            format!(
                "{rid}: the full copy of {} to {}:{} failed ({} is kept on {node}); run \
                 syncfullsync again once the cause is fixed",
                job.snap1,
                job.target.node(),
                job.dst,
                job.snap1
            )
        })?;
    log.info(
        rid,
        &format!(
            "copied {} bytes of {source} to {}:{} ({} bytes sent)",
            sent.data_bytes,
            job.target.node(),
            job.dst,
            sent.stream_bytes
        ),
    );
    job.write_local_state(&SyncState { when, id: s1.uuid })
}

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
fn update(job: &Job) -> Result<()> {
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
fn delta(
    job: &Job,
    s1: &LvInfo,
    s2: &LvInfo,
    when: chrono::DateTime<Utc>,
) -> Result<super::delta::StreamStats> {
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

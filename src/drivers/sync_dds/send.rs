//! The sending side of `syncfullsync` and `syncupdate`: the job (origin, snapshot names, target),
//! its steps (snapshots, the target's state, the transfer, the rotation), and the full copy; the
//! update is in `update`. Each step is logged and each failure names the step and what is left.

use std::fs::File;
use std::io::{Seek, SeekFrom};
use std::path::Path;
use std::time::Duration;

use chrono::Utc;
use color_eyre::eyre::{bail, eyre, Result, WrapErr};

use super::delta::{StreamHeader, StreamStats};
use super::lvm::{self, LvInfo};
use super::stream;
use super::wire::{receive_args, state_args, TargetState, Transfer};
use crate::drivers::sync_state::{record_transfer, write_state, SyncState};
use crate::drivers::{Ctx, SyncMode};
use crate::transport::Transport;

/// How long a target may take to answer `dds-state`.
const STATE_TIMEOUT: Duration = Duration::from_secs(120);

/// One sync of one resource to one target.
pub(super) struct Job<'a> {
    pub(super) ctx: &'a Ctx<'a>,
    pub(super) rid: &'a str,
    pub(super) node: &'a str,
    pub(super) origin: LvInfo,
    pub(super) dst: String,
    pub(super) target: &'a dyn Transport,
    snap_size: String,
    pub(super) snap1: String,
    pub(super) snap2: String,
}

/// Replicates the logical volume `src` of this node to `dst` on `target`.
pub fn sync_to(rid: &str, ctx: &Ctx, mode: SyncMode, target: &dyn Transport) -> Result<()> {
    let node = ctx.env.nodename.as_str();
    let src = ctx.require(rid, "src")?;
    let dst = ctx.dst_for(rid, target.node())?;
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
        SyncMode::Update => super::update::update(&job),
    }
}

/// Size of a device (or file) in bytes.
pub(super) fn device_size(path: &Path) -> Result<u64> {
    let mut f = File::open(path).wrap_err_with(|| format!("opening {}", path.display()))?;
    f.seek(SeekFrom::End(0))
        .wrap_err_with(|| format!("measuring {}", path.display()))
}

impl Job<'_> {
    pub(super) fn lvs(&self) -> Result<Vec<LvInfo>> {
        lvm::lvs_of_vg(self.ctx, self.rid, &self.origin.vg)
    }

    pub(super) fn find(&self, name: &str) -> Result<Option<LvInfo>> {
        Ok(self.lvs()?.into_iter().find(|l| l.lv == name))
    }

    pub(super) fn remove(&self, name: &str) -> Result<()> {
        lvm::run(
            self.ctx,
            self.rid,
            &lvm::lvremove_argv(&self.origin.vg, name),
        )
    }

    /// Creates a snapshot of the origin and returns it as `lvs` shows it.
    pub(super) fn create(&self, name: &str) -> Result<LvInfo> {
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

    pub(super) fn write_local_state(&self, state: &SyncState) -> Result<()> {
        write_state(self.ctx.env, self.ctx.svc, self.rid, state)
            .wrap_err_with(|| format!("{} on {}: writing the state file", self.rid, self.node))?;
        self.ctx.log.info(
            self.rid,
            &format!("update state file with snap uuid {}", state.id),
        );
        Ok(())
    }

    /// Streams `chunks` of the snapshot device at `source` to the target.
    pub(super) fn transfer(
        &self,
        source: &str,
        header: &StreamHeader,
        chunks: &[u64],
        t: &Transfer,
        what: &str,
    ) -> Result<StreamStats> {
        let args = receive_args(self.ctx.svc, self.rid, &self.dst, t)?;
        self.ctx.log.info(
            self.rid,
            &format!(
                "{what} | {}: drpilot {}",
                self.target.node(),
                shell_words::join(&args)
            ),
        );
        let began = std::time::Instant::now();
        let sent = stream::send(
            self.ctx,
            self.rid,
            &self.ctx.env.path(source),
            header,
            chunks,
            self.target,
            &args,
        )?;
        let (env, svc) = (self.ctx.env, self.ctx.svc);
        if let Err(e) = record_transfer(env, svc, self.rid, sent.stream_bytes, began) {
            self.ctx.log.warn(self.rid, &format!("{e:#}"));
        }
        Ok(sent)
    }

    /// Asks the target for its state of `dst`.
    pub(super) fn target_state(&self) -> Result<TargetState> {
        let t = self.target.node();
        let out = self
            .target
            .call(
                &state_args(self.ctx.svc, self.rid, &self.dst)?,
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
    pub(super) fn rotate(&self, snap1_present: bool) -> Result<()> {
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

//! `sync` type=dir: drpilot's own incremental directory replication (the lab's). The sender asks
//! the target for its manifest, streams only the changed files, and the target rebuilds the tree
//! beside its copy and swaps it in atomically: a cut sync leaves the previous copy intact.
//! `src` is resolved for the sending node, `dst` for the target node.

mod archive;
pub mod receive;

use std::time::Duration;

use color_eyre::eyre::{bail, eyre, Result, WrapErr};

use self::archive::{write_stream_with_progress, Entry, Progress, Summary};
use super::sync_state::{probe_state, record_transfer, write_state, SyncState};
use super::{Ctx, DataSync, Probe, Resource, SyncMode};
use crate::drivers::transfer::{refused, stream_to, Throttle};
use crate::protocol::log::SyncProgress;
use crate::protocol::peer::{PeerVerb, SyncTarget, Transfer};
use crate::transport::{client, Transport};

/// How long a target may take to list its copy.
const MANIFEST_TIMEOUT: Duration = Duration::from_secs(120);

/// The progress of a directory transfer, files counted.
pub fn progress_line(p: Progress, elapsed: Duration) -> SyncProgress {
    SyncProgress::measure(
        p.bytes_sent,
        Some(p.bytes_total),
        Some((p.files_sent, p.files_total)),
        elapsed,
    )
}

/// The directory replication driver.
pub struct SyncDir {
    rid: String,
}

impl SyncDir {
    /// A driver for section `rid`.
    pub fn new(rid: &str) -> Self {
        Self {
            rid: rid.to_string(),
        }
    }
}

impl Resource for SyncDir {
    fn rid(&self) -> &str {
        &self.rid
    }

    fn type_name(&self) -> String {
        "sync.dir".to_string()
    }

    fn label(&self, ctx: &Ctx) -> String {
        self.sync_label(ctx, "dir")
    }

    fn probe(&self, ctx: &Ctx) -> Probe {
        probe_state(ctx, &self.rid, "dir")
    }

    fn start(&self, _ctx: &Ctx) -> Result<()> {
        Ok(())
    }

    fn stop(&self, _ctx: &Ctx) -> Result<()> {
        Ok(())
    }

    fn as_sync(&self) -> Option<&dyn DataSync> {
        Some(self)
    }
}

impl DataSync for SyncDir {
    fn sync_to(&self, ctx: &Ctx, mode: SyncMode, target: &dyn Transport) -> Result<()> {
        let rid = &self.rid;
        let src = ctx.require(rid, "src")?;
        let dst = ctx.dst_for(rid, target.node())?;
        let src_path = ctx.env.path(&src);
        if !src_path.is_dir() {
            bail!(
                "{rid}: source directory {src} not found on {}",
                ctx.env.nodename
            );
        }
        let manifest: Vec<Entry> = match mode {
            SyncMode::Full => Vec::new(),
            SyncMode::Update => {
                let out = target.call(
                    &client::peer(&PeerVerb::DirManifest {
                        target: SyncTarget::new(ctx.svc, rid, &dst)?,
                    }),
                    None,
                    Some(MANIFEST_TIMEOUT),
                )?;
                if !out.success {
                    bail!(
                        "{rid}: {} could not list {dst}: {}",
                        target.node(),
                        out.failure_reason()
                    );
                }
                serde_json::from_slice(&out.stdout)
                    .wrap_err_with(|| format!("{rid}: bad manifest from {}", target.node()))?
            }
        };
        let state = SyncState::now();
        let what = if mode == SyncMode::Full {
            "full"
        } else {
            "incremental"
        };
        ctx.log.info(
            rid,
            &format!(
                "{what} copy of {src} to {}:{dst} (sync id {})",
                target.node(),
                state.id
            ),
        );
        let when = state
            .when
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let replica = SyncTarget::new(ctx.svc, rid, &dst)?;
        let args = client::peer(&PeerVerb::DirReceive {
            transfer: Transfer::new(replica, &ctx.env.nodename, &state.id, &when)?,
        });
        let log = ctx.log;
        let began = std::time::Instant::now();
        let (sent, out) = stream_to(target, &args, |w| {
            let started = std::time::Instant::now();
            let mut pace = Throttle::default();
            let mut report = |p: Progress| {
                if pace.due(p.files_sent == p.files_total) {
                    log.progress(rid, progress_line(p, started.elapsed()));
                }
            };
            write_stream_with_progress(&src_path, &manifest, w, &mut report)
        })?;
        if !out.success {
            return Err(refused(rid, target, sent, &out, "the transfer"));
        }
        let sent = sent.wrap_err_with(|| format!("{rid}: sending to {}", target.node()))?;
        let received: Summary = serde_json::from_slice(&out.stdout)
            .wrap_err_with(|| format!("{rid}: bad transfer report from {}", target.node()))?;
        if received != sent {
            bail!(
                "{rid}: {} received {received:?} but {sent:?} was sent",
                target.node()
            );
        }
        ctx.log.info(
            rid,
            &format!(
                "sent {} changed files ({} bytes), {} unchanged kept on {}",
                sent.files_sent,
                sent.bytes_sent,
                sent.files_kept,
                target.node()
            ),
        );
        write_state(ctx.env, ctx.svc, rid, &state)?;
        ctx.log
            .info(rid, &format!("update state file with sync id {}", state.id));
        if let Err(e) = record_transfer(ctx.env, ctx.svc, rid, sent.bytes_sent, began) {
            ctx.log.warn(rid, &format!("{e:#}"));
        }
        Ok(())
    }

    fn rid_for_state(&self) -> &str {
        &self.rid
    }

    /// A copy of the replica directory, sharing its blocks where the filesystem can
    /// (`cp --reflink=auto`); the replica is only read.
    fn clone_replica(&self, ctx: &Ctx, bubble_root: &std::path::Path) -> Result<()> {
        let rid = &self.rid;
        let dst = ctx.require(rid, "dst")?;
        let replica = ctx.env.path(&dst);
        if !replica.is_dir() {
            bail!(
                "{rid}: no replica at {} on {}: nothing to test from (run a sync first)",
                replica.display(),
                ctx.env.nodename
            );
        }
        let clone = crate::paths::NodeEnv::new(bubble_root, &ctx.env.nodename).path(&dst);
        std::fs::create_dir_all(&clone)
            .map_err(|e| eyre!("{rid}: creating {}: {e}", clone.display()))?;
        let argv: Vec<String> = vec![
            "cp".into(),
            "-a".into(),
            "--reflink=auto".into(),
            format!("{}/.", replica.display()),
            clone.display().to_string(),
        ];
        crate::drivers::run_logged(ctx, rid, &argv, std::time::Duration::from_secs(3600))?;
        Ok(())
    }
}

//! `sync` type=rsync: OpenSVC's rsync replication, on the real rsync at both ends. The node
//! transport carries one stream one way, so the sender has rsync write a batch (`rsync
//! --only-write-batch`, everything `src` holds, as against an empty copy) and streams it to the
//! target, whose rsync applies it (`--read-batch`) to a staging tree that is swapped in at once
//! (`receive.rs`): owner, group, modes, ACLs, xattrs and hard links kept, numeric ids, and a cut
//! transfer leaves the previous copy complete. `src` is a list of paths on the sending node (a
//! trailing `/` copies a directory's content, as rsync does); `dst` is the target's directory.

pub mod receive;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use color_eyre::eyre::{bail, eyre, Result, WrapErr};

use super::sync_state::{probe_state, record_transfer, write_state, SyncState};
use super::{Ctx, DataSync, Probe, Resource, SyncMode};
use crate::config::KeywordSpec;
use crate::drivers::transfer::{refused, stream_to, Throttle};
use crate::protocol::log::SyncProgress;
use crate::protocol::names::Sha256;
use crate::protocol::peer::{PeerVerb, SyncTarget, Transfer};
use crate::transport::{client, Transport};

/// The keywords only the rsync driver reads.
pub(crate) const KEYWORDS: &[KeywordSpec] = &[
    KeywordSpec::opt(
        "options",
        "more rsync options, split as a shell would (e.g. --delete-excluded); both ends use them",
    ),
    KeywordSpec::opt(
        "exclude",
        "patterns left out of the copy, separated by spaces (rsync --exclude)",
    ),
    KeywordSpec::opt(
        "bwlimit",
        "the transfer's bandwidth limit, in KiB/s (as rsync's --bwlimit)",
    ),
];

/// What every rsync of this driver is told, at both ends: archive mode with ACLs, xattrs and
/// hard links, ids kept as numbers (the target's names may differ: that is the drift check's
/// business, not the copy's).
pub(crate) const BASE: [&str; 2] = ["-aAXH", "--numeric-ids"];

/// The rsync options a sync's config gives, shared by the sender and the receiver (each reads
/// them from its own config).
pub fn config_options(get: impl Fn(&str) -> Option<String>, rid: &str) -> Result<Vec<String>> {
    let mut argv: Vec<String> = BASE.iter().map(|s| s.to_string()).collect();
    if let Some(o) = get("options") {
        argv.extend(shell_words::split(&o).map_err(|e| eyre!("{rid}: options: {e}"))?);
    }
    for pattern in get("exclude").unwrap_or_default().split_whitespace() {
        argv.push(format!("--exclude={pattern}"));
    }
    Ok(argv)
}

/// The rsync replication driver.
pub struct SyncRsync {
    rid: String,
}

impl SyncRsync {
    /// A driver for section `rid`.
    pub fn new(rid: &str) -> Self {
        Self {
            rid: rid.to_string(),
        }
    }
}

impl Resource for SyncRsync {
    fn rid(&self) -> &str {
        &self.rid
    }

    fn type_name(&self) -> String {
        "sync.rsync".to_string()
    }

    /// OpenSVC's words: `rsync SRC to TARGET`.
    fn label(&self, ctx: &Ctx) -> String {
        format!(
            "rsync {} to {}",
            ctx.get(&self.rid, "src").unwrap_or_default(),
            self.target_words(ctx).join(", ")
        )
    }

    fn probe(&self, ctx: &Ctx) -> Probe {
        if !crate::paths::on_path("rsync") {
            return Probe::down(format!("rsync is not installed on {}", ctx.env.nodename));
        }
        probe_state(ctx, &self.rid, "rsync")
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

/// The sources of `src` on this node, each as rsync reads it (a trailing `/` kept).
fn sources(ctx: &Ctx, src: &str) -> Vec<String> {
    src.split_whitespace()
        .map(|p| {
            let mut s = ctx.env.path(p).to_string_lossy().into_owned();
            if p.ends_with('/') && !s.ends_with('/') {
                s.push('/');
            }
            s
        })
        .collect()
}

/// The batch's length and SHA-256, which the target checks before it applies anything.
fn digest(batch: &Path) -> Result<(u64, Sha256)> {
    use sha2::Digest;
    let mut f = std::fs::File::open(batch)
        .wrap_err_with(|| format!("opening the batch {}", batch.display()))?;
    let mut hasher = sha2::Sha256::new();
    let n = std::io::copy(&mut f, &mut hasher)?;
    Ok((n, Sha256::of_digest(&hasher.finalize())))
}

/// Streams `batch` into `w`, reporting progress and keeping to `bwlimit` KiB/s when given.
fn send_batch(
    batch: &Path,
    w: &mut impl Write,
    bwlimit: Option<u64>,
    report: &mut dyn FnMut(u64, u64, Duration),
) -> Result<u64> {
    let mut f = std::fs::File::open(batch)
        .wrap_err_with(|| format!("opening the batch {}", batch.display()))?;
    let total = f.metadata()?.len();
    let started = Instant::now();
    let mut buf = vec![0u8; 256 * 1024];
    let mut sent = 0u64;
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        w.write_all(&buf[..n])?;
        sent += n as u64;
        if let Some(limit) = bwlimit.filter(|l| *l > 0) {
            let due = Duration::from_secs_f64(sent as f64 / (limit as f64 * 1024.0));
            if let Some(wait) = due.checked_sub(started.elapsed()) {
                std::thread::sleep(wait);
            }
        }
        report(sent, total, started.elapsed());
    }
    w.flush()?;
    Ok(sent)
}

impl DataSync for SyncRsync {
    fn sync_to(&self, ctx: &Ctx, _mode: SyncMode, target: &dyn Transport) -> Result<()> {
        let rid = &self.rid;
        let src = ctx.require(rid, "src")?;
        let bwlimit = match ctx.get(rid, "bwlimit") {
            Some(v) => Some(
                v.trim()
                    .parse::<u64>()
                    .map_err(|_| eyre!("{rid}: bwlimit '{v}' is not a number of KiB/s"))?,
            ),
            None => None,
        };
        push(
            ctx,
            target,
            &Push {
                rid,
                dst: ctx.dst_for(rid, target.node())?,
                options: config_options(|k| ctx.get(rid, k), rid)?,
                sources: sources(ctx, &src),
                extra: Vec::new(),
                bwlimit,
            },
        )
    }

    fn rid_for_state(&self) -> &str {
        &self.rid
    }
}

/// One rsync replication to one target: what a configured rsync sync and `sync#i1` both send.
pub(crate) struct Push<'a> {
    /// The sync's rid: its state file, its log lines, the receiver's section.
    pub rid: &'a str,
    /// The copy's place as the target resolves it (the target checks it against its own).
    pub dst: String,
    /// rsync's options, the same ones the target applies the batch with.
    pub options: Vec<String>,
    /// What rsync reads on this node, each as rsync takes it.
    pub sources: Vec<String>,
    /// Files made for the transfer (name, content), sent beside the sources at the copy's top.
    pub extra: Vec<(&'a str, Vec<u8>)>,
    /// KiB/s, when limited.
    pub bwlimit: Option<u64>,
}

/// Has rsync write the batch of `p` beside the service's state, then streams it to `target`.
pub(crate) fn push(ctx: &Ctx, target: &dyn Transport, p: &Push) -> Result<()> {
    let rid = p.rid;
    let node = &ctx.env.nodename;
    if !crate::paths::on_path("rsync") {
        bail!("{rid}: rsync is not installed on {node}");
    }
    if let Some(missing) = p
        .sources
        .iter()
        .find(|s| std::fs::symlink_metadata(s.trim_end_matches('/')).is_err())
    {
        bail!("{rid}: source {missing} not found on {node}");
    }
    let state = SyncState::now();
    // The batch is written beside the service's state, never in a shared temp directory.
    let work: PathBuf = ctx.env.state_dir(ctx.svc).join(format!(".{rid}.rsync"));
    if work.exists() {
        std::fs::remove_dir_all(&work).wrap_err_with(|| format!("removing {}", work.display()))?;
    }
    let made = std::fs::create_dir_all(work.join("extra"))
        .wrap_err_with(|| format!("creating {}", work.display()))
        .and_then(|()| {
            let mut argv = vec!["rsync".to_string()];
            argv.extend(p.options.iter().cloned());
            let batch = work.join("batch");
            argv.push(format!("--only-write-batch={}", batch.display()));
            argv.extend(p.sources.iter().cloned());
            for (name, bytes) in &p.extra {
                let file = work.join("extra").join(name);
                std::fs::write(&file, bytes)
                    .wrap_err_with(|| format!("writing {}", file.display()))?;
                // `/./`: rsync's relative mode keeps only what follows it.
                argv.push(format!("{}/./{name}", work.join("extra").display()));
            }
            // An empty copy that does not exist: the batch holds everything (rsync does not
            // create it).
            argv.push(format!("{}/", work.join("empty").display()));
            let out = crate::drivers::run_logged(ctx, rid, &argv, Duration::from_secs(3600))?;
            if !out.success {
                bail!(
                    "{rid}: rsync could not read the sources: {}",
                    out.failure_reason()
                );
            }
            send(ctx, target, p, &state, &batch)
        });
    let _ = std::fs::remove_dir_all(&work);
    made
}

/// Streams the batch to the target's `rsync-receive`, then records the sync.
fn send(
    ctx: &Ctx,
    target: &dyn Transport,
    p: &Push,
    state: &SyncState,
    batch: &Path,
) -> Result<()> {
    let (rid, dst, bwlimit) = (p.rid, p.dst.as_str(), p.bwlimit);
    let when = state
        .when
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    ctx.log.info(
        rid,
        &format!(
            "rsync batch to {}:{dst} (sync id {})",
            target.node(),
            state.id
        ),
    );
    let (bytes, sha256) = digest(batch)?;
    let args = client::peer(&PeerVerb::RsyncReceive {
        transfer: Transfer::new(
            SyncTarget::new(ctx.svc, rid, dst)?,
            &ctx.env.nodename,
            &state.id,
            &when,
        )?,
        bytes,
        sha256,
    });
    let log = ctx.log;
    let began = Instant::now();
    let (sent, out) = stream_to(target, &args, |w| {
        let mut pace = Throttle::default();
        let mut report = |sent: u64, total: u64, elapsed: Duration| {
            if pace.due(sent == total) {
                log.progress(rid, SyncProgress::measure(sent, Some(total), None, elapsed));
            }
        };
        send_batch(batch, w, bwlimit, &mut report)
    })?;
    if !out.success {
        return Err(refused(rid, target, sent, &out, "the transfer"));
    }
    let sent = sent.wrap_err_with(|| format!("{rid}: sending to {}", target.node()))?;
    let received: receive::Received = serde_json::from_slice(&out.stdout)
        .wrap_err_with(|| format!("{rid}: bad transfer report from {}", target.node()))?;
    if received.bytes != sent {
        bail!(
            "{rid}: {} received {} bytes but {sent} were sent",
            target.node(),
            received.bytes
        );
    }
    ctx.log.info(
        rid,
        &format!("sent a {sent}-byte batch, applied on {}", target.node()),
    );
    write_state(ctx.env, ctx.svc, rid, state)?;
    ctx.log
        .info(rid, &format!("update state file with sync id {}", state.id));
    if let Err(e) = record_transfer(ctx.env, ctx.svc, rid, sent, began) {
        ctx.log.warn(rid, &format!("{e:#}"));
    }
    Ok(())
}

//! `sync#i0`: keeps the service config the same on every node of the service. The pushing node
//! records, per peer, the hash of the config it last delivered; the receiving node records the
//! same for the sender. A config edited since it was last pushed shows `<peer> need update`.

use std::time::Duration;

use chrono::Utc;
use color_eyre::eyre::{bail, eyre, Result, WrapErr};
use sha2::{Digest, Sha256};

use super::sync_state::SyncState;
use super::{Ctx, Probe};
use crate::config::{Role, ServiceConfig};
use crate::paths::{write_atomic, NodeEnv};
use crate::transport::Transport;

/// The internal rid of the config sync.
pub const RID: &str = "sync#i0";
/// Its label in the status tree.
pub const LABEL: &str = "push svc config to drpnodes, nodes";

const PUSH_TIMEOUT: Duration = Duration::from_secs(60);

/// The peers the config goes to: every node of the service but this one.
pub fn targets(cfg: &ServiceConfig, node: &str) -> Vec<String> {
    cfg.all_nodes().into_iter().filter(|n| n != node).collect()
}

/// Hex sha256 of a config's bytes.
pub fn hash_bytes(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn record_path(env: &NodeEnv, svc: &str, peer: &str) -> std::path::PathBuf {
    env.state_dir(svc).join(RID).join(peer)
}

fn write_record(env: &NodeEnv, svc: &str, peer: &str, hash: &str) -> Result<()> {
    let state = SyncState {
        when: Utc::now(),
        id: hash.to_string(),
    };
    write_atomic(&record_path(env, svc, peer), state.to_line().as_bytes())?;
    Ok(())
}

fn read_record(env: &NodeEnv, svc: &str, peer: &str) -> Option<SyncState> {
    let text = std::fs::read_to_string(record_path(env, svc, peer)).ok()?;
    SyncState::parse(&text).ok()
}

/// The status of the config sync on this node. `avail_up`: the service runs here.
pub fn probe(ctx: &Ctx, avail_up: bool) -> Probe {
    if avail_up && ctx.cfg.role(&ctx.env.nodename) == Role::Drp {
        return Probe::with(
            crate::status::Status::NotApplicable,
            "service up on drp node, sync disabled",
        );
    }
    let stale: Vec<String> = targets(ctx.cfg, &ctx.env.nodename)
        .into_iter()
        .filter(|peer| {
            read_record(ctx.env, ctx.svc, peer).map(|s| s.id) != Some(ctx.cfg.hash.clone())
        })
        .map(|peer| format!("{peer} need update"))
        .collect();
    if stale.is_empty() {
        Probe::up()
    } else {
        Probe {
            status: crate::status::Status::Down,
            comments: stale,
            label: None,
        }
    }
}

/// Pushes this node's config to one peer and records what it now holds.
pub fn push(ctx: &Ctx, target: &dyn Transport) -> Result<()> {
    let path = &ctx.cfg.raw.path;
    let bytes = std::fs::read(path).wrap_err_with(|| format!("reading {}", path.display()))?;
    let hash = hash_bytes(&bytes);
    let args = crate::transport::client::peer(&crate::protocol::peer::PeerVerb::ConfigReceive {
        svc: ctx.svc.parse()?,
        from: ctx.env.nodename.parse()?,
        hash: hash.parse()?,
    });
    ctx.log.info(
        RID,
        &format!("send {} to {}", path.display(), target.node()),
    );
    let mut input: &[u8] = &bytes;
    let out = target.call(&args, Some(&mut input), Some(PUSH_TIMEOUT))?;
    if !out.success {
        bail!(
            "{RID}: {} refused the config: {}",
            target.node(),
            out.failure_reason()
        );
    }
    write_record(ctx.env, ctx.svc, target.node(), &hash)
}

/// Installs a config pushed by `from`, after checking it arrived whole and parses.
pub fn receive(env: &NodeEnv, svc: &str, from: &str, hash: &str, bytes: &[u8]) -> Result<()> {
    if hash_bytes(bytes) != hash {
        bail!("the config from {from} arrived damaged (hash mismatch); nothing changed");
    }
    let text =
        std::str::from_utf8(bytes).map_err(|_| eyre!("the config from {from} is not UTF-8"))?;
    let path = env.config_path(svc);
    if let Err(e) = ServiceConfig::parse(svc, &path, text, super::catalogue()) {
        bail!("the config from {from} does not parse here; nothing changed:\n{e}");
    }
    write_atomic(&path, bytes).wrap_err_with(|| format!("writing {}", path.display()))?;
    write_record(env, svc, from, hash)
}

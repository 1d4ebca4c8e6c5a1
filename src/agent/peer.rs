//! The agent's part of the receiving side of node-to-node operations (`drpilot peer ...`):
//! receive a config, tell the data syncs' receivers (in their drivers) whether the service runs
//! here; and `postsync`, run on a DRP node after `syncdrp`.

use std::io::Read;

use color_eyre::eyre::{bail, Result};

use super::{probe, Service};
use crate::drivers::sync_state::read_state;
use crate::drivers::{sync_config, Ctx};
use crate::paths::NodeEnv;
use crate::protocol::names::{ConfigHash, NodeName, ServiceName};

/// Refuses to overwrite the data of a service that runs on this node, even in part (`warn`: a
/// filesystem up, say), as the split-brain guard counts it. The data syncs' receivers, below
/// the agent, get it as their [`LiveCheck`](crate::drivers::receive::LiveCheck).
pub fn refuse_if_running(env: &NodeEnv, svc: &str) -> Result<()> {
    if !env.config_path(svc).exists() {
        return Ok(());
    }
    let service = Service::load(env, svc)?;
    let st = probe::probe(env, &service);
    if st.avail.is_active() {
        bail!(
            "{svc} is {} on {}: refusing to overwrite its live data",
            st.avail,
            env.nodename
        );
    }
    Ok(())
}

/// Receives a config pushed by a peer.
pub fn config_receive(
    env: &NodeEnv,
    svc: &ServiceName,
    from: &NodeName,
    hash: &ConfigHash,
    input: &mut impl Read,
) -> Result<()> {
    let mut bytes = Vec::new();
    input.read_to_end(&mut bytes)?;
    sync_config::receive(env, svc, from, hash, &bytes)
}

/// `postsync` on a DRP node: checks what the syncs left here and says it.
pub fn postsync(ctx: &Ctx, svc: &Service) -> Result<()> {
    ctx.log.info(
        "",
        &format!(
            "config {} is valid on {}",
            ctx.cfg.raw.path.display(),
            ctx.env.nodename
        ),
    );
    for r in &svc.resources {
        if r.driver.as_sync().is_none() {
            continue;
        }
        let rid = r.driver.rid();
        match read_state(ctx.env, ctx.svc, rid)? {
            Some(s) => ctx.log.info(
                rid,
                &format!(
                    "holds sync {} of {}",
                    s.id,
                    s.when.format("%Y-%m-%d %H:%M:%S UTC")
                ),
            ),
            None => ctx.log.warn(rid, "no replica received yet"),
        }
    }
    Ok(())
}

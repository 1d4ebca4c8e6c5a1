//! A test's bubble outside of a run: `drpilot drp test SVC --end` removes a kept (or left)
//! bubble from the DRP node, `--enter` opens a shell inside it.

use color_eyre::eyre::{eyre, Result};

use super::nodes::{service_nodes, ActionResult, MapOps, NodeOps};
use crate::protocol::verb::{Action, SvcFlags};
use crate::transport::Pool;

/// The DRP node of `svc`, as its nodes say.
pub fn drp_node(pool: &Pool, svc: &str) -> Result<String> {
    service_nodes(pool, svc)?
        .drpnodes
        .first()
        .cloned()
        .ok_or_else(|| eyre!("{svc} has no DRP node (drpnodes)"))
}

/// `bubbledown` on the DRP node: its service stopped, its namespaces ended, its clone gone.
pub fn end(pool: &Pool, svc: &str, drp: &str) -> Result<ActionResult> {
    MapOps::new(pool, svc).act(drp, &Action::BubbleDown, &SvcFlags::default())
}

/// An interactive shell inside the bubble on `drp`; whether it ended well.
pub fn enter(pool: &Pool, svc: &str, drp: &str) -> Result<bool> {
    let args = crate::transport::client::svc(svc, &Action::BubbleEnter, &SvcFlags::default());
    let mut cmd = pool.interactive(drp, &args)?;
    let status = cmd
        .status()
        .map_err(|e| eyre!("cannot open a shell on {drp}: {e}"))?;
    Ok(status.success())
}

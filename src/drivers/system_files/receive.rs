//! Where a DRP node keeps what a production node's `sync#i1` sends: this node decides, from
//! its own config, never from the sender's words. The sender must be a production node of the
//! service and this node one of its DRP nodes; the copy goes to `cache/<sender>` under the
//! service's state directory, which the sender's `--dst` must name.

use color_eyre::eyre::{bail, Result};

use super::cache_dir;
use crate::drivers::receive::{local_config, Incoming};
use crate::paths::NodeEnv;

/// The cache directory (as a configured path) a transfer of `sync#i1` lands in on this node.
pub fn local_cache(env: &NodeEnv, inc: &Incoming) -> Result<String> {
    let (svc, from, node) = (inc.svc.as_ref(), inc.from.as_ref(), &env.nodename);
    let (cfg, path) = local_config(env, inc.svc, Some(inc.from))?;
    if !cfg.drpnodes.iter().any(|n| n == node) {
        bail!(
            "{}: {node} is not a DRP node of {svc} in {}: refusing {from}'s system files",
            inc.rid,
            path.display()
        );
    }
    if from == node || !cfg.nodes.iter().any(|n| n == from) {
        bail!(
            "{}: {from} is not a production node of {svc} in {}: refusing its system files",
            inc.rid,
            path.display()
        );
    }
    let mine = cache_dir(svc, from);
    if inc.dst != mine {
        bail!(
            "{}: the sender asks for --dst {} but {from}'s system files go to {mine} here: \
             refusing",
            inc.rid,
            inc.dst
        );
    }
    Ok(mine)
}

//! How one node reaches another: the console to the nodes, the runbook to a service's nodes,
//! and an agent to its peers (sync, config push, remote postsync). Every remote operation is
//! "run drpilot with these arguments on that node", so a link only needs to start the node's
//! drpilot, feed its stdin and collect its output. One [`Link`] type covers `local:` and ssh
//! nodes, one [`Pool`] keeps a seat's sessions, and one runtime ([`runtime`]) drives the async
//! ssh sessions for the console and, through a blocking facade ([`Transport`]), for synchronous
//! callers.

mod address;
pub mod agent_limits;
pub mod child_time;
pub mod client;
mod lines;
mod link;
mod local;
mod node_map;
pub mod opensvc;
mod parent_death;
mod pool;
mod process;
mod runtime;
mod ssh;

use std::io::Read;
use std::time::Duration;

use color_eyre::eyre::Result;

pub use address::NodeAddress;
pub use lines::{LineStream, LocalLines};
pub use link::Link;
pub use local::self_exe;
pub use node_map::{Flavor, NodeMap, NodeOptions};
pub use parent_death::end_with_parent;
pub use pool::Pool;
pub use process::{run_child, run_child_lines, CallOutput};
pub use runtime::{block_on, runtime};
pub use ssh::{RemoteLines, SshNode, SshOptions};

/// The blocking facade of a [`Link`] for synchronous callers (the agent, the runbook, the
/// drivers' syncs, which take `&dyn Transport`): each call returns when the node's drpilot has
/// ended.
pub trait Transport {
    /// The node this transport reaches.
    fn node(&self) -> &str;

    /// Runs `drpilot ARGS` on the node, streaming `input` to its stdin, and waits for it at most
    /// `timeout` (killing it past that). A non-zero exit is not an error here: callers read
    /// [`CallOutput::success`] and relay the node's own message.
    fn call(
        &self,
        args: &[String],
        input: Option<&mut (dyn Read + Send)>,
        timeout: Option<Duration>,
    ) -> Result<CallOutput>;

    /// Runs `drpilot ARGS` on the node, handing each stdout line to `on_line` as it arrives.
    fn call_lines(
        &self,
        args: &[String],
        on_line: &mut dyn FnMut(&str),
        timeout: Option<Duration>,
    ) -> Result<CallOutput>;
}

/// Opens the link to `node` as the map says, for synchronous callers (see [`Link::connect`]).
pub fn connect(map: &NodeMap, node: &str) -> Result<Link> {
    Link::connect(map, node)
}

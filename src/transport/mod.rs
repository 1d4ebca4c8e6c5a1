//! How one node reaches another: the console to the nodes, and an agent to its peers (sync,
//! config push, remote postsync). Every remote operation is "run drpilot with these arguments
//! on that node", so a transport only needs to start the node's drpilot, feed its stdin and
//! collect its output (design section 7).

mod address;
pub mod child_time;
pub mod client;
mod local;
mod node_map;
mod parent_death;
mod process;
mod ssh;

use std::io::Read;
use std::time::Duration;

use color_eyre::eyre::Result;

pub use address::NodeAddress;
pub use local::{self_exe, LocalTransport};
pub use node_map::{NodeMap, NodeOptions};
pub use parent_death::end_with_parent;
pub use process::{run_child, run_child_lines, CallOutput};
pub use ssh::{RemoteLines, SshNode, SshOptions, SshTransport};

/// Runs drpilot on a node. Implemented by the `local:` transport and by SSH.
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

    /// Runs `drpilot ARGS` on the node, handing each stdout line to `on_line` (live where the
    /// transport can; after the end otherwise).
    fn call_lines(
        &self,
        args: &[String],
        on_line: &mut dyn FnMut(&str),
        timeout: Option<Duration>,
    ) -> Result<CallOutput> {
        let out = self.call(args, None, timeout)?;
        for l in out.stdout_text().lines() {
            on_line(l);
        }
        Ok(out)
    }
}

/// Opens the transport to `node` as the map says (a node absent from the map is the ssh host
/// of the same name).
pub fn connect(map: &NodeMap, node: &str) -> Result<Box<dyn Transport>> {
    match map.address_of(node) {
        NodeAddress::Local { root } => Ok(Box::new(LocalTransport::new(node, root)?)),
        addr @ NodeAddress::Ssh { .. } => Ok(Box::new(SshTransport::connect(
            node,
            &addr,
            &map.options_of(node),
            &map.ssh_options(),
        )?)),
    }
}

//! The one way to reach a node, `local:` or `ssh://`: async for the console's tasks (opening,
//! line streams), blocking (the [`Transport`] facade) for the agent, the runbook and the drivers. Both paths of a kind
//! share its command line, environment, deadline and error wording.

use std::io::Read;
use std::path::PathBuf;
use std::time::Duration;

use color_eyre::eyre::Result;

use super::local::LocalNode;
use super::runtime::block_on;
use super::ssh::blocking;
use super::Transport;
use super::{CallOutput, LineStream, NodeAddress, NodeMap, NodeOptions, SshNode, SshOptions};

/// An open way to run drpilot on one node. Cheap to share (`Arc`): concurrent calls on an ssh
/// link are channels of one master connection.
pub struct Link {
    kind: Kind,
}

enum Kind {
    Local(LocalNode),
    Ssh(SshNode),
}

impl Link {
    /// A lab node: this binary run with the node's root (nothing is opened).
    pub fn local(node: &str, root: PathBuf) -> Result<Self> {
        Ok(Self {
            kind: Kind::Local(LocalNode::new(node, root)?),
        })
    }

    /// Opens the master connection to an ssh node (see [`SshNode::connect`]).
    pub async fn open_ssh(
        node: &str,
        addr: &NodeAddress,
        opts: &NodeOptions,
        ssh: &SshOptions,
    ) -> Result<Self> {
        Ok(Self {
            kind: Kind::Ssh(SshNode::connect(node, addr, opts, ssh).await?),
        })
    }

    /// [`Self::open_ssh`] for synchronous callers; the time counts as time spent in commands.
    pub fn connect_ssh(
        node: &str,
        addr: &NodeAddress,
        opts: &NodeOptions,
        ssh: &SshOptions,
    ) -> Result<Self> {
        let started = std::time::Instant::now();
        let link = block_on(Self::open_ssh(node, addr, opts, ssh));
        super::child_time::account(started.elapsed());
        link?
    }

    /// Opens the way to `node` as the map says (a node absent from the map is the ssh host of
    /// the same name).
    pub async fn open(map: &NodeMap, node: &str) -> Result<Self> {
        match map.address_of(node) {
            NodeAddress::Local { root } => Self::local(node, root),
            addr @ NodeAddress::Ssh { .. } => {
                Self::open_ssh(node, &addr, &map.options_of(node), &map.ssh_options()).await
            }
        }
    }

    /// [`Self::open`] for synchronous callers.
    pub fn connect(map: &NodeMap, node: &str) -> Result<Self> {
        match map.address_of(node) {
            NodeAddress::Local { root } => Self::local(node, root),
            addr @ NodeAddress::Ssh { .. } => {
                Self::connect_ssh(node, &addr, &map.options_of(node), &map.ssh_options())
            }
        }
    }

    /// The node this link reaches.
    pub fn node(&self) -> &str {
        match &self.kind {
            Kind::Local(l) => l.node(),
            Kind::Ssh(s) => s.node(),
        }
    }

    /// `drpilot ARGS` on the node, attached to this terminal (a shell the operator uses).
    pub fn interactive(&self, args: &[String]) -> Result<std::process::Command> {
        match &self.kind {
            Kind::Local(l) => l.interactive(args),
            Kind::Ssh(s) => Ok(s.interactive(args)),
        }
    }

    /// Starts `drpilot ARGS` on the node, its stdout read line by line (`agent watch`, an
    /// action's JSON log).
    pub async fn spawn_lines(&self, args: &[String]) -> Result<LineStream> {
        match &self.kind {
            Kind::Local(l) => l.spawn_lines(args),
            Kind::Ssh(s) => s.spawn_lines(args).await.map(LineStream::Ssh),
        }
    }
}

impl Transport for Link {
    fn node(&self) -> &str {
        Link::node(self)
    }

    fn call(
        &self,
        args: &[String],
        input: Option<&mut (dyn Read + Send)>,
        timeout: Option<Duration>,
    ) -> Result<CallOutput> {
        match &self.kind {
            Kind::Local(l) => l.call(args, input, timeout),
            Kind::Ssh(s) => blocking::call(s, args, input, timeout),
        }
    }

    fn call_lines(
        &self,
        args: &[String],
        on_line: &mut dyn FnMut(&str),
        timeout: Option<Duration>,
    ) -> Result<CallOutput> {
        match &self.kind {
            Kind::Local(l) => l.call_lines(args, on_line, timeout),
            Kind::Ssh(s) => blocking::call_lines(s, args, on_line, timeout),
        }
    }
}

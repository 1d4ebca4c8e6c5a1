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
use super::{
    CallOutput, Flavor, LineStream, NodeAddress, NodeMap, NodeOptions, SshNode, SshOptions,
};

/// An open way to run drpilot on one node. Cheap to share (`Arc`): concurrent calls on an ssh
/// link are channels of one master connection.
#[derive(Clone)]
pub struct Link {
    kind: Kind,
    /// The node's options: with an OpenSVC agent, drpilot's command lines are translated for
    /// it (`opensvc::adapter`), which reads its `cut_access` and `app_check` there.
    opts: NodeOptions,
    /// Wakes the poll of an OpenSVC node's watch when an action through this link (any clone)
    /// changed the node.
    wake: super::opensvc::wake::Wake,
}

#[derive(Clone)]
enum Kind {
    Local(LocalNode),
    Ssh(SshNode),
}

impl Link {
    /// A lab node: this binary run with the node's root (nothing is opened).
    pub fn local(node: &str, root: PathBuf) -> Result<Self> {
        Ok(Self {
            kind: Kind::Local(LocalNode::new(node, root)?),
            opts: NodeOptions::default(),
            wake: Default::default(),
        })
    }

    /// A `local:` node as its options say: drpilot, or an OpenSVC agent run as `bin` (default
    /// `om`) on this machine.
    fn local_with(node: &str, root: PathBuf, opts: &NodeOptions) -> Result<Self> {
        match opts.flavor() {
            Flavor::Drpilot => Self::local(node, root),
            flavor => Ok(Self {
                kind: Kind::Local(LocalNode::with_exe(
                    node,
                    root,
                    PathBuf::from(opts.bin.clone().unwrap_or_else(|| "om".into())),
                )),
                opts: NodeOptions {
                    flavor: Some(flavor),
                    ..opts.clone()
                },
                wake: Default::default(),
            }),
        }
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
            opts: opts.clone(),
            wake: Default::default(),
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
            NodeAddress::Local { root } => Self::local_with(node, root, &map.options_of(node)),
            addr @ NodeAddress::Ssh { .. } => {
                Self::open_ssh(node, &addr, &map.options_of(node), &map.ssh_options()).await
            }
        }
    }

    /// [`Self::open`] for synchronous callers.
    pub fn connect(map: &NodeMap, node: &str) -> Result<Self> {
        match map.address_of(node) {
            NodeAddress::Local { root } => Self::local_with(node, root, &map.options_of(node)),
            addr @ NodeAddress::Ssh { .. } => {
                Self::connect_ssh(node, &addr, &map.options_of(node), &map.ssh_options())
            }
        }
    }

    /// The lines of `drpilot ARGS` answered by an OpenSVC agent: its watch, polled
    /// (`opensvc::watch`; a v3 node's daemon events followed beside it), or a command's
    /// translated output, from a blocking task.
    fn made_lines(&self, args: &[String]) -> LineStream {
        let link = self.clone();
        let args = args.to_vec();
        let (tx, rx) = tokio::sync::mpsc::channel(64);
        // `agent watch [SVC...]`: the services watched (flags left out).
        let watched: Option<Vec<String>> = match args.as_slice() {
            [a, w, rest @ ..] if a == "agent" && w == "watch" => Some(
                rest.iter()
                    .filter(|a| !a.starts_with("--"))
                    .cloned()
                    .collect(),
            ),
            _ => None,
        };
        if let (Some(only), Flavor::Opensvc3) = (&watched, self.opts.flavor()) {
            self.follow_events(only, tx.clone());
        }
        let task = tokio::task::spawn_blocking(move || {
            link.with_agent(Some(Duration::from_secs(3600)), |agent| {
                let mut send = |l: String| tx.blocking_send(l).is_ok();
                if let Some(only) = &watched {
                    return Ok(super::opensvc::watch::run(agent, only, &mut send));
                }
                let mut out = super::opensvc::adapter::call(agent, &args)?;
                for l in out.stdout_text().lines() {
                    if !send(l.to_string()) {
                        break;
                    }
                }
                out.stdout.clear();
                Ok(out)
            })
        });
        LineStream::Made(super::lines::MadeLines { rx, task })
    }

    /// This node's OpenSVC agent as the adapter reaches it, its commands bounded by `timeout`.
    fn with_agent<T>(
        &self,
        timeout: Option<Duration>,
        f: impl FnOnce(&super::opensvc::adapter::Agent) -> T,
    ) -> T {
        let run = |argv: &[String]| self.raw_call(argv, timeout);
        let program = |argv: &[String]| self.raw_program(argv, timeout);
        f(&super::opensvc::adapter::Agent {
            node: self.node(),
            opts: &self.opts,
            run: &run,
            program: &program,
            wake: &self.wake,
        })
    }

    /// Follows a v3 node's daemon event stream for its watch (`services`: what it watches, all
    /// when empty): each line wakes the poll loop with it, until the watch's reader goes
    /// (`watch` closed). Without a daemon the command fails at once and the poll alone serves.
    fn follow_events(&self, services: &[String], watch: tokio::sync::mpsc::Sender<String>) {
        let link = self.clone();
        let argv = super::opensvc::v3_events::command(services);
        tokio::spawn(async move {
            let Ok(mut events) = link.raw_lines(&argv).await else {
                return;
            };
            loop {
                tokio::select! {
                    line = events.next_line() => match line {
                        Ok(Some(l)) => link.wake.event(l),
                        _ => return,
                    },
                    _ = watch.closed() => return,
                }
            }
        });
    }

    /// Starts the node's own agent command (no translation), read line by line.
    async fn raw_lines(&self, args: &[String]) -> Result<LineStream> {
        match &self.kind {
            Kind::Local(l) => l.spawn_lines(args),
            Kind::Ssh(s) => s.spawn_lines(args).await.map(LineStream::Ssh),
        }
    }

    /// Runs the node's own agent command (no translation), for the OpenSVC adapter.
    fn raw_call(&self, args: &[String], timeout: Option<Duration>) -> Result<CallOutput> {
        match &self.kind {
            Kind::Local(l) => l.call(args, None, timeout),
            Kind::Ssh(s) => blocking::call(s, args, None, timeout),
        }
    }

    /// Runs another program on the node (`argv[0]` and its arguments), for the OpenSVC adapter.
    fn raw_program(&self, argv: &[String], timeout: Option<Duration>) -> Result<CallOutput> {
        match &self.kind {
            Kind::Local(l) => l.call_program(argv, timeout),
            Kind::Ssh(s) => block_on(s.run_program(argv, timeout))?,
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
        if self.opts.flavor() != Flavor::Drpilot {
            return Ok(self.made_lines(args));
        }
        self.raw_lines(args).await
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
        if self.opts.flavor() != Flavor::Drpilot {
            return self.with_agent(timeout, |agent| super::opensvc::adapter::call(agent, args));
        }
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
        if self.opts.flavor() != Flavor::Drpilot {
            // The agent's lines come at its end: no live progress from an OpenSVC node.
            let out = Transport::call(self, args, None, timeout)?;
            for l in out.stdout_text().lines() {
                on_line(l);
            }
            return Ok(out);
        }
        match &self.kind {
            Kind::Local(l) => l.call_lines(args, on_line, timeout),
            Kind::Ssh(s) => blocking::call_lines(s, args, on_line, timeout),
        }
    }
}

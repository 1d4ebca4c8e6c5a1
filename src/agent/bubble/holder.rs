//! The bubble's namespaces: a holder process (`sleep infinity` under `unshare`) keeps a private
//! network namespace (only `lo`: no address of the bubble reaches a wire, no ARP leaves it) and
//! a private mount namespace alive; every command of the bubble enters them with `nsenter`. A
//! node agent that is not root gets them inside a user namespace of its own.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use color_eyre::eyre::{bail, eyre, Result, WrapErr};
use serde::{Deserialize, Serialize};

use crate::procfs::Tracked;

/// The holder as recorded in the bubble's directory.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct Holder {
    /// Its pid.
    pub pid: i32,
    /// Its kernel start time (a recycled pid is not it).
    pub start_time: u64,
    /// Whether it holds a user namespace too (the node agent was not root).
    pub user_ns: bool,
}

fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

fn net_ns(pid: i32) -> Option<std::path::PathBuf> {
    std::fs::read_link(format!("/proc/{pid}/ns/net")).ok()
}

impl Holder {
    /// Starts a holder in new namespaces and waits until it is in them.
    pub fn spawn() -> Result<Self> {
        let user_ns = !is_root();
        let mut cmd = Command::new("unshare");
        if user_ns {
            cmd.args(["--user", "--map-root-user"]);
        }
        cmd.args([
            "--net",
            "--mount",
            "--propagation",
            "private",
            "sleep",
            "infinity",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
        // Its own process group: an operator's Ctrl-C on this command does not end the bubble.
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        let child = cmd
            .spawn()
            .wrap_err("cannot run unshare (util-linux) for the test bubble")?;
        let pid = child.id();
        let ours = net_ns(std::process::id() as i32);
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let t = Tracked::spawned(pid).ok_or_else(|| {
                eyre!("unshare exited at once: cannot create the test bubble's namespaces")
            })?;
            let theirs = net_ns(t.pid);
            if theirs.is_some() && theirs != ours {
                return Ok(Self {
                    pid: t.pid,
                    start_time: t.start_time,
                    user_ns,
                });
            }
            if Instant::now() > deadline {
                t.signal(rustix::process::Signal::KILL);
                bail!("the test bubble's namespaces did not come up within 5 s");
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// The holder process, while it is still the same one.
    pub fn tracked(&self) -> Option<Tracked> {
        let t = Tracked {
            pid: self.pid,
            start_time: self.start_time,
        };
        t.alive().then_some(t)
    }

    /// A command run inside the bubble's namespaces.
    pub fn command(&self, program: &Path) -> Command {
        let mut cmd = Command::new("nsenter");
        cmd.args(["-t", &self.pid.to_string()]);
        if self.user_ns {
            cmd.args(["-U", "--preserve-credentials"]);
        }
        cmd.args(["-n", "-m", "--"]).arg(program);
        cmd
    }

    /// Ends the holder and every process left in its network namespace (an app a failed stop
    /// left running): the namespaces go with the last of them.
    pub fn end(&self) -> Vec<i32> {
        let Some(t) = self.tracked() else {
            return Vec::new();
        };
        let ns = net_ns(t.pid);
        let mut killed = Vec::new();
        if let (Some(ns), Ok(dir)) = (ns, std::fs::read_dir("/proc")) {
            for e in dir.flatten() {
                let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
                    continue;
                };
                if pid != t.pid && net_ns(pid).as_ref() == Some(&ns) {
                    if let Some(p) = u32::try_from(pid).ok().and_then(Tracked::spawned) {
                        p.signal(rustix::process::Signal::KILL);
                        killed.push(pid);
                    }
                }
            }
        }
        t.signal(rustix::process::Signal::KILL);
        t.wait_gone(Duration::from_secs(5));
        killed
    }
}

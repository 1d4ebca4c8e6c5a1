//! One testbed host: a process tree in its own pid, net, uts and mount namespaces, whose init is
//! docker-init (so SIGKILL of that one process ends everything the host ran), with private
//! `/run`, `/tmp`, `/root`, `/opt`, `/srv`, `/etc/hosts`, users and groups and drpilot
//! directories, a veth on the testbed bridge, and an sshd.

use std::net::Ipv4Addr;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use color_eyre::eyre::{bail, eyre, Result, WrapErr};
use serde::{Deserialize, Serialize};

use super::net::run;

/// Directories each host sees as its own (bind-mounted from its directory, or a tmpfs).
const PRIVATE_DIRS: &[&str] = &["/root", "/opt", "/srv", "/etc/drpilot", "/var/lib/drpilot"];

/// The id files each host has a copy of (`/etc/passwd` and its kin).
pub const ID_FILES: &[&str] = &["passwd", "group", "shadow", "gshadow"];

/// What the testbed records of a host, enough to tear it down after a crash.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HostRecord {
    /// The node name (`deb1.opensvc.com`), also its hostname.
    pub name: String,
    /// Its address on the testbed bridge.
    pub addr: Ipv4Addr,
    /// The pid (in this machine's pid namespace) of the host's init.
    pub init_pid: u32,
    /// That process's start time, so a recycled pid is never killed.
    pub init_start: u64,
    /// The switch's end of its veth (cut it to drop the host's link).
    pub veth: String,
}

/// A running host.
#[derive(Debug)]
pub struct Host {
    /// What teardown needs.
    pub record: HostRecord,
    /// The host's directory on this machine.
    pub dir: PathBuf,
    holder: Option<Child>,
}

pub use crate::procfs::start_time;

fn wait_for<T>(limit: Duration, what: &str, mut f: impl FnMut() -> Option<T>) -> Result<T> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = f() {
            return Ok(v);
        }
        if Instant::now() > deadline {
            bail!("timed out after {limit:?} waiting for {what}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// `nsenter` into every namespace of the host whose init is `pid`, then `argv`.
pub fn nsenter_argv(pid: u32, argv: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = [
        "nsenter",
        "-t",
        &pid.to_string(),
        "-p",
        "-n",
        "-u",
        "-m",
        "--",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    v.extend(argv.iter().map(|s| s.to_string()));
    v
}

impl Host {
    /// Starts the namespaces of host `name` and gives it its private directories under `dir`.
    pub fn spawn(name: &str, dir: &Path, veth: &str) -> Result<Self> {
        std::fs::create_dir_all(dir).wrap_err_with(|| format!("creating {}", dir.display()))?;
        let mut cmd = Command::new("unshare");
        cmd.args([
            "--pid",
            "--fork",
            "--mount-proc",
            "--net",
            "--uts",
            "--mount",
            "--propagation",
            "private",
            "docker-init",
            "-s",
            "--",
            "sleep",
            "infinity",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0);
        let holder = cmd.spawn().wrap_err(
            "starting the host's namespaces (unshare from util-linux, docker-init from docker.io)",
        )?;
        let mut holder = holder;
        let up = holder.id();
        let unshare_exe = std::fs::read_link(format!("/proc/{up}/exe")).ok();
        // The init is unshare's child once it has exec'd docker-init (a link to tini).
        let found = wait_for(Duration::from_secs(5), "the host's init", || {
            let kids = std::fs::read_to_string(format!("/proc/{up}/task/{up}/children")).ok()?;
            let pid: u32 = kids.split_whitespace().next()?.parse().ok()?;
            let exe = std::fs::read_link(format!("/proc/{pid}/exe")).ok()?;
            (Some(&exe) != unshare_exe.as_ref()).then_some(pid)
        });
        let init_pid = match found {
            Ok(pid) => pid,
            Err(e) => {
                let _ = holder.kill();
                let _ = holder.wait();
                return Err(e);
            }
        };
        let init_start =
            start_time(init_pid).ok_or_else(|| eyre!("host init {init_pid} vanished"))?;
        let host = Self {
            record: HostRecord {
                name: name.to_string(),
                addr: Ipv4Addr::UNSPECIFIED,
                init_pid,
                init_start,
                veth: veth.to_string(),
            },
            dir: dir.to_path_buf(),
            holder: Some(holder),
        };
        Ok(host)
    }

    /// Runs `argv` inside the host, failing with its message.
    pub fn run(&self, argv: &[&str]) -> Result<String> {
        let full = nsenter_argv(self.record.init_pid, argv);
        let refs: Vec<&str> = full.iter().map(String::as_str).collect();
        run(&refs).wrap_err_with(|| format!("on {}", self.record.name))
    }

    /// A command that runs `program` inside the host.
    pub fn command(&self, program: &str) -> Command {
        let mut c = Command::new("nsenter");
        c.args([
            "-t",
            &self.record.init_pid.to_string(),
            "-p",
            "-n",
            "-u",
            "-m",
            "--",
            program,
        ]);
        c
    }

    /// Hostname, private mounts, loopback. `hosts` is the host's /etc/hosts text.
    pub fn setup_system(&self, hosts: &str) -> Result<()> {
        let name = self.record.name.clone();
        self.run(&["hostname", &name])?;
        for (what, target) in [("run", "/run"), ("tmp", "/tmp"), ("log", "/var/log")] {
            let src = format!("drpilot-tb-{what}");
            self.run(&["mount", "-t", "tmpfs", "-o", "mode=1777", &src, target])?;
        }
        self.run(&["chmod", "755", "/run", "/var/log"])?;
        self.run(&["mkdir", "-p", "-m", "755", "/run/sshd"])?;
        for target in PRIVATE_DIRS {
            let own = self
                .dir
                .join(target.trim_start_matches('/').replace('/', "-"));
            std::fs::create_dir_all(&own)
                .wrap_err_with(|| format!("creating {}", own.display()))?;
            if !Path::new(target).exists() {
                // The mount point must exist on the machine; it stays (empty) after teardown.
                std::fs::create_dir_all(target).wrap_err_with(|| format!("creating {target}"))?;
            }
            let own = own.to_string_lossy().into_owned();
            self.run(&["mount", "--bind", &own, target])?;
        }
        // Names come from the host's own /etc/hosts; no DNS server is reachable from the
        // testbed, so resolv.conf points at loopback, which refuses at once (a lookup that
        // missed /etc/hosts would otherwise wait for DNS timeouts, 20 s measured).
        for (file, text) in [("hosts", hosts), ("resolv.conf", "nameserver 127.0.0.1\n")] {
            let own = self.dir.join(file);
            std::fs::write(&own, text).wrap_err_with(|| format!("writing the host's {file}"))?;
            let own = own.to_string_lossy().into_owned();
            self.run(&["mount", "--bind", &own, &format!("/etc/{file}")])?;
        }
        // Users and groups of its own, starting as the machine's: a test adds a user on one
        // host without touching the machine or the other host.
        for file in ID_FILES {
            let machine = Path::new("/etc").join(file);
            if !machine.exists() {
                continue;
            }
            let own = self.dir.join(file);
            std::fs::copy(&machine, &own)
                .wrap_err_with(|| format!("copying {} for the host", machine.display()))?;
            let own = own.to_string_lossy().into_owned();
            self.run(&["mount", "--bind", &own, &machine.to_string_lossy()])?;
        }
        self.run(&["ip", "link", "set", "lo", "up"])?;
        Ok(())
    }

    /// The host's own copy of an `/etc` file of [`ID_FILES`] (bind-mounted over it there).
    pub fn etc_file(&self, file: &str) -> PathBuf {
        self.dir.join(file)
    }

    /// Gives the host's `eth0` (plugged by the switch) address `addr`/24 and a default route
    /// through `gw`.
    pub fn setup_network(&mut self, addr: Ipv4Addr, gw: Ipv4Addr) -> Result<()> {
        let cidr = format!("{addr}/24");
        self.run(&["ip", "addr", "add", &cidr, "dev", "eth0"])?;
        self.run(&["ip", "link", "set", "eth0", "up"])?;
        self.run(&["ip", "route", "add", "default", "via", &gw.to_string()])?;
        self.record.addr = addr;
        Ok(())
    }

    /// Starts the host's sshd with `config` (a file), logging to the host directory.
    pub fn start_sshd(&self, config: &Path) -> Result<()> {
        let cfg = config.to_string_lossy().into_owned();
        let log = self.dir.join("sshd.log").to_string_lossy().into_owned();
        self.run(&["/usr/sbin/sshd", "-f", &cfg, "-E", &log])?;
        Ok(())
    }

    /// Ends every process of the host (SIGKILL of its init) and waits until it is gone.
    pub fn kill(&mut self) -> Result<()> {
        kill_init(&self.record)?;
        if let Some(mut h) = self.holder.take() {
            let _ = h.wait();
        }
        Ok(())
    }
}

/// SIGKILLs the init of a recorded host (only if it is still that process) and waits for it.
pub fn kill_init(rec: &HostRecord) -> Result<()> {
    kill_recorded(rec.init_pid, rec.init_start, &rec.name)
}

/// SIGKILLs process `pid` if it still started at `start`, and waits until it is gone.
pub fn kill_recorded(pid: u32, start: u64, what: &str) -> Result<()> {
    if start_time(pid) != Some(start) {
        return Ok(());
    }
    let Some(p) = rustix::process::Pid::from_raw(pid as i32) else {
        return Ok(());
    };
    let _ = rustix::process::kill_process(p, rustix::process::Signal::KILL);
    wait_for(Duration::from_secs(10), &format!("{what} to end"), || {
        (start_time(pid) != Some(start)).then_some(())
    })
}

impl Drop for Host {
    fn drop(&mut self) {
        let _ = self.kill();
    }
}

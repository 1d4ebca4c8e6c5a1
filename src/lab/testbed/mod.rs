//! The root testbed: two (or more) hosts on one machine, each in its own pid, net, uts and mount
//! namespaces, plugged into a bridge with a random private /24 that lives in a "switch" network
//! namespace of its own (the operator's seat), each with an sshd, loop-file btrfs and ext4
//! volumes and private system directories. The end-to-end tests and `drpilot lab --netns` both
//! stand on it. Teardown leaves nothing behind; a run that crashed before its teardown is swept
//! by the next [`Testbed::create`] (or `drpilot lab --netns --sweep`).

mod host;
mod net;
mod record;
pub mod seed_service;
mod ssh;

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use color_eyre::eyre::{bail, Result, WrapErr};

use crate::lab::loopdev::LoopDevice;
use crate::transport::{NodeAddress, NodeMap, NodeOptions};
pub use host::Host;
pub use net::Subnet;
pub use record::{sweep_stale, TestbedRecord, BASE_DIR};
pub use ssh::SshFiles;

/// What to build.
#[derive(Debug, Clone)]
pub struct Spec {
    /// Node names (and hostnames) of the hosts, `deb1.opensvc.com`; the first label is the short
    /// name.
    pub hosts: Vec<String>,
    /// Extra names every host resolves (service addresses), with the last octet of their
    /// address in the testbed's subnet.
    pub names: Vec<(String, u8)>,
    /// Size of each host's btrfs volume.
    pub btrfs_size: u64,
    /// Size of each host's ext4 volume.
    pub ext4_size: u64,
}

impl Spec {
    /// Two hosts, the seed's names, 1 GiB btrfs and 128 MiB ext4 volumes (sparse).
    pub fn seed() -> Self {
        Self {
            hosts: vec!["deb1.opensvc.com".into(), "deb2.opensvc.com".into()],
            names: vec![
                ("busybox.opensvc.com".into(), 21),
                ("busybox-drp.opensvc.com".into(), 22),
            ],
            btrfs_size: 1 << 30,
            ext4_size: 128 << 20,
        }
    }
}

/// A host's volumes.
#[derive(Debug)]
pub struct Volumes {
    /// The btrfs volume's loop device.
    pub btrfs: LoopDevice,
    /// The ext4 volume's loop device.
    pub ext4: LoopDevice,
}

/// A running testbed, torn down on drop.
pub struct Testbed {
    /// Where its files live on this machine.
    pub dir: PathBuf,
    /// The subnet of its bridge.
    pub subnet: Subnet,
    /// The bridge's name (inside the switch namespace).
    pub bridge: String,
    /// The process holding the switch's network namespace: the operator's seat.
    pub switch_pid: u32,
    switch: Option<std::process::Child>,
    /// The hosts, in the spec's order.
    pub hosts: Vec<Host>,
    /// Each host's volumes, in the same order.
    pub volumes: Vec<Volumes>,
    /// Client key, known hosts and config.
    pub ssh: SshFiles,
    record: TestbedRecord,
    torn_down: bool,
}

/// The first label of a node name.
pub fn short_name(node: &str) -> &str {
    node.split('.').next().unwrap_or(node)
}

impl Testbed {
    /// Builds the testbed (root only), sweeping what crashed runs left first.
    pub fn create(spec: &Spec) -> Result<Self> {
        if !rustix::process::geteuid().is_root() {
            bail!("the testbed needs root (namespaces, bridges, loop devices, mounts)");
        }
        for tool in [
            "unshare",
            "nsenter",
            "docker-init",
            "ip",
            "losetup",
            "/usr/sbin/sshd",
        ] {
            if !crate::paths::on_path(tool) {
                bail!("the testbed needs {tool}: install util-linux, iproute2, docker.io and openssh-server");
            }
        }
        let _ = sweep_stale();
        let started = Instant::now();
        let subnet = net::pick_subnet()?;
        let id = format!("{:06x}", net::random_u32() & 0xff_ffff);
        let dir = Path::new(BASE_DIR).join(format!("tb-{id}"));
        std::fs::create_dir_all(&dir).wrap_err_with(|| format!("creating {}", dir.display()))?;
        let bridge = format!("dptb{id}");
        let mut record = TestbedRecord::new(&dir, &bridge);
        record.save()?;
        let (switch, switch_pid) = net::spawn_switch()?;
        record.switch_pid = switch_pid;
        record.switch_start = host::start_time(switch_pid).unwrap_or_default();
        record.save()?;
        let ssh = SshFiles::create(&dir.join("ssh"))?;
        let mut tb = Self {
            dir: dir.clone(),
            subnet,
            bridge: bridge.clone(),
            switch_pid,
            switch: Some(switch),
            hosts: Vec::new(),
            volumes: Vec::new(),
            ssh,
            record,
            torn_down: false,
        };
        tb.build(spec).inspect_err(|_| {
            let _ = tb.teardown_inner();
        })?;
        tb.record.setup_ms = started.elapsed().as_millis() as u64;
        tb.record.save()?;
        Ok(tb)
    }

    fn build(&mut self, spec: &Spec) -> Result<()> {
        net::create_bridge(self.switch_pid, &self.bridge, &self.subnet)?;
        let gw = self.subnet.host(1);
        let addrs: Vec<(String, String, Ipv4Addr)> = spec
            .hosts
            .iter()
            .enumerate()
            .map(|(i, n)| {
                (
                    n.clone(),
                    short_name(n).to_string(),
                    self.subnet.host(11 + i as u8),
                )
            })
            .collect();
        let mut hosts_text = String::from("127.0.0.1 localhost\n");
        for (name, short, addr) in &addrs {
            hosts_text.push_str(&format!("{addr} {name} {short}\n"));
        }
        for (name, octet) in &spec.names {
            hosts_text.push_str(&format!("{} {name}\n", self.subnet.host(*octet)));
        }
        self.ssh.write_config(&addrs)?;
        for (i, (name, short, addr)) in addrs.iter().enumerate() {
            let hdir = self.dir.join(short);
            let veth = format!("{}-{i}", self.bridge);
            let mut host = Host::spawn(name, &hdir, &veth)?;
            self.record.hosts.push(host.record.clone());
            self.record.save()?;
            host.setup_system(&hosts_text)?;
            net::plug(self.switch_pid, &self.bridge, &veth, host.record.init_pid)?;
            host.setup_network(*addr, gw)?;
            self.record.hosts[i] = host.record.clone();
            self.record.save()?;
            let cfg = ssh::write_sshd_config(&hdir, &self.ssh)?;
            self.ssh.trust_host(
                &[name, short],
                *addr,
                &hdir.join("ssh_host_ed25519_key.pub"),
            )?;
            host.start_sshd(&cfg)?;
            let btrfs =
                LoopDevice::create(&hdir.join("btrfs.img"), spec.btrfs_size, "btrfs", None)?;
            let ext4 = LoopDevice::create(&hdir.join("ext4.img"), spec.ext4_size, "ext4", None)?;
            self.volumes.push(Volumes { btrfs, ext4 });
            self.hosts.push(host);
        }
        for (name, _, _) in &addrs {
            self.wait_ssh(name, Duration::from_secs(10))?;
        }
        Ok(())
    }

    /// Waits until `ssh NODE true` works.
    fn wait_ssh(&self, node: &str, limit: Duration) -> Result<()> {
        let deadline = Instant::now() + limit;
        loop {
            let out = self.ssh_command(node, &["true"]).output();
            match out {
                Ok(o) if o.status.success() => return Ok(()),
                Ok(o) if Instant::now() > deadline => bail!(
                    "sshd on {node} did not answer within {limit:?}: {}",
                    String::from_utf8_lossy(&o.stderr).trim()
                ),
                Err(e) => return Err(e).wrap_err("running ssh (install openssh-client)"),
                _ => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    }

    /// `program` run from the operator's seat: this machine, in the switch's network namespace
    /// (the only place besides the hosts where the testbed's subnet exists).
    pub fn operator_command(&self, program: &str) -> Command {
        let mut c = Command::new("nsenter");
        c.args(["-t", &self.switch_pid.to_string(), "-n", "--", program]);
        c
    }

    /// `ssh -F CONFIG NODE ARGS...` from the operator's seat.
    pub fn ssh_command(&self, node: &str, args: &[&str]) -> Command {
        let mut c = self.operator_command("ssh");
        c.arg("-F").arg(self.ssh.config()).arg(node).args(args);
        c
    }

    /// Moves the calling thread (and the threads and processes it starts afterwards) into the
    /// operator's seat, so that a console in this process reaches the hosts.
    pub fn enter_operator_seat(&self) -> Result<()> {
        let ns = std::fs::File::open(format!("/proc/{}/ns/net", self.switch_pid))
            .wrap_err("opening the switch's network namespace")?;
        rustix::thread::move_into_link_name_space(
            std::os::fd::AsFd::as_fd(&ns),
            Some(rustix::thread::LinkNameSpaceType::Network),
        )
        .wrap_err("entering the switch's network namespace")
    }

    /// Makes `bin` (drpilot) runnable inside the hosts and returns its path there. Each host has
    /// a private `/tmp`, so a binary built under /tmp would be invisible to them: it is linked
    /// (or copied) into the testbed's directory, which every host sees.
    pub fn install(&self, bin: &Path) -> Result<PathBuf> {
        let dir = self.dir.join("bin");
        let target = dir.join("drpilot");
        let same = |a: &Path, b: &Path| -> bool {
            use std::os::unix::fs::MetadataExt;
            match (std::fs::metadata(a), std::fs::metadata(b)) {
                (Ok(x), Ok(y)) => x.ino() == y.ino() && x.dev() == y.dev(),
                _ => false,
            }
        };
        if same(bin, &target) {
            return Ok(target);
        }
        std::fs::create_dir_all(&dir).wrap_err_with(|| format!("creating {}", dir.display()))?;
        let _ = std::fs::remove_file(&target);
        if std::fs::hard_link(bin, &target).is_err() {
            std::fs::copy(bin, &target)
                .wrap_err_with(|| format!("copying {} into the testbed", bin.display()))?;
        }
        Ok(target)
    }

    /// The host named `node`.
    pub fn host(&self, node: &str) -> Option<&Host> {
        self.hosts.iter().find(|h| h.record.name == node)
    }

    /// The volumes of the host named `node`.
    pub fn volumes_of(&self, node: &str) -> Option<&Volumes> {
        let i = self.hosts.iter().position(|h| h.record.name == node)?;
        self.volumes.get(i)
    }

    /// The nodes map reaching every host over SSH as root, running `bin` there; keepalives
    /// every 2 s, so that a dropped link ends a transfer within ~8 s.
    pub fn node_map(&self, bin: &Path) -> NodeMap {
        let mut map = NodeMap::default();
        map.set_server_alive_interval(2);
        for h in &self.hosts {
            let name = &h.record.name;
            map.insert(
                name,
                NodeAddress::Ssh {
                    user: Some("root".into()),
                    host: name.clone(),
                    port: None,
                },
            );
            map.set_options(
                name,
                NodeOptions {
                    bin: Some(bin.to_string_lossy().into_owned()),
                    root: None,
                    ssh_config: Some(self.ssh.config()),
                    flavor: None,
                    ..NodeOptions::default()
                },
            );
        }
        map
    }

    /// Writes the operator's nodes map (`console-nodes.toml` in the testbed's directory: every
    /// host over SSH, running `bin`) for a console or `drp` run from the operator's seat.
    pub fn write_operator_nodes(&self, bin: &Path) -> Result<PathBuf> {
        let path = self.dir.join("console-nodes.toml");
        std::fs::write(&path, self.node_map(bin).to_toml())
            .wrap_err("writing the operator's nodes map")?;
        Ok(path)
    }

    /// Writes a file on a host (through its private directories: the path is the host's view).
    pub fn write_file(&self, node: &str, path: &str, text: &str) -> Result<()> {
        let Some(host) = self.host(node) else {
            bail!("no host {node} in the testbed");
        };
        let parent = Path::new(path)
            .parent()
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_else(|| "/".into());
        host.run(&["mkdir", "-p", &parent])?;
        let mut cmd = host.command("tee");
        cmd.arg(path);
        let out = crate::transport::run_child(
            cmd,
            Some(&mut text.as_bytes()),
            Some(Duration::from_secs(10)),
        )?;
        if !out.success {
            bail!("writing {path} on {node}: {}", out.failure_reason());
        }
        Ok(())
    }

    /// How long the setup took.
    pub fn setup_time(&self) -> Duration {
        Duration::from_millis(self.record.setup_ms)
    }

    /// Tears everything down now, reporting what could not be removed.
    pub fn teardown(mut self) -> Result<()> {
        self.teardown_inner()
    }

    fn teardown_inner(&mut self) -> Result<()> {
        if self.torn_down {
            return Ok(());
        }
        self.torn_down = true;
        for h in &mut self.hosts {
            h.kill()?;
        }
        self.hosts.clear();
        record::teardown_record(&self.record)?;
        if let Some(mut sw) = self.switch.take() {
            let _ = sw.wait();
        }
        // The record's teardown detached the loop devices (retrying while busy).
        for v in self.volumes.drain(..) {
            v.btrfs.keep_attached();
            v.ext4.keep_attached();
        }
        Ok(())
    }
}

impl Drop for Testbed {
    fn drop(&mut self) {
        if let Err(e) = self.teardown_inner() {
            eprintln!("testbed teardown: {e:#}");
        }
    }
}

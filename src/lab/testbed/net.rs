//! The testbed's network: a random private /24 and a bridge, both inside a network namespace of
//! their own (the "switch", which is also the operator's seat: SSH from the test, the console of
//! `lab --netns`). The machine's own namespace never sees the subnet: private-range addresses
//! exist only inside namespaces the testbed made, and ending the switch's holder process removes
//! the bridge and every veth with it.

use std::net::Ipv4Addr;
use std::process::Command;
use std::time::Duration;

use color_eyre::eyre::{bail, Result, WrapErr};

use crate::transport::run_child;

/// Runs a command by argument vector, failing with its own message.
pub(crate) fn run(argv: &[&str]) -> Result<String> {
    let Some((program, args)) = argv.split_first() else {
        bail!("empty command");
    };
    let mut cmd = Command::new(program);
    cmd.args(args);
    let out = run_child(cmd, None, Some(Duration::from_secs(60)))
        .wrap_err_with(|| format!("running {}", argv.join(" ")))?;
    if !out.success {
        bail!("{} failed: {}", argv.join(" "), out.failure_reason());
    }
    Ok(out.stdout_text())
}

/// A /24 subnet: `a.b.c.0/24`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subnet {
    /// The first three octets.
    pub prefix: [u8; 3],
}

impl Subnet {
    /// The address `a.b.c.host`.
    pub fn host(&self, host: u8) -> Ipv4Addr {
        let [a, b, c] = self.prefix;
        Ipv4Addr::new(a, b, c, host)
    }

    /// `a.b.c.0/24`.
    pub fn cidr(&self) -> String {
        format!("{}/24", self.host(0))
    }

    /// Whether the /24 overlaps a route of the routing table text `ip -4 route` printed.
    fn used_by(&self, routes: &str) -> bool {
        routes.lines().any(|l| {
            let dest = l.split_whitespace().next().unwrap_or_default();
            if dest == "default" {
                return false;
            }
            let (addr, len) = dest.split_once('/').unwrap_or((dest, "32"));
            let (Ok(addr), Ok(len)) = (addr.parse::<Ipv4Addr>(), len.parse::<u32>()) else {
                return false;
            };
            let mask = |bits: u32| {
                if bits == 0 {
                    0
                } else {
                    u32::MAX << (32 - bits.min(32))
                }
            };
            let common = mask(len.min(24));
            (u32::from(addr) & common) == (u32::from(self.host(0)) & common)
        })
    }
}

/// A pseudo-random number from the clock and the process id (no rand crate for one choice).
pub(crate) fn random_u32() -> u32 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let mut x = (nanos as u64) ^ ((std::process::id() as u64) << 32);
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51afd7ed558ccd);
    x ^= x >> 33;
    (x & 0xffff_ffff) as u32
}

/// Picks a random `10.x.y.0/24` that no route of this machine covers (so an operator reading
/// addresses never confuses a testbed with a real network).
pub fn pick_subnet() -> Result<Subnet> {
    let routes = run(&["ip", "-4", "route", "show", "table", "all"])?;
    for attempt in 0..64u32 {
        let r = random_u32().wrapping_add(attempt.wrapping_mul(7919));
        let candidate = Subnet {
            prefix: [10, 100 + (r % 150) as u8, ((r >> 8) & 0xff) as u8],
        };
        if !candidate.used_by(&routes) {
            return Ok(candidate);
        }
    }
    bail!("no free 10.x.y.0/24 found in 64 tries (is every 10.0.0.0/8 subnet routed?)")
}

/// `nsenter` into the network namespace of `pid` (the switch), then `argv`.
pub fn in_netns(pid: u32, argv: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = ["nsenter", "-t", &pid.to_string(), "-n", "--"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    v.extend(argv.iter().map(|s| s.to_string()));
    v
}

fn run_in(pid: u32, argv: &[&str]) -> Result<String> {
    let full = in_netns(pid, argv);
    let refs: Vec<&str> = full.iter().map(String::as_str).collect();
    run(&refs)
}

/// Starts the switch: a process holding a new network namespace. Returns it and its pid.
pub fn spawn_switch() -> Result<(std::process::Child, u32)> {
    use std::os::unix::process::CommandExt;
    let child = Command::new("unshare")
        .args(["--net", "sleep", "infinity"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .process_group(0)
        .spawn()
        .wrap_err("starting the testbed's switch namespace (unshare, from util-linux)")?;
    let pid = child.id();
    let ours = std::fs::read_link("/proc/self/ns/net").ok();
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    // unshare enters the namespace, then execs sleep: same pid, new namespace.
    while std::fs::read_link(format!("/proc/{pid}/ns/net")).ok() == ours {
        if std::time::Instant::now() > deadline {
            bail!("the switch namespace did not appear within 5 s");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    Ok((child, pid))
}

/// Creates the bridge `name` in the switch, with address `.1` of `subnet`, up.
pub fn create_bridge(switch: u32, name: &str, subnet: &Subnet) -> Result<()> {
    run_in(switch, &["ip", "link", "set", "lo", "up"])?;
    run_in(switch, &["ip", "link", "add", name, "type", "bridge"])?;
    let addr = format!("{}/24", subnet.host(1));
    run_in(switch, &["ip", "addr", "add", &addr, "dev", name])?;
    run_in(switch, &["ip", "link", "set", name, "up"])?;
    Ok(())
}

/// Plugs a host (its namespaces held by `host`) into the switch's bridge: a veth whose switch
/// end is `veth` and whose host end is `eth0`.
pub fn plug(switch: u32, bridge: &str, veth: &str, host: u32) -> Result<()> {
    let (sw, h) = (switch.to_string(), host.to_string());
    run(&[
        "ip", "link", "add", veth, "netns", &sw, "type", "veth", "peer", "name", "eth0", "netns",
        &h,
    ])?;
    run_in(switch, &["ip", "link", "set", veth, "master", bridge, "up"])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_subnet_inside_a_route_is_used() {
        let s = Subnet {
            prefix: [10, 120, 5],
        };
        assert!(s.used_by("10.120.5.0/24 dev br0 proto kernel scope link\n"));
        assert!(s.used_by("10.0.0.0/8 via 192.168.1.1 dev eth0\n"));
        assert!(!s.used_by("10.120.6.0/24 dev br0\ndefault via 1.2.3.4 dev eth0\n"));
    }

    #[test]
    fn hosts_are_inside_the_subnet() {
        let s = Subnet {
            prefix: [10, 101, 7],
        };
        assert_eq!(s.host(11).to_string(), "10.101.7.11");
        assert_eq!(s.cidr(), "10.101.7.0/24");
    }
}

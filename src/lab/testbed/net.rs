//! The testbed's network: a random private /24 that no route of this machine uses, and a bridge
//! whose name carries the testbed's id. Addresses are only ever configured inside namespaces the
//! testbed made (and on its own bridge).

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

/// Picks a random `10.x.y.0/24` that no current route covers.
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

/// Creates the bridge `name` with address `.1` of `subnet`, up.
pub fn create_bridge(name: &str, subnet: &Subnet) -> Result<()> {
    run(&["ip", "link", "add", name, "type", "bridge"])?;
    let addr = format!("{}/24", subnet.host(1));
    run(&["ip", "addr", "add", &addr, "dev", name])?;
    run(&["ip", "link", "set", name, "up"])?;
    Ok(())
}

/// Deletes a link if it exists (teardown never fails on what is already gone).
pub fn delete_link(name: &str) {
    let _ = run(&["ip", "link", "del", name]);
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

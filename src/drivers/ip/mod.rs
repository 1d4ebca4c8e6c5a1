//! `ip`: a service address on an interface, through iproute2. `ipname` is resolved by the system
//! resolver; the prefix comes from `netmask` or from the interface's own subnet; the address gets
//! an alias label (`eth0:1`, as the seed's). Before start, the address must answer neither ping
//! nor ARP elsewhere; after start a gratuitous ARP tells the network where it moved.

mod addrs;
mod announce;
mod availability;

use std::net::{IpAddr, ToSocketAddrs};
use std::process::Command;
use std::time::Duration;

use color_eyre::eyre::{bail, eyre, Result};

use super::{run_logged, Ctx, Probe, Resource};
use crate::config::KeywordSpec;
use crate::transport::run_child;
use addrs::IfAddr;
use availability::Availability;

/// The keywords of an `ip` section.
pub(crate) const KEYWORDS: &[KeywordSpec] = &[
    KeywordSpec::req("ipname", "address or resolvable name to plumb"),
    KeywordSpec::req("ipdev", "network interface carrying the address"),
    KeywordSpec::opt("netmask", "netmask or prefix length"),
    KeywordSpec::opt(
        "arp_probe_window",
        "seconds the ARP probe listens for another holder of the address before it is brought \
         up (default 2, the tutorial's 'checking availability'; 0 skips the ARP probe)",
    )
    .seconds(MAX_ARP_WINDOW),
];

/// The keyword of the ARP probe's listening time.
pub(crate) const ARP_PROBE_WINDOW: &str = "arp_probe_window";
/// Its default: the two seconds of the OpenSVC tutorial's "checking availability".
const DEFAULT_ARP_WINDOW: u64 = 2;
/// Its largest value.
pub(crate) const MAX_ARP_WINDOW: u64 = 30;

/// How long one iproute2 or arping command may take.
const CMD_TIMEOUT: Duration = Duration::from_secs(10);

/// The ip resource driver.
pub struct Ip {
    rid: String,
}

impl Ip {
    /// A driver for section `rid`.
    pub fn new(rid: &str) -> Self {
        Self {
            rid: rid.to_string(),
        }
    }

    /// The resolved address and the interface, or why not.
    fn target(&self, ctx: &Ctx) -> Result<(IpAddr, String)> {
        let Some((name, dev)) = ctx.pair(&self.rid, "ipname", "ipdev") else {
            bail!("{}: ipname or ipdev has no value for this node", self.rid);
        };
        let addrs =
            resolve(&name).map_err(|e| eyre!("{}: cannot resolve {name}: {e}", self.rid))?;
        let addr = addrs
            .iter()
            .find(|a| a.is_ipv4())
            .or(addrs.first())
            .copied()
            .ok_or_else(|| eyre!("{}: cannot resolve {name}: no address", self.rid))?;
        Ok((addr, dev))
    }

    /// `arp_probe_window` for this node: seconds, 0 to 30.
    fn arp_window(&self, ctx: &Ctx) -> Result<u64> {
        let Some(v) = ctx.cfg.get(&self.rid, ARP_PROBE_WINDOW, &ctx.env.nodename) else {
            return Ok(DEFAULT_ARP_WINDOW);
        };
        match v.value.trim().parse::<u64>() {
            Ok(n) if n <= MAX_ARP_WINDOW => Ok(n),
            _ => bail!(
                "{}:{}: [{}] {ARP_PROBE_WINDOW}: '{}' is not a number of seconds from 0 to \
                 {MAX_ARP_WINDOW}",
                ctx.cfg.raw.path.display(),
                v.line,
                self.rid,
                v.value
            ),
        }
    }
}

/// Resolves a name or literal to its addresses through the system resolver.
pub(crate) fn resolve(name: &str) -> std::io::Result<Vec<IpAddr>> {
    if let Ok(ip) = name.parse::<IpAddr>() {
        return Ok(vec![ip]);
    }
    Ok((name, 0).to_socket_addrs()?.map(|a| a.ip()).collect())
}

/// The addresses of `dev`, or why they cannot be read.
fn dev_addrs(dev: &str) -> std::result::Result<Vec<IfAddr>, String> {
    let mut cmd = Command::new("ip");
    cmd.args(["-o", "addr", "show", "dev", dev]);
    match run_child(cmd, None, Some(CMD_TIMEOUT)) {
        Err(_) => Err("iproute2 is not installed (no ip command)".into()),
        Ok(o) if !o.success => Err(format!("interface {dev} not found")),
        Ok(o) => Ok(addrs::parse(&o.stdout_text())),
    }
}

impl Resource for Ip {
    fn rid(&self) -> &str {
        &self.rid
    }

    fn type_name(&self) -> String {
        "ip".to_string()
    }

    fn label(&self, ctx: &Ctx) -> String {
        ctx.at_label(&self.rid, "ipname", "ipdev")
    }

    fn probe(&self, ctx: &Ctx) -> Probe {
        let (addr, dev) = match self.target(ctx) {
            Ok(t) => t,
            Err(e) => {
                let msg = format!("{e}");
                let why = msg.split_once(": ").map(|(_, w)| w).unwrap_or(&msg);
                return Probe::down(why.to_string());
            }
        };
        match dev_addrs(&dev) {
            Err(why) => Probe::down(why),
            Ok(list) if list.iter().any(|a| a.addr == addr) => Probe::up(),
            Ok(_) => Probe::stopped(),
        }
    }

    fn start(&self, ctx: &Ctx) -> Result<()> {
        let rid = &self.rid;
        let (addr, dev) = self.target(ctx)?;
        let existing = dev_addrs(&dev).map_err(|why| eyre!("{rid}: {why}"))?;
        if existing.iter().any(|a| a.addr == addr) {
            ctx.log.info(rid, &format!("{addr} is already up on {dev}"));
            return Ok(());
        }
        let prefix = match ctx.get(rid, "netmask") {
            Some(m) => addrs::parse_netmask(&m).ok_or_else(|| {
                eyre!("{rid}: netmask '{m}' is neither a prefix length nor a netmask")
            })?,
            None => addrs::subnet_prefix(&existing, addr).ok_or_else(|| {
                eyre!(
                    "{rid}: {dev} has no address in the network of {addr}: \
                     set netmask in [{rid}] to say which prefix it takes"
                )
            })?,
        };
        let window = self.arp_window(ctx)?;
        ctx.log.info(rid, &format!("checking {addr} availability"));
        if window == 0 && addr.is_ipv4() {
            ctx.log.warn(
                rid,
                &format!("{ARP_PROBE_WINDOW} = 0: no ARP probe, only a ping tells whether another host holds {addr}"),
            );
        }
        let mut warn = |w: String| ctx.log.warn(rid, &w);
        if let Availability::Taken(how) = availability::check(addr, &dev, window, &mut warn) {
            if ctx.force {
                ctx.log.warn(
                    rid,
                    &format!("{addr} {how}, but --force: bringing it up anyway"),
                );
            } else {
                bail!(
                    "{rid}: {addr} {how}: another host holds it, refusing to start it here \
                     (stop it there, or use --force if that host is really gone)"
                );
            }
        }
        let label = addrs::free_label(&existing, &dev);
        let argv: Vec<String> = [
            "ip".to_string(),
            "addr".into(),
            "add".into(),
            format!("{addr}/{prefix}"),
            "dev".into(),
            dev.clone(),
            "label".into(),
            label,
        ]
        .into();
        run_logged(ctx, rid, &argv, CMD_TIMEOUT)?;
        if let IpAddr::V4(v4) = addr {
            // The address is up; a lost announcement only delays the neighbours' caches.
            match announce::announce(v4, &dev) {
                Ok(mac) => ctx.log.info(
                    rid,
                    &format!("gratuitous ARP: {addr} is at {mac} on {dev} (as arping -U)"),
                ),
                Err(e) => ctx.log.warn(rid, &format!("gratuitous ARP failed: {e:#}")),
            }
        }
        Ok(())
    }

    fn stop(&self, ctx: &Ctx) -> Result<()> {
        let rid = &self.rid;
        let (addr, dev) = self.target(ctx)?;
        let existing = dev_addrs(&dev).map_err(|why| eyre!("{rid}: {why}"))?;
        let Some(current) = existing.iter().find(|a| a.addr == addr) else {
            ctx.log
                .info(rid, &format!("{addr} is already down on {dev}"));
            return Ok(());
        };
        let argv: Vec<String> = [
            "ip".to_string(),
            "addr".into(),
            "del".into(),
            format!("{addr}/{}", current.prefix),
            "dev".into(),
            dev.clone(),
        ]
        .into();
        run_logged(ctx, rid, &argv, CMD_TIMEOUT)?;
        ctx.log.info(rid, &format!("checking {addr} availability"));
        let mut warn = |w: String| ctx.log.warn(rid, &w);
        if let Availability::Taken(how) = availability::check_after_stop(addr, &mut warn) {
            ctx.log
                .warn(rid, &format!("{addr} still {how} after its removal here"));
        }
        Ok(())
    }
}

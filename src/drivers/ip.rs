//! `ip`: a service address on an interface. This version looks only: it resolves `ipname` and
//! checks whether the address is configured on `ipdev` (start/stop come with the testbed issue).

use std::net::{IpAddr, ToSocketAddrs};
use std::process::Command;
use std::time::Duration;

use color_eyre::eyre::Result;

use super::{not_yet, Ctx, Probe, Resource};
use crate::transport::run_child;

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
}

/// Resolves a name or literal to its addresses through the system resolver.
pub(crate) fn resolve(name: &str) -> std::io::Result<Vec<IpAddr>> {
    if let Ok(ip) = name.parse::<IpAddr>() {
        return Ok(vec![ip]);
    }
    Ok((name, 0).to_socket_addrs()?.map(|a| a.ip()).collect())
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
        let Some((name, dev)) = ctx.pair(&self.rid, "ipname", "ipdev") else {
            return Probe::down("ipname or ipdev has no value for this node");
        };
        let addrs = match resolve(&name) {
            Ok(a) if !a.is_empty() => a,
            Ok(_) | Err(_) => return Probe::down(format!("cannot resolve {name}")),
        };
        let mut cmd = Command::new("ip");
        cmd.args(["-o", "addr", "show", "dev", &dev]);
        let out = match run_child(cmd, None, Some(Duration::from_secs(5))) {
            Ok(o) => o,
            Err(_) => return Probe::down("iproute2 is not installed (no ip command)"),
        };
        if !out.success {
            return Probe::down(format!("interface {dev} not found"));
        }
        let text = out.stdout_text();
        let configured = addrs.iter().any(|a| {
            text.split_whitespace()
                .any(|w| w.split('/').next() == Some(a.to_string().as_str()))
        });
        if configured {
            Probe::up()
        } else {
            Probe::down(format!("{} is not configured on {dev}", addrs[0]))
        }
    }

    fn start(&self, _ctx: &Ctx) -> Result<()> {
        Err(not_yet(
            &self.rid,
            "starting an ip address",
            "the testbed issue (#5)",
        ))
    }

    fn stop(&self, _ctx: &Ctx) -> Result<()> {
        Err(not_yet(
            &self.rid,
            "stopping an ip address",
            "the testbed issue (#5)",
        ))
    }
}

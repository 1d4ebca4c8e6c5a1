//! `vg`: an LVM volume group. This version looks only (start/stop come with the LVM issue): the
//! group must exist, carry the node's host tag and have active logical volumes.

use std::process::Command;
use std::time::Duration;

use color_eyre::eyre::Result;

use super::{not_yet, Ctx, Probe, Resource};
use crate::transport::run_child;

/// The vg resource driver.
pub struct Vg {
    rid: String,
}

impl Vg {
    /// A driver for section `rid`.
    pub fn new(rid: &str) -> Self {
        Self {
            rid: rid.to_string(),
        }
    }
}

impl Resource for Vg {
    fn rid(&self) -> &str {
        &self.rid
    }

    fn type_name(&self) -> String {
        "disk.vg".to_string()
    }

    fn label(&self, ctx: &Ctx) -> String {
        ctx.get(&self.rid, "vgname").unwrap_or_default()
    }

    fn probe(&self, ctx: &Ctx) -> Probe {
        let Some(vg) = ctx.get(&self.rid, "vgname") else {
            return Probe::down("vgname has no value for this node");
        };
        let mut cmd = Command::new("lvm");
        cmd.args(["vgs", "--noheadings", "-o", "vg_tags,lv_active", &vg]);
        let out = match run_child(cmd, None, Some(Duration::from_secs(10))) {
            Ok(o) => o,
            Err(_) => return Probe::down("LVM is not installed on this node (no lvm command)"),
        };
        if !out.success {
            return Probe::down(format!("volume group {vg} not found"));
        }
        let text = out.stdout_text();
        if !text.split([',', ' ', '\n']).any(|t| t == ctx.env.nodename) {
            return Probe::down(format!("{vg} is not tagged @{}", ctx.env.nodename));
        }
        if !text.contains("active") {
            return Probe::down(format!("no active logical volume in {vg}"));
        }
        Probe::up()
    }

    fn start(&self, _ctx: &Ctx) -> Result<()> {
        Err(not_yet(
            &self.rid,
            "activating a volume group",
            "the LVM issue (#6)",
        ))
    }

    fn stop(&self, _ctx: &Ctx) -> Result<()> {
        Err(not_yet(
            &self.rid,
            "deactivating a volume group",
            "the LVM issue (#6)",
        ))
    }
}

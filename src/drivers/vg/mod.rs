//! `vg`: an LVM volume group, as the seed drives it. Start tags the group with the node's name
//! (`vgchange --addtag @NODE`) then activates it; stop removes the tag, clears partition
//! mappings with `kpartx -d` where kpartx is installed, then deactivates. The status comes from
//! `lvm vgs`/`lvm lvs`: up when the group carries this node's tag and has active volumes.

mod lvm;

use std::time::Duration;

use color_eyre::eyre::{bail, Result, WrapErr};

use super::{run_logged, Ctx, Probe, Resource};
use crate::config::KeywordSpec;
use crate::paths::on_path;
use lvm::{lookup, Group, Lookup, LVM};

/// The keywords of a `vg` section.
pub(crate) const KEYWORDS: &[KeywordSpec] = &[KeywordSpec::req("vgname", "LVM volume group name")];

/// How long one `vgchange` or `kpartx` may run.
const ACT_TIMEOUT: Duration = Duration::from_secs(120);

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

    /// `lvm vgchange ARGS VG`.
    fn vgchange(&self, args: &[&str], vg: &str) -> Vec<String> {
        let mut argv = vec![LVM.to_string(), "vgchange".to_string()];
        argv.extend(args.iter().map(|a| a.to_string()));
        argv.push(vg.to_string());
        argv
    }

    /// The group as LVM sees it, or an error naming what to check.
    fn find(&self, ctx: &Ctx, vg: &str) -> Result<Option<Group>> {
        if !on_path(LVM) {
            bail!(
                "{}: LVM is not installed on {} (no lvm command; package lvm2)",
                self.rid,
                ctx.env.nodename
            );
        }
        match lookup(vg).wrap_err_with(|| format!("{}: reading volume group {vg}", self.rid))? {
            Lookup::Missing => Ok(None),
            Lookup::Found(g) => Ok(Some(g)),
        }
    }

    /// Runs the undo commands of a failed action; says what could not be undone.
    fn undo(&self, ctx: &Ctx, steps: &[Vec<String>]) -> Option<String> {
        let failed: Vec<String> = steps
            .iter()
            .filter_map(|argv| {
                run_logged(ctx, &self.rid, argv, ACT_TIMEOUT)
                    .err()
                    .map(|e| format!("{e:#}"))
            })
            .collect();
        (!failed.is_empty()).then(|| failed.join("; "))
    }
}

/// The status of a group that exists, for `node`.
fn judge(vg: &str, group: &Group, node: &str) -> Probe {
    let active = group.active().count();
    match (group.tagged(node), active) {
        (true, n) if n > 0 => Probe::up(),
        // Untagged and inactive: cleanly stopped (the seed's trees show no comment).
        (false, 0) => Probe::stopped(),
        (true, _) => Probe::warn(format!(
            "{vg} is tagged @{node} but has no active logical volume"
        )),
        (false, _) => {
            let others: Vec<String> = group.tags.iter().map(|t| format!("@{t}")).collect();
            let held = if others.is_empty() {
                String::new()
            } else {
                format!(" (tags: {})", others.join(", "))
            };
            Probe::warn(format!(
                "{vg} has {active} active logical volume(s) but is not tagged @{node}{held}"
            ))
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
        if !on_path(LVM) {
            return Probe::down("LVM is not installed on this node (no lvm command; package lvm2)");
        }
        match lookup(&vg) {
            Err(e) => Probe::warn(format!("{e:#}")),
            Ok(Lookup::Missing) => Probe::down(format!("volume group {vg} not found")),
            Ok(Lookup::Found(g)) => judge(&vg, &g, &ctx.env.nodename),
        }
    }

    fn start(&self, ctx: &Ctx) -> Result<()> {
        let vg = ctx.require(&self.rid, "vgname")?;
        let node = &ctx.env.nodename;
        let Some(group) = self.find(ctx, &vg)? else {
            bail!(
                "{}: volume group {vg} not found on {node}: are its physical volumes attached? \
                 (`lvm pvs` lists what LVM sees)",
                self.rid
            );
        };
        let tag = format!("@{node}");
        let add_tag = !group.tagged(node);
        if add_tag {
            run_logged(
                ctx,
                &self.rid,
                &self.vgchange(&["--addtag", &tag], &vg),
                ACT_TIMEOUT,
            )?;
        }
        let Err(e) = run_logged(
            ctx,
            &self.rid,
            &self.vgchange(&["-a", "y"], &vg),
            ACT_TIMEOUT,
        ) else {
            return Ok(());
        };
        // Back to where the group was: inactive if nothing was active, untagged if we tagged it.
        let mut steps = Vec::new();
        if group.active().next().is_none() {
            steps.push(self.vgchange(&["-a", "n"], &vg));
        }
        if add_tag {
            steps.push(self.vgchange(&["--deltag", &tag], &vg));
        }
        match self.undo(ctx, &steps) {
            None => Err(e.wrap_err(format!(
                "{}: activating {vg} failed; the group was put back as it was",
                self.rid
            ))),
            Some(u) => Err(e.wrap_err(format!(
                "{}: activating {vg} failed and putting it back failed too ({u}); \
                 check `lvm lvs {vg}` and `lvm vgs -o +tags {vg}` by hand",
                self.rid
            ))),
        }
    }

    fn stop(&self, ctx: &Ctx) -> Result<()> {
        let vg = ctx.require(&self.rid, "vgname")?;
        let node = &ctx.env.nodename;
        let Some(group) = self.find(ctx, &vg)? else {
            ctx.log.info(
                &self.rid,
                &format!("volume group {vg} not found on {node}: nothing to deactivate"),
            );
            return Ok(());
        };
        let tag = format!("@{node}");
        let del_tag = group.tagged(node);
        if del_tag {
            run_logged(
                ctx,
                &self.rid,
                &self.vgchange(&["--deltag", &tag], &vg),
                ACT_TIMEOUT,
            )?;
        }
        let result = (|| -> Result<()> {
            if on_path("kpartx") {
                for lv in group.active() {
                    let argv = vec!["kpartx".to_string(), "-d".to_string(), lv.path.clone()];
                    run_logged(ctx, &self.rid, &argv, ACT_TIMEOUT)?;
                }
            }
            run_logged(
                ctx,
                &self.rid,
                &self.vgchange(&["-a", "n"], &vg),
                ACT_TIMEOUT,
            )?;
            Ok(())
        })();
        let Err(e) = result else {
            return Ok(());
        };
        // Back up: the volumes that were active, and the tag.
        let mut steps = Vec::new();
        if group.active().next().is_some() {
            steps.push(self.vgchange(&["-a", "y"], &vg));
        }
        if del_tag {
            steps.push(self.vgchange(&["--addtag", &tag], &vg));
        }
        let hint = "a logical volume is probably still open (mounted, or held by a process): \
                    `dmsetup info -c` shows open counts";
        match self.undo(ctx, &steps) {
            None => Err(e.wrap_err(format!(
                "{}: deactivating {vg} failed and it was left up; {hint}",
                self.rid
            ))),
            Some(u) => Err(e.wrap_err(format!(
                "{}: deactivating {vg} failed, and bringing it back up failed too ({u}); \
                 {hint}; check `lvm lvs {vg}` by hand",
                self.rid
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::Status;

    fn group(tags: &[&str], lvs: &str) -> Group {
        Group {
            tags: tags.iter().map(|t| t.to_string()).collect(),
            volumes: lvm::parse_lvs(lvs).unwrap(),
        }
    }

    const ACTIVE: &str = "  lvroot|-wi-a-----|/dev/vg1/lvroot\n";
    const INACTIVE: &str = "  lvroot|-wi-------|/dev/vg1/lvroot\n";

    #[test]
    fn tagged_and_active_is_up() {
        assert_eq!(judge("vg1", &group(&["deb1"], ACTIVE), "deb1"), Probe::up());
    }

    #[test]
    fn untagged_and_inactive_is_cleanly_stopped() {
        assert_eq!(
            judge("vg1", &group(&[], INACTIVE), "deb1"),
            Probe::stopped()
        );
    }

    #[test]
    fn half_states_say_why() {
        let p = judge("vg1", &group(&["deb1"], INACTIVE), "deb1");
        assert_eq!(p.status, Status::Warn);
        assert_eq!(
            p.comments,
            ["vg1 is tagged @deb1 but has no active logical volume"]
        );
        let p = judge("vg1", &group(&["deb2"], ACTIVE), "deb1");
        assert_eq!(p.status, Status::Warn);
        assert_eq!(
            p.comments,
            ["vg1 has 1 active logical volume(s) but is not tagged @deb1 (tags: @deb2)"]
        );
        let p = judge("vg1", &group(&[], ACTIVE), "deb1");
        assert_eq!(
            p.comments,
            ["vg1 has 1 active logical volume(s) but is not tagged @deb1"]
        );
    }

    #[test]
    fn vgchange_argv_is_the_lvm_subcommand() {
        let v = Vg::new("vg#1");
        assert_eq!(
            v.vgchange(&["--addtag", "@deb1"], "vg1"),
            ["lvm", "vgchange", "--addtag", "@deb1", "vg1"]
        );
    }
}

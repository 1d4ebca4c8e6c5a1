//! `sync#i1`: production's system files kept on the DRP nodes, as OpenSVC keeps them. A takeover
//! needs what production's users, groups, crontabs and host entries were; this resource copies
//! them, with the real rsync (owners, modes, ACLs, xattrs and hard links kept), into a cache per
//! production node under the DRP node's state directory, never over the DRP node's own `/etc`.
//! Beside them goes who owns the service's files and runs its processes on production
//! (`owners.rs`), which the drift check (`drift.rs`) compares with the DRP node's own ids.
//!
//! The resource exists when the service has DRP nodes and at least one listed file exists on
//! this node. It syncs whatever the service's state (the DRP node needs the files most when
//! production is gone), on `syncupdate` and `syncdrp`, not on `syncfullsync` (as OpenSVC).

pub mod drift;
pub mod owners;
pub mod receive;

use color_eyre::eyre::{bail, Result};

use super::sync_rsync::{push, Push};
use super::sync_state::{max_delay, read_state, SyncState};
use super::{Common, Ctx, DataSync, Loaded, Probe, Resource, SyncMode};
use crate::config::ServiceConfig;
use crate::paths::NodeEnv;
use crate::status::Status;
use crate::transport::Transport;

/// The internal rid of the system files sync.
pub const RID: &str = "sync#i1";
/// Its label in the status tree (the OpenSVC tutorial's).
pub const LABEL: &str = "rsync system files to drpnodes";

/// What a takeover needs of a Linux production node, copied when it exists (docs/safety.md
/// lists them with the reason for each).
pub const DEFAULT_FILES: &[&str] = &[
    "/etc/passwd",
    "/etc/shadow",
    "/etc/group",
    "/etc/gshadow",
    "/etc/hosts",
    "/etc/services",
    "/etc/nsswitch.conf",
    "/etc/sudoers",
    "/etc/sudoers.d",
    "/etc/ssh",
    "/etc/pam.d",
    "/etc/security",
    "/etc/crontab",
    "/etc/cron.d",
    "/etc/cron.allow",
    "/etc/cron.deny",
    "/var/spool/cron",
    "/home/oracle",
    "/home/sybase",
    "/opt/oracle",
    "/opt/sybase",
];

/// Left out of the copy: what application homes hold that a takeover does not need (core dumps,
/// traces, editor swap files).
pub const EXCLUDES: &[&str] = &["core", "core.[0-9]*", "*.trc", "*.trm", ".*.swp"];

/// `[DEFAULT]` keyword replacing [`DEFAULT_FILES`].
pub const KEY_FILES: &str = "system_files";
/// `[DEFAULT]` keyword adding to the list.
pub const KEY_ADD: &str = "system_files_add";

/// The files and directories this node's config lists, whether they exist or not.
pub fn listed(cfg: &ServiceConfig, node: &str) -> Vec<String> {
    let mut files: Vec<String> = match cfg.get("DEFAULT", KEY_FILES, node) {
        Some(r) => r.value.split_whitespace().map(String::from).collect(),
        None => DEFAULT_FILES.iter().map(|s| s.to_string()).collect(),
    };
    if let Some(r) = cfg.get("DEFAULT", KEY_ADD, node) {
        files.extend(r.value.split_whitespace().map(String::from));
    }
    let mut seen = std::collections::HashSet::new();
    files.retain(|f| seen.insert(f.clone()));
    files
}

/// The listed files that exist on this node (a dangling symlink counts: rsync copies it).
pub fn existing(cfg: &ServiceConfig, env: &NodeEnv) -> Vec<String> {
    listed(cfg, &env.nodename)
        .into_iter()
        .filter(|f| std::fs::symlink_metadata(env.path(f)).is_ok())
        .collect()
}

/// `sync#i1` for this node, when the service has DRP nodes and a listed file exists here.
pub fn implicit(cfg: &ServiceConfig, env: &NodeEnv) -> Option<Loaded> {
    if cfg.drpnodes.is_empty() || existing(cfg, env).is_empty() {
        return None;
    }
    Some(Loaded {
        common: Common::default(),
        driver: Box::new(SystemFiles),
    })
}

/// Where the copy of `from`'s system files lies on a DRP node, as a configured path (under
/// the node's root): the service's state directory, `cache/<from>`.
pub fn cache_dir(svc: &str, from: &str) -> String {
    format!("{}/cache/{from}", crate::paths::state_dir_of(svc))
}

/// The rsync options of `sync#i1`, the same at both ends: archive mode with ACLs, xattrs and
/// hard links, numeric ids, relative paths (`/etc/passwd` lands at `CACHE/etc/passwd`).
pub fn options() -> Vec<String> {
    let mut argv: Vec<String> = super::sync_rsync::BASE
        .iter()
        .map(|s| s.to_string())
        .collect();
    argv.push("--relative".to_string());
    argv.extend(EXCLUDES.iter().map(|p| format!("--exclude={p}")));
    argv
}

/// The DRP nodes this node sends to: every DRP node but itself.
pub fn destinations(cfg: &ServiceConfig, node: &str) -> Vec<String> {
    cfg.drpnodes
        .iter()
        .filter(|n| *n != node)
        .cloned()
        .collect()
}

/// The system files sync.
pub struct SystemFiles;

impl Resource for SystemFiles {
    fn rid(&self) -> &str {
        RID
    }

    fn type_name(&self) -> String {
        "sync.rsync".to_string()
    }

    fn label(&self, _ctx: &Ctx) -> String {
        LABEL.to_string()
    }

    fn probe(&self, ctx: &Ctx) -> Probe {
        let dests = destinations(ctx.cfg, &ctx.env.nodename);
        if dests.is_empty() {
            return Probe::with(Status::NotApplicable, "no destination nodes");
        }
        if !crate::paths::on_path("rsync") {
            return Probe::down(format!("rsync is not installed on {}", ctx.env.nodename));
        }
        let fresh = self
            .last_sync(ctx)
            .is_some_and(|s| s.age() <= self.max_delay(ctx));
        if fresh {
            return Probe::up();
        }
        Probe {
            status: Status::Down,
            comments: dests.iter().map(|d| format!("{d} need update")).collect(),
            label: None,
        }
    }

    /// OpenSVC's words on a node where the service is not up: it sends nothing of its own
    /// accord, and receives nothing either.
    fn probe_instance_down(&self, ctx: &Ctx) -> Probe {
        if destinations(ctx.cfg, &ctx.env.nodename).is_empty() {
            return Probe::with(Status::NotApplicable, "no destination nodes");
        }
        Probe::with(
            Status::NotApplicable,
            "passive node not in sync destination nodes",
        )
    }

    fn judged_after_instance(&self) -> bool {
        true
    }

    fn start(&self, _ctx: &Ctx) -> Result<()> {
        Ok(())
    }

    fn stop(&self, _ctx: &Ctx) -> Result<()> {
        Ok(())
    }

    fn as_sync(&self) -> Option<&dyn DataSync> {
        Some(self)
    }
}

impl DataSync for SystemFiles {
    fn rid_for_state(&self) -> &str {
        RID
    }

    fn target_words(&self, _ctx: &Ctx) -> Vec<String> {
        vec!["drpnodes".to_string()]
    }

    fn is_service_data(&self) -> bool {
        false
    }

    fn sync_to(&self, ctx: &Ctx, _mode: SyncMode, target: &dyn Transport) -> Result<()> {
        let node = &ctx.env.nodename;
        if !ctx.cfg.drpnodes.iter().any(|n| n == target.node()) {
            bail!("{RID}: {} is not a DRP node of {}", target.node(), ctx.svc);
        }
        let files = existing(ctx.cfg, ctx.env);
        if files.is_empty() {
            bail!("{RID}: none of the system files listed exists on {node}");
        }
        let root = ctx.env.path("/");
        let root = root.to_string_lossy();
        let root = root.trim_end_matches('/');
        // `/./`: rsync's relative mode keeps the path after it, under this node's root.
        let sources = files
            .iter()
            .map(|f| format!("{root}/.{f}"))
            .collect::<Vec<_>>();
        let scan = owners::scan(ctx);
        ctx.log.info(
            RID,
            &format!(
                "{} system files, and the owners of {} of the service's files",
                files.len(),
                scan.users.iter().map(|u| u.files).sum::<u64>()
            ),
        );
        push(
            ctx,
            target,
            &Push {
                rid: RID,
                dst: cache_dir(ctx.svc, node),
                options: options(),
                sources,
                extra: vec![(
                    crate::protocol::drift::OWNERS_FILE,
                    serde_json::to_vec_pretty(&scan)?,
                )],
                bwlimit: None,
            },
        )
    }

    fn last_sync(&self, ctx: &Ctx) -> Option<SyncState> {
        read_state(ctx.env, ctx.svc, RID).ok().flatten()
    }

    fn max_delay(&self, ctx: &Ctx) -> std::time::Duration {
        max_delay(ctx, RID)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(default: &str) -> ServiceConfig {
        let text = format!("[DEFAULT]\nnodes = n1\ndrpnodes = d1\n{default}");
        ServiceConfig::parse(
            "svc",
            std::path::Path::new("svc.env"),
            &text,
            crate::drivers::catalogue(),
        )
        .expect("config")
        .config
    }

    #[test]
    fn the_list_is_the_default_extended_or_replaced_without_repeats() {
        assert_eq!(listed(&cfg(""), "n1"), DEFAULT_FILES);
        let added = listed(&cfg("system_files_add = /srv/app /etc/passwd\n"), "n1");
        assert_eq!(added.len(), DEFAULT_FILES.len() + 1);
        assert_eq!(added.last().map(String::as_str), Some("/srv/app"));
        let replaced = cfg("system_files = /etc/passwd\nsystem_files@n1 = /etc/group\n");
        assert_eq!(listed(&replaced, "n1"), ["/etc/group"]);
        assert_eq!(listed(&replaced, "n2"), ["/etc/passwd"]);
        assert!(listed(&cfg("system_files =\n"), "n1").is_empty());
    }

    #[test]
    fn the_cache_lies_in_the_service_s_state_directory() {
        assert_eq!(
            cache_dir("busybox", "deb1"),
            "/var/lib/drpilot/busybox/cache/deb1"
        );
    }
}

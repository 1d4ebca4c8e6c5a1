//! Resource drivers, one file per type behind one [`Resource`] trait (plus [`DataSync`] for
//! replication). Statuses always come from the system: a driver only looks when probed.

mod app;
pub mod beneath;
mod common;
pub mod container_docker;
mod exec;
mod fs;
mod fs_directory;
mod ip;
pub mod receive;
pub mod registry;
mod replace_copy;
pub mod sync_btrfs;
pub mod sync_config;
pub mod sync_dds;
pub mod sync_dir;
pub mod sync_rsync;
pub mod sync_state;
pub mod system_files;
pub mod transfer;
mod vg;

use std::time::Duration;

use color_eyre::eyre::{bail, Result};

use crate::action_log::ActionLog;
use crate::config::ServiceConfig;
use crate::paths::NodeEnv;
use crate::status::Status;
use crate::transport::{NodeMap, Transport};

pub use common::Common;
pub use exec::run_logged;
pub use registry::catalogue;

/// Everything a driver may use while probing or acting on this node.
pub struct Ctx<'a> {
    /// This node: its name and root.
    pub env: &'a NodeEnv,
    /// The service's config.
    pub cfg: &'a ServiceConfig,
    /// The service name.
    pub svc: &'a str,
    /// Where the action's lines go.
    pub log: &'a ActionLog,
    /// `--force` was given.
    pub force: bool,
    /// How to reach peer nodes.
    pub peers: &'a NodeMap,
}

impl Ctx<'_> {
    /// Resolves `key` of `section` for this node, with `[DEFAULT]`'s value as the fallback, also
    /// for a section the config does not write (the agent's own sync#i1 reads `sync_period`,
    /// `sync_max_delay` and `sync_interval` there).
    pub fn get(&self, section: &str, key: &str) -> Option<String> {
        let node = &self.env.nodename;
        let found = match self.cfg.raw.section(section) {
            Some(_) => self.cfg.get(section, key, node),
            None => self.cfg.get("DEFAULT", key, node),
        };
        found.map(|r| r.value.to_string())
    }

    /// Resolves a required keyword; config validation guarantees it, so a miss is reported.
    pub fn require(&self, section: &str, key: &str) -> Result<String> {
        match self.get(section, key) {
            Some(v) => Ok(v),
            None => bail!(
                "{}: [{section}] {key} has no value for node {}",
                self.cfg.raw.path.display(),
                self.env.nodename
            ),
        }
    }

    /// A sync's `dst` as the target node resolves it (the sender names it; the receiver checks
    /// it against its own config).
    pub fn dst_for(&self, rid: &str, target: &str) -> Result<String> {
        match self.cfg.get(rid, "dst", target) {
            Some(r) => Ok(r.value.to_string()),
            None => bail!("{rid}: dst has no value for node {target}"),
        }
    }

    /// Two keywords of a section, when both have a value for this node.
    pub fn pair(&self, section: &str, a: &str, b: &str) -> Option<(String, String)> {
        Some((self.get(section, a)?, self.get(section, b)?))
    }

    /// The seed's `a@b` label of two keywords (`dev@mnt`, `ipname@ipdev`).
    pub fn at_label(&self, section: &str, a: &str, b: &str) -> String {
        format!(
            "{}@{}",
            self.get(section, a).unwrap_or_default(),
            self.get(section, b).unwrap_or_default()
        )
    }

    /// The service's state directory on this node.
    pub fn state_dir(&self) -> std::path::PathBuf {
        self.env.state_dir(self.svc)
    }
}

/// What a probe found: the status and, for anything not up, why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    /// The resource's own status, before standby and disable are applied.
    pub status: Status,
    /// Reasons, shown under the resource in the tree.
    pub comments: Vec<String>,
    /// A label learnt while probing (a container's `id@image`), replacing the configured one.
    pub label: Option<String>,
}

impl Probe {
    /// Up, nothing to say.
    pub fn up() -> Self {
        Self {
            status: Status::Up,
            comments: Vec::new(),
            label: None,
        }
    }

    /// A status with its reason.
    pub fn with(status: Status, reason: impl Into<String>) -> Self {
        Self {
            status,
            comments: vec![reason.into()],
            label: None,
        }
    }

    /// Down because it is simply stopped: the status word says it all (the seed's trees show
    /// no comment under a stopped fs or ip).
    pub fn stopped() -> Self {
        Self {
            status: Status::Down,
            comments: Vec::new(),
            label: None,
        }
    }

    /// Down, with the reason.
    pub fn down(reason: impl Into<String>) -> Self {
        Self::with(Status::Down, reason)
    }

    /// Warn, with the reason.
    pub fn warn(reason: impl Into<String>) -> Self {
        Self::with(Status::Warn, reason)
    }
}

/// How much a data sync sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncMode {
    /// Everything (`syncfullsync`).
    Full,
    /// Only what changed since the last sync (`syncupdate`, `syncdrp`).
    Update,
}

/// One resource of a service, as its driver sees it. Lanes of a start run side by side in
/// threads, so a driver is shared between them.
pub trait Resource: Send + Sync {
    /// The resource id, `fs#1`.
    fn rid(&self) -> &str;
    /// Driver type for the JSON status: `fs.directory`, `sync.dir`, `ip`.
    fn type_name(&self) -> String;
    /// The label of the status tree (`dev@mnt`, `ipname@ipdev`).
    fn label(&self, ctx: &Ctx) -> String;
    /// Looks at the system and says how the resource is.
    fn probe(&self, ctx: &Ctx) -> Probe;
    /// The status while the rest of the service's instance on this node is not up. Most
    /// resources look as always; an app is not evaluated then (OpenSVC: `n/a`, "not evaluated
    /// (instance not up)"), unless a process it started here still runs.
    fn probe_instance_down(&self, ctx: &Ctx) -> Probe {
        self.probe(ctx)
    }
    /// Whether its status depends on how the rest of the instance is (an app, the system files
    /// sync): it is probed after the others, with [`Resource::probe_instance_down`] when they are
    /// not up.
    fn judged_after_instance(&self) -> bool {
        false
    }
    /// Brings the resource up.
    fn start(&self, ctx: &Ctx) -> Result<()>;
    /// Brings the resource down.
    fn stop(&self, ctx: &Ctx) -> Result<()>;
    /// Whether part of the start may run ahead of the resource's own start, as soon as what it
    /// stands on is up (the private dockerd, once its data root is mounted).
    fn has_prepare(&self) -> bool {
        false
    }
    /// That early part of the start; true when it brought something up (a rollback undoes it
    /// with [`Resource::unprepare`]).
    fn prepare(&self, _ctx: &Ctx) -> Result<bool> {
        Ok(false)
    }
    /// Undoes [`Resource::prepare`]: on stop, after [`Resource::stop_own`].
    fn unprepare(&self, _ctx: &Ctx) -> Result<()> {
        Ok(())
    }
    /// The stop, leaving what [`Resource::prepare`] brought up to its own step.
    fn stop_own(&self, ctx: &Ctx) -> Result<()> {
        self.stop(ctx)
    }
    /// The replication side of a sync resource.
    fn as_sync(&self) -> Option<&dyn DataSync> {
        None
    }
}

/// A data replication resource.
pub trait DataSync {
    /// The rid whose keywords and state file this sync uses.
    fn rid_for_state(&self) -> &str;
    /// Replicates to one target node through its transport.
    fn sync_to(&self, ctx: &Ctx, mode: SyncMode, target: &dyn Transport) -> Result<()>;
    /// Words of its `target` keyword (`drpnodes`, node names).
    fn target_words(&self, ctx: &Ctx) -> Vec<String> {
        ctx.cfg
            .get_list(self.rid_for_state(), "target", &ctx.env.nodename)
    }
    /// Whether it replicates the service's data (most syncs). The system files are not: they
    /// sync from a node where the service is not up (the DRP node needs them most when
    /// production is stopped), `syncfullsync` leaves them to `syncupdate` and `syncdrp`, a
    /// test bubble does not clone them and their age is no RPO.
    fn is_service_data(&self) -> bool {
        true
    }
    /// When this node last completed (or received) a sync.
    fn last_sync(&self, ctx: &Ctx) -> Option<sync_state::SyncState> {
        sync_state::read_state(ctx.env, ctx.svc, self.rid_for_state())
            .ok()
            .flatten()
    }
    /// The delay past which the last sync is too old.
    fn max_delay(&self, ctx: &Ctx) -> Duration {
        sync_state::max_delay(ctx, self.rid_for_state())
    }
    /// Makes this node's replica the live data before the service's filesystems start here
    /// (btrfs promotes its last received snapshot); most syncs have nothing to do.
    fn before_start(&self, _ctx: &Ctx) -> Result<()> {
        Ok(())
    }
    /// Clones this node's replica into the test bubble whose node root is `bubble_root` (the
    /// clone lies where the replica lies, under that root), never writing to the replica.
    fn clone_replica(&self, _ctx: &Ctx, _bubble_root: &std::path::Path) -> Result<()> {
        bail!(
            "{}: a test bubble cannot clone this type of replica yet (btrfs and dir replicas only)",
            self.rid_for_state()
        )
    }
    /// Destroys the clone [`DataSync::clone_replica`] made outside the bubble's directory (a
    /// btrfs snapshot in the volume); a copy inside that directory goes with it.
    fn drop_clone(&self, _ctx: &Ctx) -> Result<()> {
        Ok(())
    }
    /// The bubble's copy of the config `text`, made to use the clone (a btrfs mount option
    /// naming the clone's subvolume); most clones lie where the config already looks.
    fn clone_config(&self, _ctx: &Ctx, text: &str) -> Result<String> {
        Ok(text.to_string())
    }
    /// The seed's label, `dds of SRC to ['drpnodes']`.
    fn sync_label(&self, ctx: &Ctx, kind: &str) -> String {
        format!(
            "{kind} of {} to {}",
            ctx.get(self.rid_for_state(), "src").unwrap_or_default(),
            sync_state::target_repr(&self.target_words(ctx))
        )
    }
}

/// A configured resource: its driver and the attributes every type shares.
pub struct Loaded {
    /// Attributes resolved for this node (standby, disabled, optional, monitored).
    pub common: Common,
    /// The driver.
    pub driver: Box<dyn Resource>,
}

/// Builds the drivers of every resource section of the config, for this node.
pub fn build(cfg: &ServiceConfig, env: &NodeEnv) -> Result<Vec<Loaded>> {
    let mut out = Vec::new();
    for section in cfg.resource_sections() {
        let rid = section.name.as_str();
        let kind = rid.split('#').next().unwrap_or_default();
        let ty = cfg.section_type(rid, &env.nodename).unwrap_or_default();
        let Some(make) = registry::constructor(kind, &ty) else {
            bail!(
                "{}: [{rid}] type: no driver for {kind} type '{ty}'",
                cfg.raw.path.display()
            );
        };
        let driver = make(rid, &ty);
        out.push(Loaded {
            common: Common::resolve(cfg, rid, &env.nodename),
            driver,
        });
    }
    out.extend(system_files::implicit(cfg, env));
    Ok(out)
}

//! What every receiving verb (`drpilot peer dir-*`, `btrfs-*`, `dds-*`) settles before it touches
//! anything: this node's own config names the replica, never the sender. The verb loads the
//! service's config here, finds the sync resource, resolves its `dst` for this node and refuses
//! a sender whose `--dst` differs; a receive also holds the service lock until it is done, so a
//! `start` here cannot run the app in a directory about to be replaced.
//!
//! Whether the service runs here takes the agent (its loader and probe), which sits above the
//! drivers: the caller hands it in as a [`LiveCheck`].

use std::time::Duration;

use color_eyre::eyre::{bail, eyre, Result};

use crate::config::{paths, ServiceConfig};
use crate::lock::{self, ServiceLock};
use crate::paths::NodeEnv;
use crate::protocol::names::{NodeName, Rid, ServiceName, SyncId, Timestamp};
use crate::protocol::peer::Transfer;

/// Refuses, with the reason, when the service named runs on this node, even in part: a receive
/// must not overwrite live data. The agent implements it (`agent::peer::refuse_if_running`).
pub type LiveCheck<'a> = &'a dyn Fn(&NodeEnv, &str) -> Result<()>;

/// What a receiving verb is told about a transfer (`dir-receive`; btrfs and dds add their own),
/// every name already checked by its parser.
pub struct Incoming<'a> {
    /// The service whose replica is received.
    pub svc: &'a ServiceName,
    /// The sync resource whose replica this node holds.
    pub rid: &'a Rid,
    /// The replica as the sender names it (a directory, `DEV:SUBVOL`, a device): only compared
    /// with this node's config, which alone decides where data lands.
    pub dst: &'a str,
    /// The sending node, named in refusals and recorded as the replica's source.
    pub from: &'a NodeName,
    /// The sync id, recorded on both nodes (dds: the snapshot uuid, checked again as one).
    pub id: &'a SyncId,
    /// When the sender took its image.
    pub when: Timestamp,
}

/// The transfer as the peer protocol parsed it, seen by the receiving drivers.
impl<'a> From<&'a Transfer> for Incoming<'a> {
    fn from(t: &'a Transfer) -> Self {
        Self {
            svc: &t.target.svc,
            rid: &t.target.rid,
            dst: &t.target.dst,
            from: &t.from,
            id: &t.id,
            when: t.when,
        }
    }
}

/// The sync types with a receiving side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncType {
    /// `type = dir`: a directory.
    Dir,
    /// `type = btrfs`: a subvolume, `DEV:SUBVOL`.
    Btrfs,
    /// `type = dds`: a device under /dev.
    Dds,
    /// `type = rsync`: a directory.
    Rsync,
}

impl SyncType {
    fn name(self) -> &'static str {
        match self {
            SyncType::Dir => "dir",
            SyncType::Btrfs => "btrfs",
            SyncType::Dds => "dds",
            SyncType::Rsync => "rsync",
        }
    }

    /// The normalised form of a `dst` of this type, or why it is not one.
    fn normalise(self, value: &str) -> Result<String, String> {
        match self {
            SyncType::Dir | SyncType::Rsync => paths::check_path(value, paths::PathRole::Dir),
            SyncType::Dds => paths::check_path(value, paths::PathRole::Device),
            SyncType::Btrfs => paths::check_btrfs_volume(value).map(|l| l.to_string()),
        }
    }
}

/// The replica this node's config names for a transfer.
pub struct LocalSync {
    /// This node's `dst`, normalised: a directory, a device, or `DEV:SUBVOL`.
    pub dst: String,
    /// The config it came from, for what else the receiver needs from it (the nodes).
    pub config: ServiceConfig,
}

/// The hint for a node that lacks the config, or holds another one.
fn push_first(from: Option<&NodeName>) -> String {
    match from {
        Some(node) => format!("push the config first: syncnodes on {node}"),
        None => "push the config first: syncnodes on the node the service runs on".to_string(),
    }
}

/// Loads `svc`'s config on this node, the one a receive goes by (and its path), or says that
/// `from` must push it first.
pub fn local_config(
    env: &NodeEnv,
    svc: &ServiceName,
    from: Option<&NodeName>,
) -> Result<(ServiceConfig, std::path::PathBuf)> {
    let node = &env.nodename;
    let path = env.config_path(svc);
    if !path.exists() {
        bail!(
            "{svc} has no config on {node} (no {}): {}",
            path.display(),
            push_first(from)
        );
    }
    let config = ServiceConfig::load(&path, super::catalogue())
        .map_err(|e| {
            eyre!("{svc} on {node}: its config does not load here, nothing received:\n{e}")
        })?
        .config;
    Ok((config, path))
}

/// Loads `svc`'s config on this node, finds sync `rid` of type `ty` and resolves its `dst` for
/// this node; refuses when the sender's `sent` names another replica.
pub fn local_sync(
    env: &NodeEnv,
    svc: &ServiceName,
    rid: &Rid,
    ty: SyncType,
    sent: &str,
    from: Option<&NodeName>,
) -> Result<LocalSync> {
    let node = &env.nodename;
    let (config, path) = local_config(env, svc, from)?;
    let shown = path.display();
    if config.raw.section(rid).is_none() {
        bail!(
            "{rid} on {node}: {shown} has no [{rid}] section: {}",
            push_first(from)
        );
    }
    let found = config.section_type(rid, node).unwrap_or_default();
    if rid.kind() != "sync" || found != ty.name() {
        let is = if rid.kind() == "sync" {
            format!("a sync of type '{found}'")
        } else {
            format!("a resource of kind {}", rid.kind())
        };
        bail!(
            "{rid} on {node}: [{rid}] in {shown} is {is}, not a sync of type {}: refusing a {} \
             transfer",
            ty.name(),
            ty.name()
        );
    }
    let Some(mine) = config.get(rid, "dst", node) else {
        bail!("{rid} on {node}: {shown}: [{rid}] dst has no value for {node}");
    };
    let at = format!("{shown}:{}", mine.line);
    let local = ty
        .normalise(mine.value)
        .map_err(|e| eyre!("{at}: [{rid}] dst for {node}: {e}"))?;
    if ty.normalise(sent).ok().as_deref() != Some(local.as_str()) {
        bail!(
            "{rid} on {node}: the sender asks for --dst {sent} but this node's config resolves \
             dst to {} ({at}): refusing; {}",
            mine.value,
            push_first(from)
        );
    }
    Ok(LocalSync { dst: local, config })
}

/// Takes the service lock for a receive, failing fast: an action running here (a start, a
/// stop, another receive) makes the sender's sync fail and say so, as a sync on the sending node
/// does when its own lock is held.
pub fn receive_lock(
    env: &NodeEnv,
    svc: &ServiceName,
    rid: &Rid,
    from: &NodeName,
) -> Result<ServiceLock> {
    lock::acquire(
        env,
        svc,
        &format!("receive of {rid} from {from}"),
        Duration::ZERO,
    )
}

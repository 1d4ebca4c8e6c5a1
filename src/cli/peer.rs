//! `drpilot peer ...`: the receiving end of node-to-node operations, run through a transport.
//! Every name a peer passes is parsed by clap into its `protocol::names` type, so a hostile
//! value (`--rid ../../x`) is refused before anything runs; `--dst` is only compared with this
//! node's own config.

use std::io::{stdin, stdout, BufReader};

use clap::{Args, Subcommand};
use color_eyre::eyre::Result;

use crate::agent::peer::{config_receive, refuse_if_running};
use crate::drivers::receive::Incoming;
use crate::drivers::sync_btrfs::receive::{btrfs_list, btrfs_receive, BtrfsIncoming};
use crate::drivers::sync_dds::receive::{dds_receive, dds_state, DdsIncoming};
use crate::drivers::sync_dir::receive::{dir_manifest, dir_receive};
use crate::paths::NodeEnv;
use crate::protocol::names::{
    ConfigHash, LvmUuid, NodeName, Rid, ServiceName, SnapName, SyncId, Timestamp,
};

/// Arguments of `drpilot peer`.
#[derive(Debug, Args)]
pub struct PeerArgs {
    #[command(subcommand)]
    op: PeerOp,
}

/// The arguments every listing verb takes.
#[derive(Debug, Args)]
struct TargetArgs {
    /// The service.
    #[arg(long)]
    svc: ServiceName,
    /// The sync resource.
    #[arg(long)]
    rid: Rid,
    /// The replica on this node as the sender names it; it must match this node's config.
    #[arg(long)]
    dst: String,
}

/// The arguments every receiving verb takes.
#[derive(Debug, Args)]
struct TransferArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// The sending node.
    #[arg(long)]
    from: NodeName,
    /// The sync id (dds: the snapshot uuid).
    #[arg(long)]
    id: SyncId,
    /// When the sender took its image (RFC 3339).
    #[arg(long)]
    when: Timestamp,
}

impl TransferArgs {
    fn incoming(&self) -> Incoming<'_> {
        Incoming {
            svc: &self.target.svc,
            rid: &self.target.rid,
            dst: &self.target.dst,
            from: &self.from,
            id: &self.id,
            when: self.when,
        }
    }
}

#[derive(Debug, Subcommand)]
enum PeerOp {
    /// Prints the manifest of a replicated directory.
    DirManifest {
        #[command(flatten)]
        target: TargetArgs,
    },
    /// Receives a directory sync on stdin.
    DirReceive {
        #[command(flatten)]
        transfer: TransferArgs,
    },
    /// Lists the snapshots of a btrfs subvolume (sync type=btrfs), as JSON; --dst is DEV:SUBVOL.
    BtrfsList {
        #[command(flatten)]
        target: TargetArgs,
    },
    /// Receives a btrfs send stream on stdin (sync type=btrfs).
    BtrfsReceive {
        #[command(flatten)]
        transfer: TransferArgs,
        /// The snapshot's name on the sender.
        #[arg(long)]
        snap: SnapName,
    },
    /// Prints this node's dds state of a volume (sync type=dds), as JSON; --dst is the device.
    DdsState {
        #[command(flatten)]
        target: TargetArgs,
    },
    /// Merges a dds stream from stdin into a volume (sync type=dds).
    DdsReceive {
        #[command(flatten)]
        transfer: TransferArgs,
        #[arg(long, conflicts_with = "base")]
        full: bool,
        /// For a delta: the snapshot uuid this node must hold.
        #[arg(long, required_unless_present = "full")]
        base: Option<LvmUuid>,
    },
    /// Receives a service config on stdin.
    ConfigReceive {
        #[arg(long)]
        svc: ServiceName,
        #[arg(long)]
        from: NodeName,
        #[arg(long)]
        hash: ConfigHash,
    },
}

/// Runs one peer operation on this node.
pub fn run(args: PeerArgs) -> Result<bool> {
    let env = NodeEnv::from_env();
    match args.op {
        PeerOp::DirManifest { target: t } => {
            dir_manifest(&env, &t.svc, &t.rid, &t.dst, &mut stdout().lock())?;
        }
        PeerOp::DirReceive { transfer } => {
            let mut input = BufReader::with_capacity(1 << 20, stdin().lock());
            dir_receive(
                &env,
                &transfer.incoming(),
                &refuse_if_running,
                &mut input,
                &mut stdout().lock(),
            )?;
        }
        PeerOp::BtrfsList { target: t } => {
            btrfs_list(&env, &t.svc, &t.rid, &t.dst, &mut stdout().lock())?;
        }
        PeerOp::BtrfsReceive { transfer, snap } => {
            let inc = BtrfsIncoming {
                transfer: transfer.incoming(),
                snap: &snap,
            };
            btrfs_receive(&env, &inc, &mut stdin(), &mut stdout().lock())?;
        }
        PeerOp::DdsState { target: t } => {
            dds_state(&env, &t.svc, &t.rid, &t.dst, &mut stdout().lock())?;
        }
        PeerOp::DdsReceive {
            transfer,
            full,
            base,
        } => {
            let inc = DdsIncoming {
                transfer: transfer.incoming(),
                full,
                base: base.as_ref(),
            };
            dds_receive(
                &env,
                &inc,
                &refuse_if_running,
                &mut stdin().lock(),
                &mut stdout().lock(),
            )?;
        }
        PeerOp::ConfigReceive { svc, from, hash } => {
            config_receive(&env, &svc, &from, &hash, &mut stdin().lock())?;
        }
    }
    Ok(true)
}

//! `drpilot peer ...`: the receiving end of node-to-node operations, run through a transport.

use std::io::{stdin, stdout, BufReader};

use clap::{Args, Subcommand};
use color_eyre::eyre::Result;

use crate::agent::peer::{config_receive, dir_manifest, dir_receive, Incoming};
use crate::agent::peer_btrfs::{btrfs_list, btrfs_receive, BtrfsIncoming};
use crate::agent::peer_dds::{dds_receive, dds_state, DdsIncoming};
use crate::paths::NodeEnv;

/// Arguments of `drpilot peer`.
#[derive(Debug, Args)]
pub struct PeerArgs {
    #[command(subcommand)]
    op: PeerOp,
}

/// The arguments every receiving verb takes.
#[derive(Debug, Args)]
struct TransferArgs {
    /// The service.
    #[arg(long)]
    svc: String,
    /// The sync resource.
    #[arg(long)]
    rid: String,
    /// The replica on this node.
    #[arg(long)]
    dst: String,
    /// The sending node.
    #[arg(long)]
    from: String,
    /// The sync id (dds: the snapshot uuid).
    #[arg(long)]
    id: String,
    /// When the sender took its image (RFC 3339).
    #[arg(long)]
    when: String,
}

impl TransferArgs {
    fn incoming(&self) -> Incoming<'_> {
        Incoming {
            svc: &self.svc,
            rid: &self.rid,
            dst: &self.dst,
            from: &self.from,
            id: &self.id,
            when: &self.when,
        }
    }
}

#[derive(Debug, Subcommand)]
enum PeerOp {
    /// Prints the manifest of a replicated directory.
    DirManifest {
        #[arg(long)]
        svc: String,
        #[arg(long)]
        rid: String,
        #[arg(long)]
        dst: String,
    },
    /// Receives a directory sync on stdin.
    DirReceive {
        #[command(flatten)]
        transfer: TransferArgs,
    },
    /// Lists the snapshots of a btrfs subvolume (sync type=btrfs), as JSON.
    BtrfsList {
        #[arg(long)]
        svc: String,
        #[arg(long)]
        rid: String,
        /// This node's volume, DEV:SUBVOL.
        #[arg(long)]
        dst: String,
    },
    /// Receives a btrfs send stream on stdin (sync type=btrfs).
    BtrfsReceive {
        #[command(flatten)]
        transfer: TransferArgs,
        /// The snapshot's name on the sender.
        #[arg(long)]
        snap: String,
    },
    /// Prints this node's dds state of a volume (sync type=dds), as JSON.
    DdsState {
        #[arg(long)]
        svc: String,
        #[arg(long)]
        rid: String,
        /// This node's volume, /dev/mapper/VG-LV.
        #[arg(long)]
        dst: String,
    },
    /// Merges a dds stream from stdin into a volume (sync type=dds).
    DdsReceive {
        #[command(flatten)]
        transfer: TransferArgs,
        #[arg(long, conflicts_with = "base")]
        full: bool,
        /// For a delta: the snapshot uuid this node must hold.
        #[arg(long, required_unless_present = "full")]
        base: Option<String>,
    },
    /// Receives a service config on stdin.
    ConfigReceive {
        #[arg(long)]
        svc: String,
        #[arg(long)]
        from: String,
        #[arg(long)]
        hash: String,
    },
}

/// Runs one peer operation on this node.
pub fn run(args: PeerArgs) -> Result<bool> {
    let env = NodeEnv::from_env();
    let svc_ok = |svc: &str| {
        if crate::config::is_valid_service_name(svc) {
            Ok(())
        } else {
            Err(color_eyre::eyre::eyre!("invalid service name '{svc}'"))
        }
    };
    match args.op {
        PeerOp::DirManifest { svc, dst, .. } => {
            svc_ok(&svc)?;
            dir_manifest(&env, &dst, &mut stdout().lock())?;
        }
        PeerOp::DirReceive { transfer } => {
            svc_ok(&transfer.svc)?;
            let mut input = BufReader::with_capacity(1 << 20, stdin().lock());
            dir_receive(&env, &transfer.incoming(), &mut input, &mut stdout().lock())?;
        }
        PeerOp::BtrfsList { svc, rid, dst } => {
            svc_ok(&svc)?;
            btrfs_list(&env, &svc, &rid, &dst, &mut stdout().lock())?;
        }
        PeerOp::BtrfsReceive { transfer, snap } => {
            svc_ok(&transfer.svc)?;
            let inc = BtrfsIncoming {
                transfer: transfer.incoming(),
                snap: &snap,
            };
            btrfs_receive(&env, &inc, &mut stdin(), &mut stdout().lock())?;
        }
        PeerOp::DdsState { svc, rid, dst } => {
            svc_ok(&svc)?;
            dds_state(&env, &svc, &rid, &dst, &mut stdout().lock())?;
        }
        PeerOp::DdsReceive {
            transfer,
            full,
            base,
        } => {
            svc_ok(&transfer.svc)?;
            let inc = DdsIncoming {
                transfer: transfer.incoming(),
                full,
                base: base.as_deref(),
            };
            dds_receive(&env, &inc, &mut stdin().lock(), &mut stdout().lock())?;
        }
        PeerOp::ConfigReceive { svc, from, hash } => {
            svc_ok(&svc)?;
            config_receive(&env, &svc, &from, &hash, &mut stdin().lock())?;
        }
    }
    Ok(true)
}

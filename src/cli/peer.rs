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
        #[arg(long)]
        svc: String,
        #[arg(long)]
        rid: String,
        #[arg(long)]
        dst: String,
        #[arg(long)]
        from: String,
        #[arg(long)]
        id: String,
        #[arg(long)]
        when: String,
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
        #[arg(long)]
        svc: String,
        #[arg(long)]
        rid: String,
        /// This node's volume, DEV:SUBVOL.
        #[arg(long)]
        dst: String,
        #[arg(long)]
        from: String,
        #[arg(long)]
        id: String,
        #[arg(long)]
        when: String,
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
        #[arg(long)]
        svc: String,
        #[arg(long)]
        rid: String,
        /// This node's volume, /dev/mapper/VG-LV.
        #[arg(long)]
        dst: String,
        #[arg(long)]
        from: String,
        /// The uuid of the snapshot sent.
        #[arg(long)]
        id: String,
        #[arg(long)]
        when: String,
        /// A full copy of the volume.
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
        PeerOp::DirReceive {
            svc,
            rid,
            dst,
            from,
            id,
            when,
        } => {
            svc_ok(&svc)?;
            let inc = Incoming {
                svc: &svc,
                rid: &rid,
                dst: &dst,
                from: &from,
                id: &id,
                when: &when,
            };
            let mut input = BufReader::with_capacity(1 << 20, stdin().lock());
            dir_receive(&env, &inc, &mut input, &mut stdout().lock())?;
        }
        PeerOp::BtrfsList { svc, rid, dst } => {
            svc_ok(&svc)?;
            btrfs_list(&env, &svc, &rid, &dst, &mut stdout().lock())?;
        }
        PeerOp::BtrfsReceive {
            svc,
            rid,
            dst,
            from,
            id,
            when,
            snap,
        } => {
            svc_ok(&svc)?;
            let inc = BtrfsIncoming {
                svc: &svc,
                rid: &rid,
                dst: &dst,
                from: &from,
                id: &id,
                when: &when,
                snap: &snap,
            };
            btrfs_receive(&env, &inc, &mut stdin(), &mut stdout().lock())?;
        }
        PeerOp::DdsState { svc, rid, dst } => {
            svc_ok(&svc)?;
            dds_state(&env, &svc, &rid, &dst, &mut stdout().lock())?;
        }
        PeerOp::DdsReceive {
            svc,
            rid,
            dst,
            from,
            id,
            when,
            full,
            base,
        } => {
            svc_ok(&svc)?;
            let inc = DdsIncoming {
                svc: &svc,
                rid: &rid,
                dst: &dst,
                from: &from,
                id: &id,
                when: &when,
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

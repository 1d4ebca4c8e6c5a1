//! `drpilot peer ...`: the receiving end of node-to-node operations, run through a transport.
//! Every name a peer passes is parsed by clap into its `protocol::names` type, so a hostile
//! value (`--rid ../../x`) is refused before anything runs; `--dst` is only compared with this
//! node's own config.

use std::io::{stdin, stdout, BufReader};

use clap::Args;
use color_eyre::eyre::Result;

use crate::agent::peer::{config_receive, refuse_if_running};
use crate::drivers::receive::Incoming;
use crate::drivers::sync_btrfs::receive::{btrfs_list, btrfs_receive, BtrfsIncoming};
use crate::drivers::sync_dds::receive::{dds_receive, dds_state, DdsIncoming};
use crate::drivers::sync_dir::receive::{dir_manifest, dir_receive};
use crate::drivers::sync_rsync::receive::{rsync_receive, Batch};
use crate::paths::NodeEnv;
use crate::protocol::peer::PeerVerb;

/// Arguments of `drpilot peer`.
#[derive(Debug, Args)]
pub struct PeerArgs {
    #[command(subcommand)]
    op: PeerVerb,
}

impl PeerArgs {
    /// The verb parsed (the client's round-trip test reads its lines back here).
    pub fn verb(&self) -> &PeerVerb {
        &self.op
    }
}

/// Runs one peer operation on this node.
pub fn run(args: PeerArgs) -> Result<bool> {
    let env = NodeEnv::from_env();
    match args.op {
        PeerVerb::DirManifest { target: t } => {
            dir_manifest(&env, &t.svc, &t.rid, &t.dst, &mut stdout().lock())?;
        }
        PeerVerb::DirReceive { transfer } => {
            let mut input = BufReader::with_capacity(1 << 20, stdin().lock());
            dir_receive(
                &env,
                &Incoming::from(&transfer),
                &refuse_if_running,
                &mut input,
                &mut stdout().lock(),
            )?;
        }
        PeerVerb::RsyncReceive {
            transfer,
            bytes,
            sha256,
        } => {
            let mut input = BufReader::with_capacity(1 << 20, stdin().lock());
            let batch = Batch {
                bytes,
                sha256: &sha256,
            };
            rsync_receive(
                &env,
                &Incoming::from(&transfer),
                &batch,
                &refuse_if_running,
                &mut input,
                &mut stdout().lock(),
            )?;
        }
        PeerVerb::BtrfsList { target: t } => {
            btrfs_list(&env, &t.svc, &t.rid, &t.dst, &mut stdout().lock())?;
        }
        PeerVerb::BtrfsReceive { transfer, snap } => {
            let inc = BtrfsIncoming {
                transfer: Incoming::from(&transfer),
                snap: &snap,
            };
            btrfs_receive(&env, &inc, &mut stdin(), &mut stdout().lock())?;
        }
        PeerVerb::DdsState { target: t } => {
            dds_state(&env, &t.svc, &t.rid, &t.dst, &mut stdout().lock())?;
        }
        PeerVerb::DdsReceive {
            transfer,
            full,
            base,
        } => {
            let inc = DdsIncoming {
                transfer: Incoming::from(&transfer),
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
        PeerVerb::ConfigReceive { svc, from, hash } => {
            config_receive(&env, &svc, &from, &hash, &mut stdin().lock())?;
        }
    }
    Ok(true)
}

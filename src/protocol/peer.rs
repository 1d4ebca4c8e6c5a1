//! The peer verbs: what a node asks a peer to do with `drpilot peer …` (list or receive a
//! replica, receive a config). One definition serves both ends: the sending driver builds a
//! [`PeerVerb`] (each name checked as it is built) and writes it with [`PeerVerb::to_args`]; the
//! receiving node's CLI parses the same type, so a hostile value never gets past its parser.

use clap::{Args, Subcommand};

use super::names::{
    ConfigHash, InvalidName, LvmUuid, NodeName, Rid, ServiceName, Sha256, SnapName, SyncId,
    Timestamp,
};

/// The replica a verb is about.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct SyncTarget {
    /// The service.
    #[arg(long)]
    pub svc: ServiceName,
    /// The sync resource.
    #[arg(long)]
    pub rid: Rid,
    /// The replica on the receiving node as the sender names it; the receiver only compares it
    /// with its own config.
    #[arg(long)]
    pub dst: String,
}

impl SyncTarget {
    /// The target of sync `rid` of `svc`, whose replica the sender calls `dst`.
    pub fn new(svc: &str, rid: &str, dst: &str) -> Result<Self, InvalidName> {
        Ok(Self {
            svc: svc.parse()?,
            rid: rid.parse()?,
            dst: dst.to_string(),
        })
    }

    fn to_args(&self) -> Vec<String> {
        args(&[
            ("--svc", self.svc.to_string()),
            ("--rid", self.rid.to_string()),
            ("--dst", self.dst.clone()),
        ])
    }
}

/// What a receiving node is told about a transfer.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct Transfer {
    /// The replica.
    #[command(flatten)]
    pub target: SyncTarget,
    /// The sending node.
    #[arg(long)]
    pub from: NodeName,
    /// The sync id, recorded on both nodes (dds: the snapshot uuid).
    #[arg(long)]
    pub id: SyncId,
    /// When the sender took its image (RFC 3339).
    #[arg(long)]
    pub when: Timestamp,
}

impl Transfer {
    /// A transfer of `target` from node `from`, sync `id` taken at `when` (RFC 3339).
    pub fn new(target: SyncTarget, from: &str, id: &str, when: &str) -> Result<Self, InvalidName> {
        Ok(Self {
            target,
            from: from.parse()?,
            id: id.parse()?,
            when: when.parse()?,
        })
    }

    fn to_args(&self) -> Vec<String> {
        let mut v = self.target.to_args();
        v.extend(args(&[
            ("--from", self.from.to_string()),
            ("--id", self.id.to_string()),
            ("--when", self.when.to_string()),
        ]));
        v
    }
}

/// One `drpilot peer` verb with its arguments.
#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum PeerVerb {
    /// Prints the manifest of a replicated directory.
    DirManifest {
        #[command(flatten)]
        target: SyncTarget,
    },
    /// Receives a directory sync on stdin.
    DirReceive {
        #[command(flatten)]
        transfer: Transfer,
    },
    /// Receives an rsync batch on stdin (sync type=rsync): applied only once it is whole.
    RsyncReceive {
        #[command(flatten)]
        transfer: Transfer,
        /// The batch's length in bytes.
        #[arg(long)]
        bytes: u64,
        /// The batch's SHA-256.
        #[arg(long)]
        sha256: Sha256,
    },
    /// Lists the snapshots of a btrfs subvolume (sync type=btrfs), as JSON; --dst is DEV:SUBVOL.
    BtrfsList {
        #[command(flatten)]
        target: SyncTarget,
    },
    /// Receives a btrfs send stream on stdin (sync type=btrfs).
    BtrfsReceive {
        #[command(flatten)]
        transfer: Transfer,
        /// The snapshot's name on the sender.
        #[arg(long)]
        snap: SnapName,
    },
    /// Prints this node's dds state of a volume (sync type=dds), as JSON; --dst is the device.
    DdsState {
        #[command(flatten)]
        target: SyncTarget,
    },
    /// Merges a dds stream from stdin into a volume (sync type=dds).
    DdsReceive {
        #[command(flatten)]
        transfer: Transfer,
        /// A full copy (the first sync).
        #[arg(long, conflicts_with = "base")]
        full: bool,
        /// For a delta: the snapshot uuid this node must hold.
        #[arg(long, required_unless_present = "full")]
        base: Option<LvmUuid>,
    },
    /// Receives a service config on stdin.
    ConfigReceive {
        /// The service.
        #[arg(long)]
        svc: ServiceName,
        /// The sending node.
        #[arg(long)]
        from: NodeName,
        /// The SHA-256 of the config sent.
        #[arg(long)]
        hash: ConfigHash,
    },
}

impl PeerVerb {
    /// The verb's words after `drpilot peer`.
    pub fn to_args(&self) -> Vec<String> {
        let (verb, mut rest) = match self {
            PeerVerb::DirManifest { target } => ("dir-manifest", target.to_args()),
            PeerVerb::DirReceive { transfer } => ("dir-receive", transfer.to_args()),
            PeerVerb::RsyncReceive {
                transfer,
                bytes,
                sha256,
            } => {
                let mut v = transfer.to_args();
                v.extend(args(&[
                    ("--bytes", bytes.to_string()),
                    ("--sha256", sha256.to_string()),
                ]));
                ("rsync-receive", v)
            }
            PeerVerb::BtrfsList { target } => ("btrfs-list", target.to_args()),
            PeerVerb::BtrfsReceive { transfer, snap } => {
                let mut v = transfer.to_args();
                v.extend(args(&[("--snap", snap.to_string())]));
                ("btrfs-receive", v)
            }
            PeerVerb::DdsState { target } => ("dds-state", target.to_args()),
            PeerVerb::DdsReceive {
                transfer,
                full,
                base,
            } => {
                let mut v = transfer.to_args();
                if *full {
                    v.push("--full".to_string());
                }
                if let Some(b) = base {
                    v.extend(args(&[("--base", b.to_string())]));
                }
                ("dds-receive", v)
            }
            PeerVerb::ConfigReceive { svc, from, hash } => (
                "config-receive",
                args(&[
                    ("--svc", svc.to_string()),
                    ("--from", from.to_string()),
                    ("--hash", hash.to_string()),
                ]),
            ),
        };
        rest.insert(0, verb.to_string());
        rest
    }
}

fn args(pairs: &[(&str, String)]) -> Vec<String> {
    pairs
        .iter()
        .flat_map(|(k, v)| [k.to_string(), v.clone()])
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Every verb of the protocol, with plausible values.
    pub(crate) fn every_verb() -> Vec<PeerVerb> {
        let target = SyncTarget::new("busybox", "sync#1", "/srv/busybox/data").unwrap();
        let transfer = Transfer::new(target.clone(), "deb1", "7", "2026-12-01T10:00:00Z").unwrap();
        vec![
            PeerVerb::DirManifest {
                target: target.clone(),
            },
            PeerVerb::DirReceive {
                transfer: transfer.clone(),
            },
            PeerVerb::RsyncReceive {
                transfer: transfer.clone(),
                bytes: 4096,
                sha256: "ab".repeat(32).parse().unwrap(),
            },
            PeerVerb::BtrfsList {
                target: target.clone(),
            },
            PeerVerb::BtrfsReceive {
                transfer: transfer.clone(),
                snap: "data@7".parse().unwrap(),
            },
            PeerVerb::DdsState { target },
            PeerVerb::DdsReceive {
                transfer: transfer.clone(),
                full: true,
                base: None,
            },
            PeerVerb::DdsReceive {
                transfer,
                full: false,
                base: Some("Zd3fOM-Oxfy-XMPk".parse().unwrap()),
            },
            PeerVerb::ConfigReceive {
                svc: "busybox".parse().unwrap(),
                from: "deb1".parse().unwrap(),
                hash: "a".repeat(64).parse().unwrap(),
            },
        ]
    }

    #[test]
    fn building_a_verb_checks_its_names() {
        assert!(SyncTarget::new("../x", "sync#1", "/d").is_err());
        assert!(SyncTarget::new("busybox", "../../x", "/d").is_err());
        let t = SyncTarget::new("busybox", "sync#1", "/d").unwrap();
        assert!(Transfer::new(t.clone(), "-deb1", "1", "2026-12-01T10:00:00Z").is_err());
        assert!(Transfer::new(t, "deb1", "1", "yesterday").is_err());
        assert_eq!(every_verb()[0].to_args()[0], "dir-manifest");
    }
}

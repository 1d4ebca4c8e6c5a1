//! What the sending node and the target say to each other: the `drpilot peer dds-state` and
//! `dds-receive` command lines and the JSON answers.

use color_eyre::eyre::Result;
use serde::{Deserialize, Serialize};

use super::delta::StreamStats;
use super::marker::CutMarker;
use crate::protocol::peer::{self, PeerVerb, SyncTarget};
use crate::transport::client;

/// `drpilot peer dds-state --svc S --rid R --dst DEV`.
pub fn state_args(svc: &str, rid: &str, dst: &str) -> Result<Vec<String>> {
    let target = SyncTarget::new(svc, rid, dst)?;
    Ok(client::peer(&PeerVerb::DdsState { target }))
}

/// What the target is told about a transfer.
pub struct Transfer<'a> {
    /// The sending node.
    pub from: &'a str,
    /// The uuid of the snapshot sent: the target's state once merged.
    pub id: &'a str,
    /// When the snapshot was taken (RFC 3339).
    pub when: &'a str,
    /// For a delta, the uuid the target must hold (the sender's snap1); `None` for a full copy.
    pub base: Option<&'a str>,
}

/// `drpilot peer dds-receive --svc S --rid R --dst DEV --from N --id UUID --when T` then
/// `--full` or `--base UUID`.
pub fn receive_args(svc: &str, rid: &str, dst: &str, t: &Transfer) -> Result<Vec<String>> {
    let target = SyncTarget::new(svc, rid, dst)?;
    Ok(client::peer(&PeerVerb::DdsReceive {
        transfer: peer::Transfer::new(target, t.from, t.id, t.when)?,
        full: t.base.is_none(),
        base: t.base.map(str::parse).transpose()?,
    }))
}

/// The target's answer to `dds-state`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetState {
    /// The snapshot uuid of its state file, when it has one.
    pub id: Option<String>,
    /// The state file's datetime.
    pub when: Option<String>,
    /// Left by a merge that did not complete: the replica is inconsistent.
    pub cut: Option<CutMarker>,
    /// Size of its `dst` device, when found.
    pub dst_size: Option<u64>,
}

/// The target's answer to a successful `dds-receive`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiveReport {
    /// What it read and wrote.
    pub stats: StreamStats,
    /// Size of its `dst` device.
    pub dst_size: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn receive_args_say_full_or_base() {
        let t = Transfer {
            from: "deb1",
            id: "u2",
            when: "2026-01-01T00:00:00Z",
            base: Some("u1"),
        };
        assert_eq!(
            receive_args("svc", "sync#1", "/dev/mapper/vg-lv", &t)
                .unwrap()
                .join(" "),
            "peer dds-receive --svc svc --rid sync#1 --dst /dev/mapper/vg-lv --from deb1 --id u2 \
             --when 2026-01-01T00:00:00Z --base u1"
        );
        let full = Transfer { base: None, ..t };
        assert!(receive_args("svc", "sync#1", "/d", &full)
            .unwrap()
            .ends_with(&["--full".to_string()]));
        assert_eq!(
            state_args("svc", "sync#1", "/d").unwrap().join(" "),
            "peer dds-state --svc svc --rid sync#1 --dst /d"
        );
    }
}

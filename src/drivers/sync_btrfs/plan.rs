//! The decisions of the btrfs sync, as pure functions of subvolume lists: which snapshots a
//! subvolume has, which one both nodes share (the parent of an incremental send), which ones
//! rotation deletes, and whether a start must promote a received snapshot.

use std::collections::BTreeSet;

use super::location::{Location, SNAP_DIR};
use super::subvol::Subvol;

/// The snapshots of `loc`'s subvolume in `.drpilot-snap`, oldest first.
pub fn snapshots<'a>(all: &'a [Subvol], loc: &Location) -> Vec<&'a Subvol> {
    let mut v: Vec<&Subvol> = all
        .iter()
        .filter(|s| {
            s.path
                .strip_prefix(SNAP_DIR)
                .and_then(|r| r.strip_prefix('/'))
                .is_some_and(|name| !name.contains('/') && loc.snap_id(name).is_some())
        })
        .collect();
    v.sort_by_key(|s| s.age_key());
    v
}

/// The live subvolumes of `loc` moved aside by promotions, oldest first.
pub fn replaced<'a>(all: &'a [Subvol], loc: &Location) -> Vec<&'a Subvol> {
    let mut v: Vec<&Subvol> = all
        .iter()
        .filter(|s| {
            s.path
                .strip_prefix(SNAP_DIR)
                .and_then(|r| r.strip_prefix('/'))
                .is_some_and(|name| !name.contains('/') && loc.is_replaced(name))
        })
        .collect();
    v.sort_by_key(|s| s.age_key());
    v
}

/// The live subvolume of `loc`, at the top level.
pub fn live<'a>(all: &'a [Subvol], loc: &Location) -> Option<&'a Subvol> {
    all.iter().find(|s| s.path == loc.subvol)
}

/// Whether a local and a remote snapshot hold the same data: one was received from the other,
/// or both were received from the same third one.
pub fn same_image(local: &Subvol, remote: &Subvol) -> bool {
    let eq = |a: &Option<String>, b: &str| a.as_deref() == Some(b);
    eq(&remote.received_uuid, &local.uuid)
        || eq(&local.received_uuid, &remote.uuid)
        || (local.received_uuid.is_some() && local.received_uuid == remote.received_uuid)
}

/// The newest local snapshot the target also holds: the parent of an incremental send.
pub fn common_parent<'a>(local: &[&'a Subvol], remote: &[Subvol]) -> Option<&'a Subvol> {
    local
        .iter()
        .rev()
        .find(|l| remote.iter().any(|r| same_image(l, r)))
        .copied()
}

/// The snapshots rotation deletes: those older than `current` (the one just sent or received)
/// that are not in `keep` (the newest common snapshot with each other peer).
pub fn rotation<'a>(
    snaps: &[&'a Subvol],
    current: &str,
    keep: &BTreeSet<String>,
) -> Vec<&'a Subvol> {
    let Some(at) = snaps.iter().position(|s| s.name() == current) else {
        return Vec::new();
    };
    snaps[..at]
        .iter()
        .filter(|s| !keep.contains(s.name()))
        .copied()
        .collect()
}

/// What a start must do with the replica before the filesystems mount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Promotion {
    /// No snapshot here: the live subvolume is used as it is.
    NoSnapshot,
    /// The newest snapshot was taken here: this node was the source, its live data is current.
    SourceHere {
        /// The newest snapshot.
        newest: String,
    },
    /// The live subvolume was already made from the newest (received) snapshot.
    AlreadyLive {
        /// The newest snapshot.
        newest: String,
    },
    /// The newest snapshot was received and the live subvolume is older (or missing): make it live.
    Promote {
        /// The received snapshot to make live.
        from: String,
        /// A live subvolume exists and must be moved aside first.
        replace_live: bool,
    },
}

/// Decides the promotion from the snapshots (oldest first) and the live subvolume.
pub fn promotion(snaps: &[&Subvol], live: Option<&Subvol>) -> Promotion {
    let Some(newest) = snaps.last() else {
        return Promotion::NoSnapshot;
    };
    let name = newest.name().to_string();
    if newest.received_uuid.is_none() {
        return Promotion::SourceHere { newest: name };
    }
    match live {
        Some(l) if l.parent_uuid.as_deref() == Some(newest.uuid.as_str()) => {
            Promotion::AlreadyLive { newest: name }
        }
        _ => Promotion::Promote {
            from: name,
            replace_live: live.is_some(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sv(id: u64, path: &str, uuid: &str, parent: Option<&str>, received: Option<&str>) -> Subvol {
        Subvol {
            id,
            cgen: id,
            uuid: uuid.to_string(),
            parent_uuid: parent.map(str::to_string),
            received_uuid: received.map(str::to_string),
            path: path.to_string(),
        }
    }

    fn loc() -> Location {
        Location::parse("/dev/sdb:root").unwrap()
    }

    #[test]
    fn snapshots_are_this_subvolumes_only_oldest_first() {
        let all = vec![
            sv(260, ".drpilot-snap/root@b", "u2", None, None),
            sv(256, "root", "live", None, None),
            sv(257, ".drpilot-snap/root@a", "u1", None, None),
            sv(258, ".drpilot-snap/appdata@a", "x", None, None),
            sv(259, ".drpilot-snap/.incoming/root@c", "y", None, None),
            sv(
                261,
                ".drpilot-snap/root@replaced-20260101T000000Z",
                "z",
                None,
                None,
            ),
        ];
        let names: Vec<&str> = snapshots(&all, &loc()).iter().map(|s| s.name()).collect();
        assert_eq!(names, ["root@a", "root@b"]);
        let r: Vec<&str> = replaced(&all, &loc()).iter().map(|s| s.name()).collect();
        assert_eq!(r, ["root@replaced-20260101T000000Z"]);
        assert_eq!(live(&all, &loc()).map(|s| s.id), Some(256));
    }

    #[test]
    fn the_common_parent_is_the_newest_shared_image() {
        // deb1 sent a then b; deb2 received a and b (received_uuid = deb1's uuids).
        let l = [
            sv(1, ".drpilot-snap/root@a", "A1", None, None),
            sv(2, ".drpilot-snap/root@b", "B1", None, None),
            sv(3, ".drpilot-snap/root@c", "C1", None, None),
        ];
        let local: Vec<&Subvol> = l.iter().collect();
        let remote = vec![
            sv(7, ".drpilot-snap/root@a", "A2", None, Some("A1")),
            sv(8, ".drpilot-snap/root@b", "B2", None, Some("B1")),
        ];
        assert_eq!(
            common_parent(&local, &remote).map(|s| s.name()),
            Some("root@b")
        );
        assert_eq!(common_parent(&local, &[]), None);
        let strangers = vec![sv(9, ".drpilot-snap/root@z", "Z", None, Some("Q"))];
        assert_eq!(common_parent(&local, &strangers), None);
    }

    #[test]
    fn failback_finds_the_snapshot_production_sent() {
        // deb2 received n from deb1 (uuid N1) and took m of its promoted live subvolume.
        let l = [
            sv(1, ".drpilot-snap/root@n", "N2", Some("I"), Some("N1")),
            sv(2, ".drpilot-snap/root@m", "M2", Some("L2"), None),
        ];
        let local: Vec<&Subvol> = l.iter().collect();
        let prod = vec![sv(5, ".drpilot-snap/root@n", "N1", Some("L1"), None)];
        assert_eq!(
            common_parent(&local, &prod).map(|s| s.name()),
            Some("root@n")
        );
        // Both received the same image from a third node.
        let third = vec![sv(6, ".drpilot-snap/root@n", "N3", None, Some("N1"))];
        assert_eq!(
            common_parent(&local, &third).map(|s| s.name()),
            Some("root@n")
        );
    }

    #[test]
    fn rotation_keeps_the_current_the_newer_and_the_other_peers_commons() {
        let l = [
            sv(1, ".drpilot-snap/root@a", "A", None, None),
            sv(2, ".drpilot-snap/root@b", "B", None, None),
            sv(3, ".drpilot-snap/root@c", "C", None, None),
            sv(4, ".drpilot-snap/root@d", "D", None, None),
            sv(5, ".drpilot-snap/root@e", "E", None, None),
        ];
        let snaps: Vec<&Subvol> = l.iter().collect();
        let keep: BTreeSet<String> = ["root@b".to_string()].into();
        let gone: Vec<&str> = rotation(&snaps, "root@d", &keep)
            .iter()
            .map(|s| s.name())
            .collect();
        assert_eq!(gone, ["root@a", "root@c"]);
        assert!(rotation(&snaps, "root@zz", &keep).is_empty());
    }

    #[test]
    fn promotion_only_for_a_newer_received_snapshot() {
        let received = sv(3, ".drpilot-snap/root@n", "N2", Some("I"), Some("N1"));
        let local = sv(2, ".drpilot-snap/root@m", "M", Some("L"), None);
        let live_old = sv(1, "root", "L", None, None);
        let live_new = sv(4, "root", "L2", Some("N2"), None);
        assert_eq!(promotion(&[], Some(&live_old)), Promotion::NoSnapshot);
        assert_eq!(
            promotion(&[&received, &local], Some(&live_old)),
            Promotion::SourceHere {
                newest: "root@m".into()
            }
        );
        assert_eq!(
            promotion(&[&local, &received], Some(&live_old)),
            Promotion::Promote {
                from: "root@n".into(),
                replace_live: true
            }
        );
        assert_eq!(
            promotion(&[&received], None),
            Promotion::Promote {
                from: "root@n".into(),
                replace_live: false
            }
        );
        assert_eq!(
            promotion(&[&received], Some(&live_new)),
            Promotion::AlreadyLive {
                newest: "root@n".into()
            }
        );
    }
}

//! Which status group a resource belongs to, and the order rows are displayed in.

use std::cmp::Ordering;

/// Display order of the avail groups. The seed shows container, disk (vg), fs, ip; the lead chose
/// alphabetical order, which agrees with the seed for every group it shows.
const AVAIL_GROUP_ORDER: [&str; 6] = ["container", "disk", "fs", "ip", "share", "app"];

/// The status group of a resource id (`fs#1` -> `fs`, `vg#1` -> `disk`); it decides which of
/// avail / sync / hb the resource counts in. Unknown prefixes count as `app`.
pub fn group_of(rid: &str) -> &'static str {
    let prefix = rid.split('#').next().unwrap_or(rid);
    match prefix {
        "container" => "container",
        "vg" | "disk" | "pool" | "zpool" | "drbd" | "loop" | "scsireserv" => "disk",
        "fs" => "fs",
        "ip" => "ip",
        "share" | "nfs" => "share",
        "sync" => "sync",
        "hb" => "hb",
        _ => "app",
    }
}

/// The three blocks of the tree, in display order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Block {
    /// Everything counted in `avail`.
    Avail,
    /// Data and config replication.
    Sync,
    /// Heartbeats (always `n/a` here: drpilot runs no cluster heartbeat), kept for OpenSVC's
    /// tree shape.
    Hb,
}

/// The block a resource id is displayed (and counted) in.
pub(crate) fn block_of(rid: &str) -> Block {
    match group_of(rid) {
        "sync" => Block::Sync,
        "hb" => Block::Hb,
        _ => Block::Avail,
    }
}

/// Total display order of two resource ids: block, then avail group, then natural rid order
/// with numeric ids before the internal ones (`sync#2` < `sync#10` < `sync#i0`).
pub(crate) fn display_cmp(a: &str, b: &str) -> Ordering {
    block_of(a)
        .cmp(&block_of(b))
        .then_with(|| group_rank(a).cmp(&group_rank(b)))
        .then_with(|| rid_cmp(a, b))
}

fn group_rank(rid: &str) -> usize {
    let group = group_of(rid);
    AVAIL_GROUP_ORDER
        .iter()
        .position(|g| *g == group)
        .unwrap_or(AVAIL_GROUP_ORDER.len())
}

fn rid_cmp(a: &str, b: &str) -> Ordering {
    let (pa, ia) = a.split_once('#').unwrap_or((a, ""));
    let (pb, ib) = b.split_once('#').unwrap_or((b, ""));
    let numeric = |id: &str| !id.is_empty() && id.bytes().all(|c| c.is_ascii_digit());
    pa.cmp(pb)
        .then_with(|| numeric(ib).cmp(&numeric(ia)))
        .then_with(|| natural_cmp(ia, ib))
        .then_with(|| a.cmp(b))
}

/// Compares strings with digit runs compared as numbers (`i2` < `i10`).
fn natural_cmp(a: &str, b: &str) -> Ordering {
    let (mut a, mut b) = (a, b);
    loop {
        match (a.chars().next(), b.chars().next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(ca), Some(cb)) if ca.is_ascii_digit() && cb.is_ascii_digit() => {
                let (na, ra) = split_digits(a);
                let (nb, rb) = split_digits(b);
                let ord = na
                    .trim_start_matches('0')
                    .len()
                    .cmp(&nb.trim_start_matches('0').len())
                    .then_with(|| na.trim_start_matches('0').cmp(nb.trim_start_matches('0')))
                    .then_with(|| na.len().cmp(&nb.len()));
                if ord != Ordering::Equal {
                    return ord;
                }
                a = ra;
                b = rb;
            }
            (Some(ca), Some(cb)) => {
                if ca != cb {
                    return ca.cmp(&cb);
                }
                a = &a[ca.len_utf8()..];
                b = &b[cb.len_utf8()..];
            }
        }
    }
}

fn split_digits(s: &str) -> (&str, &str) {
    let end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    s.split_at(end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_of_the_seed_rids() {
        assert_eq!(group_of("container#1"), "container");
        assert_eq!(group_of("vg#1"), "disk");
        assert_eq!(group_of("fs#2"), "fs");
        assert_eq!(group_of("ip#1"), "ip");
        assert_eq!(group_of("sync#i0"), "sync");
        assert_eq!(group_of("hb#1"), "hb");
        assert_eq!(group_of("app#1"), "app");
        assert_eq!(group_of("share#1"), "share");
        assert_eq!(group_of("whatever"), "app");
    }

    #[test]
    fn display_order_follows_the_seed() {
        let mut rids = vec![
            "hb#1",
            "sync#i1",
            "ip#1",
            "sync#10",
            "fs#10",
            "sync#i0",
            "fs#2",
            "vg#1",
            "sync#2",
            "container#1",
            "fs#1",
            "app#1",
            "share#1",
            "sync#i10",
            "sync#i2",
        ];
        rids.sort_by(|a, b| display_cmp(a, b));
        assert_eq!(
            rids,
            vec![
                "container#1",
                "vg#1",
                "fs#1",
                "fs#2",
                "fs#10",
                "ip#1",
                "share#1",
                "app#1",
                "sync#2",
                "sync#10",
                "sync#i0",
                "sync#i1",
                "sync#i2",
                "sync#i10",
                "hb#1",
            ]
        );
    }

    #[test]
    fn natural_cmp_handles_leading_zeros_and_text() {
        assert_eq!(natural_cmp("2", "10"), Ordering::Less);
        assert_eq!(natural_cmp("010", "9"), Ordering::Greater);
        assert_eq!(natural_cmp("01", "1"), Ordering::Greater);
        assert_eq!(natural_cmp("a", "b"), Ordering::Less);
        assert_eq!(natural_cmp("", "a"), Ordering::Less);
    }
}

//! Service aggregation: turns resource statuses into the avail / sync / hb / overall statuses
//! and puts the rows in display order (as OpenSVC's, checked against the trees of the OpenSVC
//! tutorial).

use super::group::{block_of, display_cmp, Block};
use super::{ResourceStatus, ServiceStatus, Status, SyncInfo, SCHEMA_VERSION};

/// Builds a service's status from its resources' statuses, in any order.
///
/// * `avail` merges every resource that is not sync/hb (starting from `n/a`); SUWU then shows
///   as `up` and SUWD as `stdby up`.
/// * `sync` and `hb` merge their resources, `n/a` when there are none.
/// * `overall` starts from `avail` merged with `hb`; each sync resource then adds nothing when
///   `up`, itself when `n/a`/`undef`, `warn` otherwise.
///
/// Rows are sorted for display: avail groups (see [`super::group_of`]), rids in natural order,
/// then sync (numeric ids first, then `sync#i0`, `sync#i1`), then hb.
pub fn aggregate(
    service: &str,
    node: &str,
    updated: String,
    mut resources: Vec<ResourceStatus>,
    syncs: Vec<SyncInfo>,
) -> ServiceStatus {
    resources.sort_by(|a, b| display_cmp(&a.rid, &b.rid));

    let mut avail = Status::NotApplicable;
    let mut sync = Status::NotApplicable;
    let mut hb = Status::NotApplicable;
    for r in &resources {
        match block_of(&r.rid) {
            Block::Avail => avail = avail.merge(r.status),
            Block::Sync => sync = sync.merge(r.status),
            Block::Hb => hb = hb.merge(r.status),
        }
    }
    let avail = avail.displayed();

    let mut overall = avail.merge(hb);
    for r in resources.iter().filter(|r| block_of(&r.rid) == Block::Sync) {
        overall = overall.merge(sync_contribution(r.status));
    }

    ServiceStatus {
        reported: Default::default(),
        schema: SCHEMA_VERSION,
        service: service.to_string(),
        node: node.to_string(),
        updated,
        // Internal values are folded so the document survives a JSON round trip unchanged.
        overall: overall.displayed(),
        avail,
        sync: sync.displayed(),
        hb: hb.displayed(),
        resources,
        syncs,
    }
}

/// What one sync resource adds to `overall`: replication is expected to be up.
fn sync_contribution(status: Status) -> Status {
    match status {
        Status::Up => Status::Undef,
        Status::NotApplicable | Status::Undef => status,
        _ => Status::Warn,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::Flags;

    fn res(rid: &str, status: Status) -> ResourceStatus {
        ResourceStatus {
            provisioned: None,
            rid: rid.to_string(),
            type_name: String::new(),
            label: String::new(),
            status,
            flags: Flags::default(),
            standby: false,
            comments: Vec::new(),
        }
    }

    fn agg(list: &[(&str, Status)]) -> ServiceStatus {
        let rs = list.iter().map(|(rid, s)| res(rid, *s)).collect();
        aggregate("svc", "node", "2014-06-06T15:08:25Z".into(), rs, Vec::new())
    }

    #[test]
    fn empty_service_is_all_na() {
        let s = agg(&[]);
        assert_eq!(
            (s.overall, s.avail, s.sync, s.hb),
            (
                Status::NotApplicable,
                Status::NotApplicable,
                Status::NotApplicable,
                Status::NotApplicable
            )
        );
        assert_eq!(s.schema, 1);
    }

    #[test]
    fn standby_node_is_stdby_up() {
        use Status::*;
        let s = agg(&[
            ("ip#1", Down),
            ("vg#1", StdbyUp),
            ("fs#1", Down),
            ("container#1", Down),
            ("sync#i1", NotApplicable),
            ("sync#1", Up),
        ]);
        assert_eq!((s.avail, s.overall, s.sync), (StdbyUp, StdbyUp, Up));
    }

    #[test]
    fn standby_with_up_shows_up() {
        use Status::*;
        let s = agg(&[("vg#1", StdbyUp), ("fs#1", Up), ("sync#i0", NotApplicable)]);
        assert_eq!((s.avail, s.overall), (Up, Up));
    }

    #[test]
    fn failing_sync_warns_overall_only() {
        use Status::*;
        let s = agg(&[("fs#1", Up), ("sync#1", Down)]);
        assert_eq!((s.avail, s.sync, s.overall), (Up, Down, Warn));
        let s = agg(&[("fs#1", Up), ("sync#1", StdbyUp)]);
        assert_eq!(s.overall, Warn);
    }

    #[test]
    fn hb_counts_in_overall_not_avail() {
        use Status::*;
        let s = agg(&[("fs#1", Up), ("hb#1", Down)]);
        assert_eq!((s.avail, s.hb, s.overall), (Up, Down, Warn));
    }

    #[test]
    fn internal_values_never_leak() {
        use Status::*;
        let s = agg(&[("fs#1", Down), ("hb#1", StdbyUp)]);
        assert_eq!(s.overall, StdbyUp);
        assert_eq!(s.hb, StdbyUp);
    }
}

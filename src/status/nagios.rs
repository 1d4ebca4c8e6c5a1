//! `print status --exit-code`: a service's status as a Nagios plugin's exit code, so Nagios,
//! Icinga or any check runner watches a node without parsing the tree.
//!
//! | avail (overall) | production node | DRP node |
//! |---|---|---|
//! | up | 0 (1 when overall is warn: a sync late or failing) | same |
//! | warn | 1 | 1 |
//! | down, stdby up | 2: the service does not run where it should | 0: its normal state there (1 when overall is warn) |
//! | stdby down | 2 | 1: the standby resources kept for replication are down (`startstandby`) |
//! | n/a, undefined | 3 | 3 |

use super::{ServiceStatus, Status};

/// A Nagios plugin's verdict, worst last in [`Nagios::worse`]'s order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nagios {
    /// 0: as it should be.
    Ok,
    /// 1: needs attention.
    Warning,
    /// 2: the service is not available.
    Critical,
    /// 3: drpilot cannot tell (no status, a broken config).
    Unknown,
}

impl Nagios {
    /// The process exit code.
    pub fn code(self) -> u8 {
        match self {
            Nagios::Ok => 0,
            Nagios::Warning => 1,
            Nagios::Critical => 2,
            Nagios::Unknown => 3,
        }
    }

    fn rank(self) -> u8 {
        match self {
            Nagios::Ok => 0,
            Nagios::Unknown => 1,
            Nagios::Warning => 2,
            Nagios::Critical => 3,
        }
    }

    /// The worse of two verdicts, for several services in one check: critical, then warning,
    /// then unknown, then ok.
    pub fn worse(self, other: Nagios) -> Nagios {
        if other.rank() > self.rank() {
            other
        } else {
            self
        }
    }
}

/// The verdict for one service's status on this node; `on_drp_node` when this node is in the
/// service's `drpnodes` (where not running it is normal).
pub fn verdict(st: &ServiceStatus, on_drp_node: bool) -> Nagios {
    let attention = st.overall.displayed() == Status::Warn;
    let ok_unless_attention = if attention {
        Nagios::Warning
    } else {
        Nagios::Ok
    };
    match st.avail.displayed() {
        Status::Up => ok_unless_attention,
        Status::Warn => Nagios::Warning,
        Status::Down | Status::StdbyUp if on_drp_node => ok_unless_attention,
        Status::StdbyDown if on_drp_node => Nagios::Warning,
        Status::Down | Status::StdbyUp | Status::StdbyDown => Nagios::Critical,
        _ => Nagios::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn st(avail: Status, overall: Status) -> ServiceStatus {
        ServiceStatus {
            reported: Default::default(),
            schema: super::super::SCHEMA_VERSION,
            service: "svc".into(),
            node: "n".into(),
            updated: String::new(),
            overall,
            avail,
            sync: Status::NotApplicable,
            hb: Status::NotApplicable,
            resources: Vec::new(),
            syncs: Vec::new(),
        }
    }

    #[test]
    fn standby_on_a_drp_node_is_ok_and_down_on_production_is_critical() {
        use Status::*;
        let cases = [
            (Up, Up, false, Nagios::Ok),
            (Up, Warn, false, Nagios::Warning),
            (Warn, Warn, true, Nagios::Warning),
            (Down, Down, false, Nagios::Critical),
            (Down, Down, true, Nagios::Ok),
            (StdbyUp, StdbyUp, true, Nagios::Ok),
            (StdbyUp, Warn, true, Nagios::Warning),
            (StdbyUp, StdbyUp, false, Nagios::Critical),
            (StdbyDown, StdbyDown, true, Nagios::Warning),
            (NotApplicable, NotApplicable, true, Nagios::Unknown),
        ];
        for (avail, overall, drp, want) in cases {
            assert_eq!(
                verdict(&st(avail, overall), drp),
                want,
                "{avail:?} drp={drp}"
            );
        }
        assert_eq!(Nagios::Unknown.worse(Nagios::Critical), Nagios::Critical);
        assert_eq!(Nagios::Warning.worse(Nagios::Unknown), Nagios::Warning);
        assert_eq!(Nagios::Ok.worse(Nagios::Unknown), Nagios::Unknown);
    }
}

//! Replica age: how old each sync's last success is against its `sync_max_delay`, and "RPO now"
//! (the oldest replica of a service), so the operator sees how much would be lost right now.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::nodes::SvcEntry;

/// The age of one sync resource's replica.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplicaAge {
    /// The sync resource id, e.g. `sync#1`.
    pub rid: String,
    /// Time since the last successful sync ended; `None` when it never ran.
    pub age: Option<Duration>,
    /// The resource's `sync_max_delay`.
    pub max: Duration,
}

impl ReplicaAge {
    /// Past its limit (or never synced): a warning the operator must see.
    pub fn over(&self) -> bool {
        self.age.is_none_or(|a| a > self.max)
    }

    /// "12s" or "never".
    pub fn age_text(&self) -> String {
        self.age.map(short).unwrap_or_else(|| "never".into())
    }
}

/// Every sync resource of a service with the most recent success any node reports for it.
pub fn replica_ages(svc: &SvcEntry, now: DateTime<Utc>) -> Vec<ReplicaAge> {
    let mut out: Vec<ReplicaAge> = Vec::new();
    for st in svc.status.values() {
        for s in &st.syncs {
            let age = s.last_sync.as_deref().and_then(|t| age_of(t, now));
            let max = Duration::from_secs(s.max_delay_s);
            match out.iter_mut().find(|r| r.rid == s.rid) {
                Some(r) => {
                    r.age = match (r.age, age) {
                        (Some(a), Some(b)) => Some(a.min(b)),
                        (a, b) => a.or(b),
                    };
                    r.max = r.max.min(max);
                }
                None => out.push(ReplicaAge {
                    rid: s.rid.clone(),
                    age,
                    max,
                }),
            }
        }
    }
    out.sort_by(|a, b| a.rid.cmp(&b.rid));
    out
}

/// The service's "RPO now": its oldest replica (a never-synced one first); `None` without syncs.
pub fn rpo_now(svc: &SvcEntry, now: DateTime<Utc>) -> Option<ReplicaAge> {
    replica_ages(svc, now)
        .into_iter()
        .max_by_key(|r| r.age.unwrap_or(Duration::MAX))
}

/// The age of an RFC 3339 time; an unreadable time gives `None` (read as never, fail closed).
pub fn age_of(rfc3339: &str, now: DateTime<Utc>) -> Option<Duration> {
    let t = DateTime::parse_from_rfc3339(rfc3339).ok()?;
    (now - t.with_timezone(&Utc))
        .to_std()
        .ok()
        .or(Some(Duration::ZERO))
}

/// A limit in its largest whole unit: `1h`, `90m`, `1d`.
pub fn limit(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        _ if s >= 86400 && s.is_multiple_of(86400) => format!("{}d", s / 86400),
        _ if s >= 3600 && s.is_multiple_of(3600) => format!("{}h", s / 3600),
        _ if s >= 60 && s.is_multiple_of(60) => format!("{}m", s / 60),
        _ => format!("{s}s"),
    }
}

/// A duration in one unit, rounded down, for narrow columns: `42s`, `3m`, `2h`, `4d`.
pub fn coarse(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m", s / 60),
        3600..86400 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86400),
    }
}

/// A duration in at most two units: `42s`, `3m05s`, `2h10m`, `4d3h`.
pub fn short(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m{:02}s", s / 60, s % 60),
        3600..86400 => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d{}h", s / 86400, s % 86400 / 3600),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::{aggregate, SyncInfo};

    fn svc(syncs: &[(&str, &str, Option<&str>, u64)]) -> SvcEntry {
        let mut e = SvcEntry {
            name: "busybox".into(),
            nodes: vec!["deb1".into()],
            drpnodes: vec!["deb2".into()],
            ..Default::default()
        };
        for (node, rid, last, max) in syncs {
            let st = e.status.entry(node.to_string()).or_insert_with(|| {
                aggregate(
                    "busybox",
                    node,
                    "2026-11-24T17:00:00Z".into(),
                    vec![],
                    vec![],
                )
            });
            st.syncs.push(SyncInfo {
                rid: rid.to_string(),
                last_sync: last.map(str::to_string),
                max_delay_s: *max,
            });
        }
        e
    }

    fn at(t: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(t).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn rpo_now_is_the_oldest_replica_and_an_age_past_its_limit_is_a_warning() {
        let s = svc(&[
            ("deb1", "sync#1", Some("2026-11-24T16:59:50Z"), 60),
            ("deb2", "sync#1", Some("2026-11-24T16:50:00Z"), 60),
            ("deb1", "sync#2", Some("2026-11-24T16:58:00Z"), 60),
        ]);
        let now = at("2026-11-24T17:00:00Z");
        let ages = replica_ages(&s, now);
        assert_eq!(
            ages[0].age,
            Some(Duration::from_secs(10)),
            "the latest success wins"
        );
        assert!(!ages[0].over());
        let rpo = rpo_now(&s, now).unwrap();
        assert_eq!(rpo.rid, "sync#2");
        assert_eq!(rpo.age_text(), "2m00s");
        assert!(rpo.over(), "120s is past a 60s limit");
        let never = svc(&[
            ("deb1", "sync#1", None, 60),
            ("deb1", "sync#2", Some("2026-11-24T16:59:59Z"), 60),
        ]);
        let rpo = rpo_now(&never, now).unwrap();
        assert_eq!((rpo.rid.as_str(), rpo.over()), ("sync#1", true));
        assert_eq!(rpo.age_text(), "never");
    }
}

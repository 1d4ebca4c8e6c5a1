//! Renders a node's facts as metrics text: OpenMetrics 1.0.0 (`# TYPE`, `# UNIT`, `# HELP`,
//! counters sampled as `_total`, `# EOF`), or the Prometheus text format 0.0.4 that
//! node_exporter's textfile collector and `promtool check metrics` read (the same series; the
//! counter families are named with their `_total`, and there is no `# UNIT` nor `# EOF`).
//! A pure function of the facts: the same facts give the same text.

use std::fmt::Write;

use chrono::{DateTime, Utc};

use super::collect::NodeFacts;
use crate::status::Status;

/// The content type of the OpenMetrics rendering, as the daemon's endpoint sends it.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The content type of the Prometheus text rendering.
pub const TEXT_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// A daemon whose heartbeat is older than this is reported down (`drpilot_daemon_up 0`).
pub const DAEMON_STALE_AFTER_S: f64 = 120.0;

/// The states a service's `avail` and `overall` can take, one series each.
pub const STATES: [Status; 7] = [
    Status::Up,
    Status::Warn,
    Status::Down,
    Status::StdbyUp,
    Status::StdbyDown,
    Status::NotApplicable,
    Status::Undef,
];

/// Which text format to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    /// OpenMetrics 1.0.0 (what Prometheus asks a scrape target for).
    #[default]
    Openmetrics,
    /// The Prometheus text format 0.0.4 (node_exporter's textfile collector, promtool).
    Prometheus,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Gauge,
    Counter,
    /// OpenMetrics' info type (a gauge of 1 named `_info` in the text format).
    Info,
}

/// One metric family: its name (without `_total` for a counter), type, unit, help and samples.
struct Family {
    name: &'static str,
    kind: Kind,
    unit: Option<&'static str>,
    help: &'static str,
    samples: Vec<(Vec<(&'static str, String)>, f64)>,
}

impl Family {
    fn new(name: &'static str, kind: Kind, unit: Option<&'static str>, help: &'static str) -> Self {
        Self {
            name,
            kind,
            unit,
            help,
            samples: Vec::new(),
        }
    }

    fn add(&mut self, labels: Vec<(&'static str, String)>, value: f64) {
        self.samples.push((labels, value));
    }
}

/// Escapes a label value: backslash, double quote and line feed.
pub fn escape_label(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// Escapes a help text: backslash and line feed (OpenMetrics also escapes the double quote,
/// which the text format would print as is: help texts here have none).
fn escape_help(value: &str) -> String {
    value.replace('\\', "\\\\").replace('\n', "\\n")
}

/// A sample value: integers without a fraction, and the spellings both formats accept.
fn number(v: f64) -> String {
    if v.is_nan() {
        "NaN".to_string()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.to_string()
    } else {
        format!("{v}")
    }
}

/// Seconds since the epoch of an RFC 3339 time.
fn epoch(text: &str) -> Option<f64> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc).timestamp_millis() as f64 / 1000.0)
}

/// Seconds from `then` to `now`, never negative (a clock step back is not a negative age).
fn age(now: DateTime<Utc>, then: f64) -> f64 {
    let ms = (now.timestamp_millis() as f64 - then * 1000.0).round();
    ms.max(0.0) / 1000.0
}

fn write_family(out: &mut String, f: &Family, format: Format) {
    if f.samples.is_empty() {
        return;
    }
    let sample_name = match f.kind {
        Kind::Counter => format!("{}_total", f.name),
        Kind::Info => format!("{}_info", f.name),
        Kind::Gauge => f.name.to_string(),
    };
    let (family_name, kind) = match (format, f.kind) {
        (Format::Openmetrics, Kind::Counter) => (f.name.to_string(), "counter"),
        (Format::Openmetrics, Kind::Info) => (f.name.to_string(), "info"),
        (Format::Prometheus, Kind::Counter) => (sample_name.clone(), "counter"),
        (Format::Prometheus, Kind::Info) => (sample_name.clone(), "gauge"),
        (_, Kind::Gauge) => (f.name.to_string(), "gauge"),
    };
    let _ = writeln!(out, "# TYPE {family_name} {kind}");
    if let (Format::Openmetrics, Some(unit)) = (format, f.unit) {
        let _ = writeln!(out, "# UNIT {family_name} {unit}");
    }
    let _ = writeln!(out, "# HELP {family_name} {}", escape_help(f.help));
    for (labels, value) in &f.samples {
        out.push_str(&sample_name);
        if !labels.is_empty() {
            let parts: Vec<String> = labels
                .iter()
                .map(|(k, v)| format!("{k}=\"{}\"", escape_label(v)))
                .collect();
            let _ = write!(out, "{{{}}}", parts.join(","));
        }
        let _ = writeln!(out, " {}", number(*value));
    }
}

/// Renders the facts of a node in `format`.
pub fn render(facts: &NodeFacts, format: Format) -> String {
    use Kind::{Counter, Gauge, Info};
    let node = || ("node", facts.node.clone());
    let mut build = Family::new(
        "drpilot_build",
        Info,
        None,
        "The drpilot version running on the node (always 1).",
    );
    build.add(
        vec![("version", env!("CARGO_PKG_VERSION").to_string()), node()],
        1.0,
    );
    let mut errors = Family::new(
        "drpilot_metrics_read_errors",
        Gauge,
        None,
        "Files or configs the metrics could not read on this gathering (drpilot print metrics names them).",
    );
    errors.add(vec![node()], facts.errors.len() as f64);

    let mut loaded = Family::new(
        "drpilot_service_config_ok",
        Gauge,
        None,
        "1 when the service's config loads on the node, 0 when it does not (its status is unknown).",
    );
    let mut avail = Family::new(
        "drpilot_service_avail",
        Gauge,
        None,
        "The service's availability on the node: 1 for its state, 0 for the others.",
    );
    let mut overall = Family::new(
        "drpilot_service_overall",
        Gauge,
        None,
        "The service's overall state on the node (availability with syncs and heartbeats): 1 for its state, 0 for the others.",
    );
    let mut last_success = Family::new(
        "drpilot_sync_last_success_timestamp_seconds",
        Gauge,
        Some("seconds"),
        "When the sync resource's last successful sync ended, seconds since the epoch.",
    );
    let mut sync_age = Family::new(
        "drpilot_sync_age_seconds",
        Gauge,
        Some("seconds"),
        "Age of the replica: seconds since the sync resource's last successful sync ended.",
    );
    let mut max_delay = Family::new(
        "drpilot_sync_max_delay_seconds",
        Gauge,
        Some("seconds"),
        "The sync resource's sync_max_delay: the age past which the replica is too old.",
    );
    let mut transfer_bytes = Family::new(
        "drpilot_sync_last_transfer_bytes",
        Gauge,
        Some("bytes"),
        "Bytes sent by the sync resource's last completed transfer from this node.",
    );
    let mut transfer_seconds = Family::new(
        "drpilot_sync_last_transfer_duration_seconds",
        Gauge,
        Some("seconds"),
        "Duration of the sync resource's last completed transfer from this node.",
    );
    let mut sync_failures = Family::new(
        "drpilot_sync_failures",
        Counter,
        None,
        "Scheduled syncs of the sync resource that failed after their retries (from the daemon).",
    );
    let mut actions = Family::new(
        "drpilot_actions",
        Counter,
        None,
        "Actions of the verb that ended on the node.",
    );
    let mut action_failures = Family::new(
        "drpilot_action_failures",
        Counter,
        None,
        "Actions of the verb that failed on the node.",
    );
    let mut action_seconds = Family::new(
        "drpilot_action_duration_seconds",
        Counter,
        Some("seconds"),
        "Total time spent in actions of the verb on the node.",
    );
    let mut action_last_seconds = Family::new(
        "drpilot_action_last_duration_seconds",
        Gauge,
        Some("seconds"),
        "Duration of the last action of the verb on the node.",
    );
    let mut action_last_end = Family::new(
        "drpilot_action_last_end_timestamp_seconds",
        Gauge,
        Some("seconds"),
        "When the last action of the verb ended, seconds since the epoch.",
    );

    for s in &facts.services {
        let svc = || ("service", s.name.clone());
        loaded.add(vec![svc(), node()], f64::from(u8::from(s.status.is_some())));
        if let Some(st) = &s.status {
            for state in STATES {
                let labels = vec![svc(), node(), ("state", state.word().to_string())];
                let is = |v: Status| f64::from(u8::from(v.displayed() == state));
                avail.add(labels.clone(), is(st.avail));
                overall.add(labels, is(st.overall));
            }
            for sync in &st.syncs {
                let labels = || vec![svc(), node(), ("rid", sync.rid.clone())];
                max_delay.add(labels(), sync.max_delay_s as f64);
                if let Some(t) = sync.last_sync.as_deref().and_then(epoch) {
                    last_success.add(labels(), t);
                    sync_age.add(labels(), age(facts.now, t));
                }
                if let Some(t) = s.transfers.get(&sync.rid) {
                    transfer_bytes.add(labels(), t.bytes as f64);
                    transfer_seconds.add(labels(), t.seconds);
                }
                let job = facts
                    .daemon
                    .as_ref()
                    .and_then(|d| d.jobs.get(&s.name))
                    .and_then(|jobs| jobs.get(&sync.rid));
                if let Some(job) = job {
                    sync_failures.add(labels(), job.failures as f64);
                }
            }
        }
        for (verb, c) in s.counters.iter().flat_map(|c| &c.verbs) {
            let labels = || vec![svc(), node(), ("verb", verb.clone())];
            actions.add(labels(), c.count as f64);
            action_failures.add(labels(), c.failures as f64);
            action_seconds.add(labels(), c.seconds_total);
            action_last_seconds.add(labels(), c.last_seconds);
            if let Some(t) = epoch(&c.last_end) {
                action_last_end.add(labels(), t);
            }
        }
    }

    let mut daemon_up = Family::new(
        "drpilot_daemon_up",
        Gauge,
        None,
        "1 when the node's daemon wrote its state less than 120 s ago, else 0.",
    );
    let mut heartbeat = Family::new(
        "drpilot_daemon_heartbeat_timestamp_seconds",
        Gauge,
        Some("seconds"),
        "When the daemon last wrote its state, seconds since the epoch.",
    );
    let mut started = Family::new(
        "drpilot_daemon_start_time_seconds",
        Gauge,
        Some("seconds"),
        "When the daemon started, seconds since the epoch.",
    );
    let mut runs = Family::new(
        "drpilot_daemon_job_runs",
        Counter,
        None,
        "Runs of the daemon's scheduled job.",
    );
    let mut skips = Family::new(
        "drpilot_daemon_job_skips",
        Counter,
        None,
        "Times the daemon's scheduled job was due but skipped (each is logged with its reason).",
    );
    let mut job_failures = Family::new(
        "drpilot_daemon_job_failures",
        Counter,
        None,
        "Runs of the daemon's scheduled job that failed after their retries.",
    );
    let mut job_success = Family::new(
        "drpilot_daemon_job_last_success_timestamp_seconds",
        Gauge,
        Some("seconds"),
        "When the daemon's scheduled job last succeeded, seconds since the epoch.",
    );
    let mut sent = Family::new(
        "drpilot_daemon_notifications_sent",
        Counter,
        None,
        "Notifications the daemon sent (exec hook or webhook).",
    );
    let mut failed = Family::new(
        "drpilot_daemon_notifications_failed",
        Counter,
        None,
        "Notifications that failed after their retries.",
    );
    let beat = facts.daemon.as_ref().and_then(|d| epoch(&d.heartbeat));
    let fresh = beat.is_some_and(|b| age(facts.now, b) < DAEMON_STALE_AFTER_S);
    daemon_up.add(vec![node()], f64::from(u8::from(fresh)));
    if let Some(d) = &facts.daemon {
        if let Some(b) = beat {
            heartbeat.add(vec![node()], b);
        }
        if let Some(t) = epoch(&d.started) {
            started.add(vec![node()], t);
        }
        for (svc, jobs) in &d.jobs {
            for (name, job) in jobs {
                let labels = || vec![("service", svc.clone()), node(), ("job", name.clone())];
                runs.add(labels(), job.runs as f64);
                skips.add(labels(), job.skipped as f64);
                job_failures.add(labels(), job.failures as f64);
                if let Some(t) = job.last_success.as_deref().and_then(epoch) {
                    job_success.add(labels(), t);
                }
            }
        }
        sent.add(vec![node()], d.notifications_sent as f64);
        failed.add(vec![node()], d.notifications_failed as f64);
    }

    let families = [
        build,
        errors,
        loaded,
        avail,
        overall,
        last_success,
        sync_age,
        max_delay,
        transfer_bytes,
        transfer_seconds,
        sync_failures,
        actions,
        action_failures,
        action_seconds,
        action_last_seconds,
        action_last_end,
        daemon_up,
        heartbeat,
        started,
        runs,
        skips,
        job_failures,
        job_success,
        sent,
        failed,
    ];
    let mut out = String::new();
    for f in &families {
        write_family(&mut out, f, format);
    }
    if format == Format::Openmetrics {
        out.push_str("# EOF\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agent::metrics::collect::ServiceFacts;
    use crate::protocol::node_state::{
        ActionCounters, DaemonState, LastTransfer, ScheduledJob, VerbCounter,
    };
    use crate::status::{ServiceStatus, SyncInfo};

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-12-01T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    fn status(name: &str, avail: Status) -> ServiceStatus {
        ServiceStatus {
            reported: Default::default(),
            schema: 1,
            service: name.to_string(),
            node: "deb1".to_string(),
            updated: "2026-12-01T12:00:00Z".to_string(),
            overall: avail,
            avail,
            sync: Status::Up,
            hb: Status::NotApplicable,
            resources: Vec::new(),
            syncs: vec![SyncInfo {
                rid: "sync#1".to_string(),
                last_sync: Some("2026-12-01T11:59:00Z".to_string()),
                max_delay_s: 3600,
            }],
        }
    }

    fn facts(name: &str, daemon: Option<DaemonState>) -> NodeFacts {
        let mut verbs = std::collections::BTreeMap::new();
        verbs.insert(
            "syncupdate".to_string(),
            VerbCounter {
                count: 3,
                failures: 1,
                seconds_total: 4.5,
                last_seconds: 1.5,
                last_end: "2026-12-01T11:59:00Z".to_string(),
            },
        );
        let mut transfers = std::collections::BTreeMap::new();
        transfers.insert(
            "sync#1".to_string(),
            LastTransfer {
                bytes: 58,
                seconds: 0.25,
                ended: "2026-12-01T11:59:00Z".to_string(),
            },
        );
        NodeFacts {
            node: "deb1".to_string(),
            now: now(),
            services: vec![ServiceFacts {
                name: name.to_string(),
                status: Some(status(name, Status::StdbyUpWithUp)),
                transfers,
                counters: Some(ActionCounters { verbs }),
            }],
            daemon,
            errors: Vec::new(),
        }
    }

    fn daemon(heartbeat: &str) -> DaemonState {
        let mut jobs = std::collections::BTreeMap::new();
        let mut per = std::collections::BTreeMap::new();
        per.insert(
            "sync#1".to_string(),
            ScheduledJob {
                runs: 5,
                skipped: 2,
                failures: 1,
                last_success: Some("2026-12-01T11:00:00Z".to_string()),
                ..ScheduledJob::default()
            },
        );
        jobs.insert("busybox".to_string(), per);
        DaemonState {
            pid: 42,
            started: "2026-12-01T10:00:00Z".to_string(),
            heartbeat: heartbeat.to_string(),
            jobs,
            notifications_sent: 7,
            notifications_failed: 1,
        }
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape_label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
        let text = render(&facts("we\"ird\\svc\nx", None), Format::Openmetrics);
        assert!(
            text.contains("service=\"we\\\"ird\\\\svc\\nx\""),
            "escaped service label missing:\n{text}"
        );
        assert!(
            text.lines().all(|l| !l.is_empty()),
            "a raw line feed split a line"
        );
    }

    #[test]
    fn openmetrics_ends_with_eof_and_the_text_format_does_not() {
        let om = render(&facts("busybox", None), Format::Openmetrics);
        assert!(om.ends_with("\n# EOF\n"), "{om}");
        assert_eq!(om.matches("# EOF").count(), 1);
        let text = render(&facts("busybox", None), Format::Prometheus);
        assert!(
            !text.contains("# EOF") && !text.contains("# UNIT"),
            "{text}"
        );
    }

    #[test]
    fn counters_are_sampled_with_total_and_typed_by_family() {
        for format in [Format::Openmetrics, Format::Prometheus] {
            let text = render(
                &facts("busybox", Some(daemon("2026-12-01T11:59:30Z"))),
                format,
            );
            let counters: Vec<&str> = text
                .lines()
                .filter_map(|l| l.strip_prefix("# TYPE "))
                .filter_map(|l| l.strip_suffix(" counter"))
                .collect();
            assert!(counters.len() >= 5, "{text}");
            for family in counters {
                let base = family.trim_end_matches("_total");
                let samples: Vec<&str> = text
                    .lines()
                    .filter(|l| !l.starts_with('#') && l.starts_with(base))
                    .filter(|l| l[base.len()..].starts_with(['_', '{', ' ']))
                    .collect();
                assert!(!samples.is_empty(), "{family} has no sample:\n{text}");
                for s in samples {
                    assert!(s.starts_with(&format!("{base}_total")), "{s}");
                }
                if format == Format::Openmetrics {
                    assert!(!family.ends_with("_total"), "{family}");
                } else {
                    assert!(family.ends_with("_total"), "{family}");
                }
            }
            assert!(
                text.contains(
                    "drpilot_action_duration_seconds_total{service=\"busybox\",node=\"deb1\",verb=\"syncupdate\"} 4.5"
                ),
                "{text}"
            );
        }
    }

    #[test]
    fn every_state_has_a_series_and_internal_states_show_as_what_they_mean() {
        let text = render(&facts("busybox", None), Format::Openmetrics);
        for state in STATES {
            let want = if state == Status::Up { 1 } else { 0 };
            let line = format!(
                "drpilot_service_avail{{service=\"busybox\",node=\"deb1\",state=\"{}\"}} {want}",
                state.word()
            );
            assert!(text.contains(&line), "missing {line}:\n{text}");
        }
        assert!(text.contains(
            "drpilot_sync_age_seconds{service=\"busybox\",node=\"deb1\",rid=\"sync#1\"} 60\n"
        ));
        assert!(text.contains("drpilot_sync_last_transfer_bytes{service=\"busybox\",node=\"deb1\",rid=\"sync#1\"} 58\n"));
    }

    #[test]
    fn the_daemon_is_up_only_with_a_fresh_heartbeat() {
        let none = render(&facts("busybox", None), Format::Openmetrics);
        assert!(none.contains("drpilot_daemon_up{node=\"deb1\"} 0\n"));
        assert!(!none.contains("drpilot_daemon_job_runs"));
        let fresh = render(
            &facts("busybox", Some(daemon("2026-12-01T11:59:30Z"))),
            Format::Openmetrics,
        );
        assert!(
            fresh.contains("drpilot_daemon_up{node=\"deb1\"} 1\n"),
            "{fresh}"
        );
        assert!(fresh.contains(
            "drpilot_daemon_job_failures_total{service=\"busybox\",node=\"deb1\",job=\"sync#1\"} 1\n"
        ));
        assert!(fresh.contains(
            "drpilot_sync_failures_total{service=\"busybox\",node=\"deb1\",rid=\"sync#1\"} 1\n"
        ));
        assert!(fresh.contains("drpilot_daemon_notifications_sent_total{node=\"deb1\"} 7\n"));
        let stale = render(
            &facts("busybox", Some(daemon("2026-12-01T11:50:00Z"))),
            Format::Openmetrics,
        );
        assert!(
            stale.contains("drpilot_daemon_up{node=\"deb1\"} 0\n"),
            "{stale}"
        );
    }

    #[test]
    fn numbers_use_the_spellings_of_the_format() {
        assert_eq!(number(3.0), "3");
        assert_eq!(number(0.25), "0.25");
        assert_eq!(number(f64::INFINITY), "+Inf");
        assert_eq!(number(f64::NAN), "NaN");
    }
}

//! `drpilot print metrics` and the metrics endpoint on the lab: the text passes `promtool check
//! metrics` with services in every state, the shipped alert rules pass `promtool check rules`,
//! the replica's age grows between syncs and falls after one, and the endpoint serves the text
//! `print metrics` prints.

mod support;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use drpilot::protocol::node_state::{ActionCounters, DaemonState, ScheduledJob, VerbCounter};
use support::{on_path, testbed_required, wait_until, Run, TestLab};

/// Whether `tool` is installed: says why the test skips otherwise, and fails instead under
/// `DRPILOT_REQUIRE_TESTBED=1` (CI installs it).
fn tool_ready(test: &str, tool: &str) -> bool {
    if on_path(tool) {
        return true;
    }
    assert!(
        !testbed_required(),
        "DRPILOT_REQUIRE_TESTBED=1 but {test}: {tool} is not installed (Debian's prometheus package)"
    );
    eprintln!("skipping {test}: {tool} is not installed (Debian's prometheus package)");
    false
}

/// `drpilot print metrics ARGS` as `node`.
fn metrics(lab: &TestLab, node: &str, args: &[&str]) -> Run {
    lab.node_cmd(node)
        .args(["print", "metrics"])
        .args(args)
        .output()
        .expect("run drpilot")
        .into()
}

/// `promtool ARGS` with `stdin`: its exit code and what it said.
fn promtool(args: &[&str], stdin: &str) -> (Option<i32>, String) {
    let mut child = Command::new("promtool")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run promtool");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), said)
}

/// The value of the one sample line starting with `series` (name and labels).
fn value(text: &str, series: &str) -> f64 {
    let hits: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix(series))
        .filter_map(|rest| rest.strip_prefix(' '))
        .collect();
    assert_eq!(hits.len(), 1, "{series} in:\n{text}");
    hits[0].parse().unwrap()
}

fn write_json(path: &Path, value: &impl serde::Serialize) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, serde_json::to_vec(value).unwrap()).unwrap();
}

/// deb1: the counters of two verbs, and a daemon that beat just now with a failing sync job.
fn write_node_state(lab: &TestLab) {
    let mut verbs = BTreeMap::new();
    verbs.insert(
        "syncupdate".to_string(),
        VerbCounter {
            count: 4,
            failures: 1,
            seconds_total: 2.5,
            last_seconds: 0.5,
            last_end: "2026-12-01T12:00:00Z".to_string(),
        },
    );
    verbs.insert(
        "start".to_string(),
        VerbCounter {
            count: 1,
            ..VerbCounter::default()
        },
    );
    let state = lab.root("deb1").join("var/lib/drpilot/busybox");
    write_json(&state.join("counters.json"), &ActionCounters { verbs });
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let mut jobs = BTreeMap::new();
    for (job, failures) in [("syncdrp", 0), ("sync#1", 2)] {
        jobs.insert(
            job.to_string(),
            ScheduledJob {
                runs: 3,
                skipped: 1,
                failures,
                last_success: Some(now.clone()),
                ..ScheduledJob::default()
            },
        );
    }
    let daemon = DaemonState {
        pid: 1,
        started: now.clone(),
        heartbeat: now,
        jobs: BTreeMap::from([("busybox".to_string(), jobs)]),
        notifications_sent: 2,
        notifications_failed: 1,
    };
    write_json(
        &lab.root("deb1").join("var/lib/drpilot/daemon/state.json"),
        &daemon,
    );
}

/// A second service on `node`, a copy of busybox on other paths that never ran: down.
fn add_idle_service(lab: &TestLab, node: &str) {
    let cfg = std::fs::read_to_string(lab.config(node)).unwrap();
    let idle = cfg
        .replace("/srv/busybox", "/srv/idle")
        .replace("/opt/busybox", "/opt/idle");
    std::fs::write(lab.root(node).join("etc/drpilot/idle.env"), idle).unwrap();
    std::fs::create_dir_all(lab.root(node).join("srv/idle/data")).unwrap();
}

/// The sample lines of a text, without the comments.
fn samples(text: &str) -> Vec<&str> {
    text.lines().filter(|l| !l.starts_with('#')).collect()
}

#[test]
fn promtool_accepts_the_metrics_with_services_in_every_state() {
    let test = "promtool_accepts_the_metrics_with_services_in_every_state";
    if !tool_ready(test, "promtool") {
        return;
    }
    let lab = TestLab::replicated();
    add_idle_service(&lab, "deb1");
    write_node_state(&lab);
    // deb1 runs busybox and the sync is fresh; the copy on deb1 that never ran is down;
    // deb2 holds the replica with the service down.
    let want: &[(&str, &[&str])] = &[
        (
            "deb1",
            &[
                r#"drpilot_service_avail{service="busybox",node="deb1",state="up"} 1"#,
                r#"drpilot_service_avail{service="idle",node="deb1",state="down"} 1"#,
                r#"drpilot_sync_max_delay_seconds{service="busybox",node="deb1",rid="sync#1"} 3600"#,
                r#"drpilot_actions_total{service="busybox",node="deb1",verb="syncupdate"} 4"#,
                r#"drpilot_action_failures_total{service="busybox",node="deb1",verb="syncupdate"} 1"#,
                r#"drpilot_action_duration_seconds_total{service="busybox",node="deb1",verb="syncupdate"} 2.5"#,
                r#"drpilot_sync_failures_total{service="busybox",node="deb1",rid="sync#1"} 2"#,
                r#"drpilot_daemon_job_skips_total{service="busybox",node="deb1",job="syncdrp"} 1"#,
                r#"drpilot_daemon_notifications_failed_total{node="deb1"} 1"#,
                r#"drpilot_daemon_up{node="deb1"} 1"#,
            ],
        ),
        (
            "deb2",
            &[
                r#"drpilot_service_avail{service="busybox",node="deb2",state="down"} 1"#,
                r#"drpilot_service_avail{service="busybox",node="deb2",state="up"} 0"#,
                r#"drpilot_daemon_up{node="deb2"} 0"#,
            ],
        ),
    ];
    for (node, lines) in want {
        let text = metrics(&lab, node, &["--format", "prometheus"])
            .expect_ok("print metrics --format prometheus")
            .stdout;
        let (code, said) = promtool(&["check", "metrics"], &text);
        assert_eq!(
            code,
            Some(0),
            "promtool check metrics on {node}: {said}\n{text}"
        );
        for line in *lines {
            assert!(
                text.lines().any(|l| l == *line),
                "{node}: no {line} in:\n{text}"
            );
        }
        for series in [
            "drpilot_build_info{",
            "drpilot_sync_last_transfer_bytes{",
            "drpilot_sync_last_transfer_duration_seconds{",
            "drpilot_sync_last_success_timestamp_seconds{",
            "drpilot_sync_age_seconds{",
        ] {
            if *node == "deb1" || !series.contains("transfer") {
                assert!(text.contains(series), "{node}: no {series} in:\n{text}");
            }
        }
        // The OpenMetrics rendering carries the same samples, and ends with # EOF.
        let om = metrics(&lab, node, &[]).expect_ok("print metrics").stdout;
        assert!(om.ends_with("# EOF\n"), "{om}");
        let strip_age = |l: &&str| !l.starts_with("drpilot_sync_age_seconds");
        let a: Vec<&str> = samples(&om).into_iter().filter(strip_age).collect();
        let b: Vec<&str> = samples(&text).into_iter().filter(strip_age).collect();
        assert_eq!(a, b, "the two formats differ in their samples");
    }
}

/// Python's strict OpenMetrics parser (Debian's python3-prometheus-client, for Debian's
/// /usr/bin/python3), when installed.
fn openmetrics_parser_ready(test: &str) -> bool {
    let ok = Command::new("/usr/bin/python3")
        .args(["-c", "import prometheus_client.openmetrics.parser"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        let why = "python3-prometheus-client is not installed";
        assert!(
            !testbed_required(),
            "DRPILOT_REQUIRE_TESTBED=1 but {test}: {why}"
        );
        eprintln!("skipping {test}: {why}");
    }
    ok
}

/// Parses OpenMetrics text with the strict parser: each family as `name type unit samples`.
const PARSE_OPENMETRICS: &str = "
import sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families
for f in text_string_to_metric_families(sys.stdin.read()):
    print(f.name, f.type, f.unit or '-', len(f.samples))
";

#[test]
fn the_openmetrics_text_passes_a_strict_openmetrics_parser() {
    let test = "the_openmetrics_text_passes_a_strict_openmetrics_parser";
    if !openmetrics_parser_ready(test) {
        return;
    }
    let lab = TestLab::replicated();
    add_idle_service(&lab, "deb1");
    write_node_state(&lab);
    let text = metrics(&lab, "deb1", &[]).expect_ok("print metrics").stdout;
    let mut child = Command::new("/usr/bin/python3")
        .args(["-c", PARSE_OPENMETRICS])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run python3");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let families = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the OpenMetrics parser refused the text: {}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    for family in [
        "drpilot_build info - 1",
        "drpilot_actions counter - 2",
        "drpilot_action_duration_seconds counter seconds 2",
        "drpilot_service_avail gauge - 14",
        "drpilot_sync_age_seconds gauge seconds 1",
        "drpilot_daemon_job_runs counter - 2",
    ] {
        assert!(
            families.lines().any(|l| l == family),
            "no {family} in:\n{families}"
        );
    }
}

#[test]
fn a_service_whose_config_is_broken_is_named_and_the_exit_code_says_so() {
    let lab = TestLab::new();
    let broken = lab.root("deb1").join("etc/drpilot/broken.env");
    std::fs::write(
        &broken,
        "[DEFAULT]\nnodes = deb1\n[fs#1]\ntype = nosuchtype\n",
    )
    .unwrap();
    let out = metrics(&lab, "deb1", &[]).expect_err("print metrics with a broken config");
    assert_eq!(out.code, Some(1));
    assert!(out.stderr.contains("broken.env"), "{}", out.stderr);
    assert!(
        out.stdout
            .contains(r#"drpilot_service_config_ok{service="broken",node="deb1"} 0"#),
        "{}",
        out.stdout
    );
    assert!(out
        .stdout
        .contains(r#"drpilot_metrics_read_errors{node="deb1"} 1"#));
    assert!(out
        .stdout
        .contains(r#"drpilot_service_avail{service="busybox""#));
    let missing = metrics(&lab, "deb1", &["--services", "nosuch"]).expect_err("unknown service");
    assert!(missing.stderr.contains("nosuch"), "{}", missing.stderr);
    assert!(missing.stdout.is_empty(), "{}", missing.stdout);
    let escape = metrics(&lab, "deb1", &["--services", "../deb2/etc/drpilot/busybox"])
        .expect_err("a path as a service name");
    assert!(
        escape.stderr.contains("invalid service name"),
        "{}",
        escape.stderr
    );
}

#[test]
fn promtool_accepts_the_alert_rules() {
    let test = "promtool_accepts_the_alert_rules";
    if !tool_ready(test, "promtool") {
        return;
    }
    let rules = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/assets/monitoring/drpilot-alerts.yml"
    );
    let (code, said) = promtool(&["check", "rules", rules], "");
    assert_eq!(code, Some(0), "promtool check rules: {said}");
    assert!(said.contains("SUCCESS"), "{said}");
}

#[test]
fn the_alert_rules_fire_on_their_cases() {
    let test = "the_alert_rules_fire_on_their_cases";
    if !tool_ready(test, "promtool") {
        return;
    }
    let tests = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/assets/monitoring/drpilot-alerts.test.yml"
    );
    let (code, said) = promtool(&["test", "rules", tests], "");
    assert_eq!(code, Some(0), "promtool test rules: {said}");
}

/// The `drpilot_*` metric names a text mentions, counters' and infos' samples included.
fn metric_names(text: &str) -> std::collections::BTreeSet<String> {
    let mut names = std::collections::BTreeSet::new();
    let mut rest = text;
    while let Some(at) = rest.find("drpilot_") {
        let tail = &rest[at..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(tail.len());
        names.insert(tail[..end].to_string());
        rest = &tail[end..];
    }
    names
}

#[test]
fn the_dashboard_and_the_rules_query_only_series_drpilot_writes() {
    let lab = TestLab::replicated();
    write_node_state(&lab);
    let written: std::collections::BTreeSet<String> = ["deb1", "deb2"]
        .iter()
        .flat_map(|n| {
            let text = metrics(&lab, n, &[]).expect_ok("print metrics").stdout;
            samples(&text)
                .into_iter()
                .map(|l| l.split(['{', ' ']).next().unwrap().to_string())
                .collect::<Vec<_>>()
        })
        .collect();
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/monitoring/");
    let dashboard = std::fs::read_to_string(format!("{dir}drpilot-dashboard.json")).unwrap();
    let json: serde_json::Value = serde_json::from_str(&dashboard).expect("the dashboard is JSON");
    let exprs: Vec<String> = json["panels"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["targets"].as_array().cloned().unwrap_or_default())
        .map(|t| t["expr"].as_str().unwrap().to_string())
        .collect();
    assert!(exprs.len() >= 10, "{exprs:?}");
    let rules = std::fs::read_to_string(format!("{dir}drpilot-alerts.yml")).unwrap();
    let rule_exprs: String = rules
        .lines()
        .filter(|l| !l.trim_start().starts_with('#') && !l.contains("description:"))
        .collect::<Vec<_>>()
        .join("\n");
    for (what, text) in [("dashboard", exprs.join("\n")), ("alert rules", rule_exprs)] {
        for name in metric_names(&text) {
            assert!(
                written.contains(&name),
                "the {what} query {name}, which drpilot print metrics does not write; it writes {written:?}"
            );
        }
    }
}

#[test]
fn the_replica_age_grows_between_syncs_and_falls_after_one() {
    let lab = TestLab::replicated();
    let series = r#"drpilot_sync_age_seconds{service="busybox",node="deb1",rid="sync#1"}"#;
    let age = || {
        value(
            &metrics(&lab, "deb1", &[]).expect_ok("print metrics").stdout,
            series,
        )
    };
    let first = age();
    let mut grown = first;
    wait_until(Duration::from_secs(20), "the replica's age to grow", || {
        grown = age();
        grown >= first + 2.5
    });
    lab.svc("deb1", &["syncupdate", "--force"])
        .expect_ok("syncupdate");
    let after = age();
    assert!(
        after < grown - 1.0,
        "the age was {grown} s before the sync and {after} s after it"
    );
    let bytes = r#"drpilot_sync_last_transfer_bytes{service="busybox",node="deb1",rid="sync#1"}"#;
    let text = metrics(&lab, "deb1", &[]).expect_ok("print metrics").stdout;
    assert!(value(&text, bytes) > 0.0, "{text}");
}

#[test]
fn the_metrics_endpoint_serves_the_same_text() {
    let lab = TestLab::replicated();
    let env = drpilot::paths::NodeEnv::new(lab.root("deb1"), "deb1");
    let server = drpilot::agent::metrics::serve("127.0.0.1:0".parse().unwrap(), move || {
        drpilot::agent::metrics::node_text(&env, drpilot::agent::metrics::Format::Openmetrics)
    })
    .unwrap();
    let mut s = std::net::TcpStream::connect(server.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .unwrap();
    let mut reply = String::new();
    s.read_to_string(&mut reply).unwrap();
    let (head, body) = reply.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200 OK"), "{head}");
    assert!(
        head.contains("Content-Type: application/openmetrics-text; version=1.0.0; charset=utf-8"),
        "{head}"
    );
    let printed = metrics(&lab, "deb1", &[]).expect_ok("print metrics").stdout;
    // The same text but for the replica's age, which grew between the two.
    let without_age = |t: &str| -> Vec<String> {
        t.lines()
            .filter(|l| !l.starts_with("drpilot_sync_age_seconds"))
            .map(str::to_string)
            .collect()
    };
    assert_eq!(without_age(body), without_age(&printed));
    assert!(body.contains("drpilot_sync_age_seconds{"), "{body}");
}

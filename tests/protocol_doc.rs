//! docs/protocol.md stays true: every JSON example in it parses into the type its block names,
//! and every command line in it is one the real argument parser accepts.

use clap::Parser;
use drpilot::protocol::drift::{DriftReport, ServiceOwners};
use drpilot::protocol::journal::Record;
use drpilot::protocol::log::LogRecord;
use drpilot::protocol::run::{AppendAnswer, LeaseAnswer, LeaseView};
use drpilot::protocol::watch::{ServiceNodes, WatchRecord};
use drpilot::status::ServiceStatus;

/// The fenced blocks of the document: (info string, body).
fn blocks(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut current: Option<(String, String)> = None;
    for line in text.lines() {
        match (&mut current, line.strip_prefix("```")) {
            (None, Some(info)) => current = Some((info.trim().to_string(), String::new())),
            (Some(_), Some(_)) => out.extend(current.take()),
            (Some((_, body)), None) => {
                body.push_str(line);
                body.push('\n');
            }
            (None, None) => {}
        }
    }
    out
}

fn parses<T: serde::de::DeserializeOwned>(body: &str, what: &str) {
    if let Err(e) = serde_json::from_str::<T>(body.trim()) {
        panic!("a {what} example does not parse: {e}\n{body}");
    }
}

#[test]
fn every_example_of_the_protocol_document_parses() {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/protocol.md"))
        .expect("docs/protocol.md");
    let mut seen = std::collections::BTreeMap::<String, usize>::new();
    for (info, body) in blocks(&doc) {
        match info.as_str() {
            "json status" => parses::<ServiceStatus>(&body, "status"),
            "json log" => parses::<LogRecord>(&body, "log record"),
            "json services" => parses::<Vec<ServiceNodes>>(&body, "services"),
            "json watch" => parses::<WatchRecord>(&body, "watch record"),
            "json journal" => parses::<Record>(&body, "journal record"),
            "json lease" => parses::<LeaseView>(&body, "lease"),
            "json lease-answer" => parses::<LeaseAnswer>(&body, "lease answer"),
            "json append-answer" => parses::<AppendAnswer>(&body, "append answer"),
            "json drift" => parses::<DriftReport>(&body, "drift report"),
            "json owners" => parses::<ServiceOwners>(&body, "service owners"),
            "text command" => {
                for line in body.lines().filter(|l| !l.trim().is_empty()) {
                    let argv = line.split_whitespace();
                    if let Err(e) = drpilot::cli::Cli::try_parse_from(argv) {
                        panic!("the command line '{line}' does not parse: {e}");
                    }
                }
            }
            other => panic!("a block of docs/protocol.md has no known type: '{other}'"),
        }
        *seen.entry(info).or_default() += 1;
    }
    for kind in [
        "json status",
        "json log",
        "json services",
        "json watch",
        "json journal",
        "json lease",
        "json lease-answer",
        "json append-answer",
        "json drift",
        "json owners",
        "text command",
    ] {
        assert!(seen.contains_key(kind), "no '{kind}' example: {seen:?}");
    }
}

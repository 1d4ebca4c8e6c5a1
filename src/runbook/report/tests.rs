//! The report's rules, on hand-written journals.

use serde_json::json;

use super::testing::{chain, started, write};
use super::*;
use crate::protocol::journal::EntryKind::*;
use crate::runbook::signing::{self, SignOutcome, SigningKey};

const REHEARSAL: [&str; 7] = [
    "preflight",
    "cut_access",
    "syncupdate",
    "stop_production",
    "verify_production_down",
    "start_drp",
    "verify_drp_up",
];

/// deb1's status, down, as a run records it.
fn deb1_down() -> serde_json::Value {
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/journal/rehearsal-before-typed-entries.jsonl"),
    )
    .unwrap();
    let last: serde_json::Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    last["detail"]["final"]["production"].clone()
}

#[test]
fn a_failback_rto_names_the_failback_steps() {
    let plan = [
        "preflight",
        "cut_access",
        "reverse_sync",
        "stop_drp",
        "verify_drp_down",
        "start_production",
        "verify_production_up",
    ];
    let recs = chain(
        "busybox-1",
        &[
            (
                RunStarted,
                None,
                "2026-12-01T10:00:00.000Z",
                started("failback", &plan),
            ),
            (
                StepStarted,
                Some("stop_production"),
                "2026-12-01T10:00:01.000Z",
                json!({}),
            ),
            (
                StepStarted,
                Some("stop_drp"),
                "2026-12-01T10:00:10.000Z",
                json!({}),
            ),
            (
                StepDone,
                Some("stop_drp"),
                "2026-12-01T10:00:12.000Z",
                json!({}),
            ),
            (
                StepStarted,
                Some("verify_production_up"),
                "2026-12-01T10:00:20.000Z",
                json!({}),
            ),
            (
                StepDone,
                Some("verify_production_up"),
                "2026-12-01T10:00:25.000Z",
                json!({}),
            ),
        ],
    );
    let r = build(&recs).unwrap();
    assert_eq!(
        r.rto_s,
        Some(15.0),
        "from stop_drp's start to production verified up"
    );
    assert_eq!(r.rto_label, "stop on the DRP node → production verified up");
    for text in [markdown(&r), html(&r)] {
        assert!(
            text.contains("stop on the DRP node → production verified up"),
            "{text}"
        );
        assert!(
            !text.contains("stop production → DRP verified up"),
            "{text}"
        );
    }
}

#[test]
fn an_aborted_run_reports_the_final_state_of_both_nodes() {
    let recs = chain(
        "busybox-2",
        &[
            (
                RunStarted,
                None,
                "2026-12-01T10:00:00.000Z",
                started("rehearsal", &REHEARSAL),
            ),
            (
                GateRefused,
                Some("stop_production"),
                "2026-12-01T10:00:05.000Z",
                json!({"operator": "bob", "prompt": "stop busybox on deb1"}),
            ),
            (
                RunAborted,
                Some("stop_production"),
                "2026-12-01T10:00:06.000Z",
                json!({"reason": "refused at the gate",
                       "final": {"production": deb1_down(), "drp": null},
                       "left": "deb1: busybox down, user access cut; deb2: not reached"}),
            ),
        ],
    );
    let r = build(&recs).unwrap();
    assert_eq!(r.outcome, "aborted");
    let nodes = &r.final_state.nodes;
    assert_eq!(
        (nodes[0].node.as_str(), nodes[0].recorded.as_str()),
        ("deb1", "recorded")
    );
    assert_eq!(nodes[0].overall.as_deref(), Some("down"));
    assert_eq!(
        (nodes[1].node.as_str(), nodes[1].recorded.as_str()),
        ("deb2", "unreadable")
    );
    let md = markdown(&r);
    assert!(md.contains("- deb1 (production): down"), "{md}");
    assert!(
        md.contains("- deb2 (drp): could not be read at the end of the run"),
        "{md}"
    );
    assert!(
        md.contains(
            "how the run left them: deb1: busybox down, user access cut; deb2: not reached"
        ),
        "{md}"
    );
    assert!(
        md.contains("```\ndeb1 (production)"),
        "the tree is shown: {md}"
    );
    let js: serde_json::Value = serde_json::from_str(&json(&r)).unwrap();
    assert_eq!(js["final_state"]["nodes"][1]["recorded"], "unreadable");
}

#[test]
fn an_old_journal_reports_final_states_as_not_recorded() {
    let recs = chain(
        "busybox-3",
        &[
            (
                RunStarted,
                None,
                "2026-12-01T10:00:00.000Z",
                started("rehearsal", &REHEARSAL),
            ),
            (
                RunAborted,
                Some("stop_production"),
                "2026-12-01T10:00:06.000Z",
                json!({"reason": "refused at the gate"}),
            ),
        ],
    );
    let md = markdown(&build(&recs).unwrap());
    assert!(md.contains("- deb1 (production): not recorded"), "{md}");
    assert!(md.contains("- deb2 (drp): not recorded"), "{md}");
    assert!(md.contains("how the run left them: not recorded"), "{md}");
}

#[test]
fn the_report_shows_who_answered_each_gate_and_when() {
    let recs = chain(
        "busybox-4",
        &[
            (
                RunStarted,
                None,
                "2026-12-01T10:00:00.000Z",
                started("rehearsal", &REHEARSAL),
            ),
            (
                GateConfirmed,
                Some("cut_access"),
                "2026-12-01T10:00:01.250Z",
                json!({"operator": "alice", "prompt": "cut user access to busybox now; done?"}),
            ),
            (
                GateRefused,
                Some("stop_production"),
                "2026-12-01T10:00:07.500Z",
                json!({"operator": "carol", "prompt": "stop busybox on deb1"}),
            ),
        ],
    );
    let r = build(&recs).unwrap();
    assert_eq!(r.gates.len(), 2);
    assert!(r.gates[0].confirmed && !r.gates[1].confirmed);
    let md = markdown(&r);
    assert!(
        md.contains("| cut_access | confirmed | alice | 2026-12-01T10:00:01.250Z |"),
        "{md}"
    );
    assert!(
        md.contains("| stop_production | refused | carol | 2026-12-01T10:00:07.500Z |"),
        "{md}"
    );
}

#[test]
fn every_refusal_is_reported_with_its_reason() {
    let recs = chain(
        "busybox-5",
        &[
            (
                RunStarted,
                None,
                "2026-12-01T10:00:00.000Z",
                started("rehearsal", &REHEARSAL),
            ),
            (
                StepFailed,
                Some("preflight"),
                "2026-12-01T10:00:01.000Z",
                json!({"reason": "deb2 answers garbage"}),
            ),
            (
                Resumed,
                None,
                "2026-12-01T10:01:00.000Z",
                json!({"operator": "alice"}),
            ),
            (
                GateRefused,
                Some("cut_access"),
                "2026-12-01T10:01:02.000Z",
                json!({"operator": "dave", "prompt": "cut user access; done?"}),
            ),
            (
                StepFailed,
                Some("start_drp"),
                "2026-12-01T10:01:03.000Z",
                json!({"reason": "start on deb2: fs#1 did not mount"}),
            ),
            (
                Rollback,
                None,
                "2026-12-01T10:01:04.000Z",
                json!({"ok": false, "reason": "deb1 unreachable"}),
            ),
            (
                RunAborted,
                Some("start_drp"),
                "2026-12-01T10:01:05.000Z",
                json!({"reason": "start on deb2 | fs#1 did not mount"}),
            ),
        ],
    );
    let r = build(&recs).unwrap();
    let whats: Vec<&str> = r.refusals.iter().map(|f| f.what.as_str()).collect();
    assert_eq!(
        whats,
        [
            "step failed",
            "gate refused",
            "step failed",
            "rollback failed",
            "run aborted"
        ]
    );
    let md = markdown(&r);
    for line in [
        "2026-12-01T10:00:01.000Z — step failed at preflight: deb2 answers garbage",
        "2026-12-01T10:01:02.000Z — gate refused at cut_access: refused by dave: cut user access; done?",
        "step failed at start_drp: start on deb2: fs#1 did not mount",
        "rollback failed: deb1 unreachable",
        "2026-12-01T10:01:05.000Z — run aborted at start_drp: start on deb2 \\| fs#1 did not mount",
    ] {
        assert!(md.contains(line), "{line} not in {md}");
    }
}

#[test]
fn resumes_are_reported_with_their_operator_seat_and_takeover() {
    let recs = chain(
        "busybox-6",
        &[
            (RunStarted, None, "2026-12-01T10:00:00.000Z", {
                let mut d = started("rehearsal", &REHEARSAL);
                d["operator"] = json!("alice");
                d["seat"] = json!({"user": "alice", "host": "ops1", "pid": 41});
                d
            }),
            (
                Resumed,
                None,
                "2026-12-01T10:05:00.000Z",
                json!({"operator": "bob", "seat": {"user": "bob", "host": "ops2", "pid": 77}, "takeover": true}),
            ),
            (
                Resumed,
                None,
                "2026-12-01T10:09:00.000Z",
                json!({"operator": "alice (--yes)"}),
            ),
        ],
    );
    let r = build(&recs).unwrap();
    assert_eq!(r.resumes.len(), 2);
    let md = markdown(&r);
    assert!(
        md.contains("- operator: alice from alice@ops1 (pid 41)"),
        "{md}"
    );
    assert!(
        md.contains("- 2026-12-01T10:05:00.000Z — resumed by bob from bob@ops2 (pid 77) (took the run over from another seat)"),
        "{md}"
    );
    assert!(
        md.contains("- 2026-12-01T10:09:00.000Z — resumed by alice (--yes)\n"),
        "{md}"
    );
}

#[test]
fn a_way_out_is_reported_as_chosen_by_its_operator() {
    let recs = chain(
        "busybox-7",
        &[
            (
                RunStarted,
                None,
                "2026-12-01T10:00:00.000Z",
                started("rehearsal", &REHEARSAL),
            ),
            (
                GateRefused,
                Some("start_drp"),
                "2026-12-01T10:00:05.000Z",
                json!({"operator": "erin", "prompt": "start busybox on deb2"}),
            ),
            (
                GateConfirmed,
                Some("way_out"),
                "2026-12-01T10:00:06.000Z",
                json!({"operator": "erin", "choice": "rollback"}),
            ),
        ],
    );
    let r = build(&recs).unwrap();
    assert_eq!(r.gates.len(), 1, "the way out is not a gate: {:?}", r.gates);
    let md = markdown(&r);
    assert!(md.contains("way out chosen: rollback by erin"), "{md}");
}

#[test]
fn step_outputs_are_written_beside_the_report() {
    let d = tempfile::tempdir().unwrap();
    let run = "busybox.opensvc.com-20261201T100000Z-0001";
    let recs = chain(
        run,
        &[
            (
                RunStarted,
                None,
                "2026-12-01T10:00:00.000Z",
                started("rehearsal", &REHEARSAL),
            ),
            (
                StepStarted,
                Some("cut_access"),
                "2026-12-01T10:00:01.000Z",
                json!({}),
            ),
            (
                StepDone,
                Some("cut_access"),
                "2026-12-01T10:00:02.000Z",
                json!({"output_digest": "ab", "output": "access cut\n"}),
            ),
            (
                StepStarted,
                Some("syncupdate"),
                "2026-12-01T10:00:03.000Z",
                json!({}),
            ),
            (
                StepFailed,
                Some("syncupdate"),
                "2026-12-01T10:00:04.000Z",
                json!({"reason": "sync failed", "output_digest": "cd", "output": "sync#1: no route\n"}),
            ),
        ],
    );
    let journal = write(d.path(), &recs);
    let files = write_reports_with(&journal, &SigningKey::None("no key in tests".into())).unwrap();
    let outs = d.path().join(format!("{run}.outputs"));
    assert_eq!(
        std::fs::read_to_string(outs.join("02-cut_access.txt")).unwrap(),
        "access cut\n"
    );
    assert_eq!(
        std::fs::read_to_string(outs.join("04-syncupdate.txt")).unwrap(),
        "sync#1: no route\n"
    );
    assert_eq!(files.outputs.len(), 2);
    let md = std::fs::read_to_string(&files.markdown).unwrap();
    assert!(
        md.contains(&format!(
            "[02-cut_access.txt]({run}.outputs/02-cut_access.txt)"
        )),
        "{md}"
    );
    assert!(md.contains(&format!(
        "[04-syncupdate.txt]({run}.outputs/04-syncupdate.txt)"
    )));
    let js: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&files.json).unwrap()).unwrap();
    assert_eq!(
        js["outputs"][0]["file"],
        format!("{run}.outputs/02-cut_access.txt")
    );
    assert_eq!(js["outputs"][1]["seq"], 4);
    assert!(files.html.exists());
    assert!(files
        .signatures
        .iter()
        .all(|(_, o)| matches!(o, SignOutcome::Unsigned(_))));
}

#[test]
fn written_reports_are_signed_and_verify() {
    if !signing::tests::ssh_keygen_here("written_reports_are_signed_and_verify") {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let (key, allowed) = signing::tests::key_and_signers(d.path(), "alice@example.org");
    let recs = chain(
        "busybox-8",
        &[(
            RunStarted,
            None,
            "2026-12-01T10:00:00.000Z",
            started("rehearsal", &REHEARSAL),
        )],
    );
    let journal = write(d.path(), &recs);
    let files = write_reports_with(&journal, &SigningKey::File(key)).unwrap();
    assert_eq!(files.signatures.len(), 2);
    for (f, o) in &files.signatures {
        assert!(
            matches!(o, SignOutcome::Signed { .. }),
            "{}: {o}",
            f.display()
        );
    }
    let checks = verify_run(&journal, "busybox-8", &allowed, None);
    let (nodes, local): (Vec<&Check>, Vec<&Check>) =
        checks.iter().partition(|c| c.what == "the nodes' copies");
    assert!(
        local.iter().all(|c| c.verdict == Verdict::Ok),
        "{:#?}",
        checks
    );
    assert_eq!(local.len(), 4, "{checks:#?}");
    // Without a node map the nodes' copies are said not compared, never passed.
    assert!(
        matches!(&nodes[..], [c] if c.verdict == Verdict::Skipped && c.detail.contains("not compared")),
        "{checks:#?}"
    );
}

#[test]
fn report_files_keep_a_dotted_service_name() {
    let j = std::path::Path::new("/runs/busybox.opensvc.com-20261124T205905Z-8ed3.jsonl");
    assert_eq!(
        report_path(j, "busybox.opensvc.com-20261124T205905Z-8ed3", "md"),
        std::path::Path::new("/runs/busybox.opensvc.com-20261124T205905Z-8ed3.md")
    );
    assert_eq!(
        output_file("busybox.opensvc.com-1", 7, "../stop production"),
        "busybox.opensvc.com-1.outputs/07-___stop_production.txt"
    );
}

//! The OpenSVC v2 agent's real outputs (tests/fixtures/opensvc-v2, recorded on a two-node
//! setup in ten states) read into drpilot's values: every status document maps, with the agent's
//! own avail and overall and each resource's status, flags and reasons as its text tree shows
//! them; every action log maps to records with their levels and resources.

use std::path::{Path, PathBuf};

use drpilot::protocol::log::Level;
use drpilot::status::{ServiceStatus, Status};
use drpilot::transport::opensvc::{v2_log, v2_status};

fn fixtures(dir: &str, ext: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/opensvc-v2")
        .join(dir);
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("fixtures")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == ext))
        .collect();
    v.sort();
    assert!(!v.is_empty(), "no {ext} fixtures in {}", dir.display());
    v
}

/// `S3-prod-up-synced-osvc2-deb1.json` → `deb1`.
fn node_of(p: &Path) -> String {
    let stem = p.file_stem().unwrap().to_string_lossy().into_owned();
    stem.rsplit('-').next().unwrap().to_string()
}

/// The text tree's resource rows: rid → (flags column, status word, reasons under it).
fn tree_rows(text: &str) -> Vec<(String, String, String, Vec<String>)> {
    let mut rows: Vec<(String, String, String, Vec<String>)> = Vec::new();
    for line in text.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        if let Some(i) = words.iter().position(|w| w.contains('#')) {
            if words.get(i + 1).is_some_and(|f| f.len() == 8) {
                let status = if words.get(i + 2) == Some(&"stdby") {
                    format!("stdby {}", words[i + 3])
                } else {
                    words[i + 2].to_string()
                };
                rows.push((
                    words[i].to_string(),
                    words[i + 1].to_string(),
                    status,
                    Vec::new(),
                ));
                continue;
            }
        }
        let t = line.trim_start_matches(['|', ' ', '`']);
        for prefix in ["warn: ", "info: ", "error: "] {
            if let Some(reason) = t.strip_prefix(prefix) {
                if let Some(last) = rows.last_mut() {
                    last.3.push(reason.trim().to_string());
                }
            }
        }
    }
    rows
}

#[test]
fn every_recorded_status_maps_with_the_agent_s_verdicts() {
    for json in fixtures("status", "json") {
        let text = std::fs::read_to_string(&json).unwrap();
        let node = node_of(&json);
        let st: ServiceStatus = v2_status::map(&text, "demo", &node)
            .unwrap_or_else(|e| panic!("{}: {e}", json.display()));
        let raw: serde_json::Value = serde_json::from_str(&text).unwrap();
        let name = json.display();
        assert_eq!(st.service, "demo");
        assert_eq!(st.node, node);
        assert_eq!(st.avail.word(), raw["avail"], "{name}");
        assert_eq!(st.overall.word(), raw["overall"], "{name}");
        assert_eq!(st.hb, Status::NotApplicable);
        assert_eq!(
            st.resources.len(),
            raw["resources"].as_object().unwrap().len()
        );
        // The text tree of the same state agrees with every row.
        let tree = std::fs::read_to_string(json.with_extension("txt")).unwrap();
        let rows = tree_rows(&tree);
        assert_eq!(rows.len(), st.resources.len(), "{name}: {rows:?}");
        for (rid, flags, word, reasons) in rows {
            let r = st
                .resources
                .iter()
                .find(|r| r.rid == rid)
                .unwrap_or_else(|| panic!("{name}: no {rid}"));
            assert_eq!(r.status.word(), word, "{name} {rid}");
            assert_eq!(
                r.flags.disabled,
                flags.as_bytes()[2] == b'D',
                "{name} {rid} {flags}"
            );
            assert_eq!(
                r.flags.optional,
                flags.as_bytes()[3] == b'O',
                "{name} {rid} {flags}"
            );
            for reason in reasons {
                assert!(
                    r.comments.iter().any(|c| c.contains(&reason)),
                    "{name} {rid}: '{reason}' not in {:?}",
                    r.comments
                );
            }
            assert!(
                r.comments
                    .iter()
                    .all(|c| !c.starts_with("info: ") && !c.starts_with("warn: ")),
                "{name} {rid}: {:?}",
                r.comments
            );
        }
        // The sync group comes from the sync resources.
        let syncs: Vec<Status> = st
            .resources
            .iter()
            .filter(|r| r.rid.starts_with("sync#"))
            .map(|r| r.status)
            .collect();
        let merged = syncs.iter().fold(Status::NotApplicable, |a, s| a.merge(*s));
        assert_eq!(st.sync, merged, "{name}");
        // It renders as drpilot's own trees do.
        let rendered = drpilot::status::render_text(&st, &|_, w| w.to_string());
        assert!(rendered.starts_with("demo\noverall"), "{rendered}");
    }
}

#[test]
fn every_recorded_action_log_maps_with_levels_and_resources() {
    for log in fixtures("logs", "log") {
        let text = std::fs::read_to_string(&log).unwrap();
        let recs = v2_log::parse(&text, "demo", "2026-12-01T00:00:00Z");
        let name = log.display();
        let lines = text
            .lines()
            .filter(|l| !l.starts_with("@ ") && !l.trim().is_empty())
            .count();
        assert_eq!(recs.len(), lines, "{name}");
        let warnings = text.lines().filter(|l| l.starts_with("W ")).count();
        let errors = text.lines().filter(|l| l.starts_with("E ")).count();
        assert_eq!(
            recs.iter().filter(|r| r.level == Level::Warning).count(),
            warnings,
            "{name}"
        );
        assert_eq!(
            recs.iter().filter(|r| r.level == Level::Error).count(),
            errors,
            "{name}"
        );
        assert!(recs.iter().all(|r| r.svc == "demo"), "{name}");
        // Every resource a header names has its lines.
        for line in text.lines().filter(|l| l.starts_with("@ ")) {
            if let Some(rid) = line.split_whitespace().find_map(|w| w.strip_prefix("r:")) {
                assert!(
                    recs.iter().any(|r| r.rid == rid),
                    "{name}: no line of {rid}"
                );
            }
        }
        assert!(recs.iter().all(|r| !r.msg.starts_with("  ")), "{name}");
    }
}

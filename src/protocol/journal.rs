//! The runbook journal's records: one JSON object per line, hash-chained, written by the seat
//! that runs a runbook and read back by resume, `report` and the console. What happened is an
//! [`EntryKind`], never a free string; the facts of a record stay a JSON object (`detail`), so
//! that a journal written before the kinds were typed still verifies byte for byte.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The hash before the first record.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Which runbook.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// The planned DRP test: production is healthy, RPO must be 0.
    Rehearsal,
    /// Production is lost: start on the DRP node's last replica.
    Disaster,
    /// Back from the DRP node to production.
    Failback,
    /// The non-disruptive test: the service started from a clone of the replica in a bubble
    /// on the DRP node while production runs.
    Test,
}

impl Mode {
    /// The banner word.
    pub fn banner(self) -> &'static str {
        match self {
            Mode::Rehearsal => "REHEARSAL",
            Mode::Disaster => "DISASTER",
            Mode::Failback => "FAILBACK",
            Mode::Test => "TEST",
        }
    }
}

/// What a journal record says happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    /// A run began; `detail` holds its mode, service, nodes, operator and plan.
    RunStarted,
    /// A run found unfinished goes on; `detail` names the operator and the steps already done.
    Resumed,
    /// A gate was confirmed (`step` is the gated step, or `rollback`).
    GateConfirmed,
    /// A gate was refused: the run stops there.
    GateRefused,
    /// A step began.
    StepStarted,
    /// A step ended well; `detail` holds what it measured (digest, RPO, statuses).
    StepDone,
    /// A step failed; `detail.reason` says why.
    StepFailed,
    /// A step was skipped (production lost); `detail.reason` says why.
    StepSkipped,
    /// The rollback a way out asked for; `detail.ok` says how it went, `detail.ran` what ran.
    Rollback,
    /// The way out chosen after a run stopped past a change (`detail.choice`: retry, rollback
    /// or leave; `detail.operator`, `detail.situation`).
    WayOut,
    /// The run ended well; `detail.final` holds both nodes' statuses.
    RunFinished,
    /// The run stopped before its end; `detail.reason` says why.
    RunAborted,
}

impl EntryKind {
    /// Whether a record of this kind ends a run.
    pub fn ends_run(self) -> bool {
        matches!(self, EntryKind::RunFinished | EntryKind::RunAborted)
    }
}

/// One journal record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// Position in the run, from 0.
    pub seq: u64,
    /// When (RFC 3339 UTC, milliseconds).
    pub ts: String,
    /// The run id.
    pub run: String,
    /// What happened.
    pub kind: EntryKind,
    /// The step concerned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    /// Facts of the record (plan, outputs digest, measured RPO, ...).
    #[serde(default)]
    pub detail: serde_json::Value,
    /// Hash of the previous record.
    pub prev: String,
    /// Hash of this record (sha256 of `prev` and the record without `hash`).
    pub hash: String,
}

impl Record {
    /// The record's hash: SHA-256 of the previous record's hash and this record without its
    /// own hash, in lowercase hex.
    pub fn digest(&self, prev: &str) -> String {
        let mut body = self.clone();
        body.hash = String::new();
        let text = serde_json::to_string(&body).unwrap_or_default();
        let mut h = Sha256::new();
        h.update(prev.as_bytes());
        h.update(text.as_bytes());
        h.finalize().iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Whether this record is record `seq` of a chain whose previous hash is `prev`.
    pub fn chains_after(&self, prev: &str, seq: u64) -> bool {
        self.seq == seq && self.prev == prev && self.digest(prev) == self.hash
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [EntryKind; 12] = [
        EntryKind::RunStarted,
        EntryKind::Resumed,
        EntryKind::GateConfirmed,
        EntryKind::GateRefused,
        EntryKind::StepStarted,
        EntryKind::StepDone,
        EntryKind::StepFailed,
        EntryKind::StepSkipped,
        EntryKind::Rollback,
        EntryKind::WayOut,
        EntryKind::RunFinished,
        EntryKind::RunAborted,
    ];

    #[test]
    fn every_kind_round_trips_in_a_record() {
        for kind in ALL {
            let r = Record {
                seq: 3,
                ts: "2026-12-01T10:00:00.000Z".into(),
                run: "busybox-1".into(),
                kind,
                step: Some("stop_production".into()),
                detail: serde_json::json!({"reason": "x"}),
                prev: GENESIS.into(),
                hash: "ab".into(),
            };
            let line = serde_json::to_string(&r).unwrap();
            assert_eq!(serde_json::from_str::<Record>(&line).unwrap(), r, "{line}");
        }
        assert_eq!(
            serde_json::to_string(&EntryKind::GateConfirmed).unwrap(),
            "\"gate_confirmed\""
        );
        assert!(serde_json::from_str::<EntryKind>("\"step_exploded\"").is_err());
        assert!(EntryKind::RunAborted.ends_run() && !EntryKind::StepDone.ends_run());
    }
}

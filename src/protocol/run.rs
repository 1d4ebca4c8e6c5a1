//! A runbook run's state kept on the service's nodes, so that any seat (a console, a CLI, on any
//! machine) sees it, is refused while another seat runs, and can take over a run whose seat
//! died: the lease ([`Lease`]), the journal each node keeps (the records of
//! [`super::journal`]), and the agent verbs a seat calls for them (`drpilot agent run …`,
//! [`RunVerb`]). A node checks every value against its own config and builds every path itself.

use clap::{Args, Subcommand};
use serde::{Deserialize, Serialize};

use super::journal::{Mode, Record};
use super::names::{Label, RunId, SeatId, ServiceName};

/// Exit code of an agent run verb the node refused (the lease is held, a record does not chain):
/// the answer on stdout says why.
pub const EXIT_REFUSED: i32 = 4;

/// Who runs a run: the person, the machine, the process and the seat's token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    /// `SUDO_USER` under sudo, else the login name, else `uid N`.
    pub user: String,
    /// The seat's machine.
    pub host: String,
    /// The seat's process.
    pub pid: u32,
    /// The seat's token: two seats of one user on one host differ by it.
    pub seat: String,
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}@{} (pid {})", self.user, self.host, self.pid)
    }
}

/// A run's lease as a node keeps it: one per service, times in the node's clock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    /// The service.
    pub svc: String,
    /// The run holding it.
    pub run: String,
    /// Which runbook.
    pub mode: Mode,
    /// Who holds it.
    pub holder: Holder,
    /// The step the run is at (its journal name), once past the start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    /// The step's position, from 1.
    pub index: u32,
    /// How many steps the runbook has.
    pub total: u32,
    /// When the run started (RFC 3339, the seat's clock: the journal's first record).
    pub started: String,
    /// When the node last heard from the holder (RFC 3339, the node's clock).
    pub renewed: String,
    /// Seconds without renewal after which the lease has expired.
    pub ttl_s: u64,
}

/// A lease as a node reports it: with how long ago its holder last renewed it, in the node's
/// clock, so no seat's clock is trusted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaseView {
    /// The lease.
    #[serde(flatten)]
    pub lease: Lease,
    /// Milliseconds since the last renewal.
    pub renewed_ms_ago: u64,
    /// The holder stopped renewing for longer than the lease's time to live.
    pub expired: bool,
}

/// A node's answer to `lease`: granted (exit 0) or refused with the lease in force (exit
/// [`EXIT_REFUSED`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaseAnswer {
    /// The lease is the asker's now.
    pub granted: bool,
    /// The lease in force after the call (the asker's when granted, the holder's otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease: Option<LeaseView>,
    /// Why it was refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A journal's head on a node: the hash after record `seq`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Head {
    /// The record.
    pub seq: u64,
    /// Its hash.
    pub hash: String,
}

/// A node's answer to `append`: the journal's head after the call; refused (exit
/// [`EXIT_REFUSED`]) when the records do not follow the node's copy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppendAnswer {
    /// The records were appended and synced.
    pub ok: bool,
    /// How many records the node holds now: the seq the next record must have.
    pub records: u64,
    /// The hash of the node's last record ([`super::journal::GENESIS`] when it holds none).
    pub head: String,
    /// Why it was refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A run's journal as a node holds it (`read`): its records and the heads it stored after each.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeJournal {
    /// The records, in order (a torn last line is left out).
    pub records: Vec<Record>,
    /// The head stored after each record was appended.
    pub heads: Vec<Head>,
}

/// A run as a node lists it (`list`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunSummary {
    /// The run id.
    pub run: String,
    /// Which runbook.
    pub mode: Mode,
    /// How many records the node holds.
    pub records: u64,
    /// The hash of the last one.
    pub head: String,
    /// Its last record ends the run (finished or aborted).
    pub ended: bool,
    /// When it started (the first record's time).
    pub started: String,
    /// The last step its journal names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_step: Option<String>,
}

/// What a seat asks for the lease: who, which run, where it is.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct LeaseRequest {
    /// The service.
    #[arg(long)]
    pub svc: ServiceName,
    /// The run.
    #[arg(long)]
    pub run: RunId,
    /// Which runbook (rehearsal, disaster, failback).
    #[arg(long, value_parser = parse_mode)]
    pub mode: Mode,
    /// The seat's token.
    #[arg(long)]
    pub seat: SeatId,
    /// The person.
    #[arg(long)]
    pub user: Label,
    /// The seat's machine.
    #[arg(long)]
    pub host: Label,
    /// The seat's process.
    #[arg(long)]
    pub pid: u32,
    /// The step the run is at.
    #[arg(long)]
    pub step: Option<String>,
    /// The step's position, from 1.
    #[arg(long, default_value_t = 0)]
    pub index: u32,
    /// How many steps.
    #[arg(long, default_value_t = 0)]
    pub total: u32,
    /// When the run started (RFC 3339).
    #[arg(long)]
    pub started: super::names::Timestamp,
    /// Seconds without renewal after which the lease expires.
    #[arg(long)]
    pub ttl: u64,
    /// Takes over the lease of this run from a holder that stopped renewing.
    #[arg(long)]
    pub takeover: bool,
    /// With --takeover: the seat, on the holder's own host, found the holder's process gone,
    /// so the lease is taken over before it expires.
    #[arg(long, requires = "takeover")]
    pub holder_gone: bool,
}

fn parse_mode(s: &str) -> Result<Mode, String> {
    serde_json::from_value(serde_json::Value::String(s.to_string()))
        .map_err(|_| format!("invalid mode '{s}': rehearsal, disaster or failback"))
}

/// The agent verbs of a run's state on a node (`drpilot agent run VERB`).
#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum RunVerb {
    /// Takes, renews or takes over the lease of a service's run (JSON answer).
    Lease {
        #[command(flatten)]
        req: LeaseRequest,
    },
    /// Gives the lease back at the end of a run.
    Release {
        /// The service.
        #[arg(long)]
        svc: ServiceName,
        /// The run.
        #[arg(long)]
        run: RunId,
        /// The seat's token: only the holder releases.
        #[arg(long)]
        seat: SeatId,
    },
    /// Appends journal records (JSON lines on stdin) to the node's copy of a run's journal, each
    /// in one write, fsynced, and stores the head after each.
    Append {
        /// The service.
        #[arg(long)]
        svc: ServiceName,
        /// The run.
        #[arg(long)]
        run: RunId,
        /// The appending seat: refused while another seat holds the lease.
        #[arg(long)]
        seat: SeatId,
    },
    /// Prints a run's journal as this node holds it, with its stored heads (JSON).
    Read {
        /// The service.
        #[arg(long)]
        svc: ServiceName,
        /// The run.
        #[arg(long)]
        run: RunId,
    },
    /// Lists the runs of a service this node holds a journal of (JSON).
    List {
        /// The service.
        #[arg(long)]
        svc: ServiceName,
    },
    /// Prints the lease of every service of this node (JSON): who runs what, where.
    Leases,
}

impl RunVerb {
    /// The verb as `drpilot agent run` arguments.
    pub fn to_args(&self) -> Vec<String> {
        let kv = |pairs: &[(&str, String)]| -> Vec<String> {
            pairs
                .iter()
                .flat_map(|(k, v)| [k.to_string(), v.clone()])
                .collect()
        };
        match self {
            RunVerb::Lease { req: r } => {
                let mut v = vec!["lease".to_string()];
                v.extend(kv(&[
                    ("--svc", r.svc.to_string()),
                    ("--run", r.run.to_string()),
                    ("--mode", mode_word(r.mode)),
                    ("--seat", r.seat.to_string()),
                    ("--user", r.user.to_string()),
                    ("--host", r.host.to_string()),
                    ("--pid", r.pid.to_string()),
                ]));
                if let Some(step) = &r.step {
                    v.extend(kv(&[("--step", step.clone())]));
                }
                v.extend(kv(&[
                    ("--index", r.index.to_string()),
                    ("--total", r.total.to_string()),
                    ("--started", r.started.to_string()),
                    ("--ttl", r.ttl.to_string()),
                ]));
                if r.takeover {
                    v.push("--takeover".into());
                }
                if r.holder_gone {
                    v.push("--holder-gone".into());
                }
                v
            }
            RunVerb::Release { svc, run, seat } | RunVerb::Append { svc, run, seat } => {
                let word = match self {
                    RunVerb::Release { .. } => "release",
                    _ => "append",
                };
                let mut v = vec![word.to_string()];
                v.extend(kv(&[
                    ("--svc", svc.to_string()),
                    ("--run", run.to_string()),
                    ("--seat", seat.to_string()),
                ]));
                v
            }
            RunVerb::Read { svc, run } => {
                let mut v = vec!["read".to_string()];
                v.extend(kv(&[
                    ("--svc", svc.to_string()),
                    ("--run", run.to_string()),
                ]));
                v
            }
            RunVerb::List { svc } => {
                let mut v = vec!["list".to_string()];
                v.extend(kv(&[("--svc", svc.to_string())]));
                v
            }
            RunVerb::Leases => vec!["leases".to_string()],
        }
    }
}

/// A mode as its command-line word (`rehearsal`).
pub fn mode_word(m: Mode) -> String {
    serde_json::to_value(m)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(subcommand)]
        verb: RunVerb,
    }

    fn round_trip(v: RunVerb) {
        let mut argv = vec!["run".to_string()];
        argv.extend(v.to_args());
        let back = Cli::try_parse_from(&argv).unwrap_or_else(|e| panic!("{argv:?}: {e}"));
        assert_eq!(back.verb, v);
    }

    #[test]
    fn every_verb_round_trips_through_its_arguments() {
        let req = LeaseRequest {
            svc: "busybox.opensvc.com".parse().unwrap(),
            run: "busybox.opensvc.com-20261201T101010Z-00af".parse().unwrap(),
            mode: Mode::Failback,
            seat: "laptop:4242:1a2b".parse().unwrap(),
            user: "alice".parse().unwrap(),
            host: "laptop".parse().unwrap(),
            pid: 4242,
            step: Some("stop_drp".into()),
            index: 4,
            total: 7,
            started: "2026-12-01T10:10:10Z".parse().unwrap(),
            ttl: 30,
            takeover: true,
            holder_gone: true,
        };
        round_trip(RunVerb::Lease { req });
        let (svc, run, seat): (ServiceName, RunId, SeatId) = (
            "busybox".parse().unwrap(),
            "busybox-20261201T101010Z-00af".parse().unwrap(),
            "s1".parse().unwrap(),
        );
        round_trip(RunVerb::Release {
            svc: svc.clone(),
            run: run.clone(),
            seat: seat.clone(),
        });
        round_trip(RunVerb::Append {
            svc: svc.clone(),
            run: run.clone(),
            seat,
        });
        round_trip(RunVerb::Read {
            svc: svc.clone(),
            run,
        });
        round_trip(RunVerb::List { svc });
        round_trip(RunVerb::Leases);
    }

    #[test]
    fn a_run_id_names_its_service_and_hostile_ids_are_refused() {
        let r: RunId = "busybox.opensvc.com-20261201T101010Z-00af".parse().unwrap();
        assert_eq!(r.service(), Some("busybox.opensvc.com"));
        for bad in ["../x-1-2", "-x-1-2", "a/b-1-2", "nodash", ""] {
            assert!(bad.parse::<RunId>().is_err(), "{bad}");
        }
        assert!("al\u{1b}[31mice".parse::<Label>().is_err());
        assert!("--user".parse::<Label>().is_err());
    }
}

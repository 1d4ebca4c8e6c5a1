//! The run's journal on the service's nodes, seat side: every record the seat journals is
//! appended on every reachable node (which checks it chains onto its copy and fsyncs it); a
//! node that missed records (unreachable a while) gets them when it answers again. A node whose
//! copy does not match the seat's stops the run: one of them was altered.

use std::collections::BTreeMap;

use color_eyre::eyre::{bail, Result};

use super::call::{call, Reply};
use crate::protocol::journal::{Record, GENESIS};
use crate::protocol::names::{RunId, SeatId, ServiceName};
use crate::protocol::run::{AppendAnswer, NodeJournal, RunSummary, RunVerb};
use crate::transport::Pool;

/// The copies of one run's journal on the nodes.
pub struct Mirror<'p> {
    pool: &'p Pool,
    svc: ServiceName,
    run: RunId,
    seat: SeatId,
    nodes: Vec<String>,
    /// Every record of the run, as the seat journaled it.
    records: Vec<Record>,
    /// How many records each node is known to hold.
    have: BTreeMap<String, u64>,
    /// Nodes without the service's config (not its nodes).
    foreign: Vec<String>,
}

impl<'p> Mirror<'p> {
    /// The mirror of run `run` whose records so far are `records`.
    pub fn new(
        pool: &'p Pool,
        svc: ServiceName,
        run: RunId,
        seat: SeatId,
        nodes: &[String],
        records: Vec<Record>,
    ) -> Self {
        Self {
            pool,
            svc,
            run,
            seat,
            nodes: nodes.to_vec(),
            records,
            have: BTreeMap::new(),
            foreign: Vec::new(),
        }
    }

    /// Adds a record journaled on the seat and copies what each node lacks, to every node at
    /// once; a node that cannot be reached stays behind until it answers.
    pub fn push(&mut self, record: &Record) -> Result<()> {
        self.records.push(record.clone());
        let nodes: Vec<String> = self
            .nodes
            .iter()
            .filter(|n| !self.foreign.contains(n))
            .cloned()
            .collect();
        let this = &*self;
        let sent: Vec<(String, Sent)> = std::thread::scope(|s| {
            let sends: Vec<_> = nodes
                .iter()
                .map(|node| (node, s.spawn(move || this.send(node))))
                .collect();
            sends
                .into_iter()
                .map(|(node, h)| {
                    let r = h
                        .join()
                        .unwrap_or_else(|_| Sent::Refused("the copy panicked".into()));
                    (node.clone(), r)
                })
                .collect()
        });
        let mut refused = None;
        for (node, r) in sent {
            if let Err(e) = self.apply(&node, r) {
                refused.get_or_insert(e);
            }
        }
        match refused {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Whether `node` holds every record (after trying to give it the missing ones).
    pub fn complete_on(&mut self, node: &str) -> Result<bool> {
        self.catch_up(node)?;
        Ok(self.foreign.iter().any(|n| n == node)
            || self.have.get(node).copied() == Some(self.records.len() as u64))
    }

    fn hash_at(&self, count: u64) -> &str {
        match count {
            0 => GENESIS,
            n => self
                .records
                .get(n as usize - 1)
                .map_or("", |r| r.hash.as_str()),
        }
    }

    fn catch_up(&mut self, node: &str) -> Result<()> {
        if self.foreign.iter().any(|n| n == node) {
            return Ok(());
        }
        let r = self.send(node);
        self.apply(node, r)
    }

    /// Records what a node answered to [`Self::send`].
    fn apply(&mut self, node: &str, r: Sent) -> Result<()> {
        match r {
            Sent::Have(n) => {
                self.have.insert(node.to_string(), n);
            }
            Sent::Foreign => self.foreign.push(node.to_string()),
            Sent::Silent => {}
            Sent::Refused(why) => bail!("{node} refused the run's journal: {why}"),
        }
        Ok(())
    }

    /// Sends `node` the records it lacks (twice at most: a first answer may tell where the
    /// node's copy really ends); what it holds after.
    fn send(&self, node: &str) -> Sent {
        let mut from = self.have.get(node).copied().unwrap_or(0) as usize;
        for _ in 0..2 {
            if from >= self.records.len() {
                return Sent::Have(from as u64);
            }
            let mut lines = Vec::new();
            for r in &self.records[from..] {
                if serde_json::to_writer(&mut lines, r).is_err() {
                    return Sent::Refused("a record could not be written as JSON".into());
                }
                lines.push(b'\n');
            }
            let verb = RunVerb::Append {
                svc: self.svc.clone(),
                run: self.run.clone(),
                seat: self.seat.clone(),
            };
            match call::<AppendAnswer>(self.pool, node, &verb, Some(&lines)) {
                Reply::Done(a) => return Sent::Have(a.records),
                Reply::Refused(a) => {
                    let known =
                        a.records <= self.records.len() as u64 && self.hash_at(a.records) == a.head;
                    if known && a.records as usize != from {
                        // The node's copy is a prefix of ours: send from its end.
                        from = a.records as usize;
                        continue;
                    }
                    return Sent::Refused(
                        a.reason
                            .unwrap_or_else(|| "its copy does not match this seat's".into()),
                    );
                }
                // Neither holds a copy; the journal is complete on such a node by definition.
                Reply::NotConfigured | Reply::Stateless => return Sent::Foreign,
                Reply::Failed(_) => return Sent::Silent,
            }
        }
        Sent::Have(from as u64)
    }
}

/// What a node holds after records were sent to it.
enum Sent {
    /// This many records.
    Have(u64),
    /// It holds no journal: not one of the service's nodes, or an agent that keeps no run
    /// state (the seat's copy is the run's only one there).
    Foreign,
    /// It did not answer: it stays behind.
    Silent,
    /// It refused them, saying why.
    Refused(String),
}

/// The runs of `svc` a node holds a journal of; `None` when it did not answer.
pub fn list(pool: &Pool, node: &str, svc: &ServiceName) -> Option<Vec<RunSummary>> {
    match call(pool, node, &RunVerb::List { svc: svc.clone() }, None) {
        Reply::Done(list) => Some(list),
        _ => None,
    }
}

/// A node's copy of a run's journal; `None` when it has none or did not answer.
pub fn read(pool: &Pool, node: &str, svc: &ServiceName, run: &RunId) -> Option<NodeJournal> {
    let verb = RunVerb::Read {
        svc: svc.clone(),
        run: run.clone(),
    };
    match call(pool, node, &verb, None) {
        Reply::Done(j) => Some(j),
        _ => None,
    }
}

/// Brings every node's copies of `svc`'s runs level: a run a node lacks records of (production,
/// unreachable during a disaster) gets them from the node holding the most, once all copies
/// agree. `listed` is what each node that answered listed (nodes that did not are left alone).
/// Returns what was copied where, in the operator's words; copies that disagree are left as
/// they are (`report --verify` shows them).
pub fn merge_runs(
    pool: &Pool,
    listed: &[(String, Vec<RunSummary>)],
    svc: &ServiceName,
    seat: &SeatId,
) -> Vec<String> {
    let mut counts: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    let answered: Vec<String> = listed.iter().map(|(n, _)| n.clone()).collect();
    for (node, list) in listed {
        for s in list {
            counts
                .entry(s.run.clone())
                .or_default()
                .insert(node.clone(), s.records);
        }
    }
    let mut said = Vec::new();
    for (run, have) in counts {
        let Some(most) = have.values().copied().max() else {
            continue;
        };
        let behind: Vec<&String> = answered
            .iter()
            .filter(|n| have.get(*n).copied().unwrap_or(0) < most)
            .collect();
        if behind.is_empty() {
            continue;
        }
        let Ok(run_id) = run.parse::<RunId>() else {
            continue;
        };
        let Some(source) = have
            .iter()
            .find(|(_, c)| **c == most)
            .map(|(n, _)| n.clone())
        else {
            continue;
        };
        let Some(full) = read(pool, &source, svc, &run_id) else {
            continue;
        };
        let mut m = Mirror::new(
            pool,
            svc.clone(),
            run_id,
            seat.clone(),
            &behind.iter().map(|n| n.to_string()).collect::<Vec<_>>(),
            full.records,
        );
        for node in behind {
            m.have
                .insert(node.clone(), have.get(node).copied().unwrap_or(0));
            if m.complete_on(node).unwrap_or(false) {
                said.push(format!(
                    "run {run}'s journal copied to {node} from {source}"
                ));
            }
        }
    }
    said
}

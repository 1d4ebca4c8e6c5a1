//! The run's lease on the service's nodes, seat side: taken on every reachable node before the
//! run acts, renewed while it lives (a thread, so a long sync never lets it expire), shown the
//! step the run is at, given back when the run stops. A node that refuses a renewal means another
//! seat took the run over: the run is lost and must not act again.

use std::collections::BTreeSet;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use color_eyre::eyre::{bail, eyre, Result};

use super::call::{call, Reply};
use crate::protocol::journal::Mode;
use crate::protocol::names::{RunId, ServiceName};
use crate::protocol::run::{Holder, LeaseAnswer, LeaseRequest, LeaseView, RunVerb};
use crate::transport::Pool;

/// How a seat asks for a lease held by another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// A new run, or resuming one nobody holds: any lease in force refuses it.
    Fresh,
    /// Taking over a run whose holder stopped renewing (`drp takeover`, a typed gate).
    Takeover,
    /// Taking over from this seat's own machine, where the holder's process is gone.
    HolderGone,
}

/// What the lease says of a run and of the seat that holds it.
pub struct LeaseSpec {
    /// The service.
    pub svc: ServiceName,
    /// The run.
    pub run: RunId,
    /// Which runbook.
    pub mode: Mode,
    /// This seat.
    pub holder: Holder,
    /// When the run started (RFC 3339).
    pub started: String,
    /// How long the lease lives without renewal.
    pub ttl: Duration,
}

#[derive(Default)]
struct Shared {
    step: Option<String>,
    index: u32,
    total: u32,
    held: BTreeSet<String>,
    /// Nodes whose agent keeps no run state: the seat's own lock stands for the lease there.
    stateless: BTreeSet<String>,
    lost: Option<String>,
}

/// The lease of a run on its nodes.
pub struct Keeper<'p> {
    pool: &'p Pool,
    spec: LeaseSpec,
    nodes: Vec<String>,
    shared: Mutex<Shared>,
}

impl<'p> Keeper<'p> {
    /// Takes the lease on every reachable node of `nodes` (those without the service's config
    /// are not its nodes). Refused when any node holds it for another seat (unless `claim`
    /// takes it over), or when no node could be reached.
    pub fn take(pool: &'p Pool, spec: LeaseSpec, nodes: &[String], claim: Claim) -> Result<Self> {
        let keeper = Self {
            pool,
            spec,
            nodes: nodes.to_vec(),
            shared: Mutex::new(Shared::default()),
        };
        let mut unreachable = Vec::new();
        for node in nodes {
            match keeper.ask(node, claim) {
                Reply::Done(_) => {
                    keeper.state().held.insert(node.clone());
                }
                Reply::Refused(a) => {
                    keeper.give_back();
                    bail!("{}", refusal(node, &a));
                }
                Reply::NotConfigured => {}
                Reply::Stateless => {
                    keeper.state().stateless.insert(node.clone());
                }
                Reply::Failed(why) => unreachable.push(format!("{node}: {why}")),
            }
        }
        // Nodes that keep no run state count only when no node that could hold the lease
        // failed to: the seat's lock is then the one lease (one run at a time from this seat).
        let seat_only = unreachable.is_empty() && !keeper.state().stateless.is_empty();
        if keeper.state().held.is_empty() && !seat_only {
            bail!(
                "no node of {} holds the run's lease (a run needs at least one): {}",
                keeper.spec.svc,
                unreachable.join("; ")
            );
        }
        Ok(keeper)
    }

    fn state(&self) -> MutexGuard<'_, Shared> {
        self.shared.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn request(&self, claim: Claim) -> Result<LeaseRequest> {
        let st = self.state();
        let h = &self.spec.holder;
        Ok(LeaseRequest {
            svc: self.spec.svc.clone(),
            run: self.spec.run.clone(),
            mode: self.spec.mode,
            seat: h.seat.parse()?,
            user: h.user.parse()?,
            host: h.host.parse()?,
            pid: h.pid,
            step: st.step.clone(),
            index: st.index,
            total: st.total,
            started: self.spec.started.parse()?,
            ttl: self.spec.ttl.as_secs(),
            takeover: claim != Claim::Fresh,
            holder_gone: claim == Claim::HolderGone,
        })
    }

    fn ask(&self, node: &str, claim: Claim) -> Reply<LeaseAnswer> {
        match self.request(claim) {
            Ok(req) => call(self.pool, node, &RunVerb::Lease { req }, None),
            Err(e) => Reply::Failed(format!("{e:#}")),
        }
    }

    /// Renews the lease on every node (taking it where a node came back); a refusal loses the
    /// run. Returns the reason it was lost, if it was.
    pub fn renew(&self) -> Option<String> {
        // Every node at once: a node that hangs never delays the others' renewals.
        let answers: Vec<(&String, Reply<LeaseAnswer>)> = std::thread::scope(|s| {
            let asks: Vec<_> = self
                .nodes
                .iter()
                .map(|node| (node, s.spawn(move || self.ask(node, Claim::Fresh))))
                .collect();
            asks.into_iter()
                .map(|(node, h)| {
                    let r = h
                        .join()
                        .unwrap_or_else(|_| Reply::Failed("the renewal panicked".into()));
                    (node, r)
                })
                .collect()
        });
        for (node, answer) in answers {
            match answer {
                Reply::Done(_) => {
                    self.state().held.insert(node.clone());
                }
                Reply::Refused(a) => {
                    let why = refusal(node, &a);
                    let mut st = self.state();
                    st.held.remove(node);
                    st.lost.get_or_insert(why);
                }
                Reply::NotConfigured | Reply::Stateless => {}
                Reply::Failed(_) => {
                    self.state().held.remove(node);
                }
            }
        }
        self.state().lost.clone()
    }

    /// Renews every third of the lease's life until `stop` says (or its sender goes).
    pub fn keep_renewing(&self, stop: Receiver<()>) {
        let every = (self.spec.ttl / 3).max(Duration::from_secs(1));
        while let Err(RecvTimeoutError::Timeout) = stop.recv_timeout(every) {
            self.renew();
        }
    }

    /// The run is at `step`: the nodes show it now.
    pub fn at_step(&self, step: &str, index: u32, total: u32) -> Result<()> {
        {
            let mut st = self.state();
            st.step = Some(step.to_string());
            st.index = index;
            st.total = total;
        }
        self.still_held()?;
        match self.renew() {
            Some(why) => bail!("this seat lost the run: {why}"),
            None => Ok(()),
        }
    }

    /// Fails when the run was lost to another seat.
    pub fn still_held(&self) -> Result<()> {
        match &self.state().lost {
            Some(why) => bail!("this seat lost the run: {why}"),
            None => Ok(()),
        }
    }

    /// Proves the lease is held on `node` now, taking it there if the node came back.
    pub fn held_on(&self, node: &str) -> Result<()> {
        self.still_held()?;
        match self.ask(node, Claim::Fresh) {
            Reply::Done(_) => {
                self.state().held.insert(node.to_string());
                Ok(())
            }
            Reply::Refused(a) => {
                let why = refusal(node, &a);
                self.state().lost.get_or_insert(why.clone());
                bail!("this seat lost the run: {why}")
            }
            Reply::NotConfigured => Err(eyre!("{node} has no config of {}", self.spec.svc)),
            // The lease lives on the nodes that hold one (proved again now) and on this seat.
            Reply::Stateless => match self.renew() {
                Some(why) => bail!("this seat lost the run: {why}"),
                None if self.lease_holders_all_silent() => Err(eyre!(
                    "the run's lease cannot be proved on any node of {}, so nothing is done on {node}",
                    self.spec.svc
                )),
                None => Ok(()),
            },
            Reply::Failed(why) => Err(eyre!(
                "the run's lease cannot be proved on {node}, so nothing is done there: {why}"
            )),
        }
    }

    /// Whether every node that could hold the lease holds none now (a run whose nodes all
    /// keep no run state has none to lose).
    fn lease_holders_all_silent(&self) -> bool {
        let st = self.state();
        let holders = self.nodes.len() - st.stateless.len();
        holders > 0 && st.held.is_empty()
    }

    /// Gives the lease back on every node that holds it for this seat.
    pub fn give_back(&self) {
        let held: Vec<String> = self.state().held.iter().cloned().collect();
        let Ok(seat) = self.spec.holder.seat.parse() else {
            return;
        };
        let verb = RunVerb::Release {
            svc: self.spec.svc.clone(),
            run: self.spec.run.clone(),
            seat,
        };
        for node in held {
            let _: Reply<LeaseAnswer> = call(self.pool, &node, &verb, None);
        }
        self.state().held.clear();
    }
}

/// A refusal in the operator's words: who holds the run, at which step, how fresh.
pub fn refusal(node: &str, a: &LeaseAnswer) -> String {
    match &a.lease {
        Some(v) => describe(node, v),
        None => format!(
            "{node} refused the lease: {}",
            a.reason.as_deref().unwrap_or("no reason given")
        ),
    }
}

/// A lease in force, as a refusal names it.
pub fn describe(node: &str, v: &LeaseView) -> String {
    let l = &v.lease;
    let step = match &l.step {
        Some(s) => format!("step {}/{} {s}", l.index, l.total),
        None => "its start".to_string(),
    };
    let age = v.renewed_ms_ago / 1000;
    let freshness = if v.expired {
        format!(
            "stopped renewing {age}s ago: take it over with `drpilot drp takeover {}`",
            l.run
        )
    } else {
        format!("last renewed {age}s ago")
    };
    format!(
        "{} run {} of {} is held by {} at {step} ({node}: {freshness})",
        l.mode.banner(),
        l.run,
        l.svc,
        l.holder
    )
}

/// The leases of `svc` in force on `nodes`, as each reachable node reports them.
pub fn in_force(pool: &Pool, nodes: &[String], svc: &str) -> Vec<(String, LeaseView)> {
    let mut out = Vec::new();
    for node in nodes {
        if let Reply::Done(list) = call::<Vec<LeaseView>>(pool, node, &RunVerb::Leases, None) {
            out.extend(
                list.into_iter()
                    .filter(|v| v.lease.svc == svc)
                    .map(|v| (node.clone(), v)),
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::NodeMap;

    fn spec() -> LeaseSpec {
        LeaseSpec {
            svc: "demo".parse().unwrap(),
            run: "demo-20261201T000000Z-0001".parse().unwrap(),
            mode: Mode::Rehearsal,
            holder: crate::runbook::seat::this_seat(),
            started: "2026-12-01T00:00:00Z".into(),
            ttl: Duration::from_secs(30),
        }
    }

    #[test]
    fn the_seat_alone_holds_a_run_only_when_no_node_that_could_hold_its_lease_failed() {
        // lease-a runs drpilot but cannot be reached; lease-b runs OpenSVC (keeps no run state).
        let mixed = NodeMap::parse(
            "[nodes]\nlease-a = \"local:/nonexistent/lease-a\"\nlease-b = \"local:/nonexistent/lease-b\"\n\
             [options.lease-b]\nflavor = \"opensvc2\"\n",
        )
        .unwrap();
        let pool = Pool::new(mixed);
        let nodes = ["lease-a".to_string(), "lease-b".to_string()];
        let refused = Keeper::take(&pool, spec(), &nodes, Claim::Fresh)
            .err()
            .expect("refused")
            .to_string();
        assert!(
            refused.contains("no node of demo holds the run's lease"),
            "{refused}"
        );

        // Every node keeps no run state: the seat's lock is the lease, and acting is allowed.
        let opensvc = NodeMap::parse(
            "[nodes]\nlease-c = \"local:/nonexistent/lease-c\"\nlease-d = \"local:/nonexistent/lease-d\"\n\
             [options.lease-c]\nflavor = \"opensvc2\"\n[options.lease-d]\nflavor = \"opensvc3\"\n",
        )
        .unwrap();
        let pool = Pool::new(opensvc);
        let nodes = ["lease-c".to_string(), "lease-d".to_string()];
        let keeper = Keeper::take(&pool, spec(), &nodes, Claim::Fresh).expect("seat only");
        assert!(keeper.held_on("lease-d").is_ok());
        assert!(keeper.renew().is_none());
    }
}

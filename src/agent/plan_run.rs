//! Runs a start or stop plan (`plan.rs`): steps in order, declared lanes side by side in
//! threads. A failed step stops its lane; the other lanes finish the step they are in and go no
//! further; a failed start then stops everything it brought up, newest first, so the node is
//! left as it was. The log says which lanes ran side by side and why.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use color_eyre::eyre::{Report, Result};

use super::plan::{Item, Plan, Step};
use crate::drivers::{Ctx, Loaded};
use crate::status::Status;
use crate::transport::child_time;

/// Start or stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Bring up, rolling back on failure.
    Start,
    /// Bring down; standby resources stay up unless `force`.
    Stop,
}

/// Why a lane ended early.
enum Halt {
    /// A step failed (already logged).
    Failed(Report),
    /// Another lane failed: this one stopped between two steps.
    Aborted,
}

/// What a start brought up, in the order it happened (a rollback undoes it backwards).
#[derive(Debug, Clone, Copy)]
enum Done {
    Started(usize),
    Prepared(usize),
}

/// One run of a plan.
pub struct PlanRun<'a, 'c> {
    ctx: &'a Ctx<'c>,
    resources: &'a [&'a Loaded],
    items: &'a [Item],
    direction: Direction,
    /// The action, for errors: `start of busybox`.
    what: String,
    /// Items whose early part has its own step (their stop leaves it to that step).
    split: BTreeSet<usize>,
    /// Makes the replicas live (a start's `Replicas` step).
    replicas: &'a (dyn Fn() -> Result<()> + Sync),
    abort: AtomicBool,
    done: Mutex<Vec<Done>>,
}

impl<'a, 'c> PlanRun<'a, 'c> {
    /// Prepares a run of `plan` over `resources` (the items the plan was built from); `what`
    /// names the action in errors (`start of busybox`).
    pub fn new(
        ctx: &'a Ctx<'c>,
        resources: &'a [&'a Loaded],
        items: &'a [Item],
        plan: &Plan,
        direction: Direction,
        replicas: &'a (dyn Fn() -> Result<()> + Sync),
        what: String,
    ) -> Self {
        Self {
            ctx,
            resources,
            items,
            direction,
            what,
            split: plan.prepared(),
            replicas,
            abort: AtomicBool::new(false),
            done: Mutex::new(Vec::new()),
        }
    }

    /// Runs the plan. A failed start is rolled back before this returns.
    pub fn run(&self, plan: &Plan) -> Result<()> {
        let (result, sum, critical) = self.node(plan);
        child_time::overlapped(sum.saturating_sub(critical));
        match result {
            Ok(()) => Ok(()),
            Err(halt) => {
                if self.direction == Direction::Start {
                    self.rollback();
                }
                Err(match halt {
                    Halt::Failed(e) => e,
                    Halt::Aborted => color_eyre::eyre::eyre!("{} was stopped", self.what),
                })
            }
        }
    }

    /// Runs one node of the plan; returns its result, the command time of all its lanes and
    /// the command time of its longest path.
    fn node(&self, plan: &Plan) -> (Result<(), Halt>, Duration, Duration) {
        match plan {
            Plan::Step(step) => {
                let before = child_time::this_thread();
                let r = self.step(*step);
                let d = child_time::this_thread().saturating_sub(before);
                (r, d, d)
            }
            Plan::Seq(children) => {
                let (mut sum, mut critical) = (Duration::ZERO, Duration::ZERO);
                for child in children {
                    if self.abort.load(Ordering::SeqCst) {
                        return (Err(Halt::Aborted), sum, critical);
                    }
                    let (r, s, c) = self.node(child);
                    sum += s;
                    critical += c;
                    if r.is_err() {
                        return (r, sum, critical);
                    }
                }
                (Ok(()), sum, critical)
            }
            Plan::Par { why, lanes } => self.side_by_side(why, lanes),
        }
    }

    fn side_by_side(&self, why: &str, lanes: &[Plan]) -> (Result<(), Halt>, Duration, Duration) {
        let shown: Vec<String> = lanes.iter().map(|l| l.describe(self.items)).collect();
        self.ctx
            .log
            .info("", &format!("side by side ({why}): {}", shown.join(" | ")));
        let outcomes: Vec<(Result<(), Halt>, Duration, Duration)> = std::thread::scope(|s| {
            let handles: Vec<_> = lanes
                .iter()
                .map(|lane| {
                    s.spawn(move || {
                        let r = self.node(lane);
                        if r.0.is_err() {
                            self.abort.store(true, Ordering::SeqCst);
                        }
                        r
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join().unwrap_or_else(|_| {
                        self.abort.store(true, Ordering::SeqCst);
                        (
                            Err(Halt::Failed(color_eyre::eyre::eyre!("a lane panicked"))),
                            Duration::ZERO,
                            Duration::ZERO,
                        )
                    })
                })
                .collect()
        });
        let sum = outcomes.iter().map(|o| o.1).sum();
        let critical = outcomes.iter().map(|o| o.2).max().unwrap_or_default();
        let mut result = Ok(());
        for (r, _, _) in outcomes {
            match (r, &result) {
                (Err(Halt::Failed(e)), Ok(()) | Err(Halt::Aborted)) => {
                    result = Err(Halt::Failed(e))
                }
                (Err(Halt::Aborted), Ok(())) => result = Err(Halt::Aborted),
                _ => {}
            }
        }
        (result, sum, critical)
    }

    fn record(&self, d: Done) {
        if let Ok(mut v) = self.done.lock() {
            v.push(d);
        }
    }

    fn step(&self, step: Step) -> Result<(), Halt> {
        let ctx = self.ctx;
        let failed = |rid: &str, e: Report, how: &str| {
            ctx.log.error(rid, &format!("{e:#}"));
            Halt::Failed(e.wrap_err(format!("{} stopped {how}", self.what)))
        };
        let i = match step {
            Step::Replicas => {
                return (self.replicas)().map_err(|e| failed("", e, "before its filesystems"));
            }
            Step::Prepare(i) | Step::Resource(i) => i,
        };
        let r = self.resources[i];
        let rid = r.driver.rid();
        if r.common.disabled {
            return Ok(());
        }
        let outcome = match (self.direction, step) {
            (Direction::Start, Step::Prepare(_)) => r.driver.prepare(ctx).map(|up| {
                if up {
                    self.record(Done::Prepared(i));
                }
            }),
            (Direction::Start, _) => {
                if r.driver.probe(ctx).status == Status::Up {
                    ctx.log
                        .info(rid, &format!("{} is already up", r.driver.label(ctx)));
                    return Ok(());
                }
                r.driver.start(ctx).map(|()| self.record(Done::Started(i)))
            }
            (Direction::Stop, _) if r.common.standby && !ctx.force => {
                if matches!(step, Step::Resource(_)) {
                    ctx.log
                        .info(rid, "standby resource: left up (use --force to stop it)");
                }
                return Ok(());
            }
            (Direction::Stop, Step::Prepare(_)) => r.driver.unprepare(ctx),
            (Direction::Stop, _) if self.split.contains(&i) => r.driver.stop_own(ctx),
            (Direction::Stop, _) => r.driver.stop(ctx),
        };
        match outcome {
            Ok(()) => Ok(()),
            Err(e) if r.common.optional => {
                ctx.log
                    .warn(rid, &format!("optional resource failed: {e:#}"));
                Ok(())
            }
            Err(e) => Err(failed(rid, e, &format!("at {rid}"))),
        }
    }

    /// Stops what this start brought up, newest first.
    fn rollback(&self) {
        let done: Vec<Done> = self.done.lock().map(|v| v.clone()).unwrap_or_default();
        for d in done.into_iter().rev() {
            let (i, result) = match d {
                Done::Started(i) => {
                    let r = self.resources[i];
                    self.ctx.log.warn(
                        r.driver.rid(),
                        "rollback: stopping what this start brought up",
                    );
                    if self.split.contains(&i) {
                        (i, r.driver.stop_own(self.ctx))
                    } else {
                        (i, r.driver.stop(self.ctx))
                    }
                }
                Done::Prepared(i) => {
                    let r = self.resources[i];
                    self.ctx
                        .log
                        .warn(r.driver.rid(), "rollback: undoing what this start prepared");
                    (i, r.driver.unprepare(self.ctx))
                }
            };
            if let Err(e) = result {
                self.ctx.log.error(
                    self.resources[i].driver.rid(),
                    &format!("rollback failed: {e:#}"),
                );
            }
        }
    }
}

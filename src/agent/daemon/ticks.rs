//! One look at every service's jobs: which are due (see [`super::schedule`]), run them (see
//! [`super::jobs`]), count every run, skip and failure in the daemon's state and log each skip
//! and failure to the service's action log with the daemon as its actor; and the RPO check.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::time::Duration;

use chrono::{Local, NaiveDateTime, Utc};

use super::config::{DaemonConfig, Retry};
use super::jobs::{Job, Outcome};
use super::notify::Event;
use super::schedule::{self, Due};
use super::state::{self, Shared};
use crate::action_log::{ActionLog, Format};
use crate::agent::{probe, selector, Service};
use crate::config::Role;
use crate::drivers::sync_state::{self, Period, DEFAULT_PERIOD};
use crate::drivers::{system_files, Ctx};
use crate::paths::NodeEnv;

/// The job name of the daily sync.
pub const SYNCDRP: &str = "syncdrp";

/// What the daily job of one service does on this node.
struct Daily {
    /// The service runs here: the whole `syncdrp`.
    here: bool,
    /// Why it does not run here, for the skip.
    not_here: String,
    /// This production node sends its system files (sync#i1) whatever the service's state:
    /// where the service is not up, the daily job is `syncupdate --rid sync#i1`.
    system_files: bool,
}
/// The job name of the boot's standby start.
pub const STARTSTANDBY: &str = "startstandby";

/// The scheduler's memory between ticks.
pub struct Scheduler<'a> {
    env: &'a NodeEnv,
    state: &'a Shared,
    stop: &'a AtomicBool,
    events: Sender<Event>,
    retry: Retry,
    grace: Duration,
    /// When each (service, job) last took its turn (ran, or was skipped for the turn).
    turns: BTreeMap<(String, String), NaiveDateTime>,
    /// Services whose standby start at boot is still to do.
    boot: BTreeSet<String>,
    /// Sync resources known to be past their `sync_max_delay` (notified once).
    breached: BTreeSet<(String, String)>,
}

impl<'a> Scheduler<'a> {
    /// A scheduler; the turns of a previous daemon carry on from its state.
    pub fn new(
        env: &'a NodeEnv,
        cfg: &DaemonConfig,
        state: &'a Shared,
        stop: &'a AtomicBool,
        events: Sender<Event>,
    ) -> Self {
        let mut turns = BTreeMap::new();
        for (svc, jobs) in &state.lock().jobs {
            for (job, j) in jobs {
                if let Some(t) = j.last_attempt.as_deref().and_then(state::local) {
                    turns.insert((svc.clone(), job.clone()), t);
                }
            }
        }
        Self {
            env,
            state,
            stop,
            events,
            retry: cfg.job_retry(),
            grace: Duration::from_secs(cfg.schedule.grace),
            turns,
            boot: BTreeSet::new(),
            breached: BTreeSet::new(),
        }
    }

    /// At start: the standby resources of every service this node is a DRP node of (never its
    /// active resources: `startstandby` starts only what is standby here).
    pub fn boot(&mut self) {
        for name in selector::configured(self.env).unwrap_or_default() {
            if let Ok(svc) = Service::load(self.env, &name) {
                if svc.cfg.role(&self.env.nodename) == Role::Drp {
                    self.boot.insert(name);
                }
            }
        }
        self.run_boot_jobs();
    }

    fn run_boot_jobs(&mut self) {
        for name in std::mem::take(&mut self.boot) {
            if self.stop.load(Ordering::SeqCst) {
                return;
            }
            let out = self.run_job(&name, STARTSTANDBY, vec![STARTSTANDBY.into()]);
            if matches!(out, Outcome::Skipped(_)) {
                self.boot.insert(name);
            }
        }
    }

    /// One look at every service.
    pub fn tick(&mut self) {
        self.run_boot_jobs();
        let names = match selector::configured(self.env) {
            Ok(n) => n,
            Err(e) => {
                eprintln!("daemon: cannot list the services: {e:#}");
                return;
            }
        };
        for name in names {
            if self.stop.load(Ordering::SeqCst) {
                return;
            }
            match Service::load(self.env, &name) {
                Ok(svc) => self.service(&svc),
                Err(e) => eprintln!("daemon: {name}: {e:#}"),
            }
        }
    }

    fn service(&mut self, svc: &Service) {
        let env = self.env;
        probe::with_local_ctx(env, svc, false, |ctx| self.service_jobs(svc, ctx));
    }

    /// One service's jobs: its daily `syncdrp`, and each sync resource's interval and RPO.
    fn service_jobs(&mut self, svc: &Service, ctx: &Ctx) {
        let env = self.env;
        let st = probe::probe(env, svc);
        let here = st.avail.is_active();
        let not_here = || {
            format!(
                "{} is {} on {}: syncs run from the node where the service runs",
                svc.name, st.avail, env.nodename
            )
        };
        let now = Local::now().naive_local();
        // The daily syncdrp inside the service's sync_period (a service with DRP nodes).
        if !svc.cfg.drpnodes.is_empty() {
            // Where the service is not up, production's system files still go (sync#i1).
            let system_files = svc
                .resources
                .iter()
                .any(|r| r.driver.rid() == system_files::RID && !r.common.disabled)
                && !system_files::destinations(&svc.cfg, &env.nodename).is_empty();
            let daily = Daily {
                here,
                not_here: not_here(),
                system_files,
            };
            self.daily_syncdrp(ctx, &daily, now);
        }
        // Each sync resource's sync_interval, and its RPO.
        for r in &svc.resources {
            if r.driver.as_sync().is_none() || r.common.disabled {
                continue;
            }
            let rid = r.driver.rid().to_string();
            if here {
                self.rpo(ctx, &rid);
            }
            let Some(every) = ctx.get(&rid, "sync_interval") else {
                continue;
            };
            let every = match sync_state::parse_delay(&every) {
                Ok(d) if !d.is_zero() => d,
                Ok(_) => continue,
                Err(e) => {
                    self.skip(&svc.name, &rid, &format!("sync_interval: {e}"), true);
                    continue;
                }
            };
            let last = self.turns.get(&(svc.name.clone(), rid.clone())).copied();
            match schedule::interval(now, every, last) {
                Due::Later(t) => self.next_due(&svc.name, &rid, t),
                Due::Now if !here => self.skip(&svc.name, &rid, &not_here(), true),
                Due::Now => match sync_state::in_period(ctx, &rid) {
                    Ok((false, p)) => {
                        self.skip(&svc.name, &rid, &format!("outside sync_period {p}"), true)
                    }
                    Err(e) => self.skip(&svc.name, &rid, &format!("{e:#}"), true),
                    Ok((true, _)) => {
                        let verb = vec!["syncupdate".into(), "--rid".into(), rid.clone()];
                        self.run_job(&svc.name, &rid, verb);
                    }
                },
            }
        }
    }

    /// The daily `syncdrp` inside the service's `sync_period`.
    fn daily_syncdrp(&mut self, ctx: &Ctx, daily: &Daily, now: NaiveDateTime) {
        let svc = ctx.svc;
        let text = ctx
            .get("DEFAULT", "sync_period")
            .unwrap_or_else(|| DEFAULT_PERIOD.to_string());
        let period = match Period::parse(&text) {
            Ok(p) => p,
            Err(e) => return self.skip(svc, SYNCDRP, &format!("sync_period: {e}"), true),
        };
        let last = self.turns.get(&(svc.to_string(), SYNCDRP.to_string()));
        match schedule::daily(now, &period, last.copied()) {
            Due::Later(t) => self.next_due(svc, SYNCDRP, t),
            Due::Now if !daily.here && daily.system_files => {
                let verb = vec![
                    "syncupdate".into(),
                    "--rid".into(),
                    system_files::RID.into(),
                ];
                self.run_job(svc, SYNCDRP, verb);
            }
            Due::Now if !daily.here => self.skip(svc, SYNCDRP, &daily.not_here, true),
            Due::Now => {
                self.run_job(svc, SYNCDRP, vec![SYNCDRP.into()]);
            }
        }
    }

    /// Notifies a sync resource's passing its `sync_max_delay`, once until it is fresh again.
    fn rpo(&mut self, ctx: &Ctx, rid: &str) {
        let Ok(Some(last)) = sync_state::read_state(ctx.env, ctx.svc, rid) else {
            return;
        };
        let limit = sync_state::max_delay(ctx, rid);
        let age = last.age();
        let key = (ctx.svc.to_string(), rid.to_string());
        if age <= limit {
            self.breached.remove(&key);
            return;
        }
        if !self.breached.insert(key) {
            return;
        }
        let message = format!(
            "{rid}: the last sync ended {} ago, more than its sync_max_delay of {} min",
            human(age),
            limit.as_secs() / 60
        );
        say(self.env, ctx.svc, true, &message);
        self.send(ctx.svc, "rpo_breach", rid, &message);
    }

    fn send(&self, svc: &str, event: &str, rid: &str, message: &str) {
        let _ = self.events.send(Event {
            event: event.into(),
            node: self.env.nodename.clone(),
            service: svc.into(),
            ts: state::now_text(),
            from: None,
            to: None,
            rid: Some(rid.into()),
            message: message.into(),
        });
    }

    fn next_due(&self, svc: &str, job: &str, at: NaiveDateTime) {
        let text = at.and_local_timezone(Local).earliest().map(|t| {
            t.with_timezone(&Utc)
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        });
        self.state.job(svc, job, |j| j.next_due = text);
    }

    /// Counts and logs a skip; `turn`: the job's turn is spent (tried again at its next turn,
    /// not at the next tick).
    fn skip(&mut self, svc: &str, job: &str, why: &str, turn: bool) {
        say(
            self.env,
            svc,
            false,
            &format!("daemon: scheduled {job} skipped: {why}"),
        );
        self.state.job(svc, job, |j| {
            j.skipped += 1;
            j.last_error = Some(why.to_string());
        });
        if turn {
            self.turns.insert(
                (svc.to_string(), job.to_string()),
                Local::now().naive_local(),
            );
        }
        let _ = self.state.save();
    }

    fn run_job(&mut self, svc: &str, job: &str, verb: Vec<String>) -> Outcome {
        let env = self.env;
        let say_job = |msg: &str| say(env, svc, false, &format!("daemon: {msg}"));
        let mut before = None;
        self.state.job(svc, job, |j| {
            before = j.last_attempt.replace(state::now_text());
        });
        let _ = self.state.save();
        let run = Job {
            env,
            svc,
            verb,
            retry: self.retry,
            stop: self.stop,
            grace: self.grace,
            say: &say_job,
        };
        let (out, tries) = run.run();
        match &out {
            Outcome::Done => {
                self.turns.insert(
                    (svc.to_string(), job.to_string()),
                    Local::now().naive_local(),
                );
                self.state.job(svc, job, |j| {
                    j.runs += 1;
                    j.last_success = Some(state::now_text());
                    j.last_error = None;
                });
            }
            Outcome::Skipped(why) => {
                // It did not start: a restarted daemon must not take this for the day's turn.
                self.state.job(svc, job, |j| j.last_attempt = before);
                let why = why.clone();
                // A busy lock: the next tick tries again.
                self.skip(svc, job, &why, false);
            }
            Outcome::Failed(why) => {
                self.turns.insert(
                    (svc.to_string(), job.to_string()),
                    Local::now().naive_local(),
                );
                let tries = match tries {
                    1 => "1 try".to_string(),
                    n => format!("{n} tries"),
                };
                let message = format!("scheduled {job} failed after {tries}: {why}");
                say(env, svc, true, &format!("daemon: {message}"));
                self.state.job(svc, job, |j| {
                    j.runs += 1;
                    j.failures += 1;
                    j.last_error = Some(why.clone());
                });
                self.send(svc, "job_failed", job, &message);
            }
        }
        let _ = self.state.save();
        out
    }
}

/// Writes a line to the service's action log (every console shows it, with the daemon as its
/// actor) and the daemon's stdout.
fn say(env: &NodeEnv, svc: &str, error: bool, msg: &str) {
    let log = ActionLog::new(
        svc,
        Format::Text,
        Some(&env.state_dir(svc).join("actions.log")),
    );
    if error {
        log.error("", msg);
    } else {
        log.warn("", msg);
    }
}

/// A duration for humans: `3h12m`, `12m`, `40s`.
fn human(d: Duration) -> String {
    let s = d.as_secs();
    match (s / 3600, (s % 3600) / 60) {
        (0, 0) => format!("{s}s"),
        (0, m) => format!("{m}m"),
        (h, m) => format!("{h}h{m:02}m"),
    }
}

//! A service's lease on this node: who runs it, where the run is, and whether another seat may
//! take it. Every age is measured in this node's clock; a seat's clock is never trusted.

use chrono::{DateTime, SecondsFormat, Utc};
use color_eyre::eyre::{eyre, Result, WrapErr};

use super::store::Runs;
use crate::paths::NodeEnv;
use crate::protocol::names::{RunId, SeatId};
use crate::protocol::run::{Lease, LeaseAnswer, LeaseRequest, LeaseView};

/// What a lease verb did: the answer, and whether the lease on disk changed in a way a screen
/// shows (a new holder, another step, gone), so the watch is told at once.
pub struct Outcome {
    /// The answer for the seat.
    pub answer: LeaseAnswer,
    /// The lease changed beyond its renewal time.
    pub changed: bool,
}

/// The lease as this node reports it at `now`.
pub fn view(lease: Lease, now: DateTime<Utc>) -> LeaseView {
    let renewed_ms_ago = DateTime::parse_from_rfc3339(&lease.renewed)
        .map(|t| (now - t.with_timezone(&Utc)).num_milliseconds().max(0))
        .map_or(0, |ms| u64::try_from(ms).unwrap_or(0));
    let expired = renewed_ms_ago > lease.ttl_s.saturating_mul(1000);
    LeaseView {
        lease,
        renewed_ms_ago,
        expired,
    }
}

/// The lease of a service's runs folder, if any; a file that does not parse, or whose renewal
/// time is not one this node wrote, is an error naming it (nothing is taken over on a guess).
pub fn load(runs: &Runs) -> Result<Option<Lease>> {
    let path = runs.lease();
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).wrap_err_with(|| format!("reading {}", path.display())),
    };
    let lease: Lease =
        serde_json::from_str(&text).wrap_err_with(|| format!("{}: not a lease", path.display()))?;
    DateTime::parse_from_rfc3339(&lease.renewed).map_err(|e| {
        eyre!(
            "{}: renewed '{}' is not an RFC 3339 time: {e}",
            path.display(),
            lease.renewed.escape_debug()
        )
    })?;
    Ok(Some(lease))
}

/// The lease of `svc` on this node as it stands at `now`.
pub fn current(env: &NodeEnv, svc: &str, now: DateTime<Utc>) -> Result<Option<LeaseView>> {
    Ok(load(&Runs::of(env, svc))?.map(|l| view(l, now)))
}

/// Takes, renews or takes over the lease (the caller checked the service and the run), under
/// the runs folder's lock. `ended(run)`: whether this node's journal of `run` has ended.
pub fn take(
    env: &NodeEnv,
    req: &LeaseRequest,
    now: DateTime<Utc>,
    ended: &dyn Fn(&str) -> bool,
) -> Result<Outcome> {
    check_step(req.step.as_deref())?;
    let runs = Runs::of(env, &req.svc);
    let _lock = runs.lock()?;
    let held = load(&runs)?.map(|l| view(l, now));
    if let Some(v) = &held {
        if let Err(reason) = decide(v, req, ended) {
            return Ok(Outcome {
                answer: LeaseAnswer {
                    granted: false,
                    lease: held.clone(),
                    reason: Some(reason),
                },
                changed: false,
            });
        }
    }
    let lease = from_request(req, now);
    let changed = held
        .as_ref()
        .is_none_or(|v| !same_but_renewal(&v.lease, &lease));
    let bytes = serde_json::to_vec(&lease)?;
    crate::paths::write_atomic(&runs.lease(), &bytes)
        .wrap_err_with(|| format!("writing {}", runs.lease().display()))?;
    Ok(Outcome {
        answer: LeaseAnswer {
            granted: true,
            lease: Some(view(lease, now)),
            reason: None,
        },
        changed,
    })
}

/// Gives the lease back when `run` and `seat` hold it; leaves any other holder's lease in place
/// and says so.
pub fn release(
    env: &NodeEnv,
    svc: &str,
    run: &RunId,
    seat: &SeatId,
    now: DateTime<Utc>,
) -> Result<Outcome> {
    let runs = Runs::of(env, svc);
    if !runs.dir().is_dir() {
        return Ok(Outcome {
            answer: no_lease(),
            changed: false,
        });
    }
    let _lock = runs.lock()?;
    let Some(lease) = load(&runs)? else {
        return Ok(Outcome {
            answer: no_lease(),
            changed: false,
        });
    };
    if lease.run == run.as_ref() && lease.holder.seat == seat.as_ref() {
        std::fs::remove_file(runs.lease())
            .wrap_err_with(|| format!("removing {}", runs.lease().display()))?;
        return Ok(Outcome {
            answer: no_lease(),
            changed: true,
        });
    }
    let v = view(lease, now);
    let reason = format!("the lease was left in place: {}", held_by(&v));
    Ok(Outcome {
        answer: LeaseAnswer {
            granted: false,
            lease: Some(v),
            reason: Some(reason),
        },
        changed: false,
    })
}

/// The step is shown to every other operator: a journal name, printable and short.
fn check_step(step: Option<&str>) -> Result<()> {
    if let Some(s) = step {
        if s.is_empty() || s.chars().count() > 64 || s.chars().any(char::is_control) {
            return Err(eyre!(
                "invalid --step '{}': at most 64 printable characters",
                s.escape_debug()
            ));
        }
    }
    Ok(())
}

fn no_lease() -> LeaseAnswer {
    LeaseAnswer {
        granted: false,
        lease: None,
        reason: None,
    }
}

/// Whether `req` may have the lease `held`: `Err` says why not, naming the holder, its step and
/// the age of its last renewal, and how an unfinished run is taken over.
fn decide(
    held: &LeaseView,
    req: &LeaseRequest,
    ended: &dyn Fn(&str) -> bool,
) -> Result<(), String> {
    let l = &held.lease;
    let same_run = l.run == req.run.as_ref();
    if same_run && l.holder.seat == req.seat.as_ref() {
        return Ok(());
    }
    if !same_run && held.expired && ended(&l.run) {
        // The run ended on this node; only its release never arrived.
        return Ok(());
    }
    if req.takeover && same_run {
        if held.expired {
            return Ok(());
        }
        if req.holder_gone && l.holder.host == req.host.as_ref() && l.holder.pid != req.pid {
            return Ok(());
        }
    }
    let mut why = held_by(held);
    if req.takeover && !same_run {
        why.push_str(&format!(
            "; --takeover takes over that run only, not {}",
            req.run
        ));
    } else if req.holder_gone && l.holder.host != req.host.as_ref() {
        why.push_str(&format!(
            "; only a seat on {} can tell that its process is gone",
            l.holder.host
        ));
    } else if req.holder_gone && l.holder.pid == req.pid {
        why.push_str(&format!(
            "; the asking process has the holder's own pid {}",
            l.holder.pid
        ));
    }
    if held.expired && !ended(&l.run) {
        why.push_str(&format!(
            "; it stopped renewing for more than {}s and the run is unfinished: take it over with \
             `drpilot drp takeover {}`",
            l.ttl_s, l.run
        ));
    }
    Err(why)
}

/// "busybox is run by alice@laptop (pid 42), run R, step 4/7 (stop_drp), renewed 3s ago".
fn held_by(v: &LeaseView) -> String {
    let l = &v.lease;
    let step = l.step.as_ref().map_or(String::new(), |s| format!(" ({s})"));
    format!(
        "{} is run by {}, run {}, step {}/{}{step}, last renewed {}s ago",
        l.svc,
        l.holder,
        l.run,
        l.index,
        l.total,
        v.renewed_ms_ago / 1000
    )
}

fn from_request(req: &LeaseRequest, now: DateTime<Utc>) -> Lease {
    Lease {
        svc: req.svc.to_string(),
        run: req.run.to_string(),
        mode: req.mode,
        holder: crate::protocol::run::Holder {
            user: req.user.to_string(),
            host: req.host.to_string(),
            pid: req.pid,
            seat: req.seat.to_string(),
        },
        step: req.step.clone(),
        index: req.index,
        total: req.total,
        started: req.started.to_string(),
        renewed: now.to_rfc3339_opts(SecondsFormat::Millis, true),
        ttl_s: req.ttl,
    }
}

/// Whether two leases differ only by their renewal time.
pub fn same_but_renewal(a: &Lease, b: &Lease) -> bool {
    let mut b = b.clone();
    b.renewed.clone_from(&a.renewed);
    *a == b
}

/// Every lease of this node's configured services, at `now` (a lease file that does not parse
/// is reported in `warnings`, never hidden behind the others).
pub fn all(
    env: &NodeEnv,
    now: DateTime<Utc>,
    warnings: &mut Vec<String>,
) -> Result<Vec<LeaseView>> {
    let mut out = Vec::new();
    for svc in crate::agent::selector::configured(env)? {
        match current(env, &svc, now) {
            Ok(Some(v)) => out.push(v),
            Ok(None) => {}
            Err(e) => warnings.push(format!("{e:#}")),
        }
    }
    Ok(out)
}

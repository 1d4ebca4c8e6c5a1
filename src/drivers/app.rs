//! `app`: a process the service runs. `start` is launched detached in its own process group,
//! its pid (with the kernel's start time, so a recycled pid is not mistaken for it) kept in the
//! state directory; `check`, when set, decides the status; stop runs `stop` if set, then
//! terminates the whole process group, killing it past `timeout`.

use std::fs::OpenOptions;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use color_eyre::eyre::{bail, eyre, Result, WrapErr};
use rustix::process::{kill_process_group, Pid, Signal};

use super::sync_state::parse_delay;
use super::{run_logged, Ctx, Probe, Resource};
use crate::config::KeywordSpec;
use crate::paths::write_atomic;
use crate::status::Status;
use crate::transport::run_child;

/// The keywords of an `app` section.
pub(crate) const KEYWORDS: &[KeywordSpec] = &[
    KeywordSpec::req("start", "command starting the application").split(),
    KeywordSpec::opt("stop", "command stopping the application").split(),
    KeywordSpec::opt("check", "command checking the application (exit 0 = up)").split(),
    KeywordSpec::opt("cwd", "working directory of the commands"),
    KeywordSpec::opt("timeout", "seconds before a command is killed"),
    KeywordSpec::opt(
        "environment",
        "KEY=VALUE words added to the commands' environment",
    ),
];

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// The comment of an app that is not evaluated, as OpenSVC words it.
const NOT_EVALUATED: &str = "not evaluated (instance not up)";

/// The app resource driver.
pub struct App {
    rid: String,
}

use crate::procfs::Tracked;

impl App {
    /// A driver for section `rid`.
    pub fn new(rid: &str) -> Self {
        Self {
            rid: rid.to_string(),
        }
    }

    fn pid_file(&self, ctx: &Ctx) -> PathBuf {
        ctx.state_dir().join(format!("{}.pid", self.rid))
    }

    fn tracked(&self, ctx: &Ctx) -> Option<Tracked> {
        let text = std::fs::read_to_string(self.pid_file(ctx)).ok()?;
        let mut it = text.split_whitespace();
        Some(Tracked {
            pid: it.next()?.parse().ok()?,
            start_time: it.next()?.parse().ok()?,
        })
    }

    fn timeout(&self, ctx: &Ctx) -> Duration {
        let Some(t) = ctx.get(&self.rid, "timeout") else {
            return DEFAULT_TIMEOUT;
        };
        // A plain number is seconds here, as OpenSVC's app timeouts.
        match t.trim().parse::<u64>() {
            Ok(secs) => Duration::from_secs(secs),
            Err(_) => parse_delay(&t).unwrap_or(DEFAULT_TIMEOUT),
        }
    }

    fn argv(&self, ctx: &Ctx, key: &str) -> Result<Option<Vec<String>>> {
        let Some(line) = ctx.get(&self.rid, key) else {
            return Ok(None);
        };
        let argv = shell_words::split(&line).map_err(|e| {
            eyre!(
                "{}: [{}] {key}: cannot split '{line}': {e}",
                ctx.cfg.raw.path.display(),
                self.rid
            )
        })?;
        if argv.is_empty() {
            return Ok(None);
        }
        Ok(Some(argv))
    }

    fn cwd(&self, ctx: &Ctx) -> Result<Option<PathBuf>> {
        let Some(cwd) = ctx.get(&self.rid, "cwd") else {
            return Ok(None);
        };
        let path = ctx.env.path(&cwd);
        if !path.is_dir() {
            bail!(
                "{}: cwd {cwd} does not exist on {} (is the fs up?)",
                self.rid,
                ctx.env.nodename
            );
        }
        Ok(Some(path))
    }

    fn run_check(&self, ctx: &Ctx, argv: &[String]) -> Probe {
        let mut cmd = Command::new(&argv[0]);
        cmd.args(&argv[1..]).env("DRPILOT_SVCNAME", ctx.svc);
        if let Ok(Some(cwd)) = self.cwd(ctx) {
            cmd.current_dir(cwd);
        }
        let timeout = self.timeout(ctx);
        match run_child(cmd, None, Some(timeout)) {
            Ok(o) => check_verdict(&o, timeout),
            Err(e) => Probe::warn(format!("check cannot run: {e}")),
        }
    }
}

/// OpenSVC's reading of a check's exit: 0 up, 1 down, anything else (another code, a signal, a
/// check that outlived its timeout) is `warn`: the check could not tell.
fn check_verdict(out: &crate::transport::CallOutput, timeout: Duration) -> Probe {
    if out.timed_out {
        return Probe::warn(format!("check timed out after {}s", timeout.as_secs()));
    }
    match out.code {
        Some(0) => Probe::up(),
        Some(1) => Probe::down(format!("check reports down: {}", out.failure_reason())),
        Some(n) => Probe::warn(format!("check reports errors ({n})")),
        None => Probe::warn("check killed by a signal"),
    }
}

impl Resource for App {
    fn rid(&self) -> &str {
        &self.rid
    }

    fn type_name(&self) -> String {
        "app".to_string()
    }

    fn label(&self, ctx: &Ctx) -> String {
        ctx.get(&self.rid, "start").unwrap_or_default()
    }

    fn probe(&self, ctx: &Ctx) -> Probe {
        match self.argv(ctx, "check") {
            Ok(Some(argv)) => return self.run_check(ctx, &argv),
            Ok(None) => {}
            Err(e) => return Probe::warn(format!("{e}")),
        }
        match self.tracked(ctx) {
            Some(t) if t.alive() => Probe::up(),
            Some(t) => Probe::down(format!("not running (pid {} is gone)", t.pid)),
            None => Probe::down("not running"),
        }
    }

    fn judged_after_instance(&self) -> bool {
        true
    }

    fn probe_instance_down(&self, ctx: &Ctx) -> Probe {
        // Its check would only see what runs elsewhere (a production URL answers on the DRP
        // node too); the process this node started is the one thing known to run here.
        match self.tracked(ctx).filter(Tracked::alive) {
            Some(t) => Probe::with(
                Status::Up,
                format!("pid {} runs although the instance is not up", t.pid),
            ),
            None => Probe::with(Status::NotApplicable, NOT_EVALUATED),
        }
    }

    fn start(&self, ctx: &Ctx) -> Result<()> {
        if let Some(t) = self.tracked(ctx).filter(Tracked::alive) {
            ctx.log
                .info(&self.rid, &format!("already running (pid {})", t.pid));
            return Ok(());
        }
        let argv = self
            .argv(ctx, "start")?
            .ok_or_else(|| eyre!("{}: start has no value for this node", self.rid))?;
        let state = ctx.state_dir();
        std::fs::create_dir_all(&state)
            .wrap_err_with(|| format!("creating {}", state.display()))?;
        let out_path = state.join(format!("{}.out", self.rid));
        let out = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&out_path)
            .wrap_err_with(|| format!("opening {}", out_path.display()))?;
        let err = out.try_clone()?;
        ctx.log.cmd(&self.rid, &argv);
        let mut cmd = Command::new(&argv[0]);
        cmd.args(&argv[1..])
            .env("DRPILOT_SVCNAME", ctx.svc)
            .env("DRPILOT_RID", &self.rid)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .process_group(0);
        if let Some(cwd) = self.cwd(ctx)? {
            cmd.current_dir(cwd);
        }
        let mut child = cmd
            .spawn()
            .wrap_err_with(|| format!("{}: cannot run {}", self.rid, argv[0]))?;
        let pid = child.id() as i32;
        let start_time = crate::procfs::start_time(pid as u32)
            .ok_or_else(|| eyre!("{}: {} exited at once", self.rid, argv[0]))?;
        write_atomic(
            &self.pid_file(ctx),
            format!("{pid} {start_time}\n").as_bytes(),
        )?;
        ctx.log.info(
            &self.rid,
            &format!("started, pid {pid}, output in {}", out_path.display()),
        );
        // A start that dies immediately (bad path, syntax error) must fail the action: its exit
        // is watched (on its pidfd) for the settle time.
        let settled = Tracked { pid, start_time };
        if settled.wait_gone(Duration::from_millis(300)) {
            let status = child.wait()?;
            bail!(
                "{}: {} exited at once with {status}; its output is in {}",
                self.rid,
                argv[0],
                out_path.display()
            );
        }
        if let Some(check) = self.argv(ctx, "check")? {
            let deadline = Instant::now() + self.timeout(ctx);
            loop {
                let p = self.run_check(ctx, &check);
                if p.status == crate::status::Status::Up {
                    break;
                }
                if Instant::now() > deadline {
                    bail!("{}: {}", self.rid, p.comments.join("; "));
                }
                std::thread::sleep(Duration::from_millis(200));
            }
        }
        Ok(())
    }

    fn stop(&self, ctx: &Ctx) -> Result<()> {
        if let Some(argv) = self.argv(ctx, "stop")? {
            run_logged(ctx, &self.rid, &argv, self.timeout(ctx))?;
        }
        let Some(t) = self.tracked(ctx).filter(Tracked::alive) else {
            ctx.log.info(&self.rid, "not running");
            let _ = std::fs::remove_file(self.pid_file(ctx));
            return Ok(());
        };
        let pgid = Pid::from_raw(t.pid).ok_or_else(|| eyre!("{}: bad pid {}", self.rid, t.pid))?;
        ctx.log.info(&self.rid, &format!("kill -TERM -{}", t.pid));
        let _ = kill_process_group(pgid, Signal::TERM);
        let gone = |limit: Duration| {
            let deadline = Instant::now() + limit;
            while Instant::now() < deadline {
                if !t.alive() {
                    return true;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            !t.alive()
        };
        if !gone(self.timeout(ctx)) {
            ctx.log.warn(
                &self.rid,
                &format!(
                    "still running after {:?}: kill -KILL -{}",
                    self.timeout(ctx),
                    t.pid
                ),
            );
            let _ = kill_process_group(pgid, Signal::KILL);
            if !gone(Duration::from_secs(5)) {
                bail!("{}: process {} survived SIGKILL", self.rid, t.pid);
            }
        }
        std::fs::remove_file(self.pid_file(ctx))
            .wrap_err_with(|| format!("{}: removing the pid file", self.rid))?;
        Ok(())
    }
}

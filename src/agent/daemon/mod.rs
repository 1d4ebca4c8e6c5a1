//! `drpilot daemon`: the node's long-lived process. It is the node's one prober (the `agent
//! watch` probe loop, which every watcher then follows), runs each service's scheduled syncs
//! (`syncdrp` once a day inside `sync_period`, `syncupdate --rid RID` every `sync_interval`)
//! as children under the service lock, starts the standby resources of the services this node
//! is a DRP node of at boot, notifies status transitions, RPO breaches and failed jobs, and
//! stops on SIGTERM/SIGINT letting a running action finish within a grace period.

pub mod config;
mod jobs;
pub mod notify;
pub mod schedule;
mod signals;
pub mod state;
mod ticks;
mod transitions;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use color_eyre::eyre::{Result, WrapErr};

use self::config::DaemonConfig;
use self::notify::{Event, Notifier};
use super::watch_share::Shared as ProbeShare;
use crate::paths::NodeEnv;

/// The daemon's config file on a node.
pub const CONFIG_PATH: &str = "/etc/drpilot/daemon.toml";

/// How the daemon is started.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Seconds between two looks at the jobs (`--tick`, wins over the config's).
    pub tick: Option<u64>,
    /// The config file (`--config`), else [`CONFIG_PATH`] under the node's root.
    pub config: Option<PathBuf>,
}

/// Runs the daemon until SIGTERM or SIGINT; `Ok` is a clean stop.
pub fn run(env: &NodeEnv, opts: &Options) -> Result<()> {
    let path = opts.config.clone().unwrap_or_else(|| env.path(CONFIG_PATH));
    let cfg = DaemonConfig::load(&path)?;
    let tick = Duration::from_secs(opts.tick.unwrap_or(cfg.schedule.tick).max(1));
    // Every action the daemon runs, and every line it logs, names the daemon as its actor.
    crate::transport::client::set_origin("daemon", None);
    if let Some((k, v)) = crate::transport::client::actor_env() {
        std::env::set_var(k, v);
    }
    let probe_share = ProbeShare::for_daemon(env)?;
    let state = state::Shared::start(env);
    state.save()?;
    let stop = Arc::new(AtomicBool::new(false));
    signals::install(stop.clone())?;
    let notifier = Notifier::new(&cfg.notify, cfg.notify_retry())?;
    let (tx, rx) = mpsc::channel::<Event>();

    let prober = {
        let env = env.clone();
        let stop = stop.clone();
        let tx = tx.clone();
        std::thread::spawn(move || {
            let mut sink = transitions::StatusSink::new(&env.nodename, tx, stop);
            // Ends when the sink refuses a line (the daemon stops).
            let _ = super::watch::watch_with(&env, &[], &mut sink, None, probe_share);
        })
    };
    let sender = {
        let state = state.clone();
        let stop = stop.clone();
        std::thread::spawn(move || notifier.serve(&rx, &state, &stop))
    };
    // The metrics endpoint: a failure to listen is said loudly but never stops the syncs (the
    // scrape failing is what the monitoring sees, and its alert fires).
    let metrics_at = match cfg.metrics.listen.parse::<std::net::SocketAddr>() {
        Ok(listen) => {
            let env = env.clone();
            super::metrics::serve(listen, move || {
                super::metrics::node_text(&env, super::metrics::Format::Openmetrics)
            })
            .map(|s| format!("metrics on http://{}/metrics", s.addr))
        }
        Err(e) => Err(color_eyre::eyre::eyre!(
            "[metrics] listen '{}': {e}",
            cfg.metrics.listen
        )),
    };
    let metrics_at = metrics_at.unwrap_or_else(|e| {
        eprintln!("daemon: no metrics endpoint: {e:#}");
        "no metrics endpoint".to_string()
    });

    println!(
        "drpilot daemon on {}: pid {}, tick {}s, config {}, {metrics_at}",
        env.nodename,
        std::process::id(),
        tick.as_secs(),
        path.display()
    );
    let mut sched = ticks::Scheduler::new(env, &cfg, &state, &stop, tx);
    sched.boot();
    while !stop.load(Ordering::SeqCst) {
        sched.tick();
        if let Err(e) = state.save() {
            eprintln!("daemon: {e:#}");
        }
        if jobs::sleep_unless(&stop, tick) {
            break;
        }
    }
    println!("drpilot daemon on {}: stopping", env.nodename);
    drop(sched);
    let _ = prober.join();
    let _ = sender.join();
    state.save().wrap_err("writing the daemon's last state")?;
    Ok(())
}

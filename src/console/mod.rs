//! The operations console: watches every node of the services over their links, shows the
//! production and DRP trees side by side, and runs actions behind confirmation gates. Node and
//! action IO live in tasks that send [`event::Event`]s; the app task owns the state and redraws
//! only when something changed (and once a second for the staleness clocks).

pub mod app;
pub mod event;
mod executor;
pub mod keys;
mod node_task;
pub mod panes;
mod terminal;
pub mod theme;
pub mod ui;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;
use color_eyre::eyre::{bail, Result, WrapErr};
use futures::StreamExt;
use tokio::sync::mpsc;

use app::{App, Effect};
use event::Event;
use executor::Executor;
use theme::Theme;

use crate::transport::{NodeMap, Pool};

/// Arguments of `drpilot console`.
#[derive(Debug, Args, Clone, Default)]
pub struct ConsoleArgs {
    /// Services to show (default: every service of the nodes).
    pub services: Vec<String>,
    /// The node address map (default ~/.config/drpilot/nodes.toml).
    #[arg(long, value_name = "FILE")]
    pub nodes: Option<PathBuf>,
    /// Show every service (the default when none is named).
    #[arg(long)]
    pub all: bool,
    /// Watch only: the console is built without an action executor.
    #[arg(long)]
    pub read_only: bool,
    /// Wall screen: a large status grid, read-only.
    #[arg(long)]
    pub wall: bool,
    /// Theme name (default, light, high-contrast, monochrome, colorblind) or a theme file.
    #[arg(long, value_name = "NAME|PATH")]
    pub theme: Option<String>,
    /// Accept and remember host keys of nodes never seen before (strict by default).
    #[arg(long)]
    pub accept_new_host_keys: bool,
}

/// The default node map location.
pub fn default_nodes_file() -> PathBuf {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))
        .unwrap_or_else(|| PathBuf::from("."));
    base.join("drpilot/nodes.toml")
}

/// Runs the console until the operator quits.
pub fn run(args: ConsoleArgs) -> Result<bool> {
    let file = args.nodes.clone().unwrap_or_else(default_nodes_file);
    let mut map = NodeMap::load_for_operator(args.nodes.as_deref(), &file)?;
    // The flag goes into the map, so the runbooks the console starts honour it too.
    if args.accept_new_host_keys {
        map.set_accept_new_host_keys(true);
    }
    let nodes = map.nodes();
    if nodes.is_empty() {
        bail!(
            "no node to watch: {} lists none (as `[nodes] deb1 = \"ssh://root@deb1\"`)",
            file.display()
        );
    }
    let theme = Theme::choose(args.theme.as_deref())?;
    // The transports' runtime: the console's tasks and its runbook's blocking calls share it.
    crate::transport::runtime()?.block_on(run_async(args, Arc::new(Pool::new(map)), nodes, theme))
}

async fn run_async(
    args: ConsoleArgs,
    pool: Arc<Pool>,
    nodes: Vec<String>,
    theme: Theme,
) -> Result<bool> {
    let (tx, mut rx) = mpsc::channel::<Event>(1024);
    let read_only = args.read_only || args.wall;
    // Read-only and wall consoles have no executor at all: no key can reach an action.
    let executor = (!read_only).then(|| Executor::new(pool.clone(), tx.clone()));
    let mut app = App::new(theme, read_only, args.wall, args.services.clone());
    let watch = |node: String| {
        tokio::spawn(node_task::watch_node(
            node,
            pool.clone(),
            args.services.clone(),
            tx.clone(),
        ))
    };
    for n in &nodes {
        app.nodes.insert(n.clone(), app::NodeHealth::default());
        watch(n.clone());
    }

    // The handlers are installed here, before the terminal is taken: a SIGTERM arriving at any time
    // after that becomes a clean exit.
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).wrap_err("installing the SIGTERM handler")?;
    let mut hup = signal(SignalKind::hangup()).wrap_err("installing the SIGHUP handler")?;
    let mut terminal =
        terminal::enter().wrap_err("entering full-screen mode (is this a terminal?)")?;
    let input_tx = tx.clone();
    let input = tokio::spawn(async move {
        let mut events = crossterm::event::EventStream::new();
        while let Some(Ok(ev)) = events.next().await {
            if input_tx.send(Event::Input(ev)).await.is_err() {
                break;
            }
        }
    });
    let signal_tx = tx.clone();
    let signals = tokio::spawn(async move {
        tokio::select! { _ = term.recv() => {}, _ = hup.recv() => {} }
        let _ = signal_tx.send(Event::Terminate).await;
    });
    let mut clock = tokio::time::interval(Duration::from_secs(1));
    let panic_after_draw = std::env::var_os("DRPILOT_PANIC_AFTER_DRAW").is_some();
    let mut dirty = true;
    let mut last_frame = Instant::now() - Duration::from_secs(1);
    let result: Result<()> = async {
        loop {
            if dirty {
                // Bursts (a flood of log lines) cost one frame per ~30 ms, not one per line.
                let since = last_frame.elapsed();
                if since < Duration::from_millis(30) {
                    tokio::time::sleep(Duration::from_millis(30) - since).await;
                }
                let now = Instant::now();
                terminal.draw(|f| ui::draw(f, &app, now))?;
                last_frame = Instant::now();
                // Test hook: proves a panic gives the terminal back.
                if panic_after_draw {
                    panic!("DRPILOT_PANIC_AFTER_DRAW is set");
                }
                dirty = false;
            }
            tokio::select! {
                ev = rx.recv() => {
                    let Some(ev) = ev else { break };
                    let mut batch = vec![ev];
                    while let Ok(more) = rx.try_recv() {
                        batch.push(more);
                    }
                    for ev in batch {
                        for effect in app.handle(ev, Instant::now()) {
                            match effect {
                                Effect::Watch(node) => {
                                    watch(node);
                                }
                                Effect::Run { svc, node, verb } => match &executor {
                                    Some(x) => x.run(svc, node, verb),
                                    None => app.message = Some(("read-only console: actions are disabled".into(), true)),
                                },
                                Effect::SaveLog(file) => app.message = Some(save_log(&app, &file)),
                                Effect::Runbook { mode, svc } => match &executor {
                                    Some(x) => x.runbook(&mode, svc),
                                    None => app.message = Some(("read-only console: actions are disabled".into(), true)),
                                },
                                Effect::RunbookAnswer(yes) => {
                                    if let Some(x) = &executor {
                                        x.answer(yes);
                                    }
                                }
                            }
                        }
                    }
                    dirty = true;
                }
                _ = clock.tick() => dirty = true,
            }
            if app.quit {
                break;
            }
        }
        Ok(())
    }
    .await;
    input.abort();
    signals.abort();
    terminal::leave();
    result.map(|()| true)
}

fn save_log(app: &App, file: &str) -> (String, bool) {
    let text: String = app
        .visible_log()
        .iter()
        .map(|l| {
            format!(
                "{} {:<7} {} {} {}\n",
                l.time,
                l.level,
                l.node,
                if l.rid.is_empty() { &l.svc } else { &l.rid },
                l.msg
            )
        })
        .collect();
    match crate::paths::write_atomic(std::path::Path::new(file), text.as_bytes()) {
        Ok(()) => (format!("log saved to {file}"), false),
        Err(e) => (format!("cannot save the log to {file}: {e}"), true),
    }
}

//! The operations console: watches every node of the services over their links, shows the
//! production and DRP trees side by side, and runs actions behind confirmation gates. Node,
//! action and file IO live in tasks that send [`event::Event`]s; the app task
//! (src/console/app_task.rs) applies them and the operator's [`action::Action`]s to the state
//! ([`app::App`]); the render task (src/console/render.rs) draws it only when something changed
//! (and once a second for the staleness clocks).

pub mod action;
pub mod app;
mod app_task;
pub mod commands;
pub mod completion;
pub mod effects;
pub mod event;
mod executor;
pub mod keys;
mod node_task;
pub mod panes;
mod render;
pub mod state;
mod terminal;
pub mod theme;
pub mod ui;

use clap::Args;
use color_eyre::eyre::{bail, Result, WrapErr};
use futures::StreamExt;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::sync::{mpsc, watch};

use app::App;
use app_task::World;
use event::Event;
use executor::Executor;
use render::Shared;
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
    crate::paths::config_home().join("drpilot/nodes.toml")
}

/// Runs the console until the operator quits.
pub fn run(args: ConsoleArgs) -> Result<bool> {
    // Every node records this console as who asks; its own lines come back on the watch
    // streams marked with its session, and are not shown twice.
    crate::transport::client::set_origin(
        "console",
        Some(format!(
            "{}:{}",
            crate::action_log::local_host(),
            std::process::id()
        )),
    );
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
    let (tx, rx) = mpsc::channel::<Event>(1024);
    let read_only = args.read_only || args.wall;
    let world = World {
        // Read-only and wall consoles have no executor at all: no key can reach an action.
        executor: (!read_only).then(|| Executor::new(pool.clone(), tx.clone())),
        pool,
        services: args.services.clone(),
        tx: tx.clone(),
    };
    let mut app = App::new(theme, read_only, args.wall, args.services.clone());
    // An unfinished run (a console or seat that died mid-run) is the first thing to know.
    if let Some(u) = crate::runbook::session::unfinished_runs(&crate::runbook::journal::runs_dir())
        .into_iter()
        .find(|u| args.services.is_empty() || args.services.contains(&u.svc))
    {
        let at = u
            .last_step
            .as_ref()
            .map(|(step, kind)| format!(" at step {step} ({})", kind.replace('_', " ")))
            .unwrap_or_default();
        let how = if read_only {
            "resume it from an interactive console".to_string()
        } else {
            format!(
                "select {} and type {} to resume it",
                u.svc,
                u.resume_command()
            )
        };
        app.message = Some((
            format!("unfinished {} run of {} stopped{at}: {how}", u.mode, u.svc),
            true,
        ));
    }
    for n in &nodes {
        app.nodes.watch(n);
        world.watch(n.clone());
    }

    // The handlers are installed here, before the terminal is taken: a SIGTERM arriving at any time
    // after that becomes a clean exit.
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).wrap_err("installing the SIGTERM handler")?;
    let mut hup = signal(SignalKind::hangup()).wrap_err("installing the SIGHUP handler")?;
    let terminal = terminal::enter().wrap_err("entering full-screen mode (is this a terminal?)")?;
    let input_tx = tx.clone();
    let input = tokio::spawn(async move {
        let mut events = crossterm::event::EventStream::new();
        while let Some(Ok(ev)) = events.next().await {
            if input_tx.send(Event::Input(ev)).await.is_err() {
                break;
            }
        }
    });
    let signal_tx = tx;
    let signals = tokio::spawn(async move {
        tokio::select! { _ = term.recv() => {}, _ = hup.recv() => {} }
        let _ = signal_tx.send(Event::Terminate).await;
    });
    let state = Shared::new(app);
    let (changed, changed_rx) = watch::channel(());
    let render = render::spawn(terminal, state.clone(), changed_rx);
    let result = app_task::run(&state, rx, &world, changed, render).await;
    input.abort();
    signals.abort();
    terminal::leave();
    result.map(|()| true)
}

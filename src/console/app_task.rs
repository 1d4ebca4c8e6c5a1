//! The app task: takes every event (terminal input, node streams, action logs, runbook reports,
//! file results), applies it to the shared state, carries out the effects it returns, and tells
//! the render task the state changed. It does no file IO and never writes to the terminal.

use std::sync::Arc;
use std::time::{Duration, Instant};

use color_eyre::eyre::{eyre, Result, WrapErr};
use tokio::sync::{mpsc, watch};
use tokio::task::{JoinError, JoinHandle};

use super::action::Action;
use super::app::Effect;
use super::event::Event;
use super::executor::Executor;
use super::node_task;
use super::render::Shared;
use crate::transport::Pool;

/// How long quitting waits for the frame being drawn before the terminal is given back.
const LAST_FRAME: Duration = Duration::from_secs(2);

/// What the effects reach: the nodes' addresses, the executor (absent on read-only and wall
/// consoles, so no key can reach an action) and the event channel the results come back on.
pub struct World {
    /// One session per node, shared by the watches, the actions and the runbooks.
    pub pool: Arc<Pool>,
    /// Services asked for on the command line (empty: all).
    pub services: Vec<String>,
    /// Where every task sends its events.
    pub tx: mpsc::Sender<Event>,
    /// Runs actions and runbooks; `None` when the console is read-only.
    pub executor: Option<Executor>,
}

impl World {
    /// Starts the watch task of a node.
    pub fn watch(&self, node: String) {
        tokio::spawn(node_task::watch_node(
            node,
            self.pool.clone(),
            self.services.clone(),
            self.tx.clone(),
        ));
    }

    /// Carries out an effect; each starts a task or a thread and returns at once.
    fn perform(&self, effect: Effect, state: &Shared) {
        let refuse = || {
            state.lock().update(Action::Notice {
                text: "read-only console: actions are disabled".into(),
                error: true,
            });
        };
        match effect {
            Effect::Watch(node) => self.watch(node),
            Effect::Run {
                svc,
                node,
                verb,
                peers,
            } => match &self.executor {
                Some(x) => x.run(svc, node, verb, peers),
                None => refuse(),
            },
            Effect::Runbook { mode, svc } => match &self.executor {
                Some(x) => x.runbook(&mode, svc),
                None => refuse(),
            },
            Effect::RunbookAnswer(yes) => {
                if let Some(x) = &self.executor {
                    x.answer(yes);
                }
            }
            Effect::RunbookWayOut(w) => {
                if let Some(x) = &self.executor {
                    x.way_out(w);
                }
            }
            Effect::File(io) => io.spawn(self.tx.clone()),
        }
    }
}

/// Runs until the operator quits, a signal arrives or the render task fails.
pub async fn run(
    state: &Shared,
    mut rx: mpsc::Receiver<Event>,
    world: &World,
    changed: watch::Sender<()>,
    mut render: JoinHandle<std::io::Result<()>>,
) -> Result<()> {
    let outcome = loop {
        tokio::select! {
            ev = rx.recv() => {
                let Some(ev) = ev else { break Ok(()) };
                let mut batch = vec![ev];
                while let Ok(more) = rx.try_recv() {
                    batch.push(more);
                }
                let (effects, quit) = {
                    let mut app = state.lock();
                    let mut effects = Vec::new();
                    for ev in batch {
                        effects.extend(app.handle(ev, Instant::now()));
                    }
                    (effects, app.quit)
                };
                for effect in effects {
                    world.perform(effect, state);
                }
                changed.send_replace(());
                if quit {
                    break Ok(());
                }
            }
            done = &mut render => return render_ended(done),
        }
    };
    drop(changed);
    if let Ok(done) = tokio::time::timeout(LAST_FRAME, render).await {
        render_ended(done)?;
    }
    outcome
}

/// Why the render task ended: a drawing error is the console's error, a panic goes on unwinding
/// (its message was printed by the hook, after the terminal was given back).
fn render_ended(done: Result<std::io::Result<()>, JoinError>) -> Result<()> {
    match done {
        Ok(drawn) => drawn.wrap_err("drawing the console"),
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => Err(eyre!("the render task ended: {e}")),
    }
}

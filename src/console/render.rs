//! The render task: draws the latest state once per burst of changes (and once a second for the
//! staleness clocks), each frame inside a synchronized update so the terminal shows it whole.
//!
//! The state is shared, not copied: [`Shared`] holds the one [`App`] behind a mutex. The app task
//! changes it under the lock and then signals; this task takes the lock only to lay the frame out
//! into ratatui's buffer (CPU work, no IO), releases it, and only then writes the difference to
//! the terminal. A slow terminal therefore never holds the app task up, and no frame copies the
//! log ring.

use std::io;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use crossterm::terminal::{BeginSynchronizedUpdate, EndSynchronizedUpdate};
use crossterm::{execute, queue};
use ratatui::DefaultTerminal;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::app::{App, TerminalRequest};
use super::state::log_view::osc52;
use super::ui;

/// Bursts (a flood of log lines) cost one frame per this, not one per event.
const FRAME_GAP: Duration = Duration::from_millis(30);

/// The console state as the app task (which changes it) and the render task (which draws it)
/// share it.
#[derive(Clone)]
pub struct Shared(Arc<Mutex<App>>);

impl Shared {
    /// Shares `app`.
    pub fn new(app: App) -> Self {
        Self(Arc::new(Mutex::new(app)))
    }

    /// The state, for a short CPU-only section. A panic while it was held ends the console
    /// anyway (the app task re-raises it), so a poisoned lock still gives the state.
    pub fn lock(&self) -> MutexGuard<'_, App> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Starts the render task; it ends when the app task drops the sender of `changed`.
pub fn spawn(
    terminal: DefaultTerminal,
    state: Shared,
    changed: watch::Receiver<()>,
) -> JoinHandle<io::Result<()>> {
    // Test hook: proves a panic while drawing gives the terminal back.
    let panic_after_draw = std::env::var_os("DRPILOT_PANIC_AFTER_DRAW").is_some();
    tokio::spawn(run(terminal, state, changed, panic_after_draw))
}

async fn run(
    mut terminal: DefaultTerminal,
    state: Shared,
    mut changed: watch::Receiver<()>,
    panic_after_draw: bool,
) -> io::Result<()> {
    let mut clock = tokio::time::interval(Duration::from_secs(1));
    clock.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_frame: Option<Instant> = None;
    loop {
        // The clock's first tick is immediate: the first frame needs no event.
        tokio::select! {
            r = changed.changed() => if r.is_err() { return Ok(()) },
            _ = clock.tick() => {}
        }
        if let Some(since) = last_frame.map(|t| t.elapsed()) {
            if since < FRAME_GAP {
                tokio::time::sleep(FRAME_GAP - since).await;
            }
        }
        // Whatever changed until now is in this frame; a change from now on asks for another.
        changed.borrow_and_update();
        draw(&mut terminal, &state)?;
        last_frame = Some(Instant::now());
        if panic_after_draw {
            panic!("DRPILOT_PANIC_AFTER_DRAW is set");
        }
    }
}

/// One frame: laid out under the lock, written after it inside a synchronized update.
fn draw(terminal: &mut DefaultTerminal, state: &Shared) -> io::Result<()> {
    terminal.autoresize()?;
    let requests = {
        let mut app = state.lock();
        let mut frame = terminal.get_frame();
        // The size the keys that scroll a pane clamp to (the first frame's too).
        let area = frame.area();
        app.screen = (area.width, area.height);
        let now = Instant::now();
        app.run_rows = ui::run_rows(&app, area.width, now);
        ui::draw(&mut frame, &app, now);
        std::mem::take(&mut app.log_view.requests)
    };
    queue!(terminal.backend_mut(), BeginSynchronizedUpdate)?;
    let written = terminal.apply_buffer().map(|_| ());
    // The end goes out even when the frame failed: the terminal must not stay frozen.
    let ended = execute!(terminal.backend_mut(), EndSynchronizedUpdate);
    written.and(ended)?;
    for r in requests {
        terminal_request(terminal, r)?;
    }
    Ok(())
}

/// Writes what the state asked of the terminal itself (mouse capture, clipboard).
fn terminal_request(terminal: &mut DefaultTerminal, r: TerminalRequest) -> io::Result<()> {
    use crossterm::event::{DisableMouseCapture, EnableMouseCapture};
    use std::io::Write;
    let out = terminal.backend_mut();
    match r {
        TerminalRequest::MouseCapture(true) => execute!(out, EnableMouseCapture),
        TerminalRequest::MouseCapture(false) => execute!(out, DisableMouseCapture),
        TerminalRequest::Clipboard(text) => {
            out.write_all(osc52(&text).as_bytes())?;
            out.flush()
        }
    }
}

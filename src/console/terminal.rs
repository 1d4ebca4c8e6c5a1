//! Taking the terminal and giving it back whatever happens: alternate screen, raw mode and mouse
//! capture are restored on quit, on error, on panic (ratatui's hook, run before color-eyre's
//! report) and on SIGTERM/SIGHUP (turned into an event by the app loop).

use std::io::stdout;

use crossterm::event::{DisableMouseCapture, EnableMouseCapture};
use crossterm::execute;
use ratatui::DefaultTerminal;

/// Enters the full-screen mode.
pub fn enter() -> std::io::Result<DefaultTerminal> {
    let terminal = ratatui::try_init()?;
    execute!(stdout(), EnableMouseCapture)?;
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        leave();
        previous(info);
    }));
    Ok(terminal)
}

/// Leaves the full-screen mode; safe to call twice.
pub fn leave() {
    let _ = execute!(stdout(), DisableMouseCapture);
    ratatui::restore();
}

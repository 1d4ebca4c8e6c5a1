//! The `?` overlay, generated from the key table (src/console/keys.rs) and the command table
//! (src/console/commands.rs): what it lists is what the keys and the parser do.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use ratatui::Frame;

use crate::console::app::App;
use crate::console::commands::COMMANDS;
use crate::console::keys::BINDINGS;

fn lines(app: &App) -> Vec<Line<'static>> {
    let mut lines = vec![Line::from(Span::styled("keys", app.theme.title(true)))];
    for b in BINDINGS {
        lines.push(Line::from(vec![
            Span::styled(format!("  {:<12}", b.label), app.theme.title(false)),
            Span::styled(b.help, app.theme.text()),
        ]));
    }
    lines.push(Line::from(""));
    lines.push(Line::from(Span::styled(
        "commands (after :)",
        app.theme.title(true),
    )));
    for c in COMMANDS.iter().filter(|c| !(c.acts && app.read_only)) {
        lines.push(Line::from(vec![
            Span::styled(format!("  {:<22}", c.usage()), app.theme.title(false)),
            Span::styled(c.help, app.theme.text()),
        ]));
    }
    if app.read_only {
        lines.push(Line::from(Span::styled(
            "  read-only console: no command acts on a node",
            app.theme.muted(),
        )));
    }
    lines.push(Line::from(""));
    lines.push(Line::from(Span::styled(
        "any key closes this help",
        app.theme.muted(),
    )));
    lines
}

/// The overlay's height with its border: every line of the tables, when the screen allows.
pub fn height(app: &App) -> u16 {
    u16::try_from(lines(app).len() + 2).unwrap_or(u16::MAX)
}

/// Draws the help overlay.
pub fn draw(frame: &mut Frame, area: Rect, app: &App) {
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(app.theme.border(true))
        .title(Span::styled(" help ", app.theme.title(true)));
    frame.render_widget(Clear, area);
    frame.render_widget(Paragraph::new(lines(app)).block(block), area);
}

//! The `?` overlay, generated from the binding and command tables.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use ratatui::Frame;

use crate::console::app::App;
use crate::console::keys::{BINDINGS, COMMANDS};

/// Draws the help overlay.
pub fn draw(frame: &mut Frame, area: Rect, app: &App) {
    let mut lines = vec![Line::from(Span::styled("keys", app.theme.title(true)))];
    for b in BINDINGS {
        lines.push(Line::from(vec![
            Span::styled(format!("  {:<12}", b.keys), app.theme.title(false)),
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
            Span::styled(format!("  {:<22}", c.usage), app.theme.title(false)),
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
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(app.theme.border(true))
        .title(Span::styled(" help ", app.theme.title(true)));
    frame.render_widget(Clear, area);
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

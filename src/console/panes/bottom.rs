//! The bottom line: the command or filter being typed, the last message, or the key hints.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use crate::console::app::{App, Mode};

/// The manual sync's transfer bars after the message: rate and ETA, never raw progress lines.
fn with_transfers<'a>(app: &App, mut line: Line<'a>) -> Line<'a> {
    for t in &app.transfers.items {
        line.spans.push(Span::styled(
            format!(
                "  {} {}",
                crate::text::clean_line(&t.rid),
                t.progress.bar(10)
            ),
            app.theme.title(false),
        ));
    }
    line
}

/// Draws the bottom line.
pub fn draw(frame: &mut Frame, area: Rect, app: &App) {
    let line = match (&app.mode, &app.message) {
        (Mode::Command(t), _) => Line::from(vec![
            Span::styled(":", app.theme.title(true)),
            Span::raw(t.clone()),
            Span::raw("█"),
        ]),
        (Mode::Filter(t), _) => Line::from(vec![
            Span::styled("/", app.theme.title(true)),
            Span::raw(t.clone()),
            Span::raw("█"),
        ]),
        (_, Some((m, true))) => with_transfers(
            app,
            Line::from(Span::styled(format!(" {m}"), app.theme.error())),
        ),
        (_, Some((m, false))) => with_transfers(
            app,
            Line::from(Span::styled(format!(" {m}"), app.theme.text())),
        ),
        _ => Line::from(Span::styled(
            " ? help   : command   / filter   tab focus   esc back   q quit",
            app.theme.muted(),
        )),
    };
    frame.render_widget(Paragraph::new(line), area);
}

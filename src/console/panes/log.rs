//! The log pane: every line of the actions run from this console, with time, node, resource and
//! level, filtered by resource or text, scrolled with the keys or the mouse.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use ratatui::Frame;

use crate::console::app::{App, Focus};

/// Draws the log pane.
pub fn draw(frame: &mut Frame, area: Rect, app: &App) {
    let focused = app.selection.focus == Focus::Log;
    let lines = app.visible_log();
    let what = if app.log.filter.is_empty() {
        "all resources".to_string()
    } else {
        format!("filter {}", app.log.filter)
    };
    let scrolled = if app.log.scroll > 0 {
        format!(" · ↑{}", app.log.scroll)
    } else {
        String::new()
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(app.theme.border(focused))
        .title(Span::styled(
            format!(" log · {what}{scrolled} "),
            app.theme.title(focused),
        ));
    let height = area.height.saturating_sub(2) as usize;
    let end = lines.len().saturating_sub(app.log.scroll);
    let start = end.saturating_sub(height);
    let text: Vec<Line> = lines[start..end]
        .iter()
        .map(|l| {
            let level = match l.level.as_str() {
                "ERROR" => app.theme.error(),
                "WARNING" => app.theme.status(crate::status::Status::Warn),
                _ => app.theme.muted(),
            };
            Line::from(vec![
                Span::styled(format!("{} ", l.time), app.theme.muted()),
                Span::styled(format!("{:<7} ", l.level), level),
                Span::styled(
                    format!(
                        "{} {:<8} ",
                        l.node,
                        if l.rid.is_empty() { &l.svc } else { &l.rid }
                    ),
                    app.theme.title(false),
                ),
                Span::styled(l.msg.clone(), app.theme.text()),
            ])
        })
        .collect();
    frame.render_widget(Paragraph::new(text).block(block), area);
}

//! The log pane: every line of the actions seen by this console, with time, node, resource and
//! level, filtered by resource or text, scrolled with the keys or the mouse. It follows new lines
//! unless scrolled up, highlights the matches of the search and marks the line `y` copies.

use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use ratatui::Frame;

use crate::console::app::{App, Focus, LogView};

/// Draws the log pane.
pub fn draw(frame: &mut Frame, area: Rect, app: &App) {
    let focused = app.selection.focus == Focus::Log;
    let lines = app.visible_log();
    let what = if app.log.filter.is_empty() {
        "all resources".to_string()
    } else {
        format!("filter {}", app.log.filter)
    };
    let follow = if app.log.following() {
        " · following".to_string()
    } else {
        format!(" · ↑{} paused (end follows)", app.log.scroll)
    };
    let search = if app.log_view.search.is_empty() {
        String::new()
    } else {
        format!(" · find {} (n N)", app.log_view.search)
    };
    let mouse = if app.log_view.mouse_capture {
        ""
    } else {
        " · mouse off"
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(app.theme.border(focused))
        .title(Span::styled(
            format!(" log · {what}{follow}{search}{mouse} "),
            app.theme.title(focused),
        ));
    let height = area.height.saturating_sub(2) as usize;
    // Scrolled past the first page, the view stops at the oldest line.
    let end = lines
        .len()
        .saturating_sub(app.log.scroll)
        .max(height.min(lines.len()));
    let start = end.saturating_sub(height);
    let pointed = (focused || !app.log.following())
        .then(|| LogView::pointed(&app.log))
        .flatten();
    let needle = app.log_view.search.to_lowercase();
    let hit = app.theme.selected().add_modifier(Modifier::REVERSED);
    let text: Vec<Line> = lines[start..end]
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let level = match l.level.as_str() {
                "ERROR" => app.theme.error(),
                "WARNING" => app.theme.status(crate::status::Status::Warn),
                _ => app.theme.muted(),
            };
            let mut spans = vec![
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
            ];
            spans.extend(highlighted(&l.msg, &needle, app.theme.text(), hit));
            let line = Line::from(spans);
            if pointed == Some(start + i) {
                line.style(Style::new().add_modifier(Modifier::BOLD | Modifier::UNDERLINED))
            } else {
                line
            }
        })
        .collect();
    frame.render_widget(Paragraph::new(text).block(block), area);
}

/// `msg` in spans, the (case-insensitive, ASCII) matches of `needle` in the `hit` style.
fn highlighted(msg: &str, needle: &str, plain: Style, hit: Style) -> Vec<Span<'static>> {
    if needle.is_empty() || !needle.is_ascii() {
        return vec![Span::styled(msg.to_string(), plain)];
    }
    let lower = msg.to_ascii_lowercase();
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(i) = lower[at..].find(needle) {
        let (s, e) = (at + i, at + i + needle.len());
        if s > at {
            out.push(Span::styled(msg[at..s].to_string(), plain));
        }
        out.push(Span::styled(msg[s..e].to_string(), hit));
        at = e;
    }
    if at < msg.len() {
        out.push(Span::styled(msg[at..].to_string(), plain));
    }
    out
}

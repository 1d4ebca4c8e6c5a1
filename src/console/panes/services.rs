//! The service list: each service with its overall status where it runs (or production's), and
//! under it the run the nodes say it is in.

use std::time::Instant;

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};
use ratatui::Frame;

use super::status_span;
use crate::console::app::{App, Focus};
use crate::console::state::replica::{coarse, rpo_now};
use crate::status::Status;

/// Draws the service list.
pub fn draw(frame: &mut Frame, area: Rect, app: &App, now: Instant) {
    let focused = app.selection.focus == Focus::Services;
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(app.theme.border(focused))
        .title(Span::styled(" services ", app.theme.title(focused)));
    let lines: Vec<Line> = app
        .nodes
        .services
        .iter()
        .enumerate()
        .flat_map(|(i, s)| {
            let node = s.running_on().or(s.prod()).unwrap_or_default().to_string();
            let stale = app.freshness(&node, now).is_err();
            let st = s
                .status
                .get(&node)
                .map(|x| x.overall)
                .unwrap_or(Status::Undef);
            let marker = if i == app.selection.selected {
                "▸"
            } else {
                " "
            };
            let mut name = format!("{marker}{}", s.name);
            name.truncate(12);
            let status = status_span(app, st, stale);
            let used = 13 + status.content.chars().count();
            let mut spans = vec![Span::raw(format!("{name:<13}")), status];
            // RPO now (the oldest replica), where the row has room for it.
            if let Some(r) = rpo_now(s, app.utc(now)) {
                let age = r.age.map(coarse).unwrap_or_else(|| "never".into());
                let text = if r.over() {
                    format!(" !{age}")
                } else {
                    format!(" {age}")
                };
                if used + text.chars().count() <= usize::from(area.width.saturating_sub(2)) {
                    spans.push(Span::styled(
                        text,
                        if r.over() {
                            app.theme.status(Status::Warn)
                        } else {
                            app.theme.muted()
                        },
                    ));
                }
            }
            let line = Line::from(spans);
            let line = if i == app.selection.selected {
                line.style(app.theme.selected())
            } else {
                line
            };
            // The service's run as the nodes say, under its row.
            let badge = super::run_line::badge(app, &s.name, now)
                .map(|b| Line::from(vec![Span::raw("  "), b]));
            std::iter::once(line).chain(badge)
        })
        .collect();
    if lines.is_empty() {
        // No service known yet: say what each node is doing, errors in full.
        let mut text = vec![Line::from(Span::styled(
            "waiting for nodes…",
            app.theme.muted(),
        ))];
        for (node, h) in &app.nodes.health {
            match &h.error {
                Some(e) => text.push(Line::from(Span::styled(
                    format!("{node}: {}", crate::text::clean_line(e)),
                    app.theme.error(),
                ))),
                None => text.push(Line::from(Span::styled(
                    format!("{node}: connecting"),
                    app.theme.muted(),
                ))),
            }
        }
        frame.render_widget(
            Paragraph::new(text).wrap(Wrap { trim: true }).block(block),
            area,
        );
        return;
    }
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

//! The top line: the mode banner, the selected service, and each node's freshness.

use std::time::Instant;

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::freshness_text;
use crate::console::app::App;

/// The mode banner word.
pub fn banner(app: &App) -> &str {
    if let Some(rb) = app.runbook.as_ref().filter(|r| r.finished.is_none()) {
        return &rb.mode;
    }
    if app.wall {
        "WALL"
    } else if app.read_only {
        "READ-ONLY"
    } else {
        "LIVE"
    }
}

/// Draws the status bar.
pub fn draw(frame: &mut Frame, area: Rect, app: &App, now: Instant) {
    let mode = banner(app);
    let mut spans = vec![
        Span::styled(" drpilot ", app.theme.title(true)),
        Span::styled(format!(" {mode} "), app.theme.banner(mode)),
        Span::raw("  "),
    ];
    if let Some(svc) = app.current() {
        spans.push(Span::styled(svc.name.clone(), app.theme.title(true)));
        spans.push(Span::raw("   "));
    }
    for (i, node) in app.nodes.health.keys().enumerate() {
        if i > 0 {
            spans.push(Span::styled(" · ", app.theme.muted()));
        }
        let (text, bad) = freshness_text(app, node, now);
        spans.push(Span::styled(
            text,
            if bad {
                app.theme.error()
            } else {
                app.theme.muted()
            },
        ));
    }
    spans.push(Span::styled(
        format!("   theme {}", app.theme.name),
        app.theme.muted(),
    ));
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

//! The third tree: a service's test bubble on the DRP node ("bubble on deb2"), while a
//! non-disruptive DRP test keeps it (`drp test --keep`) or runs. Its age is in its title: a
//! bubble not heard of for a while is STALE, never shown as fresh.

use std::time::Instant;

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use ratatui::Frame;

use super::status_span;
use super::tree::{rows, Row};
use crate::console::app::App;
use crate::console::state::nodes::stale_after;
use crate::protocol::bubble::BubbleState;
use crate::text::clean_line;

/// The node whose bubble a service shows, with it and when it was last heard of.
pub fn of(
    bubbles: &std::collections::BTreeMap<String, (BubbleState, Instant)>,
) -> Option<(&str, &BubbleState, Instant)> {
    bubbles
        .iter()
        .find(|(_, (b, _))| b.exists)
        .map(|(n, (b, t))| (n.as_str(), b, *t))
}

/// Lines the bubble's tree takes (the pane's height planning).
pub fn wanted_rows(b: &BubbleState) -> usize {
    2 + b.inside.as_ref().map_or(2, |st| {
        rows(st).iter().map(|r: &Row| 1 + r.comments.len()).sum()
    })
}

/// Draws the bubble of `node` in `area`.
pub fn draw(
    frame: &mut Frame,
    area: Rect,
    app: &App,
    node: &str,
    b: &BubbleState,
    heard: Instant,
    now: Instant,
) {
    let age = now.saturating_duration_since(heard);
    let stale = age > stale_after();
    let mut title = vec![Span::styled(
        format!(" bubble on {node} "),
        app.theme.title(false),
    )];
    title.push(if stale {
        Span::styled(
            format!(" STALE, updated {}s ago ", age.as_secs()),
            app.theme.error(),
        )
    } else {
        Span::styled(
            format!(" updated {}s ago ", age.as_secs()),
            app.theme.muted(),
        )
    });
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(if stale {
            app.theme.error()
        } else {
            app.theme.border(false)
        })
        .title(Line::from(title));
    let mut lines = Vec::new();
    let clone = match (&b.cloned_at, b.rpo_s) {
        (Some(at), Some(rpo)) => format!("clone of {}, {rpo}s behind production", short_time(at)),
        (Some(at), None) => format!("clone of {}", short_time(at)),
        _ => "no clone".to_string(),
    };
    lines.push(Line::from(Span::styled(clone, app.theme.muted())));
    match &b.inside {
        Some(st) if b.running => {
            for r in rows(st) {
                let status = status_span(app, r.status, stale);
                let pad = 12usize
                    .saturating_sub(status.content.chars().count())
                    .max(1);
                lines.push(Line::from(vec![
                    Span::styled(format!("{:<14}", r.name), app.theme.text()),
                    status,
                    Span::raw(" ".repeat(pad)),
                    Span::styled(clean_line(&r.label).into_owned(), app.theme.muted()),
                ]));
            }
        }
        _ => lines.push(Line::from(Span::styled(
            "not running: left by a test that stopped; `drp test SVC --end` removes it",
            app.theme.error(),
        ))),
    }
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

/// `20:18:08` of an RFC 3339 time.
fn short_time(t: &str) -> String {
    t.split('T')
        .nth(1)
        .map(|r| r.chars().take(8).collect())
        .unwrap_or_else(|| t.to_string())
}

//! One file per pane; each draws from the state and the theme only.

pub mod big_text;
pub mod bottom;
pub mod bubble;
pub mod confirm;
pub mod detail;
pub mod help;
pub mod log;
pub mod run_line;
pub mod runbook;
pub mod services;
pub mod status_bar;
pub mod tree;
pub mod wall;
pub mod way_out;

use std::time::Instant;

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use ratatui::Frame;

use super::app::App;
use super::state::nodes::Freshness;
use super::theme::glyph;
use crate::status::Status;

/// `glyph word` of a status, styled by the theme (or as stale when the node is unreachable).
/// Draws a dialog over the screen: what is under `area` is cleared, the focused frame carries
/// `title`, the lines wrap. The confirmations, the quit question and the detail view share it.
pub fn popup(frame: &mut Frame, area: Rect, app: &App, title: String, lines: Vec<Line<'static>>) {
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(app.theme.border(true))
        .title(Span::styled(title, app.theme.title(true)));
    frame.render_widget(Clear, area);
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(block),
        area,
    );
}

pub fn status_span(app: &App, s: Status, stale: bool) -> Span<'static> {
    let text = format!("{} {}", if stale { "?" } else { glyph(s) }, s.word());
    Span::styled(
        text,
        if stale {
            app.theme.stale()
        } else {
            app.theme.status(s)
        },
    )
}

/// "updated 3s ago" (the last successful probe), "STALE: why, updated 12s ago" or
/// "UNREACHABLE, last heard 12s ago" for a node.
pub fn freshness_text(app: &App, node: &str, now: Instant) -> (String, bool) {
    match app.nodes.verdict(node, now) {
        Freshness::Fresh(age) => (format!("{node} updated {}s ago", age.as_secs()), false),
        Freshness::Stale { age, reason } => {
            let updated = match age {
                Some(a) => format!("updated {}s ago", a.as_secs()),
                None => "never updated".to_string(),
            };
            (format!("{node} STALE: {reason}, {updated}"), true)
        }
        Freshness::Unreachable { age: Some(age), .. } => (
            format!("{node} UNREACHABLE, last heard {}s ago", age.as_secs()),
            true,
        ),
        Freshness::Unreachable { age: None, .. } => {
            (format!("{node} UNREACHABLE, never heard"), true)
        }
    }
}

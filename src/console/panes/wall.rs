//! Wall mode: a large-type grid of every service's overall status on each of its nodes, readable
//! across a room, with each node's staleness clock; below it, each service's trees in turn.

use std::time::{Duration, Instant};

use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use ratatui::Frame;

use super::{freshness_text, status_span, tree};
use crate::console::app::App;
use crate::status::Status;

/// Height of a grid cell: the status word stands alone in the middle, readable from afar.
const CELL_HEIGHT: u16 = 5;

/// How long each service's detail stays on screen.
pub const CYCLE: Duration = Duration::from_secs(8);

/// Draws wall mode.
pub fn draw(frame: &mut Frame, area: Rect, app: &App, now: Instant) {
    let n = app.nodes.services.len().max(1);
    let [bar, grid, detail, bottom] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length((n as u16) * CELL_HEIGHT),
        Constraint::Min(0),
        Constraint::Length(1),
    ])
    .areas(area);
    super::bottom::draw(frame, bottom, app);
    super::status_bar::draw(frame, bar, app, now);
    let rows = Layout::vertical(vec![Constraint::Length(CELL_HEIGHT); n]).split(grid);
    for (svc, row) in app.nodes.services.iter().zip(rows.iter()) {
        let nodes: Vec<&String> = svc.nodes.iter().chain(&svc.drpnodes).collect();
        let mut cols = vec![Constraint::Length(20)];
        cols.extend(std::iter::repeat_n(Constraint::Fill(1), nodes.len()));
        let cells = Layout::horizontal(cols).split(*row);
        let name = Paragraph::new(vec![
            Line::from(""),
            Line::from(Span::styled(
                svc.name.clone(),
                app.theme.title(true).add_modifier(Modifier::BOLD),
            )),
        ])
        .block(
            Block::default()
                .borders(Borders::ALL)
                .border_style(app.theme.border(false)),
        );
        frame.render_widget(name, cells[0]);
        for (node, cell) in nodes.iter().zip(cells.iter().skip(1)) {
            let stale = app.freshness(node, now).is_err();
            let st = svc
                .status
                .get(*node)
                .map(|s| s.overall)
                .unwrap_or(Status::Undef);
            let mut big = status_span(app, st, stale);
            big.content = big.content.to_uppercase().into();
            let (fresh, bad) = freshness_text(app, node, now);
            let block = Block::default()
                .borders(Borders::ALL)
                .border_style(if bad {
                    app.theme.error()
                } else {
                    app.theme.status(st)
                })
                .title(Span::styled(
                    format!(" {fresh} "),
                    if bad {
                        app.theme.error()
                    } else {
                        app.theme.muted()
                    },
                ));
            frame.render_widget(
                Paragraph::new(vec![
                    Line::from(""),
                    Line::from(
                        big.patch_style(ratatui::style::Style::new().add_modifier(Modifier::BOLD)),
                    ),
                ])
                .alignment(Alignment::Center)
                .block(block),
                *cell,
            );
        }
    }
    if !app.nodes.services.is_empty() && detail.height > 4 {
        let i = (now.saturating_duration_since(app.started).as_secs() / CYCLE.as_secs()) as usize
            % app.nodes.services.len();
        tree::draw_pair(frame, detail, app, app.nodes.services.get(i), now);
    }
}

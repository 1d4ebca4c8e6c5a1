//! The main screen layout: status bar, service list, the production and DRP trees side by side,
//! the log pane, the bottom line; overlays on top. A pure function of the state and the time.

use std::time::Instant;

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::Frame;

use super::app::{App, Mode};
use super::panes;

/// Draws the whole screen.
pub fn draw(frame: &mut Frame, app: &App, now: Instant) {
    if app.wall {
        panes::wall::draw(frame, frame.area(), app, now);
        return;
    }
    let [bar, body, log, bottom] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(8),
        Constraint::Percentage(35),
        Constraint::Length(1),
    ])
    .areas(frame.area());
    panes::status_bar::draw(frame, bar, app, now);
    let [list, trees] =
        Layout::horizontal([Constraint::Length(24), Constraint::Min(20)]).areas(body);
    panes::services::draw(frame, list, app, now);
    panes::tree::draw_pair(frame, trees, app, app.current(), now);
    match &app.runbook {
        Some(rb) => {
            let [left, right] =
                Layout::horizontal([Constraint::Percentage(45), Constraint::Min(20)]).areas(log);
            panes::runbook::draw(frame, left, app, rb);
            panes::log::draw(frame, right, app);
        }
        None => panes::log::draw(frame, log, app),
    }
    panes::bottom::draw(frame, bottom, app);
    match &app.mode {
        Mode::Help => {
            let area = centered(frame.area(), 76, panes::help::height(app));
            panes::help::draw(frame, area, app)
        }
        Mode::Confirm(c) => {
            let (w, h) = if c.offer_sync { (76, 13) } else { (60, 9) };
            panes::confirm::draw(frame, centered(frame.area(), w, h), app, c, now)
        }
        _ => {}
    }
}

/// A centred rectangle of at most `w` x `h`.
pub fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}

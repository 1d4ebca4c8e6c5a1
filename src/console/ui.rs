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
    let run = panes::run_line::main_lines(app, now, frame.area().width);
    let a = areas(app, frame.area(), rows(&run));
    panes::status_bar::draw(frame, a.bar, app, now);
    if !run.is_empty() {
        frame.render_widget(ratatui::widgets::Paragraph::new(run), a.run);
    }
    if let Some(list) = a.list {
        panes::services::draw(frame, list, app, now);
    }
    panes::tree::draw_pair(frame, a.trees, app, app.current(), now);
    if let (Some(rb), Some(area)) = (&app.runbook, a.runbook) {
        panes::runbook::draw(frame, area, app, rb);
    }
    panes::log::draw(frame, a.log, app);
    panes::bottom::draw(frame, a.bottom, app);
    match &app.mode {
        Mode::Help => {
            let area = centered(frame.area(), 78, panes::help::height(app));
            panes::help::draw(frame, area, app)
        }
        Mode::Confirm(c) => {
            let (w, h) = if c.offer_sync { (76, 13) } else { (60, 9) };
            panes::confirm::draw(frame, centered(frame.area(), w, h), app, c, now)
        }
        Mode::Detail { node, key } => {
            let area = centered(frame.area(), 100, 22);
            panes::detail::draw(frame, area, app, node, key)
        }
        Mode::Quit(what) => {
            panes::confirm::draw_quit(frame, centered(frame.area(), 60, 8), app, what)
        }
        Mode::WayOut(d) => {
            let h = panes::way_out::height(d, 70);
            panes::way_out::draw(frame, centered(frame.area(), 70, h), app, d)
        }
        _ => {}
    }
}

/// Where each pane of the main screen goes.
struct Areas {
    bar: Rect,
    /// The run of a service as the nodes say (empty when none runs).
    run: Rect,
    /// The service list, unless the screen is too narrow for it.
    list: Option<Rect>,
    trees: Rect,
    /// The runbook pane, while a run is shown.
    runbook: Option<Rect>,
    log: Rect,
    bottom: Rect,
}

/// How many rows `lines` take.
fn rows(lines: &[ratatui::text::Line]) -> u16 {
    u16::try_from(lines.len()).unwrap_or(u16::MAX)
}

fn areas(app: &App, area: Rect, run_h: u16) -> Areas {
    let run_h = run_h.min(area.height.saturating_sub(2 + 10));
    let (body_h, log_h) = heights(app, area.height.saturating_sub(2 + run_h));
    let [bar, run, body, log, bottom] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(run_h),
        Constraint::Length(body_h),
        Constraint::Length(log_h),
        Constraint::Length(1),
    ])
    .areas(area);
    // A narrow screen gives the service list's width to the trees (the status bar still names
    // the selected service).
    let list_w = match area.width {
        0..70 => 0,
        70..100 => 22,
        _ => 24,
    };
    let [list, trees] =
        Layout::horizontal([Constraint::Length(list_w), Constraint::Min(20)]).areas(body);
    let (runbook, log) = match &app.runbook {
        Some(_) => {
            let [left, right] =
                Layout::horizontal([Constraint::Percentage(45), Constraint::Min(20)]).areas(log);
            (Some(left), right)
        }
        None => (None, log),
    };
    Areas {
        bar,
        run,
        list: (list_w > 0).then_some(list),
        trees,
        runbook,
        log,
        bottom,
    }
}

/// Where the runbook pane goes on a `width` x `height` screen, while a run is shown (the app
/// clamps the pane's scroll to it), with the run rows of the last frame.
pub fn runbook_area(app: &App, width: u16, height: u16) -> Option<Rect> {
    if app.wall {
        return None;
    }
    areas(app, Rect::new(0, 0, width, height), app.run_rows).runbook
}

/// How many rows the main view gives the nodes' runs on a screen `width` wide at `now` (the
/// render task records it with the screen's size).
pub fn run_rows(app: &App, width: u16, now: Instant) -> u16 {
    if app.wall {
        return 0;
    }
    rows(&panes::run_line::main_lines(app, now, width))
}

/// The heights of the trees and of the log (with the runbook) out of `rest` rows: the trees
/// take what they need and no more, the runbook's steps and outcome stay whole, the log keeps
/// a few lines.
fn heights(app: &App, rest: u16) -> (u16, u16) {
    const LOG_MIN: u16 = 5;
    const BODY_MIN: u16 = 5;
    let trees = panes::tree::wanted_height(app, app.current());
    let runbook = app.runbook.as_ref().map_or(0, |rb| {
        let rows = rb.steps.len() + rb.syncs.len() + 5;
        u16::try_from(rows).unwrap_or(u16::MAX)
    });
    let log_min = LOG_MIN.max(runbook).min(rest.saturating_sub(BODY_MIN));
    let body = trees.max(BODY_MIN).min(rest.saturating_sub(log_min));
    (body, rest - body)
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

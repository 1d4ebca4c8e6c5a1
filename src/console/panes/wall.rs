//! Wall mode: a screen read from across a room. A grid of tiles, one per service × node, sized to
//! the terminal (block letters when there is room), each with its state as colour, glyph and
//! word and the service's replica age; a header with a clock, each node's freshness and the
//! page; the active runbook as a banner, and every service's run as the nodes say (the mode and
//! step in block letters on a big screen). Tiles that do not fit go to pages that cycle.

use std::time::{Duration, Instant};

use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use ratatui::Frame;

use super::{big_text, freshness_text, run_line};
use crate::console::app::{App, Mode, SvcEntry};
use crate::console::state::replica::{limit, rpo_now, ReplicaAge};
use crate::console::theme::glyph;
use crate::runbook::plan::StepState;
use crate::status::Status;

/// How long each page stays on screen.
pub const CYCLE: Duration = Duration::from_secs(8);

/// The wall draws block letters from this terminal size up.
pub const BIG_FROM: (u16, u16) = (200, 50);

/// The keys the wall advertises: the only ones that do anything useful there.
pub const HINT: &str = " q quit   pages turn every 8s";

/// How a tile is sized: its height, its least width, and whether its word is drawn big.
#[derive(Debug, Clone, Copy)]
struct TileSize {
    height: u16,
    min_width: u16,
    big: bool,
}

fn tile_size(area: Rect) -> TileSize {
    if area.width >= BIG_FROM.0 && area.height >= BIG_FROM.1 {
        TileSize {
            height: 9,
            min_width: 32,
            big: true,
        }
    } else {
        TileSize {
            height: 4,
            min_width: 20,
            big: false,
        }
    }
}

/// What a tile says: word, glyph, style.
struct TileState {
    word: String,
    glyph: &'static str,
    style: Style,
}

/// A DRP node in normal standby: not running the service, with at most standby resources up.
/// It reads STANDBY in a calm colour, never a red DOWN.
pub fn in_standby(svc: &SvcEntry, node: &str) -> bool {
    let Some(st) = svc.status.get(node) else {
        return false;
    };
    svc.drpnodes.iter().any(|n| n == node)
        && matches!(
            st.avail,
            Status::Down | Status::StdbyUp | Status::StdbyDown | Status::StdbyUpWithDown
        )
}

fn tile_state(app: &App, svc: &SvcEntry, node: &str, now: Instant) -> TileState {
    if app.freshness(node, now).is_err() {
        return TileState {
            word: "STALE".into(),
            glyph: "?",
            style: app.theme.error(),
        };
    }
    let Some(st) = svc.status.get(node) else {
        return TileState {
            word: "WAIT".into(),
            glyph: "…",
            style: app.theme.muted(),
        };
    };
    if in_standby(svc, node) {
        return TileState {
            word: "STANDBY".into(),
            glyph: glyph(Status::StdbyUp),
            style: app.theme.status(Status::StdbyUp),
        };
    }
    let s = st.overall.displayed();
    TileState {
        word: s.word().to_uppercase(),
        glyph: glyph(s),
        style: app.theme.status(s),
    }
}

/// "RPO 12s" (warning style with `!` past its limit), or nothing for a service without syncs.
fn rpo_span(app: &App, rpo: Option<&ReplicaAge>) -> Span<'static> {
    match rpo {
        None => Span::styled("no sync", app.theme.muted()),
        Some(r) if r.age.is_none() => Span::styled(
            "! RPO never synced",
            app.theme.status(Status::Warn).add_modifier(Modifier::BOLD),
        ),
        Some(r) if r.over() => Span::styled(
            format!("! RPO {} >{}", r.age_text(), limit(r.max)),
            app.theme.status(Status::Warn).add_modifier(Modifier::BOLD),
        ),
        Some(r) => Span::styled(format!("RPO {}", r.age_text()), app.theme.text()),
    }
}

fn draw_tile(
    frame: &mut Frame,
    area: Rect,
    app: &App,
    (svc, node): (&SvcEntry, &str),
    size: TileSize,
    now: Instant,
) {
    let state = tile_state(app, svc, node, now);
    let rpo = rpo_now(svc, app.utc(now));
    let role = if svc.drpnodes.iter().any(|n| n == node) {
        "DRP"
    } else {
        "prod"
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(state.style.remove_modifier(Modifier::CROSSED_OUT))
        .title(Span::styled(
            if size.big {
                format!(" {} · {node} {role} ", svc.name)
            } else {
                format!(" {} · {node} ", svc.name)
            },
            app.theme.title(true),
        ));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let bold = state.style.add_modifier(Modifier::BOLD);
    let word_line = Line::from(vec![
        Span::styled(format!("{} ", state.glyph), bold),
        Span::styled(state.word.clone(), bold),
    ]);
    let mut lines = Vec::new();
    if size.big && big_text::width(&state.word) <= inner.width {
        for row in big_text::rows(&state.word) {
            lines.push(Line::from(Span::styled(row, state.style)));
        }
        lines.push(Line::from(vec![
            Span::styled(format!("{} {}  ", state.glyph, state.word), bold),
            rpo_span(app, rpo.as_ref()),
        ]));
        let (fresh, bad) = freshness_text(app, node, now);
        let fresh = fresh.trim_start_matches(node).trim().to_string();
        lines.push(Line::from(Span::styled(
            fresh,
            if bad {
                app.theme.error()
            } else {
                app.theme.muted()
            },
        )));
    } else {
        lines.push(word_line);
        lines.push(Line::from(rpo_span(app, rpo.as_ref())));
    }
    frame.render_widget(Paragraph::new(lines).alignment(Alignment::Center), inner);
}

/// "REHEARSAL of busybox: step 3 of 9 stop_prod (running) · from this console".
fn runbook_banner(app: &App) -> Option<String> {
    let rb = app.runbook.as_ref().filter(|r| r.finished.is_none())?;
    let total = rb.steps.len();
    let current = rb
        .steps
        .iter()
        .position(|(_, s)| matches!(s, StepState::Running | StepState::Failed))
        .or_else(|| rb.steps.iter().position(|(_, s)| *s == StepState::Pending));
    let step = match current {
        Some(i) => format!(
            "step {} of {total} {} ({})",
            i + 1,
            rb.steps[i].0.name(),
            rb.steps[i].1.word()
        ),
        None => format!("{total} steps"),
    };
    let gate = if rb.gate.is_some() {
        " · waiting for the operator"
    } else {
        ""
    };
    Some(format!(
        " {} of {}: {step}{gate} · run from this console ",
        rb.mode, rb.svc
    ))
}

/// The runs the nodes say, as the wall shows them: the mode and the step in block letters when
/// the screen is big, then the facts in bold, at most `max` rows.
fn run_panel(app: &App, now: Instant, width: u16, big: bool, max: u16) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    for r in run_line::active(app, now) {
        let style = run_line::wall_style(app, &r);
        let word = run_line::big_word(&r);
        if big && big_text::width(&word) <= width {
            for row in big_text::rows(&word) {
                out.push(Line::from(Span::styled(row, style)));
            }
        }
        for mut line in run_line::lines(app, &r, now, width) {
            for span in &mut line.spans {
                span.style = span.style.add_modifier(Modifier::BOLD);
            }
            out.push(line);
        }
    }
    out.truncate(usize::from(max));
    out
}

/// Draws wall mode.
pub fn draw(frame: &mut Frame, area: Rect, app: &App, now: Instant) {
    let banner = runbook_banner(app);
    let runs = run_panel(
        app,
        now,
        area.width,
        tile_size(area).big,
        area.height.saturating_sub(2) / 2,
    );
    let runs_h = u16::try_from(runs.len()).unwrap_or(u16::MAX);
    let [head, rb_line, runs_area, grid, bottom] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(u16::from(banner.is_some())),
        Constraint::Length(runs_h),
        Constraint::Min(0),
        Constraint::Length(1),
    ])
    .areas(area);
    if !runs.is_empty() {
        frame.render_widget(Paragraph::new(runs), runs_area);
    }
    let tiles: Vec<(&SvcEntry, &str)> = app
        .nodes
        .services
        .iter()
        .flat_map(|s| {
            s.nodes
                .iter()
                .chain(&s.drpnodes)
                .map(move |n| (s, n.as_str()))
        })
        .collect();
    let size = tile_size(area);
    let mut cols = (grid.width / size.min_width).max(1);
    if cols > 2 {
        // Even columns keep a service's production and DRP tiles side by side.
        cols -= cols % 2;
    }
    let rows = (grid.height / size.height).max(1);
    let per_page = usize::from(cols * rows);
    let pages = tiles.len().div_ceil(per_page).max(1);
    let page =
        (now.saturating_duration_since(app.started).as_secs() / CYCLE.as_secs()) as usize % pages;

    let clock = app.utc(now).format("%H:%M:%S UTC").to_string();
    let mut spans = vec![
        Span::styled(" WALL ", app.theme.banner("WALL")),
        Span::styled(format!(" {clock} "), app.theme.title(true)),
    ];
    if pages > 1 {
        spans.push(Span::styled(
            format!(" page {}/{pages} ", page + 1),
            app.theme.muted(),
        ));
    }
    for (i, node) in app.nodes.health.keys().enumerate() {
        let (text, bad) = freshness_text(app, node, now);
        spans.push(Span::styled(
            format!("{} {text}", if i > 0 { " ·" } else { "" }),
            if bad {
                app.theme.error()
            } else {
                app.theme.muted()
            },
        ));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), head);
    if let Some(b) = banner {
        let mode = app.runbook.as_ref().map(|r| r.mode.as_str()).unwrap_or("");
        frame.render_widget(
            Paragraph::new(Span::styled(b, app.theme.banner(mode))),
            rb_line,
        );
    }

    if tiles.is_empty() {
        frame.render_widget(
            Paragraph::new(Span::styled("waiting for nodes…", app.theme.muted()))
                .alignment(Alignment::Center),
            grid,
        );
    }
    let row_areas =
        Layout::vertical(vec![Constraint::Length(size.height); rows.into()]).split(grid);
    let on_page = tiles.iter().skip(page * per_page).take(per_page);
    let col_constraints = vec![Constraint::Ratio(1, u32::from(cols)); cols.into()];
    let cells: Vec<Rect> = row_areas
        .iter()
        .flat_map(|r| {
            Layout::horizontal(col_constraints.clone())
                .split(*r)
                .to_vec()
        })
        .collect();
    for (tile, cell) in on_page.zip(cells) {
        draw_tile(frame, cell, app, *tile, size, now);
    }

    if matches!(app.mode, Mode::Normal) && app.message.is_none() {
        frame.render_widget(
            Paragraph::new(Span::styled(HINT, app.theme.muted())),
            bottom,
        );
    } else {
        super::bottom::draw(frame, bottom, app);
    }
}

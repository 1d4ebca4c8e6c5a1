//! A service's run as the nodes' leases say, in words: the main view's line above the trees
//! (`▶ REHEARSAL busybox · step 4/7 stop_production · alice@laptop (pid 4242) · 2m13s · renewed
//! 3s ago`), the badge under a service in the list, and the facts the wall shows big. An
//! expired lease reads in the warning colour with the command that takes it over; a run no node
//! spoke of lately reads as stale, never as current.

use std::time::Instant;

use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};

use crate::console::app::App;
use crate::console::state::replica::{age_of, short};
use crate::console::state::runs::{RunShown, RunState};
use crate::status::Status;

/// A piece of the run's line, kept whole when the line wraps, with what joins it to the piece
/// before it on the same row.
struct Seg {
    text: String,
    style: Style,
    sep: &'static str,
}

/// The glyph of a run's state: shape carries the meaning on monochrome screens.
pub fn glyph(state: RunState) -> &'static str {
    match state {
        RunState::Running => "▶",
        RunState::Unheard => "?",
        RunState::Expired => "!",
    }
}

/// The style of a run's head (glyph and mode word).
fn head_style(app: &App, r: &RunShown) -> Style {
    let mode = r.lease.mode.banner();
    match r.state {
        RunState::Running => app.theme.banner(mode),
        RunState::Unheard => app.theme.stale(),
        RunState::Expired => app.theme.status(Status::Warn).add_modifier(Modifier::BOLD),
    }
}

/// `step 4/7 stop_production`: the greppable heart of the line.
pub fn step_text(r: &RunShown) -> String {
    let name = r
        .lease
        .step
        .as_deref()
        .map(|s| crate::text::clean_line(s).into_owned())
        .unwrap_or_else(|| "starting".into());
    format!("step {}/{} {name}", r.lease.index, r.lease.total)
}

/// Since the run started (the seat's clock against this console's: shown, never judged).
fn elapsed(app: &App, r: &RunShown, now: Instant) -> String {
    match age_of(&r.lease.started, app.utc(now)) {
        Some(d) => short(d),
        None => "started at an unreadable time".into(),
    }
}

/// The takeover advice of an expired lease.
pub fn takeover(r: &RunShown) -> String {
    format!(
        "take over with: drpilot drp takeover {}",
        crate::text::clean_line(&r.lease.run)
    )
}

fn segments(app: &App, r: &RunShown, now: Instant) -> Vec<Seg> {
    let clean = |s: &str| crate::text::clean_line(s).into_owned();
    let text = app.theme.text();
    let muted = app.theme.muted();
    let warn = app.theme.status(Status::Warn).add_modifier(Modifier::BOLD);
    let seg = |text: String, style: Style| Seg {
        text,
        style,
        sep: " · ",
    };
    let mut out = vec![
        seg(
            format!(
                "{} {} {}",
                glyph(r.state),
                r.lease.mode.banner(),
                clean(r.service)
            ),
            head_style(app, r),
        ),
        seg(step_text(r), app.theme.title(true)),
        seg(clean(&r.lease.holder.to_string()), text),
        seg(elapsed(app, r, now), text),
    ];
    match r.state {
        RunState::Running => out.push(seg(format!("renewed {} ago", short(r.renewed)), muted)),
        RunState::Unheard => {
            out.push(seg(format!("renewed {} ago", short(r.renewed)), muted));
            out.push(seg(
                format!("no node heard from for {}", short(r.heard)),
                app.theme.error(),
            ));
        }
        RunState::Expired => {
            out.push(seg(
                format!("holder stopped renewing {} ago", short(r.renewed)),
                warn,
            ));
            out.push(Seg {
                text: takeover(r),
                style: warn,
                sep: " — ",
            });
        }
    }
    out
}

/// Lays the pieces out in rows of at most `width` cells, each piece whole.
fn wrap(app: &App, segs: Vec<Seg>, width: u16) -> Vec<Line<'static>> {
    let width = usize::from(width);
    let mut rows: Vec<Line<'static>> = Vec::new();
    let mut used = 0;
    for s in segs {
        let w = s.text.chars().count();
        match rows.last_mut() {
            Some(row) if used + s.sep.chars().count() + w <= width => {
                used += s.sep.chars().count() + w;
                row.spans.push(Span::styled(s.sep, app.theme.muted()));
                row.spans.push(Span::styled(s.text, s.style));
            }
            _ => {
                used = w;
                rows.push(Line::from(Span::styled(s.text, s.style)));
            }
        }
    }
    rows
}

/// The run's facts as rows of at most `width` cells.
pub fn lines(app: &App, r: &RunShown, now: Instant, width: u16) -> Vec<Line<'static>> {
    wrap(app, segments(app, r, now), width)
}

/// The runs of the services this console shows, at `now`.
pub fn active<'a>(app: &'a App, now: Instant) -> Vec<RunShown<'a>> {
    app.nodes
        .services
        .iter()
        .filter_map(|s| app.runs.shown(&s.name, now))
        .collect()
}

/// The main view's run rows: the selected service's run (or the first one shown), and how
/// many other services run one; none when no service runs one.
pub fn main_lines(app: &App, now: Instant, width: u16) -> Vec<Line<'static>> {
    let runs = active(app, now);
    let selected = app.current().map(|s| s.name.as_str());
    let Some(first) = runs
        .iter()
        .find(|r| Some(r.service) == selected)
        .or(runs.first())
    else {
        return Vec::new();
    };
    let mut segs = segments(app, first, now);
    if runs.len() > 1 {
        let n = runs.len() - 1;
        segs.push(Seg {
            text: format!("+{n} other run{}", if n == 1 { "" } else { "s" }),
            style: app.theme.title(true),
            sep: " · ",
        });
    }
    let mut rows = wrap(app, segs, width);
    rows.truncate(3);
    rows
}

/// The badge under a service in the list: `▶ REHEARSAL 4/7`, `! EXPIRED 4/7`, `? REHEARSAL 4/7`.
pub fn badge(app: &App, service: &str, now: Instant) -> Option<Span<'static>> {
    let r = app.runs.shown(service, now)?;
    let word = match r.state {
        RunState::Expired => "EXPIRED",
        _ => r.lease.mode.banner(),
    };
    let style = match r.state {
        RunState::Running => app.theme.mode_frame(r.lease.mode.banner()),
        _ => head_style(app, &r),
    };
    Some(Span::styled(
        format!(
            "{} {word} {}/{}",
            glyph(r.state),
            r.lease.index,
            r.lease.total
        ),
        style,
    ))
}

/// The word the wall draws big for a run: its mode (or EXPIRED) and where it is (`4/7`).
pub fn big_word(r: &RunShown) -> String {
    let word = match r.state {
        RunState::Expired => "EXPIRED",
        _ => r.lease.mode.banner(),
    };
    format!("{word} {}/{}", r.lease.index, r.lease.total)
}

/// The style of a run's facts on the wall.
pub fn wall_style(app: &App, r: &RunShown) -> Style {
    head_style(app, r)
}

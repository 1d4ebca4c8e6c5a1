//! The confirmation dialog: Cancel is the default; stopping or starting a service needs its name
//! typed.

use std::time::Instant;

use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::Frame;

use crate::console::app::{App, Confirm};
use crate::console::state::replica::rpo_now;
use crate::status::Status;

/// What stopping production loses: the age of the last sync and the offer to sync first.
fn sync_warning(app: &App, c: &Confirm, now: Instant) -> Vec<Line<'static>> {
    let warn = app.theme.status(Status::Warn).add_modifier(Modifier::BOLD);
    let svc = app.nodes.services.iter().find(|s| s.name == c.svc);
    let last = match svc.and_then(|s| rpo_now(s, app.utc(now))) {
        Some(r) if r.age.is_some() => {
            format!("the last sync ({}) ended {} ago:", r.rid, r.age_text())
        }
        Some(r) => format!("{} never synced:", r.rid),
        None => "no sync known:".into(),
    };
    let choice = if c.on_sync {
        app.theme.selected().add_modifier(Modifier::REVERSED)
    } else {
        app.theme.text()
    };
    vec![
        Line::from(Span::styled(format!("! {last}"), warn)),
        Line::from(Span::styled(
            format!(
                "  writes on {} since then will be lost unless a sync runs first",
                c.node
            ),
            warn,
        )),
        Line::from(vec![
            Span::styled("[ sync first ]", choice),
            Span::styled(
                "  tab chooses it, enter runs syncupdate (then stop again)",
                app.theme.muted(),
            ),
        ]),
        Line::from(""),
    ]
}

/// Draws the dialog.
pub fn draw(frame: &mut Frame, area: Rect, app: &App, c: &Confirm, now: Instant) {
    let force = if c.verb.starts_with("sync") {
        " --force"
    } else {
        ""
    };
    let mut lines = vec![
        Line::from(vec![
            Span::styled(format!("{}{force}", c.verb), app.theme.title(true)),
            Span::raw(" of "),
            Span::styled(c.svc.clone(), app.theme.title(true)),
            Span::raw(" on "),
            Span::styled(c.node.clone(), app.theme.title(true)),
        ]),
        Line::from(""),
    ];
    if let Some(prompt) = &c.runbook {
        lines = vec![
            Line::from(Span::styled(
                format!("runbook step {}", c.verb),
                app.theme.title(true),
            )),
            Line::from(Span::styled(prompt.clone(), app.theme.text())),
            Line::from(""),
        ];
    }
    if c.offer_sync {
        lines.extend(sync_warning(app, c, now));
    }
    match &c.typed {
        Some(t) => {
            lines.push(Line::from(Span::styled(
                format!(
                    "type the service name ({}) and press enter; esc cancels",
                    c.svc
                ),
                app.theme.muted(),
            )));
            lines.push(Line::from(vec![
                Span::raw("> "),
                Span::styled(t.clone(), app.theme.text()),
                Span::raw("█"),
            ]));
        }
        None => {
            let button = |label: &str, on: bool| {
                let style = if on {
                    app.theme.selected().add_modifier(Modifier::REVERSED)
                } else {
                    app.theme.text()
                };
                Span::styled(format!("[ {label} ]"), style)
            };
            lines.push(Line::from(vec![
                button("Cancel", !c.on_run),
                Span::raw("   "),
                button("Run", c.on_run),
            ]));
            lines.push(Line::from(Span::styled(
                "←/→ choose, enter confirms, esc cancels",
                app.theme.muted(),
            )));
        }
    }
    if let Some(e) = &c.error {
        lines.push(Line::from(Span::styled(e.clone(), app.theme.error())));
    }
    super::popup(frame, area, app, " confirm ".to_string(), lines);
}

/// Draws the question asked when the operator quits while an action or a runbook step runs.
pub fn draw_quit(frame: &mut Frame, area: Rect, app: &App, what: &str) {
    let lines = vec![
        Line::from(Span::styled("still running:", app.theme.title(true))),
        Line::from(Span::styled(what.to_string(), app.theme.text())),
        Line::from(""),
        Line::from(Span::styled(
            "y quits anyway (it goes on on the node, unwatched); any other key stays",
            app.theme.muted(),
        )),
    ];
    super::popup(frame, area, app, " quit? ".to_string(), lines);
}

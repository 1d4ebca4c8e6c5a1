//! The bottom line: the command or filter being typed, the last message, or the keys of the
//! focused pane (k9s's context footer): the verbs' hotkeys, each behind its gate, are left out
//! of read-only consoles.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use crate::console::app::{App, Focus, Mode};

/// The manual sync's transfer bars after the message: rate and ETA, never raw progress lines.
fn with_transfers<'a>(app: &App, mut line: Line<'a>) -> Line<'a> {
    for t in &app.transfers.items {
        line.spans.push(Span::styled(
            format!(
                "  {} {}",
                crate::text::clean_line(&t.rid),
                t.progress.bar(10)
            ),
            app.theme.title(false),
        ));
    }
    line
}

/// Draws the bottom line.
pub fn draw(frame: &mut Frame, area: Rect, app: &App) {
    let line = match (&app.mode, &app.message) {
        (Mode::Command(t), _) => Line::from(vec![
            Span::styled(":", app.theme.title(true)),
            Span::raw(t.clone()),
            Span::raw("█"),
        ]),
        (Mode::Filter(t), _) => Line::from(vec![
            Span::styled("/", app.theme.title(true)),
            Span::raw(t.clone()),
            Span::raw("█"),
        ]),
        (Mode::Search(t), _) => Line::from(vec![
            Span::styled("find: ", app.theme.title(true)),
            Span::raw(t.clone()),
            Span::raw("█"),
        ]),
        (_, Some((m, true))) => with_transfers(
            app,
            Line::from(Span::styled(format!(" {m}"), app.theme.error())),
        ),
        (_, Some((m, false))) => with_transfers(
            app,
            Line::from(Span::styled(format!(" {m}"), app.theme.text())),
        ),
        _ => footer(app),
    };
    frame.render_widget(Paragraph::new(line), area);
}

/// The keys that work here: the focused pane's, then the verbs, then the console's.
fn footer(app: &App) -> Line<'static> {
    let pane: &[(&str, &str)] = match app.selection.focus {
        Focus::Log => &[
            ("f", "find"),
            ("n/N", "next"),
            ("end", "follow"),
            ("y", "copy"),
            ("m", "mouse"),
        ],
        Focus::Trees => &[("↑↓", "row"), ("enter", "detail"), ("←→", "node")],
        Focus::Services => &[("↑↓", "service"), ("tab", "trees")],
        // A run not over keeps its pane: esc is advertised only once it closes it.
        Focus::Runbook if app.runbook.as_ref().is_some_and(|r| r.finished.is_none()) => &[
            ("↑↓", "scroll"),
            ("pgup/pgdn", "page"),
            ("esc", "closes once the run is over"),
        ],
        Focus::Runbook => &[("↑↓", "scroll"), ("pgup/pgdn", "page"), ("esc", "close")],
    };
    let verbs: &[(&str, &str)] = if app.read_only {
        &[]
    } else {
        &[
            ("s", "start"),
            ("S", "stop"),
            ("u", "sync"),
            ("U", "full"),
            ("D", "drp"),
        ]
    };
    let common: &[(&str, &str)] = &[(":", "cmd"), ("?", "help"), ("q", "quit")];
    let mut spans = vec![Span::raw(" ")];
    for group in [pane, verbs, common] {
        if group.is_empty() {
            continue;
        }
        for (k, what) in group {
            spans.push(Span::styled(k.to_string(), app.theme.title(true)));
            spans.push(Span::styled(format!(" {what} "), app.theme.muted()));
        }
        spans.push(Span::styled("· ", app.theme.muted()));
    }
    spans.pop();
    Line::from(spans)
}

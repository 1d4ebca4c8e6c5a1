//! The `?` overlay, generated from the key table (src/console/keys.rs) and the command table
//! (src/console/commands.rs): what it lists is what the keys and the parser do. It ends with a
//! legend of the status glyphs and of the highlights, and scrolls when the screen is short.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use ratatui::Frame;

use crate::console::app::App;
use crate::console::commands::COMMANDS;
use crate::console::keys::BINDINGS;
use crate::console::theme::glyph;
use crate::status::Status;

fn lines(app: &App) -> Vec<Line<'static>> {
    let mut lines = vec![Line::from(Span::styled("keys", app.theme.title(true)))];
    for b in BINDINGS {
        lines.push(Line::from(vec![
            Span::styled(format!("  {:<12}", b.label), app.theme.title(false)),
            Span::styled(b.help, app.theme.text()),
        ]));
    }
    lines.push(Line::from(""));
    lines.push(Line::from(Span::styled(
        "commands (after :)",
        app.theme.title(true),
    )));
    for c in COMMANDS.iter().filter(|c| !(c.acts && app.read_only)) {
        lines.push(Line::from(vec![
            Span::styled(format!("  {:<22}", c.usage()), app.theme.title(false)),
            Span::styled(c.help, app.theme.text()),
        ]));
    }
    if app.read_only {
        lines.push(Line::from(Span::styled(
            "  read-only console: no command acts on a node",
            app.theme.muted(),
        )));
    }
    lines.push(Line::from(""));
    lines.extend(legend(app));
    lines.push(Line::from(""));
    lines.push(Line::from(Span::styled(
        "↑↓ pgup pgdn scroll this help; any other key closes it",
        app.theme.muted(),
    )));
    lines
}

/// What the glyphs and the highlights of the trees mean.
fn legend(app: &App) -> Vec<Line<'static>> {
    let mut out = vec![Line::from(Span::styled("legend", app.theme.title(true)))];
    let mut glyphs = vec![Span::raw("  ")];
    for s in [
        Status::Up,
        Status::Down,
        Status::Warn,
        Status::StdbyUp,
        Status::StdbyDown,
        Status::NotApplicable,
        Status::Undef,
    ] {
        glyphs.push(Span::styled(
            format!("{} {}", glyph(s), s.word()),
            app.theme.status(s),
        ));
        glyphs.push(Span::raw("  "));
    }
    out.push(Line::from(glyphs));
    out.push(Line::from(vec![
        Span::raw("  "),
        Span::styled(" fs#1  ▲ up ", app.theme.diff()),
        Span::styled(
            "  a row whose status differs between the two nodes",
            app.theme.text(),
        ),
    ]));
    out.push(Line::from(vec![
        Span::raw("  "),
        Span::styled(" fs#1  ▲ up ", app.theme.stale()),
        Span::styled(
            "  struck out: the node is not answering, the status is old",
            app.theme.text(),
        ),
    ]));
    out.push(Line::from(Span::styled(
        "  stdby: a resource kept up or down on the standby node, as configured",
        app.theme.muted(),
    )));
    out
}

/// How many lines the help has (its scroll limit).
pub fn line_count(app: &App) -> usize {
    lines(app).len()
}

/// The overlay's height with its border: every line of the tables, when the screen allows.
pub fn height(app: &App) -> u16 {
    u16::try_from(line_count(app) + 2).unwrap_or(u16::MAX)
}

/// Draws the help overlay, scrolled by the operator; the title says which lines show.
pub fn draw(frame: &mut Frame, area: Rect, app: &App) {
    let all = lines(app);
    let rows = usize::from(area.height.saturating_sub(2));
    let scroll = app.help_scroll.min(all.len().saturating_sub(rows));
    let title = if rows >= all.len() {
        " help ".to_string()
    } else {
        format!(
            " help · lines {}-{} of {} · ↑↓ pgup pgdn ",
            scroll + 1,
            (scroll + rows).min(all.len()),
            all.len()
        )
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(app.theme.border(true))
        .title(Span::styled(title, app.theme.title(true)));
    let shown: Vec<Line> = all.into_iter().skip(scroll).take(rows).collect();
    frame.render_widget(Clear, area);
    frame.render_widget(Paragraph::new(shown).block(block), area);
}

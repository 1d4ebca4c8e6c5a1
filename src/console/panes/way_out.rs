//! The way-out dialog of a run stopped after a destructive step: what state the nodes are in,
//! and the ways out offered as buttons (`[r] retry`, `[b] roll back`, `[l] leave as is`), the
//! focus on the default.

use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::Frame;

use crate::console::app::App;
use crate::console::state::dialogs::WayOutDialog;
use crate::status::Status;

/// The dialog's text rows (without its frame) at `width` columns.
fn lines(app: &App, d: &WayOutDialog) -> Vec<Line<'static>> {
    let mut lines = vec![Line::from(Span::styled(
        format!(
            "! the run of {} stopped after it changed the nodes",
            crate::text::clean_line(&d.svc)
        ),
        app.theme.status(Status::Warn).add_modifier(Modifier::BOLD),
    ))];
    for l in d.situation.lines() {
        lines.push(Line::from(Span::styled(l.to_string(), app.theme.text())));
    }
    lines.push(Line::from(""));
    let mut buttons = Vec::new();
    for (i, w) in d.choices.iter().enumerate() {
        let (key, label) = WayOutDialog::key_and_label(*w);
        let style = if i == d.focused {
            app.theme.selected().add_modifier(Modifier::REVERSED)
        } else {
            app.theme.text()
        };
        if i > 0 {
            buttons.push(Span::raw("   "));
        }
        buttons.push(Span::styled(format!("[{key}] {label}"), style));
    }
    lines.push(Line::from(buttons));
    lines.push(Line::from(Span::styled(
        format!(
            "keys choose, ←/→ move, enter takes the marked one, esc: {}",
            WayOutDialog::key_and_label(d.default_choice()).1
        ),
        app.theme.muted(),
    )));
    lines
}

/// The dialog's height in a `width`-wide frame: its rows wrapped, plus the frame.
pub fn height(d: &WayOutDialog, width: u16) -> u16 {
    let inner = usize::from(width.saturating_sub(2)).max(1);
    let wrapped = |s: &str| s.chars().count().max(1).div_ceil(inner);
    let situation: usize = d.situation.lines().map(wrapped).sum();
    u16::try_from(situation + 6).unwrap_or(u16::MAX)
}

/// Draws the dialog.
pub fn draw(frame: &mut Frame, area: Rect, app: &App, d: &WayOutDialog) {
    let title = format!(
        " runbook step {}: way out? ",
        crate::text::clean_line(&d.step)
    );
    super::popup(frame, area, app, title, lines(app, d));
}

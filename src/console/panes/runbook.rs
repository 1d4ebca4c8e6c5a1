//! The runbook pane: the checklist of the run, the current step and its gate, the outcome; its
//! title takes the colour of the run's mode (REHEARSAL, DISASTER, FAILBACK), its frame too
//! unless it has the focus. Taller than the pane (a long preflight failure list at 80x24), it
//! shows its end and scrolls back.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders, Paragraph, Wrap};
use ratatui::Frame;

use crate::console::app::{App, Focus, RunbookView};
use crate::runbook::plan::{Step, StepState};
use crate::status::Status;

fn mark(state: StepState) -> &'static str {
    match state {
        StepState::Done => "✔",
        StepState::Running => "▶",
        StepState::Failed => "✗",
        StepState::Skipped => "–",
        StepState::Pending => "·",
    }
}

/// Draws the runbook pane, scrolled back `rb.back` rows from its end (clamped).
pub fn draw(frame: &mut Frame, area: Rect, app: &App, rb: &RunbookView) {
    let focused = app.selection.focus == Focus::Runbook;
    let view = viewport(app, rb, area);
    let mut block = Block::default().borders(Borders::ALL).title(Span::styled(
        format!(" runbook: {} {} ", rb.mode, rb.svc),
        app.theme.banner(&rb.mode),
    ));
    // Focused, the frame is drawn as the other focused panes' (and thick, so the focus shows on
    // a monochrome screen too); the title keeps the mode's colour.
    block = if focused {
        block
            .border_type(BorderType::Thick)
            .border_style(app.theme.border(true))
    } else {
        block.border_style(app.theme.mode_frame(&rb.mode))
    };
    if view.above > 0 || view.below > 0 {
        block = block.title_bottom(Span::styled(
            format!(" ↑{} ↓{} more ", view.above, view.below),
            app.theme.title(focused),
        ));
    }
    let top = u16::try_from(view.above).unwrap_or(u16::MAX);
    frame.render_widget(
        Paragraph::new(lines(app, rb))
            .wrap(Wrap { trim: true })
            .scroll((top, 0))
            .block(block),
        area,
    );
}

/// What of the pane's content shows: the rows hidden above and below the view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Viewport {
    /// Rows above the view.
    pub above: usize,
    /// Rows below the view (the scroll back from the end, clamped).
    pub below: usize,
    /// The most rows the view can scroll back from the end.
    pub max_back: usize,
}

/// The view of the pane's content in `area` (borders included), scrolled back `rb.back` rows
/// from the end, clamped: the drawing and the scroll keys agree on it.
pub fn viewport(app: &App, rb: &RunbookView, area: Rect) -> Viewport {
    let inner_w = area.width.saturating_sub(2);
    let inner_h = usize::from(area.height.saturating_sub(2));
    let rows = Paragraph::new(lines(app, rb))
        .wrap(Wrap { trim: true })
        .line_count(inner_w);
    let max_back = rows.saturating_sub(inner_h);
    let below = rb.back.min(max_back);
    Viewport {
        above: max_back - below,
        below,
        max_back,
    }
}

/// The pane's content: the steps (the transfer bars under the sync step), the preflight's
/// refusal with each fix, the outcome.
fn lines(app: &App, rb: &RunbookView) -> Vec<Line<'static>> {
    let mut lines: Vec<Line<'static>> = rb
        .steps
        .iter()
        .map(|(step, state)| {
            let style = match state {
                StepState::Done => app.theme.status(Status::Up),
                StepState::Failed => app.theme.error(),
                StepState::Running => app.theme.title(true),
                StepState::Pending | StepState::Skipped => app.theme.muted(),
            };
            let gate = if rb.gate.as_deref() == Some(step.name()) {
                "  ← waiting for you"
            } else {
                ""
            };
            Line::from(vec![
                Span::styled(format!("{} {:<24}", mark(*state), step.name()), style),
                Span::styled(format!("{}{gate}", state.word()), app.theme.muted()),
            ])
        })
        .collect();
    // The bars sit under the sync step they belong to.
    if let Some(pos) = rb
        .steps
        .iter()
        .position(|(s, _)| matches!(s, Step::SyncUpdate | Step::ReverseSync))
    {
        for (i, (rid, p)) in rb.syncs.iter().enumerate() {
            let bar = Line::from(Span::styled(
                format!("  {:<8} {}", crate::text::clean_line(rid), p.bar(8)),
                app.theme.title(false),
            ));
            lines.insert(pos + 1 + i, bar);
        }
    }
    if !rb.problems.is_empty() {
        lines.push(Line::from(Span::styled(
            "the preflight refused the run:",
            app.theme.error(),
        )));
        for p in &rb.problems {
            lines.push(Line::from(Span::styled(
                format!("✗ {}", crate::text::clean_line(&p.what)),
                app.theme.text(),
            )));
            if let Some(fix) = &p.fix {
                lines.push(Line::from(Span::styled(
                    format!("    fix: {fix}"),
                    app.theme.title(true),
                )));
            }
        }
    }
    if let Some((ok, summary)) = &rb.finished {
        lines.push(Line::from(""));
        // A run refused at a gate was aborted by the operator: no failure colour.
        let aborted = !ok && summary.contains(" aborted");
        lines.push(Line::from(Span::styled(
            summary.clone(),
            if *ok {
                app.theme.status(Status::Up)
            } else if aborted {
                app.theme.status(Status::Warn)
            } else {
                app.theme.error()
            },
        )));
    }
    lines
}

//! The runbook pane: the checklist of the run, the current step and its gate, the outcome; its
//! frame takes the colour of the run's mode (REHEARSAL, DISASTER, FAILBACK).

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};
use ratatui::Frame;

use crate::console::app::{App, RunbookView};
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

/// Draws the runbook pane.
pub fn draw(frame: &mut Frame, area: Rect, app: &App, rb: &RunbookView) {
    let frame_style = app.theme.mode_frame(&rb.mode);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(frame_style)
        .title(Span::styled(
            format!(" runbook: {} {} ", rb.mode, rb.svc),
            app.theme.banner(&rb.mode),
        ));
    let mut lines: Vec<Line> = rb
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
    frame.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: true }).block(block),
        area,
    );
}

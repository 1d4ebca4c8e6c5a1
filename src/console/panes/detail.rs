//! The detail of one resource (enter on a tree row): what the tree cuts short, in full: the
//! label, every comment unwrapped, the type and flags, and the resource's last lines of the log
//! on that node.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::Frame;

use super::status_span;
use crate::console::app::App;
use crate::text::clean_line;

/// How many of the resource's log lines the detail shows.
const LAST_LINES: usize = 8;

fn field(app: &App, name: &str, value: String) -> Line<'static> {
    Line::from(vec![
        Span::styled(format!("{name:<9}"), app.theme.title(false)),
        Span::styled(value, app.theme.text()),
    ])
}

/// Draws the detail of `key` (a resource id or a group) in `node`'s tree.
pub fn draw(frame: &mut Frame, area: Rect, app: &App, node: &str, key: &str) {
    let st = app.current().and_then(|s| s.status.get(node));
    let mut lines = Vec::new();
    let res = st.and_then(|st| st.resources.iter().find(|r| r.rid == key));
    match (st, res) {
        (_, Some(r)) => {
            lines.push(Line::from(vec![
                Span::styled(format!("{:<9}", "status"), app.theme.title(false)),
                status_span(app, r.status, false),
            ]));
            lines.push(field(app, "type", r.type_name.clone()));
            lines.push(field(app, "label", clean_line(&r.label).into_owned()));
            let mut flags = r.flags.render();
            if r.standby {
                flags.push_str("  standby (always on this node)");
            }
            lines.push(field(
                app,
                "flags",
                format!("{flags}  (MDOE: monitored disabled optional encap)"),
            ));
            for c in &r.comments {
                lines.push(field(app, "#", clean_line(c).into_owned()));
            }
        }
        (Some(st), None) => {
            let status = match key {
                "overall" => st.overall,
                "avail" => st.avail,
                "sync" => st.sync,
                _ => st.hb,
            };
            lines.push(Line::from(vec![
                Span::styled(format!("{:<9}", "status"), app.theme.title(false)),
                status_span(app, status, false),
            ]));
            lines.push(field(
                app,
                "group",
                format!("{key}: the merge of its resources"),
            ));
        }
        (None, None) => lines.push(Line::from(Span::styled(
            format!("no status from {node}"),
            app.theme.muted(),
        ))),
    }
    lines.push(Line::from(""));
    lines.push(Line::from(Span::styled(
        format!("last log lines of {key} on {node}"),
        app.theme.title(true),
    )));
    let log: Vec<_> = app
        .log
        .lines
        .iter()
        .filter(|l| l.node == node && l.rid == key)
        .collect();
    if log.is_empty() {
        lines.push(Line::from(Span::styled("  none yet", app.theme.muted())));
    }
    for l in log.iter().rev().take(LAST_LINES).rev() {
        lines.push(Line::from(vec![
            Span::styled(format!("{} {:<7} ", l.time, l.level), app.theme.muted()),
            Span::styled(l.msg.clone(), app.theme.text()),
        ]));
    }
    lines.push(Line::from(""));
    lines.push(Line::from(Span::styled(
        "any key closes this detail",
        app.theme.muted(),
    )));
    super::popup(frame, area, app, format!(" {key} on {node} "), lines);
}

//! The production and DRP trees side by side: each status as glyph + word + colour with its
//! reason, the rows whose status differs between the two nodes highlighted, and a node that may
//! be stale marked UNREACHABLE with its status struck through, never shown as current.

use std::collections::BTreeMap;
use std::time::Instant;

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};
use ratatui::Frame;

use super::{freshness_text, status_span};
use crate::console::app::{App, Focus, SvcEntry};
use crate::console::state::replica::{limit as short, replica_ages, rpo_now, ReplicaAge};
use crate::status::{group_of, ServiceStatus, Status};
use crate::text::clean_line;

/// One row of a tree: name column, status, label, and the reasons under it.
pub(super) struct Row {
    key: String,
    pub(super) name: String,
    pub(super) status: Status,
    pub(super) label: String,
    pub(super) comments: Vec<String>,
}

/// The rows of a status tree, in the tutorial's order.
pub(super) fn rows(st: &ServiceStatus) -> Vec<Row> {
    let row = |key: &str, name: String, status, label: &str, comments: &[String]| Row {
        key: key.to_string(),
        name,
        status,
        label: label.to_string(),
        comments: comments.to_vec(),
    };
    let mut out = vec![
        row("overall", "overall".into(), st.overall, "", &[]),
        row("avail", "|- avail".into(), st.avail, "", &[]),
    ];
    let avail: Vec<_> = st
        .resources
        .iter()
        .filter(|r| !matches!(group_of(&r.rid), "sync" | "hb"))
        .collect();
    let sync: Vec<_> = st
        .resources
        .iter()
        .filter(|r| group_of(&r.rid) == "sync")
        .collect();
    let resource = |r: &&crate::status::ResourceStatus| {
        row(
            &r.rid,
            format!("|  |- {}", r.rid),
            r.status,
            &r.label,
            &r.comments,
        )
    };
    out.extend(avail.iter().map(resource));
    out.push(row("sync", "|- sync".into(), st.sync, "", &[]));
    out.extend(sync.iter().map(resource));
    out.push(row("hb", "'- hb".into(), st.hb, "", &[]));
    out
}

/// The keys of a tree's rows, top to bottom (the rows the focused tree's marker walks).
pub fn row_keys(st: &ServiceStatus) -> Vec<String> {
    rows(st).into_iter().map(|r| r.key).collect()
}

/// The height the trees of `svc` want with their borders: their longest side, every comment
/// and error line included (the layout gives the log what they do not need).
pub fn wanted_height(app: &App, svc: Option<&SvcEntry>) -> u16 {
    let Some(svc) = svc else { return 3 };
    let side = |node: Option<&str>| {
        let Some(node) = node else { return 0 };
        let rows = svc.status.get(node).map_or(1, |st| {
            rows(st).iter().map(|r| 1 + r.comments.len()).sum::<usize>()
        });
        let err = usize::from(svc.errors.contains_key(node));
        let down = app
            .nodes
            .health
            .get(node)
            .and_then(|h| h.error.as_ref())
            .map_or(0, |_| 4);
        rows + err + down
    };
    let bubble =
        super::bubble::of(&svc.bubbles).map_or(0, |(_, b, _)| super::bubble::wanted_rows(b));
    let lines = side(svc.prod()).max(side(svc.drp())).max(bubble) + 2;
    u16::try_from(lines).unwrap_or(u16::MAX)
}

fn words(st: Option<&ServiceStatus>) -> BTreeMap<String, Status> {
    st.map(|s| {
        rows(s)
            .into_iter()
            .map(|r| (r.key, r.status.displayed()))
            .collect()
    })
    .unwrap_or_default()
}

/// One side of the pair: which node, in which role, against which other status.
struct Side<'a> {
    node: Option<&'a str>,
    role: &'a str,
    other: Option<&'a ServiceStatus>,
    /// 0 for production, 1 for DRP: which focus is this tree's.
    index: usize,
}

/// The replica age under a sync row: its last success against its `sync_max_delay`, a warning
/// once past it.
fn age_line(app: &App, indent: &str, age: &ReplicaAge) -> Line<'static> {
    let limit = short(age.max);
    let (text, style) = match age.age {
        None => (
            format!("{indent}! never synced (limit {limit})"),
            app.theme.status(Status::Warn).add_modifier(Modifier::BOLD),
        ),
        Some(_) if age.over() => (
            format!("{indent}! last sync {} ago > limit {limit}", age.age_text()),
            app.theme.status(Status::Warn).add_modifier(Modifier::BOLD),
        ),
        Some(_) => (
            format!("{indent}last sync {} ago (limit {limit})", age.age_text()),
            app.theme.muted(),
        ),
    };
    Line::from(Span::styled(text, style))
}

/// " RPO now 12s " for a service's title: its oldest replica, a warning once past its limit.
pub fn rpo_title(app: &App, svc: &SvcEntry, now: Instant) -> Option<Span<'static>> {
    let r = rpo_now(svc, app.utc(now))?;
    Some(if r.over() {
        Span::styled(
            format!(" ! RPO now {} > {} ", r.age_text(), short(r.max)),
            app.theme.status(Status::Warn).add_modifier(Modifier::BOLD),
        )
    } else {
        Span::styled(format!(" RPO now {} ", r.age_text()), app.theme.muted())
    })
}

/// Draws one node's tree; `other` is the other node's status, for the differences.
fn draw_one(frame: &mut Frame, area: Rect, app: &App, svc: &SvcEntry, side: Side, now: Instant) {
    let Side {
        node,
        role,
        other,
        index,
    } = side;
    let focused = app.selection.focus == Focus::Trees && app.selection.tree_side == index;
    let mut marked_line = None;
    let Some(node) = node else {
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(app.theme.border(false))
            .title(format!(" no {role} node "));
        frame.render_widget(Paragraph::new("").block(block), area);
        return;
    };
    let (fresh, stale) = freshness_text(app, node, now);
    let mut title = if stale {
        Line::from(vec![
            Span::styled(format!(" {node} · {role} "), app.theme.title(focused)),
            Span::styled(
                format!(" {} ", fresh.trim_start_matches(node).trim()),
                app.theme.error(),
            ),
        ])
    } else {
        Line::from(Span::styled(
            format!(" {node} · {role} "),
            app.theme.title(focused),
        ))
    };
    if let Some(agent) = app.nodes.health.get(node).and_then(|h| h.agent.as_deref()) {
        // A node of another agent (polled, slower): said next to its name.
        title.spans.push(Span::styled(
            format!(" {} ", agent_name(agent)),
            app.theme.muted(),
        ));
    }
    if role == "DRP" {
        // What a failover would lose now: the replica's age, on the side that holds it.
        title.spans.extend(rpo_title(app, svc, now));
    }
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(if stale {
            app.theme.error()
        } else {
            app.theme.border(focused)
        })
        .title(title);
    let mut lines = Vec::new();
    if let Some(err) = svc.errors.get(node) {
        lines.push(Line::from(Span::styled(
            format!("config error: {}", clean_line(err)),
            app.theme.error(),
        )));
    }
    let ages = replica_ages(svc, app.utc(now));
    match svc.status.get(node) {
        None => lines.push(Line::from(Span::styled(
            format!("no status from {node} yet"),
            app.theme.muted(),
        ))),
        Some(st) => {
            let theirs = words(other);
            // A narrow tree gives its width to the status words, which must stay readable.
            let name_width = if area.width < 42 { 14 } else { 18 };
            for (i, r) in rows(st).into_iter().enumerate() {
                let differs = other.is_some() && theirs.get(&r.key) != Some(&r.status.displayed());
                let marked = focused && i == app.selection.tree_row;
                if marked {
                    marked_line = Some(lines.len());
                }
                let name = Span::styled(
                    format!("{:<width$}", r.name, width = name_width),
                    if marked {
                        app.theme.selected()
                    } else if differs {
                        app.theme.diff()
                    } else {
                        app.theme.text()
                    },
                );
                let status = status_span(app, r.status, stale);
                let pad = 12usize
                    .saturating_sub(status.content.chars().count())
                    .max(1);
                lines.push(Line::from(vec![
                    name,
                    status,
                    Span::raw(" ".repeat(pad)),
                    Span::styled(clean_line(&r.label).into_owned(), app.theme.muted()),
                ]));
                let indent = if r.name.starts_with("|  ") {
                    "|  |    "
                } else {
                    "|    "
                };
                if let Some(age) = ages.iter().find(|a| a.rid == r.key) {
                    lines.push(age_line(app, indent, age));
                }
                for c in &r.comments {
                    lines.push(Line::from(Span::styled(
                        format!("{indent}# {}", clean_line(c)),
                        app.theme.muted(),
                    )));
                }
            }
        }
    }
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let mut body = inner;
    if let Some(err) = app.nodes.health.get(node).and_then(|h| h.error.as_ref()) {
        // Why the node cannot be reached, in full: it is what the operator must act on.
        let [top, rest] =
            Layout::vertical([Constraint::Length(4), Constraint::Min(0)]).areas(inner);
        let why = Paragraph::new(Span::styled(
            format!("link down: {}", clean_line(err)),
            app.theme.error(),
        ))
        .wrap(Wrap { trim: true });
        frame.render_widget(why, top);
        body = rest;
    }
    // The marked row stays in view: a long tree scrolls under it.
    let scroll = marked_line
        .map(|l| (l + 2).saturating_sub(usize::from(body.height)))
        .unwrap_or(0);
    let scroll = u16::try_from(scroll).unwrap_or(u16::MAX);
    frame.render_widget(Paragraph::new(lines).scroll((scroll, 0)), body);
}

/// How the console names another agent.
fn agent_name(agent: &str) -> String {
    match serde_json::from_value::<crate::transport::Flavor>(serde_json::json!(agent)) {
        Ok(f) => f.agent_name().to_string(),
        Err(_) => agent.to_string(),
    }
}

/// Draws a service's production and DRP trees.
pub fn draw_pair(frame: &mut Frame, area: Rect, app: &App, svc: Option<&SvcEntry>, now: Instant) {
    // A test bubble is a third column where three trees fit, else under the DRP tree.
    let bubble = svc.and_then(|s| super::bubble::of(&s.bubbles));
    let [left, right, third] = match bubble {
        Some(_) if area.width >= 150 => Layout::horizontal([
            Constraint::Percentage(34),
            Constraint::Percentage(33),
            Constraint::Percentage(33),
        ])
        .areas(area),
        Some(_) => {
            let [l, r] =
                Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)])
                    .areas(area);
            let [top, bottom] =
                Layout::vertical([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(r);
            [l, top, bottom]
        }
        None => {
            let [l, r] =
                Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)])
                    .areas(area);
            [l, r, Rect::default()]
        }
    };
    if let Some((node, b, heard)) = bubble {
        super::bubble::draw(frame, third, app, node, b, heard, now);
    }
    let Some(svc) = svc else {
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(app.theme.border(false));
        frame.render_widget(
            Paragraph::new(Span::styled("no service yet", app.theme.muted())).block(block),
            area,
        );
        return;
    };
    let (prod, drp) = (svc.prod(), svc.drp());
    let st = |n: Option<&str>| n.and_then(|n| svc.status.get(n));
    draw_one(
        frame,
        left,
        app,
        svc,
        Side {
            node: prod,
            role: "production",
            other: st(drp),
            index: 0,
        },
        now,
    );
    draw_one(
        frame,
        right,
        app,
        svc,
        Side {
            node: drp,
            role: "DRP",
            other: st(prod),
            index: 1,
        },
        now,
    );
}

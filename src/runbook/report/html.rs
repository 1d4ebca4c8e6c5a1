//! The report as HTML, with an SVG timeline of the steps: the same facts as the Markdown
//! (gates, refusals, resumes, way outs, final states, output links) for a browser.

use chrono::DateTime;

use super::markdown::{node_state, opt};
use super::model::Report;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn timeline(r: &Report) -> String {
    let t0 = r
        .steps
        .iter()
        .filter_map(|s| s.start.as_deref())
        .filter_map(|t| DateTime::parse_from_rfc3339(t).ok())
        .min();
    let t1 = r
        .steps
        .iter()
        .filter_map(|s| s.end.as_deref())
        .filter_map(|t| DateTime::parse_from_rfc3339(t).ok())
        .max();
    let span = match (t0, t1) {
        (Some(a), Some(b)) => ((b - a).num_milliseconds() as f64).max(1.0),
        _ => 1.0,
    };
    let mut bars = String::new();
    for (i, s) in r.steps.iter().enumerate() {
        let y = 10 + i * 24;
        let (x, w) = match (
            t0,
            s.start
                .as_deref()
                .and_then(|t| DateTime::parse_from_rfc3339(t).ok()),
            s.duration_s,
        ) {
            (Some(a), Some(st), Some(d)) => (
                200.0 + 600.0 * ((st - a).num_milliseconds() as f64) / span,
                (600.0 * d * 1000.0 / span).max(2.0),
            ),
            _ => (200.0, 0.0),
        };
        let colour = match s.outcome.as_str() {
            "done" => "#0072b2",
            "failed" => "#d55e00",
            "skipped" => "#999999",
            _ => "#dddddd",
        };
        bars.push_str(&format!(
            "<text x=\"0\" y=\"{}\">{} ({})</text><rect x=\"{x:.1}\" y=\"{y}\" width=\"{w:.1}\" height=\"16\" fill=\"{colour}\"><title>{}: {}</title></rect>\n",
            y + 13, esc(&s.step), esc(&s.outcome), esc(&s.step), opt(&s.duration_s.map(|d| format!("{d:.3}")), " s"),
        ));
    }
    format!(
        "<svg class=\"timeline\" width=\"820\" height=\"{}\" xmlns=\"http://www.w3.org/2000/svg\" font-size=\"12\">\n{bars}</svg>\n",
        20 + 24 * r.steps.len()
    )
}

fn link(file: Option<&str>) -> String {
    match file {
        Some(f) => {
            let name = f.rsplit('/').next().unwrap_or(f);
            format!("<a href=\"{}\">{}</a>", esc(f), esc(name))
        }
        None => "—".to_string(),
    }
}

fn events(r: &Report) -> String {
    let mut items = String::new();
    for f in &r.refusals {
        items.push_str(&format!(
            "<li>{} — {}{}: {}</li>\n",
            esc(&f.at),
            esc(&f.what),
            f.step
                .as_ref()
                .map(|s| format!(" at {}", esc(s)))
                .unwrap_or_default(),
            esc(&f.reason)
        ));
    }
    for w in &r.way_outs {
        items.push_str(&format!(
            "<li>{} — way out chosen: {} by {}</li>\n",
            esc(&w.at),
            esc(&w.choice),
            esc(&w.operator)
        ));
    }
    for x in &r.resumes {
        let seat = x
            .seat
            .as_ref()
            .map(|s| format!(" from {}", esc(&s.to_string())))
            .unwrap_or_default();
        let takeover = match x.takeover {
            Some(true) => " (takeover)",
            _ => "",
        };
        items.push_str(&format!(
            "<li>{} — resumed by {}{seat}{takeover}</li>\n",
            esc(&x.at),
            esc(&x.operator)
        ));
    }
    if items.is_empty() {
        "<p>No refusal, failure, way out or resume.</p>\n".to_string()
    } else {
        format!("<ul>\n{items}</ul>\n")
    }
}

/// HTML, with an SVG timeline of the steps.
pub fn html(r: &Report) -> String {
    let rows: String = r
        .steps
        .iter()
        .map(|s| format!("<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td><td>{}</td></tr>\n", esc(&s.step), esc(&s.outcome), esc(&opt(&s.start, "")), esc(&opt(&s.end, "")), esc(&opt(&s.duration_s.map(|d| format!("{d:.3}")), " s")), esc(&opt(&s.output_digest, "")), link(s.output_file.as_deref())))
        .collect();
    let gates: String = r
        .gates
        .iter()
        .map(|g| {
            format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
                esc(&g.step),
                if g.confirmed { "confirmed" } else { "refused" },
                esc(&g.operator),
                esc(&g.at)
            )
        })
        .collect();
    let mut finals: String = r
        .final_state
        .nodes
        .iter()
        .map(|n| {
            format!(
                "<li>{} ({}): {}</li>\n",
                esc(&n.node),
                esc(&n.role),
                esc(&node_state(n))
            )
        })
        .collect();
    if r.outcome == "aborted" || r.final_state.left.is_some() {
        finals.push_str(&format!(
            "<li>how the run left them: {}</li>\n",
            esc(r.final_state.left.as_deref().unwrap_or("not recorded"))
        ));
    }
    let gaps: String = if r.agent_gaps.is_empty() {
        String::new()
    } else {
        let items: String = r
            .agent_gaps
            .iter()
            .map(|g| format!("<li>{}</li>\n", esc(g)))
            .collect();
        format!("<h2>Done from this seat or by hand (the nodes' agents do not)</h2><ul>\n{items}</ul>\n")
    };
    let trees: String = r
        .final_trees
        .iter()
        .map(|t| format!("<pre>{}</pre>\n", esc(t)))
        .collect();
    format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>DRP {mode} of {svc}</title>\
         <style>body{{font-family:sans-serif;margin:2em}}td,th{{padding:.2em .6em;border-bottom:1px solid #ccc}}</style></head><body>\n\
         <h1>DRP {mode} of {svc}</h1><p>run <code>{run}</code> started {started} — <b>{outcome}</b> — production {prod}, DRP {drp}, operator {op}</p>\n\
         <table><tr><th>RTO ({rto_label})</th><td>{rto}</td></tr><tr><th>user-visible downtime</th><td>{down}</td></tr><tr><th>RPO</th><td>{rpo}</td></tr></table>\n\
         {gaps}<h2>Timeline</h2>{timeline}\
         <h2>Steps (UTC)</h2><table><tr><th>step</th><th>outcome</th><th>start</th><th>end</th><th>duration</th><th>output digest</th><th>output</th></tr>\n{rows}</table>\n\
         <h2>Gates (UTC)</h2><table><tr><th>step</th><th>answer</th><th>by</th><th>at</th></tr>\n{gates}</table>\n\
         <h2>Refusals, way outs and resumes (UTC)</h2>{events}\
         <h2>Final state of the nodes</h2><ul>\n{finals}</ul>{trees}<p>Journal last hash: <code>{hash}</code></p></body></html>\n",
        mode = esc(&r.mode), svc = esc(&r.service), run = esc(&r.run), started = esc(&r.started), outcome = esc(&r.outcome), prod = esc(&r.production), drp = esc(&r.drp), op = esc(&r.operator),
        rto_label = esc(&r.rto_label), rto = opt(&r.rto_s, " s"), down = opt(&r.downtime_s, " s"), rpo = opt(&r.rpo_s, " s"), timeline = timeline(r), events = events(r), hash = esc(&r.journal_hash),
    )
}

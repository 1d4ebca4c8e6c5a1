//! The report as Markdown: the file an operator attaches to the DRP test's minutes and an
//! auditor signs off (who answered each gate and when, every refusal, resume and way out, both
//! nodes' final states, links to the step outputs beside it).

use super::model::{NodeFinal, Report};

/// A value or a dash.
pub(super) fn opt<T: std::fmt::Display>(v: &Option<T>, unit: &str) -> String {
    v.as_ref()
        .map(|x| format!("{x}{unit}"))
        .unwrap_or_else(|| "—".to_string())
}

/// A table cell: one line, its `|` escaped, so a reason quoting node output keeps the table.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace(['\n', '\r'], " ")
}

/// One node's final state in words.
pub(super) fn node_state(n: &NodeFinal) -> String {
    match (n.recorded.as_str(), &n.overall) {
        ("recorded", Some(o)) => o.clone(),
        ("unreadable", _) => "could not be read at the end of the run".to_string(),
        _ => "not recorded".to_string(),
    }
}

/// The report as Markdown.
pub fn markdown(r: &Report) -> String {
    let seat = r
        .seat
        .as_ref()
        .map(|s| format!(" from {}", cell(&s.to_string())))
        .unwrap_or_default();
    let mut out = format!(
        "# DRP {} of {}\n\n- run: `{}`\n- started: {}\n- outcome: **{}**\n- production: {}\n- DRP: {}\n- operator: {}{seat}\n\n\
         | measure | value |\n|---|---|\n| RTO ({}) | {} |\n| user-visible downtime | {} |\n| RPO | {} |\n{}\n\
         ## Steps (UTC)\n\n| step | outcome | start | end | duration | output digest | output |\n|---|---|---|---|---|---|---|\n",
        r.mode, r.service, r.run, r.started, r.outcome, r.production, r.drp, cell(&r.operator),
        r.rto_label, opt(&r.rto_s, " s"), opt(&r.downtime_s, " s"), opt(&r.rpo_s, " s"),
        match r.production_untouched {
            Some(true) => "| production untouched | yes (its status before and after the test) |\n",
            Some(false) => "| production untouched | NO: its status changed during the test |\n",
            None => "",
        },
    );
    if !r.agent_gaps.is_empty() {
        // Before the steps: they say why a step was skipped or a check not run.
        let at = out.find("## Steps").unwrap_or(out.len());
        let mut gaps =
            String::from("## Done from this seat or by hand (the nodes' agents do not)\n\n");
        for g in &r.agent_gaps {
            gaps.push_str(&format!("- {}\n", cell(g)));
        }
        gaps.push('\n');
        out.insert_str(at, &gaps);
    }
    for s in &r.steps {
        out.push_str(&format!(
            "| {} | {}{} | {} | {} | {} | {} | {} |\n",
            s.step,
            s.outcome,
            s.reason
                .as_ref()
                .map(|x| format!(" ({})", cell(x)))
                .unwrap_or_default(),
            opt(&s.start, ""),
            opt(&s.end, ""),
            opt(&s.duration_s.map(|d| format!("{d:.3}")), " s"),
            opt(&s.output_digest, ""),
            link(s.output_file.as_deref()),
        ));
    }
    out.push_str("\n## Gates (UTC)\n\n");
    if r.gates.is_empty() {
        out.push_str("No gate was answered.\n");
    } else {
        out.push_str("| step | answer | by | at | asked |\n|---|---|---|---|---|\n");
        for g in &r.gates {
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} |\n",
                cell(&g.step),
                if g.confirmed { "confirmed" } else { "refused" },
                cell(&g.operator),
                g.at,
                cell(g.prompt.as_deref().unwrap_or("—")),
            ));
        }
    }
    out.push_str("\n## Refusals, failures and aborts (UTC)\n\n");
    if r.refusals.is_empty() {
        out.push_str("None.\n");
    }
    for f in &r.refusals {
        out.push_str(&format!(
            "- {} — {}{}: {}\n",
            f.at,
            f.what,
            f.step
                .as_ref()
                .map(|s| format!(" at {}", cell(s)))
                .unwrap_or_default(),
            cell(&f.reason)
        ));
    }
    for w in &r.way_outs {
        out.push_str(&format!(
            "- {} — way out chosen: {} by {}{}\n",
            w.at,
            cell(&w.choice),
            cell(&w.operator),
            w.step
                .as_ref()
                .map(|s| format!(" (at {})", cell(s)))
                .unwrap_or_default(),
        ));
    }
    out.push_str("\n## Resumes (UTC)\n\n");
    if r.resumes.is_empty() {
        out.push_str("The run was never resumed.\n");
    }
    for x in &r.resumes {
        let seat = x
            .seat
            .as_ref()
            .map(|s| format!(" from {}", cell(&s.to_string())))
            .unwrap_or_default();
        let takeover = match x.takeover {
            Some(true) => " (took the run over from another seat)",
            Some(false) => " (same seat's run, no takeover)",
            None => "",
        };
        out.push_str(&format!(
            "- {} — resumed by {}{seat}{takeover}\n",
            x.at,
            cell(&x.operator)
        ));
    }
    out.push_str("\n## Final state of the nodes\n\n");
    for n in &r.final_state.nodes {
        out.push_str(&format!("- {} ({}): {}\n", n.node, n.role, node_state(n)));
    }
    if r.outcome == "aborted" || r.final_state.left.is_some() {
        out.push_str(&format!(
            "- how the run left them: {}\n",
            cell(r.final_state.left.as_deref().unwrap_or("not recorded"))
        ));
    }
    out.push('\n');
    for t in &r.final_trees {
        out.push_str(&format!("```\n{t}```\n\n"));
    }
    if !r.outputs.is_empty() {
        out.push_str("## Step outputs\n\n");
        for o in &r.outputs {
            out.push_str(&format!(
                "- {} (record {}): {}\n",
                cell(&o.step),
                o.seq,
                link(Some(&o.file))
            ));
        }
        out.push('\n');
    }
    out.push_str(&format!("Journal last hash: `{}`\n", r.journal_hash));
    out
}

fn link(file: Option<&str>) -> String {
    match file {
        Some(f) => {
            let name = f.rsplit('/').next().unwrap_or(f);
            format!("[{name}]({f})")
        }
        None => "—".to_string(),
    }
}

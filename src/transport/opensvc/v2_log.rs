//! The v2 agent's action log as it prints it: a header `@ n:NODE o:SVC r:RID sc:n` names the
//! resource of the lines after it (none: the service), each line starts with two spaces (info),
//! `W` (warning) or `E` (error). Read into drpilot's log records, with their levels and rids.

use crate::protocol::log::{Kind, Level, LogRecord};

/// One header's fields.
fn header(line: &str) -> Option<(Option<String>, Option<String>)> {
    let rest = line.strip_prefix("@ ")?;
    let mut svc = None;
    let mut rid = None;
    for field in rest.split_whitespace() {
        if let Some(v) = field.strip_prefix("o:") {
            svc = Some(v.to_string());
        } else if let Some(v) = field.strip_prefix("r:") {
            rid = Some(v.to_string());
        }
    }
    Some((svc, rid))
}

/// Reads a whole log of `service`; `ts` stamps the records (the text log has no times).
pub fn parse(text: &str, service: &str, ts: &str) -> Vec<LogRecord> {
    let mut svc = service.to_string();
    let mut rid = String::new();
    let mut out = Vec::new();
    for line in text.lines() {
        if let Some((s, r)) = header(line) {
            if let Some(s) = s {
                svc = s;
            }
            rid = r.unwrap_or_default();
            continue;
        }
        let (level, msg) = if let Some(m) = line.strip_prefix("  ") {
            (Level::Info, m)
        } else if let Some(m) = line.strip_prefix("W ") {
            (Level::Warning, m)
        } else if let Some(m) = line.strip_prefix("E ") {
            (Level::Error, m)
        } else if line.trim().is_empty() {
            continue;
        } else {
            // Not the agent's own line (a wrapper's `rc=0`): kept, as output.
            (Level::Info, line)
        };
        out.push(LogRecord {
            ts: ts.to_string(),
            level,
            svc: svc.clone(),
            rid: rid.clone(),
            kind: Kind::Info,
            msg: msg.to_string(),
            progress: None,
            by: None,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_set_the_resource_and_prefixes_the_level() {
        let text = "@ n:deb1 o:demo sc:n\nW careful\n@ n:deb1 o:demo r:app#3 sc:n\n  kill 3356\nE broken\n";
        let recs = parse(text, "demo", "2026-12-01T00:00:00Z");
        let got: Vec<(Level, &str, &str)> = recs
            .iter()
            .map(|r| (r.level, r.rid.as_str(), r.msg.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                (Level::Warning, "", "careful"),
                (Level::Info, "app#3", "kill 3356"),
                (Level::Error, "app#3", "broken"),
            ]
        );
    }
}

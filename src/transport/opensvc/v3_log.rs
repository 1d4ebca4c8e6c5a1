//! The v3 agent's action log, which it prints on stderr (stdout stays empty):
//! `HH:MM:SS.mmm LVL SVC: RID: message`, the level one of `TRC DBG INF WRN ERR FTL PNC`, the
//! resource named when the line is a resource's, trailing spaces possible; a failure ends with
//! `Error: …`. Read into drpilot's log records with their levels and rids.

use crate::protocol::log::{Kind, Level, LogRecord};

/// The level of a v3 level word, if it is one.
fn level(word: &str) -> Option<Level> {
    Some(match word {
        "TRC" | "DBG" | "INF" => Level::Info,
        "WRN" => Level::Warning,
        "ERR" | "FTL" | "PNC" => Level::Error,
        _ => return None,
    })
}

/// Whether `w` is a resource id (`fs#1`, `sync#i0`).
fn is_rid(w: &str) -> bool {
    w.split_once('#').is_some_and(|(kind, id)| {
        !kind.is_empty()
            && kind.chars().all(|c| c.is_ascii_lowercase())
            && !id.is_empty()
            && id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c))
    })
}

/// One line: its level, resource and message.
fn line(text: &str, service: &str) -> Option<(Level, String, String)> {
    let text = text.trim_end();
    if text.is_empty() {
        return None;
    }
    let mut parts = text.splitn(3, ' ');
    let (time, lvl, rest) = (parts.next()?, parts.next(), parts.next());
    let timed = time.len() >= 8 && time.as_bytes().get(2) == Some(&b':');
    let (Some(lvl), Some(rest), true) = (lvl.and_then(level), rest, timed) else {
        // Not a log line: the command's own error, or other output, kept as it is.
        let lvl = if text.starts_with("Error:") {
            Level::Error
        } else {
            Level::Info
        };
        return Some((lvl, String::new(), text.to_string()));
    };
    let rest = rest.strip_prefix(&format!("{service}: ")).unwrap_or(rest);
    match rest.split_once(": ") {
        Some((rid, msg)) if is_rid(rid) => Some((lvl, rid.to_string(), msg.to_string())),
        _ => Some((lvl, String::new(), rest.to_string())),
    }
}

/// Reads a whole log of `service`; `ts` stamps the records (the lines carry the node's clock
/// time of day only).
pub fn parse(text: &str, service: &str, ts: &str) -> Vec<LogRecord> {
    text.lines()
        .filter_map(|l| line(l, service))
        .map(|(level, rid, msg)| LogRecord {
            ts: ts.to_string(),
            level,
            svc: service.to_string(),
            rid,
            kind: Kind::Info,
            msg,
            progress: None,
            by: None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_resources_and_the_final_error_are_read() {
        let text = "10:00:00.101 INF svc1: >>> do start [om svc1 instance start]   \n\
                    10:00:01.002 WRN svc1: fs#1: flag already set\n\
                    10:00:01.003 ERR svc1: app#2: exit 1\n\
                    Error: svc1: start failed\n";
        let got: Vec<(Level, String, String)> = parse(text, "svc1", "t")
            .into_iter()
            .map(|r| (r.level, r.rid, r.msg))
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    Level::Info,
                    String::new(),
                    ">>> do start [om svc1 instance start]".to_string()
                ),
                (
                    Level::Warning,
                    "fs#1".to_string(),
                    "flag already set".to_string()
                ),
                (Level::Error, "app#2".to_string(), "exit 1".to_string()),
                (
                    Level::Error,
                    String::new(),
                    "Error: svc1: start failed".to_string()
                ),
            ]
        );
    }
}

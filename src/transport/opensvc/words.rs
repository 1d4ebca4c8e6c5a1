//! What the OpenSVC agents (v2 and v3) share with drpilot's status model: the seven status
//! words, a resource's log entry as a comment without its level, and the tree's row order.

use crate::status::Status;

/// A status word of the agent's (the same seven as drpilot's), or what it was when it is none.
pub fn word(w: &str) -> Result<Status, String> {
    Status::from_word(w).ok_or_else(|| format!("unknown status word '{w}'"))
}

/// A resource's log entry without its level prefix (`info: not evaluated (instance not up)`).
pub fn comment(entry: &str) -> String {
    for prefix in ["info: ", "warn: ", "warning: ", "error: "] {
        if let Some(rest) = entry.strip_prefix(prefix) {
            return rest.to_string();
        }
    }
    entry.to_string()
}

/// Orders rids as drpilot's tree does: by group in the tutorial's order, then by id.
pub fn order_key(rid: &str) -> (usize, String, u64, String) {
    let (kind, id) = rid.split_once('#').unwrap_or((rid, ""));
    let group = match crate::status::group_of(rid) {
        "ip" => 0,
        "disk" => 1,
        "fs" => 2,
        "share" => 3,
        "container" => 4,
        "app" => 5,
        "sync" => 6,
        _ => 7,
    };
    match id.parse::<u64>() {
        Ok(n) => (group, kind.to_string(), n, String::new()),
        Err(_) => (group, kind.to_string(), u64::MAX, id.to_string()),
    }
}

//! The action log as the console keeps it: a bounded ring of lines (a flood must not grow
//! memory), the operator's filter and how far the pane is scrolled up.

use std::collections::VecDeque;

use crate::console::event::LogLine;

/// How many log lines are kept (older ones are dropped: a flood must not grow memory).
pub const LOG_CAPACITY: usize = 5000;

/// The log lines, the filter and the scroll position.
#[derive(Debug, Clone, Default)]
pub struct Log {
    /// Action log lines, oldest first, at most [`LOG_CAPACITY`].
    pub lines: VecDeque<LogLine>,
    /// Log filter (resource id or text); empty shows all.
    pub filter: String,
    /// Lines scrolled up from the bottom of the log.
    pub scroll: usize,
}

impl Log {
    /// Adds a line, dropping the oldest past the capacity. Its text comes from the nodes: kept
    /// as safe text, like every line drpilot prints.
    pub fn push(&mut self, mut line: LogLine) {
        for field in [&mut line.node, &mut line.svc, &mut line.rid, &mut line.msg] {
            if let std::borrow::Cow::Owned(clean) = crate::text::clean_line(field) {
                *field = clean;
            }
        }
        if self.lines.len() == LOG_CAPACITY {
            self.lines.pop_front();
        }
        // Follow mode: at the bottom new lines scroll into view; scrolled up, the view stays
        // where the operator put it.
        if self.scroll > 0 && self.passes(&line) {
            self.scroll += 1;
        }
        self.lines.push_back(line);
    }

    /// The lines that pass the filter (a resource or a text, any case). Runs at every frame of
    /// the log pane: it allocates nothing per line.
    pub fn visible(&self) -> Vec<&LogLine> {
        let f = self.filter.to_lowercase();
        self.lines
            .iter()
            .filter(|l| f.is_empty() || contains_ci(&l.rid, &f) || contains_ci(&l.msg, &f))
            .collect()
    }

    fn passes(&self, l: &LogLine) -> bool {
        let f = self.filter.to_lowercase();
        f.is_empty() || contains_ci(&l.rid, &f) || contains_ci(&l.msg, &f)
    }

    /// Whether new lines scroll into view (the pane is at the bottom).
    pub fn following(&self) -> bool {
        self.scroll == 0
    }

    /// Shows only the lines matching `filter`, from the bottom.
    pub fn set_filter(&mut self, filter: String) {
        self.filter = filter;
        self.scroll = 0;
    }

    /// Scrolls towards older lines (`up`) or back towards the newest.
    pub fn scroll_by(&mut self, up: bool, lines: usize) {
        let top = self.visible().len().saturating_sub(1);
        self.scroll = if up {
            self.scroll.saturating_add(lines).min(top)
        } else {
            self.scroll.saturating_sub(lines)
        };
    }

    /// The visible lines as the text `:save` writes, one line each.
    pub fn text(&self) -> String {
        self.visible().iter().map(|l| line_text(l)).collect()
    }
}

/// One line as `:save` writes it and `y` copies it.
pub fn line_text(l: &LogLine) -> String {
    format!(
        "{} {:<7} {} {} {}\n",
        l.time,
        l.level,
        l.node,
        if l.rid.is_empty() { &l.svc } else { &l.rid },
        l.msg
    )
}

/// Whether `hay` contains `needle` (already lowercase), ignoring case, without allocating for
/// ASCII needles.
fn contains_ci(hay: &str, needle: &str) -> bool {
    if !needle.is_ascii() {
        return hay.to_lowercase().contains(needle);
    }
    let n = needle.as_bytes();
    n.is_empty()
        || hay
            .as_bytes()
            .windows(n.len())
            .any(|w| w.eq_ignore_ascii_case(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(rid: &str, msg: &str) -> LogLine {
        LogLine {
            time: "17:00:01".into(),
            node: "deb1".into(),
            svc: "busybox".into(),
            rid: rid.into(),
            level: "INFO".into(),
            msg: msg.into(),
        }
    }

    #[test]
    fn the_log_filter_ignores_case() {
        assert!(contains_ci("SYNC#1 sent 3 files", "sync#1"));
        assert!(contains_ci("Größe", "größe"));
        assert!(!contains_ci("fs#1", "fs#2"));
    }

    #[test]
    fn the_log_is_bounded() {
        let mut log = Log::default();
        for i in 0..LOG_CAPACITY + 10 {
            log.push(line("r", &i.to_string()));
        }
        assert_eq!(log.lines.len(), LOG_CAPACITY);
        assert_eq!(log.lines.front().map(|l| l.msg.as_str()), Some("10"));
    }

    #[test]
    fn the_saved_text_is_the_filtered_log() {
        let mut log = Log::default();
        log.push(line("sync#1", "sent"));
        log.push(line("", "started"));
        log.set_filter("start".into());
        assert_eq!(log.text(), "17:00:01 INFO    deb1 busybox started\n");
    }
}

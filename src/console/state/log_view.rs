//! How the operator works in the log pane, beside the lines themselves ([`super::log`]): the
//! search and its matches, the line the pane points at (its bottom line, which `y` copies), and
//! what must reach the terminal itself (mouse capture on or off, a copy to its clipboard).

use crate::console::event::LogLine;

use super::log::Log;

/// Something the render task must write to the terminal (the state does no IO).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TerminalRequest {
    /// Capture the mouse (wheel scrolls the log) or give it back (text can be selected).
    MouseCapture(bool),
    /// Put this text on the terminal's clipboard (OSC 52).
    Clipboard(String),
}

/// The search, the mouse capture and the pending terminal requests.
#[derive(Debug, Clone)]
pub struct LogView {
    /// The text searched (any case); empty: no search.
    pub search: String,
    /// Whether the console has the mouse (the default): the wheel scrolls, the terminal's own
    /// selection needs shift.
    pub mouse_capture: bool,
    /// Requests for the render task, taken when it writes the next frame.
    pub requests: Vec<TerminalRequest>,
}

impl Default for LogView {
    fn default() -> Self {
        Self {
            search: String::new(),
            mouse_capture: true,
            requests: Vec::new(),
        }
    }
}

/// Whether a line matches the search `needle` (already lowercase).
pub fn matches(line: &LogLine, needle: &str) -> bool {
    !needle.is_empty()
        && [&line.msg, &line.rid, &line.node]
            .iter()
            .any(|f| f.to_lowercase().contains(needle))
}

impl LogView {
    /// The index (in the visible lines) of the line the pane points at: its bottom line.
    pub fn pointed(log: &Log) -> Option<usize> {
        let len = log.visible().len();
        len.checked_sub(1 + log.scroll.min(len.saturating_sub(1)))
    }

    /// Scrolls so that the next match, towards older lines (`older`) or newer ones, is the
    /// pane's bottom line; returns whether there was one.
    pub fn jump(&self, log: &mut Log, older: bool) -> bool {
        let needle = self.search.to_lowercase();
        let lines = log.visible();
        let len = lines.len();
        let Some(at) = Self::pointed(log) else {
            return false;
        };
        let found = if older {
            (0..at).rev().find(|&i| matches(lines[i], &needle))
        } else {
            (at + 1..len).find(|&i| matches(lines[i], &needle))
        };
        match found {
            Some(i) => {
                log.scroll = len - 1 - i;
                true
            }
            None => false,
        }
    }

    /// Starts a search from the newest line: the newest match becomes the bottom line.
    pub fn search(&mut self, log: &mut Log, text: String) -> bool {
        self.search = text;
        log.scroll = 0;
        let needle = self.search.to_lowercase();
        let newest = log.visible().last().is_some_and(|l| matches(l, &needle));
        newest || self.jump(log, true)
    }

    /// How many visible lines match the search.
    pub fn count(&self, log: &Log) -> usize {
        let needle = self.search.to_lowercase();
        log.visible().iter().filter(|l| matches(l, &needle)).count()
    }
}

/// The OSC 52 sequence that puts `text` on the terminal's clipboard.
pub fn osc52(text: &str) -> String {
    format!("\x1b]52;c;{}\x07", base64(text.as_bytes()))
}

fn base64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, shift) in [18u32, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                out.push(char::from(A[((n >> shift) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn osc52_encodes_in_base64() {
        assert_eq!(base64(b"Man"), "TWFu");
        assert_eq!(base64(b"Ma"), "TWE=");
        assert_eq!(base64(b"M"), "TQ==");
        assert_eq!(osc52("hi"), "\x1b]52;c;aGk=\x07");
    }
}

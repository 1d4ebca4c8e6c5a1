//! Text from nodes and configs made safe for a terminal. Command output, labels, comments and
//! config values are printed by drpilot; a control character in them (an escape sequence that
//! retitles the terminal, moves the cursor or rewrites the screen) must never reach the
//! operator's terminal or a log file. Every sink that prints such text goes through here: the
//! CLI, the action log, the status renderer, config diagnostics and the console.

use std::borrow::Cow;

/// `text` as one terminal-safe line: escape sequences (CSI such as colours, OSC such as a
/// window title, DCS, and the two-byte ones) are removed whole, any other control character is
/// dropped, a tab becomes a space; printable Unicode is kept.
pub fn clean_line(text: &str) -> Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\t' => out.push(' '),
            '\x1b' => match chars.peek().copied() {
                Some('[') => {
                    chars.next();
                    skip_csi(&mut chars);
                }
                Some(']' | 'P' | 'X' | '^' | '_') => {
                    chars.next();
                    skip_string(&mut chars);
                }
                Some(' '..='/') => {
                    // nF: intermediates, then one final byte (`ESC ( B`).
                    while chars.next_if(|c| matches!(c, ' '..='/')).is_some() {}
                    chars.next_if(|c| matches!(c, '0'..='~'));
                }
                Some('0'..='~') => {
                    chars.next();
                }
                _ => {}
            },
            '\u{9b}' => skip_csi(&mut chars),
            '\u{90}' | '\u{98}' | '\u{9d}' | '\u{9e}' | '\u{9f}' => skip_string(&mut chars),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// `text` made terminal-safe line by line: like [`clean_line`], keeping the line breaks.
pub fn clean_lines(text: &str) -> Cow<'_, str> {
    if !text.chars().any(|c| c.is_control() && c != '\n') {
        return Cow::Borrowed(text);
    }
    let lines: Vec<Cow<'_, str>> = text.split('\n').map(clean_line).collect();
    Cow::Owned(lines.join("\n"))
}

/// A JSON document with DEL and the C1 controls (U+007F to U+009F) escaped as `\u00XX`:
/// serde_json escapes only U+0000 to U+001F, and a C1 control such as U+009B (CSI) is an
/// escape sequence to some terminals. The document means the same: these characters can only
/// stand inside JSON strings, where the escape is the same character.
pub fn json_safe(json: String) -> String {
    if !json.chars().any(|c| c.is_control()) {
        return json;
    }
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        // U+0000 to U+001F are escaped by serde_json, or are whitespace between tokens.
        if c.is_control() && u32::from(c) >= 0x7f {
            out.push_str(&format!("\\u{:04x}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    out
}

/// Skips a CSI's parameter and intermediate bytes and its final byte; stops, keeping it, at a
/// character no CSI holds.
fn skip_csi(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    while chars
        .next_if(|c| matches!(c, '0'..='?' | ' '..='/'))
        .is_some()
    {}
    chars.next_if(|c| matches!(c, '@'..='~'));
}

/// Skips a control string (OSC, DCS, ...) up to its terminator: BEL, `ESC \` or ST.
fn skip_string(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    while let Some(c) = chars.next() {
        match c {
            '\x07' | '\u{9c}' => return,
            '\x1b' => {
                chars.next_if_eq(&'\\');
                return;
            }
            _ => {}
        }
    }
}

/// The `error: …` lines of a failure, terminal-safe, with one `error:` prefix even when the
/// failure's own text starts with one (a refused config lists its diagnostics that way).
pub fn error_lines(e: &color_eyre::eyre::Report) -> String {
    let text = format!("{e:#}");
    let text = text.strip_prefix("error: ").unwrap_or(&text);
    format!("error: {}", clean_lines(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn has_control(s: &str) -> bool {
        s.chars().any(char::is_control)
    }

    #[test]
    fn plain_text_is_borrowed_as_is() {
        assert!(matches!(
            clean_line("up  é ✓ 日本"),
            Cow::Borrowed("up  é ✓ 日本")
        ));
        assert!(matches!(clean_lines("a\nb"), Cow::Borrowed("a\nb")));
    }

    #[test]
    fn escape_sequences_go_whole_and_other_controls_go() {
        assert_eq!(clean_line("a\x1b]0;PWNED\x07b"), "ab");
        assert_eq!(clean_line("a\x1b]2;t\x1b\\b"), "ab");
        assert_eq!(clean_line("\x1b[1;32mgreen\x1b[0m"), "green");
        assert_eq!(clean_line("\x1b[2J\x1b[Hx"), "x");
        assert_eq!(clean_line("\x1b(Bx\x1bcy"), "xy");
        assert_eq!(clean_line("a\u{9b}31mb\u{9d}0;t\u{9c}c"), "abc");
        assert_eq!(
            clean_line("bell\x07 cr\r del\x7f nul\0."),
            "bell cr del nul."
        );
        assert_eq!(clean_line("a\tb"), "a b");
        assert_eq!(clean_line("a\nb"), "ab");
        // An unterminated title swallows the rest of its line, never the next one.
        assert_eq!(clean_lines("x\x1b]0;title\nnext\x1b"), "x\nnext");
        assert_eq!(clean_line("ends with ESC\x1b"), "ends with ESC");
        assert_eq!(clean_line("\x1b\u{e9}t\u{e9}"), "\u{e9}t\u{e9}");
    }

    #[test]
    fn json_keeps_its_meaning_without_raw_controls() {
        let value = serde_json::json!({"l": "a\u{9b}31m\x7f\x1b]0;t\x07 \u{e9}\n"});
        let json = json_safe(serde_json::to_string(&value).unwrap_or_default());
        assert!(!json.chars().any(char::is_control), "{json}");
        assert!(
            json.contains("a\\u009b31m\\u007f\\u001b]0;t\\u0007 \u{e9}\\n"),
            "{json}"
        );
        let back: serde_json::Value = serde_json::from_str(&json).unwrap_or_default();
        assert_eq!(back, value);
    }

    #[test]
    fn nothing_printed_keeps_a_control_character() {
        for s in [
            "\x1b[",
            "\x1b]",
            "\x1b]0;\x1b",
            "\u{9b}\u{9b}\x1b\x1b[\x07",
            "\x1b[\x1b]x",
            "a\x1b[12\u{e9}b",
        ] {
            assert!(!has_control(&clean_line(s)), "{s:?} -> {:?}", clean_line(s));
            let lines = clean_lines(s);
            assert!(!lines.chars().any(|c| c.is_control() && c != '\n'), "{s:?}");
        }
    }
}

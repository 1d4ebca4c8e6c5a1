//! Text that came from a node or a config, made safe for a terminal: control characters
//! (escape sequences that retitle or repaint the operator's terminal) never get through.

/// `text` without its control characters; a tab becomes a space.
pub fn printable(text: &str) -> String {
    text.chars()
        .filter_map(|c| match c {
            '\t' => Some(' '),
            c if c.is_control() => None,
            c => Some(c),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_sequences_lose_their_control_bytes() {
        assert_eq!(printable("a\x1b]0;t\x07b\tc é"), "a]0;tb c é");
    }
}

//! Greedy word wrapping for comment lines (the behaviour of Python's `textwrap.wrap`, which the
//! seed's OpenSVC used: whitespace collapses, over-long words are cut).

/// Splits `text` into lines of at most `width` characters, breaking at whitespace.
pub(crate) fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut lines = Vec::new();
    let mut line = String::new();
    let mut line_len = 0;
    for word in text.split_whitespace() {
        let mut word_len = word.chars().count();
        let mut rest = word;
        if line_len > 0 && line_len + 1 + word_len <= width {
            line.push(' ');
            line.push_str(rest);
            line_len += 1 + word_len;
            continue;
        }
        if line_len > 0 {
            lines.push(std::mem::take(&mut line));
        }
        while word_len > width {
            let cut = rest
                .char_indices()
                .nth(width)
                .map_or(rest.len(), |(i, _)| i);
            lines.push(rest[..cut].to_string());
            rest = &rest[cut..];
            word_len -= width;
        }
        line.push_str(rest);
        line_len = word_len;
    }
    if line_len > 0 {
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::wrap;

    #[test]
    fn wraps_like_the_seed() {
        assert_eq!(
            wrap("# passive node not in sync destination nodes", 43),
            vec!["# passive node not in sync destination", "nodes"]
        );
    }

    #[test]
    fn exact_fit_stays_on_one_line() {
        assert_eq!(wrap("aaa bbb", 7), vec!["aaa bbb"]);
        assert_eq!(wrap("aaa bbbb", 7), vec!["aaa", "bbbb"]);
    }

    #[test]
    fn long_words_are_cut_and_whitespace_collapses() {
        assert_eq!(
            wrap("x abcdefghij  y", 4),
            vec!["x", "abcd", "efgh", "ij y"]
        );
        assert_eq!(wrap("   ", 10), Vec::<String>::new());
        assert_eq!(wrap("éééé", 2), vec!["éé", "éé"]);
    }
}

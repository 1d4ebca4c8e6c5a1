//! A small block-letter font (5 rows, 3 columns a letter) for the wall's state words, so they read
//! from across a room; only the letters the wall's words use, anything else becomes a blank.

/// Rows of a big letter.
pub const HEIGHT: u16 = 5;

/// The 5 rows of a letter, `#` for a filled cell.
fn letter(c: char) -> [&'static str; 5] {
    match c.to_ascii_uppercase() {
        'A' => [" # ", "# #", "###", "# #", "# #"],
        'B' => ["## ", "# #", "## ", "# #", "## "],
        'C' => [" ##", "#  ", "#  ", "#  ", " ##"],
        'D' => ["## ", "# #", "# #", "# #", "## "],
        'E' => ["###", "#  ", "## ", "#  ", "###"],
        'F' => ["###", "#  ", "## ", "#  ", "#  "],
        'G' => [" ##", "#  ", "# #", "# #", " ##"],
        'H' => ["# #", "# #", "###", "# #", "# #"],
        'I' => ["###", " # ", " # ", " # ", "###"],
        'K' => ["# #", "## ", "#  ", "## ", "# #"],
        'L' => ["#  ", "#  ", "#  ", "#  ", "###"],
        'M' => ["# #", "###", "###", "# #", "# #"],
        'N' => ["# #", "###", "###", "# #", "# #"],
        'O' => [" # ", "# #", "# #", "# #", " # "],
        'P' => ["## ", "# #", "## ", "#  ", "#  "],
        'R' => ["## ", "# #", "## ", "# #", "# #"],
        'S' => [" ##", "#  ", " # ", "  #", "## "],
        'T' => ["###", " # ", " # ", " # ", " # "],
        'U' => ["# #", "# #", "# #", "# #", "###"],
        'W' => ["# #", "# #", "###", "###", "# #"],
        'X' => ["# #", "# #", " # ", "# #", "# #"],
        'Y' => ["# #", "# #", " # ", " # ", " # "],
        '/' => ["  #", "  #", " # ", "#  ", "#  "],
        '?' => ["## ", "  #", " # ", "   ", " # "],
        '-' => ["   ", "   ", "###", "   ", "   "],
        '0' => ["###", "# #", "# #", "# #", "###"],
        '1' => [" # ", "## ", " # ", " # ", "###"],
        '2' => ["## ", "  #", " # ", "#  ", "###"],
        '3' => ["## ", "  #", " # ", "  #", "## "],
        '4' => ["# #", "# #", "###", "  #", "  #"],
        '5' => ["###", "#  ", "## ", "  #", "## "],
        '6' => [" ##", "#  ", "###", "# #", "###"],
        '7' => ["###", "  #", " # ", " # ", " # "],
        '8' => ["###", "# #", "###", "# #", "###"],
        '9' => ["###", "# #", "###", "  #", "## "],
        _ => ["   ", "   ", "   ", "   ", "   "],
    }
}

/// Width in cells of `word` drawn big (3 a letter, 1 between letters).
pub fn width(word: &str) -> u16 {
    let n = word.chars().count() as u16;
    (n * 4).saturating_sub(1)
}

/// The 5 text rows of `word` drawn big with `█`.
pub fn rows(word: &str) -> Vec<String> {
    (0..HEIGHT as usize)
        .map(|r| {
            word.chars()
                .map(|c| letter(c)[r].replace('#', "█"))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_wall_word_has_its_letters() {
        for w in [
            "UP",
            "DOWN",
            "WARN",
            "STANDBY",
            "STALE",
            "N/A",
            "UNDEF",
            "WAIT",
            "STDBY",
            "REHEARSAL",
            "DISASTER",
            "FAILBACK",
            "EXPIRED",
            "0123456789",
            "MAX",
        ] {
            for c in w.chars() {
                assert!(letter(c).iter().any(|r| r.contains('#')), "{c} of {w}");
            }
            let r = rows(w);
            assert_eq!(r.len(), 5);
            assert!(r.iter().all(|l| l.chars().count() as u16 == width(w)));
        }
    }
}

//! Colours for `print status`: the default theme's status colours when [`crate::color::enabled`]
//! says so (a terminal without `NO_COLOR`, or `--color always`), so pipes and golden files stay
//! plain.

use std::io::IsTerminal;
use std::sync::OnceLock;

use ratatui::style::Color;

use crate::console::theme::Theme;
use crate::status::Status;

/// The SGR foreground code of a theme colour.
fn sgr(c: Color) -> Option<String> {
    let basic = |n: u8| Some(n.to_string());
    match c {
        Color::Reset => None,
        Color::Black => basic(30),
        Color::Red => basic(31),
        Color::Green => basic(32),
        Color::Yellow => basic(33),
        Color::Blue => basic(34),
        Color::Magenta => basic(35),
        Color::Cyan => basic(36),
        Color::Gray => basic(37),
        Color::DarkGray => basic(90),
        Color::LightRed => basic(91),
        Color::LightGreen => basic(92),
        Color::LightYellow => basic(93),
        Color::LightBlue => basic(94),
        Color::LightMagenta => basic(95),
        Color::LightCyan => basic(96),
        Color::White => basic(97),
        Color::Indexed(i) => Some(format!("38;5;{i}")),
        Color::Rgb(r, g, b) => Some(format!("38;2;{r};{g};{b}")),
    }
}

fn theme() -> &'static Option<Theme> {
    static THEME: OnceLock<Option<Theme>> = OnceLock::new();
    THEME.get_or_init(|| Theme::load("default").ok())
}

fn plain(_: Status, text: &str) -> String {
    text.to_string()
}

fn coloured(status: Status, text: &str) -> String {
    let code = theme()
        .as_ref()
        .and_then(|t| t.status(status).fg)
        .and_then(sgr);
    match code {
        Some(code) => format!("\x1b[{code}m{text}\x1b[0m"),
        None => text.to_string(),
    }
}

/// The painter for stdout: colours when `--color` and `NO_COLOR` allow them, plain otherwise.
pub fn for_stdout() -> fn(Status, &str) -> String {
    if crate::color::enabled(std::io::stdout().is_terminal()) {
        coloured
    } else {
        plain
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_word_gets_the_default_themes_colour() {
        for s in Status::ALL {
            assert!(
                coloured(s, s.word()).starts_with("\x1b["),
                "{} has no colour",
                s.word()
            );
        }
        assert_eq!(coloured(Status::Up, "up"), "\x1b[32mup\x1b[0m");
        assert_eq!(sgr(Color::Rgb(255, 0, 0)).as_deref(), Some("38;2;255;0;0"));
        assert_eq!(plain(Status::Down, "down"), "down");
    }
}

//! Colours for `print status` on a terminal: from the default theme's `[status]` table, only
//! when stdout is a tty and `NO_COLOR` is unset, so pipes and golden files stay plain.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::sync::OnceLock;

use serde::Deserialize;

use crate::status::Status;

const DEFAULT_THEME: &str = include_str!("../../themes/default.toml");

#[derive(Deserialize)]
struct ThemeFile {
    #[serde(default)]
    status: BTreeMap<String, String>,
}

/// The SGR code of a colour name or `#rrggbb`.
fn sgr(colour: &str) -> Option<String> {
    let base = |name: &str| -> Option<u8> {
        Some(match name {
            "black" => 0,
            "red" => 1,
            "green" => 2,
            "yellow" => 3,
            "blue" => 4,
            "magenta" => 5,
            "cyan" => 6,
            "white" => 7,
            _ => return None,
        })
    };
    if let Some(hex) = colour.strip_prefix('#') {
        let v = u32::from_str_radix(hex, 16)
            .ok()
            .filter(|_| hex.len() == 6)?;
        return Some(format!("38;2;{};{};{}", v >> 16, (v >> 8) & 0xff, v & 0xff));
    }
    if let Some(name) = colour.strip_prefix("bright_") {
        return base(name).map(|n| format!("{}", 90 + n));
    }
    base(colour).map(|n| format!("{}", 30 + n))
}

fn palette() -> &'static BTreeMap<String, String> {
    static PALETTE: OnceLock<BTreeMap<String, String>> = OnceLock::new();
    PALETTE.get_or_init(|| {
        toml::from_str::<ThemeFile>(DEFAULT_THEME)
            .map(|t| {
                t.status
                    .into_iter()
                    .filter_map(|(word, colour)| sgr(&colour).map(|c| (word, c)))
                    .collect()
            })
            .unwrap_or_default()
    })
}

fn plain(_: Status, text: &str) -> String {
    text.to_string()
}

fn coloured(status: Status, text: &str) -> String {
    match palette().get(status.word()) {
        Some(code) => format!("\x1b[{code}m{text}\x1b[0m"),
        None => text.to_string(),
    }
}

/// The painter for stdout: colours on a terminal without `NO_COLOR`, plain otherwise.
pub fn for_stdout() -> fn(Status, &str) -> String {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    if no_color || !std::io::stdout().is_terminal() {
        plain
    } else {
        coloured
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_theme_colours_every_status_word() {
        for s in Status::ALL {
            assert!(
                palette().contains_key(s.word()),
                "{} has no colour",
                s.word()
            );
        }
        assert_eq!(coloured(Status::Up, "up"), "\x1b[32mup\x1b[0m");
        assert_eq!(sgr("#ff0000").as_deref(), Some("38;2;255;0;0"));
        assert_eq!(sgr("bright_black").as_deref(), Some("90"));
        assert_eq!(sgr("mauve"), None);
    }
}

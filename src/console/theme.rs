//! Themes as data: `themes/*.toml` (built in) or a user file that overrides only what it sets.
//! Widgets ask the theme for a style by meaning (`status`, `border(focused)`, `diff`) and never
//! name a colour. `NO_COLOR` (or `--color never`) selects the monochrome theme.

use std::collections::BTreeMap;
use std::path::Path;
use std::str::FromStr;

use color_eyre::eyre::{bail, eyre, Result, WrapErr};
use ratatui::style::{Color, Modifier, Style};
use serde::Deserialize;

use crate::status::Status;

/// The built-in themes, by name.
pub const BUILTIN: [(&str, &str); 5] = [
    ("default", include_str!("../../themes/default.toml")),
    ("light", include_str!("../../themes/light.toml")),
    (
        "high-contrast",
        include_str!("../../themes/high-contrast.toml"),
    ),
    ("monochrome", include_str!("../../themes/monochrome.toml")),
    ("colorblind", include_str!("../../themes/colorblind.toml")),
];

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ThemeFile {
    monochrome: Option<bool>,
    #[serde(default)]
    status: BTreeMap<String, String>,
    #[serde(default)]
    ui: BTreeMap<String, String>,
}

const UI_KEYS: [&str; 13] = [
    "text",
    "muted",
    "border",
    "border_focused",
    "title",
    "selected_bg",
    "diff_bg",
    "stale",
    "error",
    "banner_fg",
    "banner_rehearsal",
    "banner_read_only",
    "banner_wall",
];

/// A resolved theme.
#[derive(Debug, Clone, PartialEq)]
pub struct Theme {
    /// Name shown in the status bar.
    pub name: String,
    monochrome: bool,
    status: BTreeMap<String, Color>,
    ui: BTreeMap<String, Color>,
}

fn colour(what: &str, text: &str) -> Result<Color> {
    Color::from_str(text)
        .map_err(|_| eyre!("{what}: '{text}' is not a colour (a name, 0-255 or #rrggbb)"))
}

impl Theme {
    fn overlay(mut self, text: &str, origin: &str) -> Result<Self> {
        let file: ThemeFile = toml::from_str(text).map_err(|e| eyre!("{origin}: {e}"))?;
        if let Some(m) = file.monochrome {
            self.monochrome = m;
        }
        for (word, c) in file.status {
            if Status::from_word(&word).is_none() {
                bail!("{origin}: [status] '{word}' is not a status word");
            }
            self.status.insert(
                word.clone(),
                colour(&format!("{origin}: [status] {word}"), &c)?,
            );
        }
        for (key, c) in file.ui {
            if !UI_KEYS.contains(&key.as_str()) {
                bail!(
                    "{origin}: [ui] unknown key '{key}' (known: {})",
                    UI_KEYS.join(", ")
                );
            }
            self.ui
                .insert(key.clone(), colour(&format!("{origin}: [ui] {key}"), &c)?);
        }
        Ok(self)
    }

    fn base() -> Self {
        let empty = Self {
            name: "default".into(),
            monochrome: false,
            status: BTreeMap::new(),
            ui: BTreeMap::new(),
        };
        // The default theme is part of the binary and tested: it always parses.
        empty
            .overlay(BUILTIN[0].1, "themes/default.toml")
            .unwrap_or_else(|_| Self {
                name: "default".into(),
                monochrome: true,
                status: BTreeMap::new(),
                ui: BTreeMap::new(),
            })
    }

    /// A built-in theme by name (`None` when no built-in has that name). Reads no file: the
    /// console's app task uses it directly.
    pub fn builtin(name: &str) -> Option<Result<Self>> {
        let (name, text) = BUILTIN.iter().find(|(n, _)| *n == name)?;
        Some(
            Self::base()
                .overlay(text, &format!("themes/{name}.toml"))
                .map(|mut t| {
                    t.name = name.to_string();
                    t
                }),
        )
    }

    /// A built-in theme by name, or a theme file by path, laid over the default theme. Reads the
    /// file: off the console's app task.
    pub fn load(name_or_path: &str) -> Result<Self> {
        if let Some(t) = Self::builtin(name_or_path) {
            return t;
        }
        let path = Path::new(name_or_path);
        if !path.exists() {
            let names: Vec<&str> = BUILTIN.iter().map(|(n, _)| *n).collect();
            bail!(
                "no theme '{name_or_path}': use one of {} or a file path",
                names.join(", ")
            );
        }
        let text = std::fs::read_to_string(path)
            .wrap_err_with(|| format!("reading {}", path.display()))?;
        let mut t = Self::base().overlay(&text, &path.display().to_string())?;
        t.name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        Ok(t)
    }

    /// The theme to start with: monochrome when colours are off (`NO_COLOR`, `--color never`),
    /// else the one asked for. The console draws on a terminal.
    pub fn choose(requested: Option<&str>) -> Result<Self> {
        if !crate::color::enabled(true) {
            return Self::load("monochrome");
        }
        Self::load(requested.unwrap_or("default"))
    }

    fn ui(&self, key: &str) -> Color {
        self.ui.get(key).copied().unwrap_or(Color::Reset)
    }

    /// Plain text.
    pub fn text(&self) -> Style {
        Style::new().fg(self.ui("text"))
    }

    /// Secondary text (labels, hints).
    pub fn muted(&self) -> Style {
        let s = Style::new().fg(self.ui("muted"));
        if self.monochrome {
            s.add_modifier(Modifier::DIM)
        } else {
            s
        }
    }

    /// A status word and glyph.
    pub fn status(&self, s: Status) -> Style {
        let style = Style::new().fg(self.status.get(s.word()).copied().unwrap_or(Color::Reset));
        if !self.monochrome {
            return style.add_modifier(Modifier::BOLD);
        }
        match s.displayed() {
            Status::Up => style.add_modifier(Modifier::BOLD),
            Status::Down => style.add_modifier(Modifier::REVERSED),
            Status::Warn => style.add_modifier(Modifier::BOLD | Modifier::UNDERLINED),
            Status::StdbyUp | Status::StdbyDown => style.add_modifier(Modifier::ITALIC),
            _ => style.add_modifier(Modifier::DIM),
        }
    }

    /// A pane border.
    pub fn border(&self, focused: bool) -> Style {
        let s = Style::new().fg(self.ui(if focused { "border_focused" } else { "border" }));
        if focused {
            s.add_modifier(Modifier::BOLD)
        } else {
            s
        }
    }

    /// A pane title.
    pub fn title(&self, focused: bool) -> Style {
        let s = Style::new().fg(self.ui("title"));
        if focused {
            s.add_modifier(Modifier::BOLD)
        } else {
            s
        }
    }

    /// The selected row of a list.
    pub fn selected(&self) -> Style {
        if self.monochrome {
            Style::new().add_modifier(Modifier::REVERSED)
        } else {
            Style::new()
                .bg(self.ui("selected_bg"))
                .add_modifier(Modifier::BOLD)
        }
    }

    /// A tree row whose status differs between the two nodes.
    pub fn diff(&self) -> Style {
        if self.monochrome {
            Style::new().add_modifier(Modifier::UNDERLINED)
        } else {
            Style::new().bg(self.ui("diff_bg"))
        }
    }

    /// Status that may be stale (unreachable node): never shown as current.
    pub fn stale(&self) -> Style {
        Style::new()
            .fg(self.ui("stale"))
            .add_modifier(Modifier::DIM | Modifier::CROSSED_OUT)
    }

    /// Errors and the UNREACHABLE mark.
    pub fn error(&self) -> Style {
        Style::new()
            .fg(self.ui("error"))
            .add_modifier(Modifier::BOLD)
    }

    /// The mode banner (`READ-ONLY`, `WALL`, `LIVE`).
    pub fn banner(&self, mode: &str) -> Style {
        let key = match mode {
            "DISASTER" => "error",
            "READ-ONLY" => "banner_read_only",
            "WALL" => "banner_wall",
            _ => "banner_rehearsal",
        };
        if self.monochrome {
            return Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD);
        }
        Style::new()
            .fg(self.ui("banner_fg"))
            .bg(self.ui(key))
            .add_modifier(Modifier::BOLD)
    }
}

impl Theme {
    /// The frame of a pane that belongs to a run of `mode` (the banner's colour).
    pub fn mode_frame(&self, mode: &str) -> Style {
        match self.banner(mode).bg {
            Some(c) if !self.monochrome => Style::new().fg(c).add_modifier(Modifier::BOLD),
            _ => Style::new().add_modifier(Modifier::BOLD),
        }
    }
}

/// The glyph of a status: shape carries the meaning on monochrome screens.
pub fn glyph(s: Status) -> &'static str {
    match s.displayed() {
        Status::Up => "▲",
        Status::Down => "▼",
        Status::Warn => "!",
        Status::StdbyUp => "◐",
        Status::StdbyDown => "◑",
        Status::NotApplicable => "·",
        _ => "?",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_theme_loads_and_sets_every_key() {
        for (name, text) in BUILTIN {
            let t = Theme::load(name).unwrap();
            let file: ThemeFile = toml::from_str(text).unwrap();
            for key in UI_KEYS {
                assert!(file.ui.contains_key(key), "{name} lacks [ui] {key}");
            }
            for s in Status::ALL {
                assert!(
                    file.status.contains_key(s.word()),
                    "{name} lacks [status] {}",
                    s.word()
                );
            }
            assert_eq!(t.name, name);
        }
    }

    #[test]
    fn a_user_file_overrides_only_what_it_sets() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("mine.toml");
        std::fs::write(&p, "[status]\n\"up\" = \"#00ff00\"\n").unwrap();
        let t = Theme::load(p.to_str().unwrap()).unwrap();
        let base = Theme::load("default").unwrap();
        assert_eq!(t.status(Status::Up).fg, Some(Color::Rgb(0, 255, 0)));
        assert_eq!(t.status(Status::Down), base.status(Status::Down));
        std::fs::write(&p, "[ui]\nborderz = \"red\"\n").unwrap();
        assert!(format!("{:#}", Theme::load(p.to_str().unwrap()).unwrap_err()).contains("borderz"));
        assert!(Theme::load("nosuch").is_err());
    }

    #[test]
    fn the_difference_highlight_never_reads_as_an_error() {
        for (name, _) in BUILTIN {
            let t = Theme::load(name).unwrap();
            let bg = t.diff().bg;
            assert!(bg != t.error().fg || bg.is_none(), "{name}");
            if let Some(Color::Rgb(r, g, b)) = bg {
                assert!(
                    r <= g.max(b).saturating_add(64),
                    "{name}: the highlight is red"
                );
            }
            assert!(!matches!(bg, Some(Color::Red | Color::LightRed)), "{name}");
        }
    }

    /// A colour as xterm's default palette shows it; `None` for the terminal's own colour.
    fn rgb(c: Color) -> Option<(u8, u8, u8)> {
        const BASE: [(u8, u8, u8); 16] = [
            (0, 0, 0),
            (205, 0, 0),
            (0, 205, 0),
            (205, 205, 0),
            (0, 0, 238),
            (205, 0, 205),
            (0, 205, 205),
            (229, 229, 229),
            (127, 127, 127),
            (255, 0, 0),
            (0, 255, 0),
            (255, 255, 0),
            (92, 92, 255),
            (255, 0, 255),
            (0, 255, 255),
            (255, 255, 255),
        ];
        let i = match c {
            Color::Reset => return None,
            Color::Rgb(r, g, b) => return Some((r, g, b)),
            Color::Black => 0,
            Color::Red => 1,
            Color::Green => 2,
            Color::Yellow => 3,
            Color::Blue => 4,
            Color::Magenta => 5,
            Color::Cyan => 6,
            Color::Gray => 7,
            Color::DarkGray => 8,
            Color::LightRed => 9,
            Color::LightGreen => 10,
            Color::LightYellow => 11,
            Color::LightBlue => 12,
            Color::LightMagenta => 13,
            Color::LightCyan => 14,
            Color::White => 15,
            Color::Indexed(n) if n < 16 => n,
            Color::Indexed(n) if n >= 232 => {
                let v = 8 + 10 * (n - 232);
                return Some((v, v, v));
            }
            Color::Indexed(n) => {
                let n = n - 16;
                let step = |v: u8| if v == 0 { 0 } else { 55 + 40 * v };
                return Some((step(n / 36), step(n / 6 % 6), step(n % 6)));
            }
        };
        Some(BASE[usize::from(i)])
    }

    /// WCAG 2 relative luminance.
    fn luminance((r, g, b): (u8, u8, u8)) -> f64 {
        let lin = |v: u8| {
            let c = f64::from(v) / 255.0;
            if c <= 0.03928 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b)
    }

    /// WCAG 2 contrast ratio of two colours.
    fn contrast(a: (u8, u8, u8), b: (u8, u8, u8)) -> f64 {
        let (la, lb) = (luminance(a), luminance(b));
        (la.max(lb) + 0.05) / (la.min(lb) + 0.05)
    }

    #[test]
    fn every_theme_text_colour_has_a_contrast_of_4_5_on_its_background() {
        assert!((contrast((0, 0, 0), (255, 255, 255)) - 21.0).abs() < 0.01);
        let mut low = Vec::new();
        for (name, _) in BUILTIN {
            let t = Theme::load(name).unwrap();
            // The light theme is for light backgrounds, the others for dark ones.
            let bg = if name == "light" {
                (255, 255, 255)
            } else {
                (0, 0, 0)
            };
            let ui = ["text", "muted", "title", "error", "border_focused", "stale"]
                .into_iter()
                .map(|k| (k.to_string(), t.ui(k)));
            let status = t.status.iter().map(|(k, c)| (format!("status {k}"), *c));
            for (key, c) in ui.chain(status) {
                if let Some(fg) = rgb(c) {
                    let ratio = contrast(fg, bg);
                    if ratio < 4.5 {
                        low.push(format!("{name} {key}: {ratio:.2}"));
                    }
                }
            }
        }
        assert!(low.is_empty(), "below 4.5:1: {low:?}");
    }

    #[test]
    fn monochrome_still_tells_statuses_apart() {
        let t = Theme::load("monochrome").unwrap();
        assert_ne!(t.status(Status::Up), t.status(Status::Down));
        assert_ne!(t.status(Status::Down), t.status(Status::Warn));
        assert_ne!(glyph(Status::Up), glyph(Status::Down));
    }
}

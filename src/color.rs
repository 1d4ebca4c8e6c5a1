//! Whether drpilot paints its output: one decision for `print status` and the console, from
//! `--color auto|always|never` and `NO_COLOR`. An explicit `always` or `never` wins over
//! `NO_COLOR`; `auto` colours a terminal unless `NO_COLOR` is set (and not empty).

use std::ffi::OsStr;
use std::sync::atomic::{AtomicU8, Ordering};

/// The `--color` choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ColorWhen {
    /// On a terminal, unless NO_COLOR is set.
    #[default]
    Auto,
    /// Always, even into a pipe and under NO_COLOR.
    Always,
    /// Never.
    Never,
}

/// The process's choice, set once by the command line (`Auto` until then).
static CHOICE: AtomicU8 = AtomicU8::new(0);

/// Records the command line's `--color` for [`enabled`].
pub fn set_choice(when: ColorWhen) {
    let n = match when {
        ColorWhen::Auto => 0,
        ColorWhen::Always => 1,
        ColorWhen::Never => 2,
    };
    CHOICE.store(n, Ordering::Relaxed);
}

fn choice() -> ColorWhen {
    match CHOICE.load(Ordering::Relaxed) {
        1 => ColorWhen::Always,
        2 => ColorWhen::Never,
        _ => ColorWhen::Auto,
    }
}

/// The decision itself, pure: `no_color` is the value of `NO_COLOR` (set and empty counts as
/// unset, as no-color.org says).
pub fn decide(when: ColorWhen, no_color: Option<&OsStr>, is_terminal: bool) -> bool {
    match when {
        ColorWhen::Always => true,
        ColorWhen::Never => false,
        ColorWhen::Auto => is_terminal && no_color.is_none_or(|v| v.is_empty()),
    }
}

/// Whether output to a stream that `is_terminal` (or not) gets colours, under this process's
/// `--color` and its `NO_COLOR`.
pub fn enabled(is_terminal: bool) -> bool {
    decide(
        choice(),
        std::env::var_os("NO_COLOR").as_deref(),
        is_terminal,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_explicit_color_flag_wins_over_no_color() {
        let set = Some(OsStr::new("1"));
        let empty = Some(OsStr::new(""));
        // auto: a terminal without NO_COLOR (an empty NO_COLOR is no NO_COLOR).
        assert!(decide(ColorWhen::Auto, None, true));
        assert!(decide(ColorWhen::Auto, empty, true));
        assert!(!decide(ColorWhen::Auto, set, true));
        assert!(!decide(ColorWhen::Auto, None, false));
        // always and never: whatever the terminal and NO_COLOR say.
        for tty in [true, false] {
            for nc in [None, set, empty] {
                assert!(decide(ColorWhen::Always, nc, tty));
                assert!(!decide(ColorWhen::Never, nc, tty));
            }
        }
    }
}

//! Key bindings as data: each key of the normal mode maps to an [`Action`]. The lookup and the
//! `?` overlay both read this table (the overlay also lists src/console/commands.rs), so the help
//! can never drift from what the keys do.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::action::Action;

/// A key as a binding names it: `ctrl` keys need the control modifier, the others match
/// whatever modifiers come with them (shift is how `?` and `:` are typed).
pub struct Key {
    /// The key.
    pub code: KeyCode,
    /// Only with the control modifier.
    pub ctrl: bool,
}

const fn key(code: KeyCode) -> Key {
    Key { code, ctrl: false }
}

/// A key binding of the normal mode.
pub struct Binding {
    /// The keys, as the lookup matches them.
    pub keys: &'static [Key],
    /// The keys as shown in the help.
    pub label: &'static str,
    /// What it does, as shown in the help.
    pub help: &'static str,
    /// What the keys ask for.
    pub action: Action,
}

/// How many log lines a page key scrolls.
pub const PAGE: usize = 10;

/// Every binding of the normal mode (k9s and htop habits).
pub const BINDINGS: &[Binding] = &[
    Binding {
        keys: &[key(KeyCode::Char('?'))],
        label: "?",
        help: "this help",
        action: Action::Help,
    },
    Binding {
        keys: &[key(KeyCode::Char(':'))],
        label: ":",
        help: "command line (see commands)",
        action: Action::CommandLine,
    },
    Binding {
        keys: &[key(KeyCode::Char('/'))],
        label: "/",
        help: "filter the log by resource or text",
        action: Action::FilterLine,
    },
    Binding {
        keys: &[key(KeyCode::Tab)],
        label: "tab",
        help: "focus the next pane",
        action: Action::FocusNext,
    },
    Binding {
        keys: &[key(KeyCode::BackTab)],
        label: "shift-tab",
        help: "focus the previous pane",
        action: Action::FocusPrev,
    },
    Binding {
        keys: &[key(KeyCode::Up), key(KeyCode::Char('k'))],
        label: "↑ k",
        help: "previous service / scroll the log up",
        action: Action::Up,
    },
    Binding {
        keys: &[key(KeyCode::Down), key(KeyCode::Char('j'))],
        label: "↓ j",
        help: "next service / scroll the log down",
        action: Action::Down,
    },
    Binding {
        keys: &[key(KeyCode::Enter)],
        label: "enter",
        help: "tree row: its detail (tab focuses the trees)",
        action: Action::Open,
    },
    Binding {
        keys: &[key(KeyCode::Left), key(KeyCode::Right)],
        label: "← →",
        help: "trees: the other node's tree",
        action: Action::OtherTree,
    },
    Binding {
        keys: &[key(KeyCode::Char('s'))],
        label: "s",
        help: "start the service (its gate asks)",
        action: Action::Ask {
            verb: "start",
            node: None,
        },
    },
    Binding {
        keys: &[key(KeyCode::Char('S'))],
        label: "S",
        help: "stop the service (its gate asks)",
        action: Action::Ask {
            verb: "stop",
            node: None,
        },
    },
    Binding {
        keys: &[key(KeyCode::Char('u'))],
        label: "u",
        help: "syncupdate (its gate asks)",
        action: Action::Ask {
            verb: "syncupdate",
            node: None,
        },
    },
    Binding {
        keys: &[key(KeyCode::Char('U'))],
        label: "U",
        help: "syncfullsync (its gate asks)",
        action: Action::Ask {
            verb: "syncfullsync",
            node: None,
        },
    },
    Binding {
        keys: &[key(KeyCode::Char('D'))],
        label: "D",
        help: "syncdrp (its gate asks)",
        action: Action::Ask {
            verb: "syncdrp",
            node: None,
        },
    },
    Binding {
        keys: &[key(KeyCode::PageUp)],
        label: "pgup",
        help: "log or runbook pane: a page up",
        action: Action::Page { up: true },
    },
    Binding {
        keys: &[key(KeyCode::PageDown)],
        label: "pgdn",
        help: "log or runbook pane: a page down",
        action: Action::Page { up: false },
    },
    Binding {
        keys: &[key(KeyCode::Home)],
        label: "home",
        help: "log: the oldest line",
        action: Action::LogTop,
    },
    Binding {
        keys: &[key(KeyCode::End), key(KeyCode::Char('G'))],
        label: "end G",
        help: "log: the newest line, follow new ones",
        action: Action::LogFollow,
    },
    Binding {
        keys: &[key(KeyCode::Char('f'))],
        label: "f",
        help: "find in the log (matches highlighted)",
        action: Action::SearchLine,
    },
    Binding {
        keys: &[key(KeyCode::Char('n'))],
        label: "n",
        help: "log: the next match, older",
        action: Action::SearchNext { older: true },
    },
    Binding {
        keys: &[key(KeyCode::Char('N'))],
        label: "N",
        help: "log: the next match, newer",
        action: Action::SearchNext { older: false },
    },
    Binding {
        keys: &[key(KeyCode::Char('y'))],
        label: "y",
        help: "copy the marked log line (terminal clipboard)",
        action: Action::Yank,
    },
    Binding {
        keys: &[key(KeyCode::Char('m'))],
        label: "m",
        help: "mouse: to the terminal (select text) / back",
        action: Action::ToggleMouse,
    },
    Binding {
        keys: &[key(KeyCode::Esc)],
        label: "esc",
        help: "back: close, clear the filter",
        action: Action::Back,
    },
    Binding {
        keys: &[
            key(KeyCode::Char('q')),
            Key {
                code: KeyCode::Char('c'),
                ctrl: true,
            },
        ],
        label: "q ctrl-c",
        help: "quit",
        action: Action::Quit,
    },
];

/// The normal-mode action of a key, if any.
pub fn lookup(event: KeyEvent) -> Option<Action> {
    let ctrl = event.modifiers.contains(KeyModifiers::CONTROL);
    BINDINGS
        .iter()
        .find(|b| {
            b.keys
                .iter()
                .any(|k| k.code == event.code && (ctrl || !k.ctrl))
        })
        .map(|b| b.action.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_binding_is_what_the_key_does() {
        let press = |c, m| KeyEvent::new(c, m);
        for b in BINDINGS {
            for k in b.keys {
                let m = if k.ctrl {
                    KeyModifiers::CONTROL
                } else {
                    KeyModifiers::NONE
                };
                assert_eq!(
                    lookup(press(k.code, m)),
                    Some(b.action.clone()),
                    "{}",
                    b.label
                );
            }
        }
        assert_eq!(
            lookup(press(KeyCode::Char('?'), KeyModifiers::SHIFT)),
            Some(Action::Help),
            "shift is how ? is typed"
        );
        assert_eq!(lookup(press(KeyCode::Char('c'), KeyModifiers::NONE)), None);
    }
}

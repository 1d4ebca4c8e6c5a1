//! Key bindings and `:` commands as data. The `?` overlay is generated from these same tables,
//! so the help can never drift from what the keys do.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// What a key asks for in the normal mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UiAction {
    /// Leave the console.
    Quit,
    /// Open the help overlay.
    Help,
    /// Open the `:` command line.
    Command,
    /// Open the `/` log filter.
    Filter,
    /// Next pane.
    FocusNext,
    /// Previous pane.
    FocusPrev,
    /// Up in the focused pane.
    Up,
    /// Down in the focused pane.
    Down,
    /// A page up in the log.
    PageUp,
    /// A page down in the log.
    PageDown,
    /// Close, clear the filter.
    Back,
}

/// A key binding of the normal mode.
pub struct Binding {
    /// The key as shown in the help.
    pub keys: &'static str,
    /// What it does, as shown in the help.
    pub help: &'static str,
    /// The action.
    pub action: UiAction,
}

/// Every binding of the normal mode (k9s and htop habits).
pub const BINDINGS: &[Binding] = &[
    Binding {
        keys: "?",
        help: "this help",
        action: UiAction::Help,
    },
    Binding {
        keys: ":",
        help: "command line (see commands)",
        action: UiAction::Command,
    },
    Binding {
        keys: "/",
        help: "filter the log by resource or text",
        action: UiAction::Filter,
    },
    Binding {
        keys: "tab",
        help: "focus the next pane",
        action: UiAction::FocusNext,
    },
    Binding {
        keys: "shift-tab",
        help: "focus the previous pane",
        action: UiAction::FocusPrev,
    },
    Binding {
        keys: "↑ k",
        help: "previous service / scroll the log up",
        action: UiAction::Up,
    },
    Binding {
        keys: "↓ j",
        help: "next service / scroll the log down",
        action: UiAction::Down,
    },
    Binding {
        keys: "pgup",
        help: "log: a page up",
        action: UiAction::PageUp,
    },
    Binding {
        keys: "pgdn",
        help: "log: a page down",
        action: UiAction::PageDown,
    },
    Binding {
        keys: "esc",
        help: "back: close, clear the filter",
        action: UiAction::Back,
    },
    Binding {
        keys: "q ctrl-c",
        help: "quit",
        action: UiAction::Quit,
    },
];

/// A `:` command, as shown in the help.
pub struct CommandHelp {
    /// Usage.
    pub usage: &'static str,
    /// What it does.
    pub help: &'static str,
    /// Whether it changes a node (absent from read-only consoles).
    pub acts: bool,
}

/// Every `:` command.
pub const COMMANDS: &[CommandHelp] = &[
    CommandHelp {
        usage: "start [NODE]",
        help: "start the service (default: production node)",
        acts: true,
    },
    CommandHelp {
        usage: "stop [NODE]",
        help: "stop the service (default: where it runs)",
        acts: true,
    },
    CommandHelp {
        usage: "syncupdate [NODE]",
        help: "incremental sync --force",
        acts: true,
    },
    CommandHelp {
        usage: "syncfullsync [NODE]",
        help: "full sync --force",
        acts: true,
    },
    CommandHelp {
        usage: "syncdrp [NODE]",
        help: "config push + sync + postsync to DRP --force",
        acts: true,
    },
    CommandHelp {
        usage: "rehearse",
        help: "the DRP test runbook of the selected service",
        acts: true,
    },
    CommandHelp {
        usage: "disaster",
        help: "the real-disaster runbook (production lost)",
        acts: true,
    },
    CommandHelp {
        usage: "failback",
        help: "back from the DRP node to production",
        acts: true,
    },
    CommandHelp {
        usage: "filter RID",
        help: "show only this resource's log lines",
        acts: false,
    },
    CommandHelp {
        usage: "save [FILE]",
        help: "save the log to a file",
        acts: false,
    },
    CommandHelp {
        usage: "theme NAME",
        help: "default, light, high-contrast, monochrome, colorblind",
        acts: false,
    },
    CommandHelp {
        usage: "q",
        help: "quit",
        acts: false,
    },
];

/// The normal-mode action of a key, if any.
pub fn lookup(key: KeyEvent) -> Option<UiAction> {
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    Some(match key.code {
        KeyCode::Char('c') if ctrl => UiAction::Quit,
        KeyCode::Char('q') => UiAction::Quit,
        KeyCode::Char('?') => UiAction::Help,
        KeyCode::Char(':') => UiAction::Command,
        KeyCode::Char('/') => UiAction::Filter,
        KeyCode::Tab => UiAction::FocusNext,
        KeyCode::BackTab => UiAction::FocusPrev,
        KeyCode::Up | KeyCode::Char('k') => UiAction::Up,
        KeyCode::Down | KeyCode::Char('j') => UiAction::Down,
        KeyCode::PageUp => UiAction::PageUp,
        KeyCode::PageDown => UiAction::PageDown,
        KeyCode::Esc => UiAction::Back,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_binding_is_what_the_key_does() {
        let key = |c| KeyEvent::new(c, KeyModifiers::NONE);
        let first = |keys: &str| -> KeyCode {
            match keys.split(' ').next().unwrap_or_default() {
                "tab" => KeyCode::Tab,
                "shift-tab" => KeyCode::BackTab,
                "↑" => KeyCode::Up,
                "↓" => KeyCode::Down,
                "pgup" => KeyCode::PageUp,
                "pgdn" => KeyCode::PageDown,
                "esc" => KeyCode::Esc,
                k => KeyCode::Char(k.chars().next().unwrap()),
            }
        };
        for b in BINDINGS {
            assert_eq!(lookup(key(first(b.keys))), Some(b.action), "{}", b.keys);
        }
    }
}

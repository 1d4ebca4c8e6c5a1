//! What the keyboard is doing: browsing, the help overlay, typing a `:` command or a `/` filter,
//! or answering a confirmation gate. Each mode turns its keys into an [`Action`] (or edits its
//! own text); the normal mode reads the key table.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::console::action::Action;
use crate::console::{commands, keys};
use crate::runbook::plan::WayOut;

/// The question a run stopped after a destructive step asks: how to get out of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WayOutDialog {
    /// The service the run acts on.
    pub svc: String,
    /// The step it stopped at (the dialog's title).
    pub step: String,
    /// What state the nodes are in.
    pub situation: String,
    /// The ways offered, the default first (never leave).
    pub choices: Vec<WayOut>,
    /// The choice with the focus (starts on the default).
    pub focused: usize,
}

impl WayOutDialog {
    /// The default way out: the first offered (never leave when another is offered).
    pub fn default_choice(&self) -> WayOut {
        self.choices
            .iter()
            .copied()
            .find(|c| *c != WayOut::Leave)
            .or_else(|| self.choices.first().copied())
            .unwrap_or(WayOut::Leave)
    }

    /// The key that chooses `w` directly, and its button's label.
    pub fn key_and_label(w: WayOut) -> (char, &'static str) {
        let label = match w {
            WayOut::Retry => "retry",
            WayOut::Rollback => "roll back",
            WayOut::Leave => "leave as is",
        };
        (w.key(), label)
    }

    fn on_key(mut self, k: KeyEvent) -> Result<Action, Self> {
        let n = self.choices.len().max(1);
        match k.code {
            KeyCode::Esc => return Ok(Action::WayOut(self.default_choice())),
            KeyCode::Enter => {
                let w = self.choices.get(self.focused).copied();
                return Ok(Action::WayOut(w.unwrap_or_else(|| self.default_choice())));
            }
            KeyCode::Char(c) => {
                let c = c.to_ascii_lowercase();
                if let Some(w) = self
                    .choices
                    .iter()
                    .copied()
                    .find(|w| Self::key_and_label(*w).0 == c)
                {
                    return Ok(Action::WayOut(w));
                }
            }
            KeyCode::Right | KeyCode::Down | KeyCode::Tab => self.focused = (self.focused + 1) % n,
            KeyCode::Left | KeyCode::Up | KeyCode::BackTab => {
                self.focused = (self.focused + n - 1) % n
            }
            _ => {}
        }
        Err(self)
    }
}

/// A confirmation in progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Confirm {
    /// The service acted on; typed gates ask for this name.
    pub svc: String,
    /// Node to act on.
    pub node: String,
    /// Verb (`start`, `syncupdate`) or the runbook step.
    pub verb: String,
    /// For typed gates, what the operator typed so far.
    pub typed: Option<String>,
    /// The Run button has the focus (Cancel is the default).
    pub on_run: bool,
    /// Why the last attempt did not run.
    pub error: Option<String>,
    /// A runbook gate's prompt: the answer goes back to the waiting run.
    pub runbook: Option<String>,
    /// Stopping production loses the writes since the last sync: the gate says so and offers
    /// to sync first (tab moves to that choice).
    pub offer_sync: bool,
    /// The "sync first" choice has the focus.
    pub on_sync: bool,
}

impl Confirm {
    /// What passing the gate asks for: the run's answer, or running the verb.
    fn passed(self) -> Action {
        if self.runbook.is_some() {
            return Action::AnswerGate(true);
        }
        if self.verb == "takeover" {
            return Action::Runbook("takeover");
        }
        if self.offer_sync && self.on_sync {
            return Action::Run {
                svc: self.svc,
                node: self.node,
                verb: "syncupdate".into(),
            };
        }
        Action::Run {
            svc: self.svc,
            node: self.node,
            verb: self.verb,
        }
    }

    fn cancelled(self) -> Action {
        Action::Cancelled {
            what: self.verb,
            runbook: self.runbook.is_some(),
        }
    }
}

/// What the keyboard is doing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// Browsing: keys move, focus and open the other modes.
    Normal,
    /// The help overlay.
    Help,
    /// Typing a `:` command.
    Command(String),
    /// Typing a `/` filter.
    Filter(String),
    /// Typing an `f` log search.
    Search(String),
    /// A confirmation dialog.
    Confirm(Confirm),
    /// The detail of a resource: the node and the row's key (a rid or a group).
    Detail {
        /// The node whose tree the row is in.
        node: String,
        /// The resource id, or `avail`, `sync`, `hb`, `overall`.
        key: String,
    },
    /// Quitting while something runs: what runs, as the dialog names it. `y` quits, any
    /// other key stays.
    Quit(String),
    /// A run stopped after a destructive step asks its way out: `r` `b` `l` choose, the arrows
    /// and tab move, enter takes the focused one, esc the default (never leave).
    WayOut(WayOutDialog),
}

impl Mode {
    /// Takes a key: edits the line or the gate being typed, closes the mode, or returns what the
    /// key asks for.
    pub fn on_key(&mut self, k: KeyEvent) -> Option<Action> {
        // ctrl-c is never typed: in a gate or a line it cancels, like esc.
        let k = if k.code == KeyCode::Char('c') && k.modifiers.contains(KeyModifiers::CONTROL) {
            match self {
                Mode::Normal => k,
                _ => KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE),
            }
        } else {
            k
        };
        match std::mem::replace(self, Mode::Normal) {
            Mode::Normal => keys::lookup(k),
            // The arrows and page keys scroll the help; any other key closes it.
            Mode::Help => {
                let by = match k.code {
                    KeyCode::Up | KeyCode::Char('k') => -1,
                    KeyCode::Down | KeyCode::Char('j') => 1,
                    KeyCode::PageUp => -(keys::PAGE as i32),
                    KeyCode::PageDown | KeyCode::Char(' ') => keys::PAGE as i32,
                    KeyCode::Home | KeyCode::Char('g') => i32::MIN / 2,
                    KeyCode::End | KeyCode::Char('G') => i32::MAX / 2,
                    _ => return None,
                };
                *self = Mode::Help;
                Some(Action::ScrollHelp(by))
            }
            Mode::Command(text) => match edit(text, k) {
                Line::Typing(t) => {
                    *self = Mode::Command(t);
                    None
                }
                Line::Enter(t) => commands::parse(&t),
                Line::Esc => None,
            },
            Mode::Filter(text) => match edit(text, k) {
                Line::Typing(t) => {
                    *self = Mode::Filter(t);
                    None
                }
                Line::Enter(t) => Some(Action::Filter(t)),
                Line::Esc => None,
            },
            Mode::Search(text) => match edit(text, k) {
                Line::Typing(t) => {
                    *self = Mode::Search(t);
                    None
                }
                Line::Enter(t) => Some(Action::Search(t)),
                Line::Esc => None,
            },
            Mode::Confirm(c) => self.on_confirm_key(c, k),
            Mode::WayOut(d) => match d.on_key(k) {
                Ok(a) => Some(a),
                Err(d) => {
                    *self = Mode::WayOut(d);
                    None
                }
            },
            // Any key closes the detail.
            Mode::Detail { .. } => None,
            Mode::Quit(_) => Some(match k.code {
                KeyCode::Char('y' | 'Y') => Action::QuitConfirmed,
                _ => Action::Notice {
                    text: "quit cancelled: the console stays".into(),
                    error: false,
                },
            }),
        }
    }

    fn on_confirm_key(&mut self, mut c: Confirm, k: KeyEvent) -> Option<Action> {
        match (k.code, &mut c.typed) {
            (KeyCode::Esc, _) => return Some(c.cancelled()),
            (KeyCode::Tab | KeyCode::BackTab, Some(_)) if c.offer_sync => {
                c.on_sync = !c.on_sync;
            }
            (KeyCode::Enter, Some(_)) if c.on_sync => return Some(c.passed()),
            (KeyCode::Enter, Some(typed)) => {
                if *typed == c.svc {
                    return Some(c.passed());
                }
                c.error = Some(format!(
                    "type {} exactly to confirm, or esc to cancel",
                    c.svc
                ));
                typed.clear();
            }
            (KeyCode::Enter, None) if c.on_run => return Some(c.passed()),
            (KeyCode::Enter, None) => return Some(c.cancelled()),
            (KeyCode::Backspace, Some(typed)) => {
                typed.pop();
            }
            (KeyCode::Char(ch), Some(typed)) => typed.push(ch),
            (KeyCode::Left | KeyCode::Right | KeyCode::Tab | KeyCode::BackTab, None) => {
                c.on_run = !c.on_run
            }
            _ => {}
        }
        *self = Mode::Confirm(c);
        None
    }
}

/// A line being typed after a key.
enum Line {
    /// Still typing this text.
    Typing(String),
    /// Entered with this text.
    Enter(String),
    /// Abandoned with Esc: nothing runs.
    Esc,
}

fn edit(mut text: String, k: KeyEvent) -> Line {
    match k.code {
        KeyCode::Esc => return Line::Esc,
        KeyCode::Enter => return Line::Enter(text),
        KeyCode::Backspace => {
            text.pop();
        }
        KeyCode::Char(c) => text.push(c),
        _ => {}
    }
    Line::Typing(text)
}

//! The console's state and the one place it changes. Pure: no IO here. Events (node streams,
//! action logs, runbook reports, file results) and [`Action`]s (keys, `:` commands, dialogs)
//! update the state slices of [`super::state`]; what must happen outside (watch a new node, run
//! an action, read a theme file, save the log) is returned as [`Effect`]s.

use std::time::{Duration, Instant};

use crossterm::event::{Event as Input, KeyCode, KeyEventKind, MouseEventKind};

use super::action::Action;
pub use super::effects::{Effect, FileIo};
use super::event::{Event, FileDone, LogLine, NodeEvent, RunbookEvent};
pub use super::state::dialogs::{Confirm, Mode};
pub use super::state::log::{Log, LOG_CAPACITY};
pub use super::state::log_view::{LogView, TerminalRequest};
pub use super::state::nodes::{unreachable_after, NodeHealth, Nodes, SvcEntry};
pub use super::state::runbook::RunbookView;
pub use super::state::selection::{Focus, Selection};
use super::theme::Theme;

/// How long a footer message stays (errors four times as long).
pub const MESSAGE_FOR: Duration = Duration::from_secs(8);

/// How many log lines a turn of the mouse wheel scrolls.
const WHEEL: usize = 3;

/// The whole console state: the slices, plus what belongs to the screen as a whole.
pub struct App {
    /// Services, their trees and each node's freshness.
    pub nodes: Nodes,
    /// Selected service and focused pane.
    pub selection: Selection,
    /// The action log, its filter and scroll.
    pub log: Log,
    /// The log search, the mouse capture and what must reach the terminal.
    pub log_view: LogView,
    /// Actions whose failure is already in the log (the agent logged it): not logged twice.
    failure_logged: Vec<String>,
    /// What the keyboard is doing (dialogs, command and filter lines, help).
    pub mode: Mode,
    /// The runbook run from this console, if any.
    pub runbook: Option<RunbookView>,
    /// Every service's run as the nodes' leases say (this console's own run too).
    pub runs: super::state::runs::Runs,
    /// A message for the operator: text and whether it is an error.
    pub message: Option<(String, bool)>,
    /// When the message was set by an event (`None`: it stays until replaced).
    pub message_at: Option<Instant>,
    /// The theme every pane asks for its styles.
    pub theme: Theme,
    /// Built without an executor: no action can be requested.
    pub read_only: bool,
    /// Wall mode: the large status grid instead of the main screen.
    pub wall: bool,
    /// Set when the operator quits.
    pub quit: bool,
    /// The `:` lines entered before, for up/down.
    pub history: crate::console::completion::History,
    /// Lines the help overlay is scrolled down (clamped when drawn).
    pub help_scroll: usize,
    /// The actions asked from this console and not over yet (`start of busybox on deb1`).
    pub in_flight: Vec<String>,
    /// The transfers of the manual sync run from here, drawn as bars.
    pub transfers: super::state::transfers::Transfers,
    /// When the console started (wall mode cycles from it).
    pub started: Instant,
    /// The wall-clock time at `started`: replica ages and the wall's clock count from it.
    pub started_utc: chrono::DateTime<chrono::Utc>,
    /// The terminal's width and height as last drawn (the render task records them, a resize
    /// too): the runbook pane's scroll keys clamp to what the pane holds at this size.
    pub screen: (u16, u16),
    /// The rows the nodes' runs took above the trees in the last frame (the render task records
    /// them with the screen's size).
    pub run_rows: u16,
    /// The fix a refused preflight offers, opened once the run's end is told: the run's
    /// outcome first, then the offer, so the fix's own outcome is the last word on the footer.
    pending_fix: Option<Confirm>,
}

const READ_ONLY: &str = "read-only console: actions are disabled";

/// What esc on the pane of a run not over says: the pane stays while the run goes on.
pub const RUNBOOK_STAYS: &str =
    "the run is not over: its pane stays until it ends (esc closes it then)";

impl App {
    /// A fresh state.
    pub fn new(theme: Theme, read_only: bool, wall: bool, only: Vec<String>) -> Self {
        Self {
            nodes: Nodes::new(only),
            selection: Selection::default(),
            log: Log::default(),
            log_view: LogView::default(),
            failure_logged: Vec::new(),
            mode: Mode::Normal,
            runbook: None,
            runs: Default::default(),
            message: None,
            message_at: None,
            theme,
            read_only: read_only || wall,
            wall,
            quit: false,
            history: Default::default(),
            help_scroll: 0,
            in_flight: Vec::new(),
            transfers: Default::default(),
            started: Instant::now(),
            started_utc: chrono::Utc::now(),
            screen: (80, 24),
            run_rows: 0,
            pending_fix: None,
        }
    }

    /// The selected service.
    pub fn current(&self) -> Option<&SvcEntry> {
        self.nodes.services.get(self.selection.selected)
    }

    /// Whether a node's status can be trusted now; `Err` says since when it cannot.
    pub fn freshness(&self, node: &str, now: Instant) -> Result<Duration, Option<Duration>> {
        self.nodes.freshness(node, now)
    }

    /// The wall-clock time at `now` (a pure function of the state, so drawing stays testable).
    pub fn utc(&self, now: Instant) -> chrono::DateTime<chrono::Utc> {
        let since = now.saturating_duration_since(self.started);
        self.started_utc + chrono::Duration::from_std(since).unwrap_or(chrono::Duration::zero())
    }

    /// The log lines that pass the filter.
    pub fn visible_log(&self) -> Vec<&LogLine> {
        self.log.visible()
    }

    /// Adds a log line (bounded, cleaned).
    pub fn push_log(&mut self, line: LogLine) {
        self.log.push(line);
    }

    fn say(&mut self, text: impl Into<String>, error: bool) {
        self.message = Some((text.into(), error));
    }

    /// Applies an event; returns what must happen outside. A footer message expires (see
    /// [`MESSAGE_FOR`]) at the first event after its time.
    pub fn handle(&mut self, ev: Event, now: Instant) -> Vec<Effect> {
        let before = self.message.clone();
        let effects = self.apply(ev, now);
        if self.message != before {
            self.message_at = self.message.as_ref().map(|_| now);
        } else if let (Some((_, error)), Some(at)) = (&self.message, self.message_at) {
            let keep = if *error { MESSAGE_FOR * 4 } else { MESSAGE_FOR };
            if now.saturating_duration_since(at) > keep {
                self.message = None;
                self.message_at = None;
            }
        }
        effects
    }

    fn apply(&mut self, ev: Event, now: Instant) -> Vec<Effect> {
        match ev {
            Event::Input(input) => match self.input_action(input) {
                Some(a) => self.update(a),
                None => Vec::new(),
            },
            Event::Node(n) => self.on_node(n, now),
            Event::ActionLog(line) => {
                self.on_action_log(line);
                Vec::new()
            }
            Event::ActionProgress {
                node,
                rid,
                progress,
            } => {
                self.transfers.update(&node, &rid, progress);
                Vec::new()
            }
            Event::ActionDone {
                node,
                svc,
                verb,
                ok,
                reason,
            } => {
                let what = format!("{verb} of {svc} on {node}");
                if let Some(i) = self.in_flight.iter().position(|w| *w == what) {
                    self.in_flight.remove(i);
                }
                self.failure_logged.retain(|w| *w != what);
                if ok {
                    self.say(format!("{verb} of {svc} on {node} done"), false);
                } else {
                    let reason = crate::text::clean_line(&reason);
                    self.say(format!("{verb} of {svc} on {node} FAILED: {reason}"), true);
                }
                Vec::new()
            }
            Event::Runbook(r) => {
                self.on_runbook(r);
                Vec::new()
            }
            Event::File(done) => {
                self.on_file(done);
                Vec::new()
            }
            Event::Terminate => {
                self.quit = true;
                Vec::new()
            }
        }
    }

    /// The action of a terminal input, if it asks for one: keys go through the keyboard's
    /// mode (which may just edit the line being typed), the wheel scrolls the log.
    fn input_action(&mut self, input: Input) -> Option<Action> {
        match input {
            Input::Key(k) if k.kind != KeyEventKind::Release => {
                if let Mode::Command(line) = self.mode.clone() {
                    if let Some(next) = self.command_line_key(&line, k.code) {
                        self.mode = Mode::Command(next);
                        return None;
                    }
                }
                self.mode.on_key(k)
            }
            Input::Resize(w, h) => {
                self.screen = (w, h);
                None
            }
            Input::Mouse(m) => match m.kind {
                MouseEventKind::ScrollUp => Some(Action::ScrollLog {
                    up: true,
                    lines: WHEEL,
                }),
                MouseEventKind::ScrollDown => Some(Action::ScrollLog {
                    up: false,
                    lines: WHEEL,
                }),
                _ => None,
            },
            _ => None,
        }
    }

    /// A line of an action. A failure is logged once: the node's own `start failed: …` record
    /// and the console's line for the failed action say the same thing; the second is dropped.
    fn on_action_log(&mut self, line: LogLine) {
        if line.level == "ERROR" && line.rid.is_empty() {
            let action = self.in_flight.iter().find(|w| {
                let verb = w.split(' ').next().unwrap_or_default();
                **w == format!("{verb} of {} on {}", line.svc, line.node)
                    && line.msg.starts_with(&format!("{verb} failed: "))
            });
            if let Some(what) = action.cloned() {
                if self.failure_logged.contains(&what) {
                    return;
                }
                self.failure_logged.push(what);
            }
        }
        self.log.push(line);
    }

    /// The `:` line's own keys: tab completes, up/down walk the history (the new line is
    /// returned), enter is remembered. `None`: the mode handles the key.
    fn command_line_key(&mut self, line: &str, code: KeyCode) -> Option<String> {
        match code {
            KeyCode::Tab => {
                let nodes = self
                    .current()
                    .map(|s| {
                        s.nodes
                            .iter()
                            .chain(&s.drpnodes)
                            .map(String::as_str)
                            .collect()
                    })
                    .unwrap_or_default();
                let c = crate::console::completion::Candidates {
                    nodes,
                    services: self
                        .nodes
                        .services
                        .iter()
                        .map(|s| s.name.as_str())
                        .collect(),
                    themes: crate::console::theme::BUILTIN
                        .iter()
                        .map(|(n, _)| *n)
                        .collect(),
                    read_only: self.read_only,
                };
                match crate::console::completion::complete(line, &c) {
                    Some((next, shown)) => {
                        if shown.is_empty() {
                            self.message = None;
                        } else {
                            self.say(shown.join("  "), false);
                        }
                        Some(next)
                    }
                    None => Some(line.to_string()),
                }
            }
            KeyCode::Up => Some(self.history.walk(true).unwrap_or_else(|| line.to_string())),
            KeyCode::Down => Some(self.history.walk(false).unwrap_or_default()),
            KeyCode::Enter => {
                self.history.push(line);
                None
            }
            _ => None,
        }
    }

    fn on_node(&mut self, ev: NodeEvent, now: Instant) -> Vec<Effect> {
        let selected = self.current().map(|s| s.name.clone());
        if let NodeEvent::Run {
            node,
            service,
            lease,
        } = &ev
        {
            self.runs
                .on_view(node, service, lease.as_deref().cloned(), now);
        }
        let discovered = self.nodes.on_event(ev, now);
        if let Some(name) = selected {
            self.selection.keep(&name, &self.nodes.services);
        }
        discovered.into_iter().map(Effect::Watch).collect()
    }

    fn on_runbook(&mut self, ev: RunbookEvent) {
        RunbookView::apply(&mut self.runbook, &ev);
        match ev {
            RunbookEvent::Say(msg) => {
                let svc = self
                    .runbook
                    .as_ref()
                    .map(|r| r.svc.clone())
                    .unwrap_or_default();
                self.log.push(LogLine {
                    time: chrono::Local::now().format("%H:%M:%S").to_string(),
                    node: "runbook".into(),
                    svc,
                    rid: String::new(),
                    level: "INFO".into(),
                    msg,
                });
            }
            RunbookEvent::Gate {
                svc,
                node,
                step,
                prompt,
                typed,
            } => {
                self.mode = Mode::Confirm(Confirm {
                    svc,
                    node,
                    verb: step,
                    typed: typed.then(String::new),
                    on_run: false,
                    error: None,
                    runbook: Some(crate::text::clean_line(&prompt).into_owned()),
                    offer_sync: false,
                    on_sync: false,
                });
            }
            RunbookEvent::WayOut {
                svc,
                step,
                situation,
                choices,
            } => {
                self.mode = Mode::WayOut(super::state::dialogs::WayOutDialog {
                    svc,
                    step,
                    situation: crate::text::clean_lines(&situation).into_owned(),
                    choices,
                    focused: 0,
                });
            }
            RunbookEvent::Done { ok, summary } => {
                self.say(summary, !ok);
                if let Some(fix) = self.pending_fix.take() {
                    self.mode = Mode::Confirm(fix);
                }
            }
            RunbookEvent::Preflight(problems) => {
                // Offer the first fix behind a gate (Cancel is the default), once the run ends.
                let svc = self.runbook.as_ref().map(|r| r.svc.clone());
                if let (Some(svc), Some(fix)) = (svc, problems.iter().find_map(|p| p.fix.clone())) {
                    if !self.read_only {
                        self.pending_fix = Some(Confirm {
                            svc,
                            node: fix.node,
                            verb: fix.verb,
                            typed: None,
                            on_run: false,
                            error: None,
                            runbook: None,
                            offer_sync: false,
                            on_sync: false,
                        });
                    }
                }
            }
            RunbookEvent::Started { .. }
            | RunbookEvent::Progress { .. }
            | RunbookEvent::SyncProgress { .. } => {}
        }
    }

    fn on_file(&mut self, done: FileDone) {
        match done {
            FileDone::Saved { file, error: None } => {
                self.say(format!("log saved to {file}"), false)
            }
            FileDone::Saved {
                file,
                error: Some(e),
            } => self.say(format!("cannot save the log to {file}: {e}"), true),
            FileDone::Theme(Ok(t)) => self.set_theme(t),
            FileDone::Theme(Err(e)) => self.say(e, true),
        }
    }

    fn set_theme(&mut self, t: Theme) {
        self.say(format!("theme {}", t.name), false);
        self.theme = t;
    }

    /// Applies what the operator asked for; returns what must happen outside.
    pub fn update(&mut self, action: Action) -> Vec<Effect> {
        match action {
            Action::Quit => match self.running_now() {
                Some(what) => self.mode = Mode::Quit(what),
                None => self.quit = true,
            },
            Action::QuitConfirmed => self.quit = true,
            Action::Help => {
                self.help_scroll = 0;
                self.mode = Mode::Help;
            }
            Action::ScrollHelp(by) => {
                let max = crate::console::panes::help::line_count(self);
                let to = i64::try_from(self.help_scroll).unwrap_or(0) + i64::from(by);
                self.help_scroll = usize::try_from(to.clamp(0, max as i64)).unwrap_or(0);
            }
            Action::CommandLine => {
                self.history.restart();
                self.mode = Mode::Command(String::new());
            }
            Action::FilterLine => self.mode = Mode::Filter(self.log.filter.clone()),
            Action::FocusNext => self.selection.cycle_focus(true, self.runbook.is_some()),
            Action::FocusPrev => self.selection.cycle_focus(false, self.runbook.is_some()),
            Action::Up if self.selection.focus == Focus::Runbook => self.scroll_runbook(true, 1),
            Action::Down if self.selection.focus == Focus::Runbook => self.scroll_runbook(false, 1),
            Action::Page { up } if self.selection.focus == Focus::Runbook => {
                let page = self.runbook_page();
                self.scroll_runbook(up, page)
            }
            Action::Page { up } => self.log.scroll_by(up, crate::console::keys::PAGE),
            Action::Up if self.selection.focus == Focus::Log => self.log.scroll_by(true, 1),
            Action::Down if self.selection.focus == Focus::Log => self.log.scroll_by(false, 1),
            Action::Up if self.selection.focus == Focus::Trees => {
                self.selection.tree_row = self.selection.tree_row.saturating_sub(1)
            }
            Action::Down if self.selection.focus == Focus::Trees => {
                let count = self.focused_tree().map(|(_, k)| k.len()).unwrap_or(0);
                if self.selection.tree_row + 1 < count {
                    self.selection.tree_row += 1;
                }
            }
            // Only the focused trees take the arrows: a stray key elsewhere does nothing.
            Action::OtherTree if self.selection.focus != Focus::Trees => {}
            Action::OtherTree => {
                self.selection.tree_side = 1 - self.selection.tree_side.min(1);
                let count = self.focused_tree().map(|(_, k)| k.len()).unwrap_or(0);
                self.selection.tree_row = self.selection.tree_row.min(count.saturating_sub(1));
            }
            Action::Open => match self.selection.focus {
                Focus::Trees => match self.focused_tree() {
                    Some((node, keys)) if !keys.is_empty() => {
                        let key = keys[self.selection.tree_row.min(keys.len() - 1)].clone();
                        self.mode = Mode::Detail { node, key };
                    }
                    _ => self.say("no status on this node yet", true),
                },
                Focus::Services | Focus::Runbook | Focus::Log => {}
            },
            Action::Up => self.selection.up(),
            Action::Down => self.selection.down(self.nodes.services.len()),
            Action::ScrollLog { up, lines } => self.log.scroll_by(up, lines),
            Action::LogTop => self.log.scroll = self.log.visible().len().saturating_sub(1),
            Action::LogFollow => self.log.scroll = 0,
            Action::SearchLine => self.mode = Mode::Search(self.log_view.search.clone()),
            Action::Search(text) => {
                let found = self.log_view.search(&mut self.log, text);
                let n = self.log_view.count(&self.log);
                match (found, self.log_view.search.is_empty()) {
                    (_, true) => self.message = None,
                    (true, false) => {
                        let m = if n == 1 { "match" } else { "matches" };
                        self.say(format!("{n} {m}: n older, N newer"), false)
                    }
                    (false, false) => {
                        let s = self.log_view.search.clone();
                        self.say(format!("no log line matches '{s}'"), true)
                    }
                }
            }
            Action::SearchNext { older } => {
                // Without a search, n is a stray key: nothing to say.
                if !self.log_view.search.is_empty() && !self.log_view.jump(&mut self.log, older) {
                    let way = if older { "older" } else { "newer" };
                    self.say(format!("no {way} match"), false);
                }
            }
            Action::Yank => {
                let visible = self.log.visible();
                let line = LogView::pointed(&self.log).and_then(|i| visible.get(i).copied());
                // An empty log has nothing to copy: a stray y says nothing.
                if let Some(text) = line.map(crate::console::state::log::line_text) {
                    let text = text.trim_end().to_string();
                    self.say(format!("copied: {text}"), false);
                    self.log_view
                        .requests
                        .push(TerminalRequest::Clipboard(text));
                }
            }
            Action::ToggleMouse => {
                let on = !self.log_view.mouse_capture;
                self.log_view.mouse_capture = on;
                self.log_view
                    .requests
                    .push(TerminalRequest::MouseCapture(on));
                self.say(
                    if on {
                        "mouse: the wheel scrolls the log (m gives it to the terminal)"
                    } else {
                        "mouse: select text with the terminal (m takes it back)"
                    },
                    false,
                );
            }
            Action::Back => {
                self.log.filter.clear();
                self.message = None;
                // A finished run's pane closes; a running one stays, and says so when it is the
                // pane esc was meant for.
                let focused = self.selection.focus == Focus::Runbook;
                if self.runbook.as_ref().is_some_and(|r| r.finished.is_some()) {
                    self.runbook = None;
                } else if focused && self.runbook.is_some() {
                    self.say(RUNBOOK_STAYS, false);
                }
                if self.runbook.is_none() && focused {
                    self.selection.focus = Focus::Log;
                }
            }
            Action::Filter(text) => self.log.set_filter(text),
            Action::Select(name) => match self.nodes.services.iter().position(|s| s.name == name) {
                Some(i) => self.selection.selected = i,
                None => self.say(format!("no service named {name}"), true),
            },
            Action::Theme(name) => match Theme::builtin(&name) {
                // A built-in theme is data of the binary; a file is read off this task.
                Some(Ok(t)) => self.set_theme(t),
                Some(Err(e)) => self.say(format!("{e:#}"), true),
                None => return vec![Effect::File(FileIo::LoadTheme(name))],
            },
            Action::Save(file) => {
                let file = file.unwrap_or_else(|| {
                    format!(
                        "drpilot-log-{}.txt",
                        chrono::Local::now().format("%Y%m%d-%H%M%S")
                    )
                });
                let text = self.log.text();
                return vec![Effect::File(FileIo::SaveLog { file, text })];
            }
            Action::Ask { verb, node } => self.ask(verb, node),
            Action::Runbook(mode) => return self.start_runbook(mode),
            Action::Takeover => self.ask_takeover(),
            Action::Run { svc, node, verb } => {
                if self.read_only {
                    self.say(READ_ONLY, true);
                    return Vec::new();
                }
                self.say(format!("{verb} of {svc} on {node}: running"), false);
                self.in_flight.push(format!("{verb} of {svc} on {node}"));
                self.log.scroll = 0;
                self.transfers.clear();
                let peers = self
                    .nodes
                    .services
                    .iter()
                    .find(|s| s.name == svc)
                    .map(|s| {
                        s.nodes
                            .iter()
                            .chain(&s.drpnodes)
                            .filter(|n| **n != node)
                            .cloned()
                            .collect()
                    })
                    .unwrap_or_default();
                return vec![Effect::Run {
                    svc,
                    node,
                    verb,
                    peers,
                }];
            }
            Action::AnswerGate(yes) => return vec![Effect::RunbookAnswer(yes)],
            Action::WayOut(w) => {
                self.say(format!("way out chosen: {}", w.word()), false);
                if let Some(rb) = self.runbook.as_mut() {
                    rb.gate = None;
                }
                return vec![Effect::RunbookWayOut(w)];
            }
            Action::Cancelled { what, runbook } => {
                if runbook {
                    // A refused runbook gate stops the run (after a change, the way out is
                    // asked next); it is no failure.
                    self.say(format!("{what} refused at the gate"), false);
                    return vec![Effect::RunbookAnswer(false)];
                }
                self.say(format!("{what} cancelled"), false);
            }
            Action::Notice { text, error } => self.say(text, error),
        }
        Vec::new()
    }

    /// Scrolls the runbook pane `rows` towards its start (`up`) or its end, within what it holds
    /// on the screen as last drawn.
    fn scroll_runbook(&mut self, up: bool, rows: usize) {
        let (w, h) = self.screen;
        let area = crate::console::ui::runbook_area(self, w, h);
        let Some((rb, area)) = self.runbook.as_ref().zip(area) else {
            return;
        };
        let max = crate::console::panes::runbook::viewport(self, rb, area).max_back;
        let back = rb.back.min(max);
        let back = if up {
            back.saturating_add(rows).min(max)
        } else {
            back.saturating_sub(rows)
        };
        if let Some(rb) = self.runbook.as_mut() {
            rb.back = back;
        }
    }

    /// A page of the runbook pane: its inner height less one row kept for context.
    fn runbook_page(&self) -> usize {
        let (w, h) = self.screen;
        crate::console::ui::runbook_area(self, w, h)
            .map_or(1, |a| usize::from(a.height.saturating_sub(3)).max(1))
    }

    /// The focused tree's node and its row keys, top to bottom.
    pub fn focused_tree(&self) -> Option<(String, Vec<String>)> {
        let svc = self.current()?;
        let node = if self.selection.tree_side == 0 {
            svc.prod()
        } else {
            svc.drp()
        }?;
        let keys = svc
            .status
            .get(node)
            .map(crate::console::panes::tree::row_keys)
            .unwrap_or_default();
        Some((node.to_string(), keys))
    }

    /// What runs now from this console, as the quit confirmation names it; `None` when
    /// nothing does.
    pub fn running_now(&self) -> Option<String> {
        let mut what = self.in_flight.clone();
        if let Some(rb) = self.runbook.as_ref().filter(|r| r.finished.is_none()) {
            let step = rb
                .steps
                .iter()
                .find(|(_, s)| *s == crate::runbook::plan::StepState::Running)
                .map(|(s, _)| format!(", step {}", s.name()))
                .unwrap_or_default();
            what.push(format!(
                "the {} runbook of {}{step}",
                rb.mode.to_lowercase(),
                rb.svc
            ));
        }
        (!what.is_empty()).then(|| what.join("; "))
    }

    fn start_runbook(&mut self, mode: &str) -> Vec<Effect> {
        if self.read_only {
            self.say(READ_ONLY, true);
            return Vec::new();
        }
        if RunbookView::running(&self.runbook) {
            self.say("a runbook is already running in this console", true);
            return Vec::new();
        }
        let Some(svc) = self.current().map(|s| s.name.clone()) else {
            self.say("no service selected", true);
            return Vec::new();
        };
        vec![Effect::Runbook {
            mode: mode.to_string(),
            svc,
        }]
    }

    /// Opens the typed gate of a takeover of the selected service's run, naming who held it
    /// and where it stopped; the nodes judge whether its holder really stopped renewing.
    fn ask_takeover(&mut self) {
        if self.read_only {
            self.say(READ_ONLY, true);
            return;
        }
        let Some(svc) = self.current().map(|s| s.name.clone()) else {
            self.say("no service selected", true);
            return;
        };
        let Some(lease) = self.runs.lease_of(&svc) else {
            self.say(format!("no node reports a run of {svc} to take over"), true);
            return;
        };
        let step = lease.step.as_deref().unwrap_or("its start");
        let node = format!(
            "run {} (held by {}, step {}/{} {step})",
            lease.run, lease.holder, lease.index, lease.total
        );
        self.mode = Mode::Confirm(Confirm {
            svc,
            node,
            verb: "takeover".into(),
            typed: Some(String::new()),
            on_run: false,
            error: None,
            runbook: None,
            offer_sync: false,
            on_sync: false,
        });
    }

    fn ask(&mut self, verb: &str, node: Option<String>) {
        if self.read_only {
            self.say(READ_ONLY, true);
            return;
        }
        let Some(svc) = self.current() else {
            self.say("no service selected", true);
            return;
        };
        let default = match verb {
            "start" => svc.prod(),
            _ => svc.running_on().or(svc.prod()),
        };
        let Some(node) = node.or(default.map(str::to_string)) else {
            self.say(format!("{verb}: name the node"), true);
            return;
        };
        if !svc.nodes.contains(&node) && !svc.drpnodes.contains(&node) {
            let msg = format!("{node} is not a node of {}", svc.name);
            self.say(msg, true);
            return;
        }
        let typed = matches!(verb, "start" | "stop" | "stopapp" | "cutaccess").then(String::new);
        // Stopping on production loses what was written since the last sync: offer one first.
        let offer_sync = matches!(verb, "stop" | "stopapp")
            && svc.nodes.contains(&node)
            && svc.status.values().any(|s| !s.syncs.is_empty());
        self.mode = Mode::Confirm(Confirm {
            svc: svc.name.clone(),
            node,
            verb: verb.to_string(),
            typed,
            on_run: false,
            error: None,
            runbook: None,
            offer_sync,
            on_sync: false,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::console::keys::BINDINGS;
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

    fn key(c: KeyCode) -> Event {
        Event::Input(Input::Key(KeyEvent::new(c, KeyModifiers::NONE)))
    }

    fn typed(app: &mut App, text: &str, now: Instant) -> Vec<Effect> {
        let mut out = Vec::new();
        for ch in text.chars() {
            out.extend(app.handle(key(KeyCode::Char(ch)), now));
        }
        out
    }

    /// `:` + the command line + Enter, as an operator types it.
    fn command(app: &mut App, line: &str, now: Instant) -> Vec<Effect> {
        app.handle(key(KeyCode::Char(':')), now);
        typed(app, line, now);
        app.handle(key(KeyCode::Enter), now)
    }

    fn lab_app(read_only: bool) -> App {
        let mut app = App::new(Theme::load("default").unwrap(), read_only, false, vec![]);
        app.nodes.watch("deb1");
        let now = Instant::now();
        let hello = NodeEvent::Hello {
            node: "deb1".into(),
            services: vec![crate::protocol::watch::ServiceNodes {
                name: "busybox".into(),
                nodes: vec!["deb1".into()],
                drpnodes: vec!["deb2".into()],
            }],
        };
        let effects = app.handle(Event::Node(hello), now);
        assert_eq!(
            effects,
            vec![Effect::Watch("deb2".into())],
            "deb1 is already watched? {effects:?}"
        );
        app
    }

    #[test]
    fn a_hello_discovers_the_drp_node() {
        let mut app = App::new(Theme::load("default").unwrap(), false, false, vec![]);
        app.nodes.watch("deb1");
        let hello = NodeEvent::Hello {
            node: "deb1".into(),
            services: vec![crate::protocol::watch::ServiceNodes {
                name: "b".into(),
                nodes: vec!["deb1".into()],
                drpnodes: vec!["deb2".into()],
            }],
        };
        assert_eq!(
            app.handle(Event::Node(hello), Instant::now()),
            vec![Effect::Watch("deb2".into())]
        );
    }

    #[test]
    fn typed_gates_refuse_a_wrong_name_and_esc_never_runs() {
        let now = Instant::now();
        let mut app = lab_app(false);
        command(&mut app, "stop deb1", now);
        assert!(matches!(app.mode, Mode::Confirm(_)));
        typed(&mut app, "busybo", now);
        assert!(
            app.handle(key(KeyCode::Enter), now).is_empty(),
            "a wrong name must not run"
        );
        assert!(matches!(&app.mode, Mode::Confirm(c) if c.error.is_some()));
        typed(&mut app, "busybox", now);
        assert!(app.handle(key(KeyCode::Esc), now).is_empty());
        assert_eq!(app.mode, Mode::Normal);
        command(&mut app, "stop deb1", now);
        typed(&mut app, "busybox", now);
        let eff = app.handle(key(KeyCode::Enter), now);
        assert_eq!(
            eff,
            vec![Effect::Run {
                svc: "busybox".into(),
                node: "deb1".into(),
                verb: "stop".into(),
                peers: vec!["deb2".into()],
            }]
        );
    }

    #[test]
    fn button_gates_default_to_cancel() {
        let now = Instant::now();
        let mut app = lab_app(false);
        command(&mut app, "syncupdate", now);
        assert!(
            app.handle(key(KeyCode::Enter), now).is_empty(),
            "enter on the default button cancels"
        );
        command(&mut app, "syncupdate", now);
        app.handle(key(KeyCode::Right), now);
        let eff = app.handle(key(KeyCode::Enter), now);
        assert_eq!(
            eff,
            vec![Effect::Run {
                svc: "busybox".into(),
                node: "deb1".into(),
                verb: "syncupdate".into(),
                peers: vec!["deb2".into()],
            }]
        );
    }

    #[test]
    fn read_only_consoles_never_ask_for_an_action() {
        let now = Instant::now();
        let mut app = lab_app(true);
        for cmd in [
            "start deb1",
            "stop deb1",
            "syncupdate",
            "syncdrp",
            "rehearse",
        ] {
            assert!(command(&mut app, cmd, now).is_empty());
            assert_eq!(app.mode, Mode::Normal);
            typed(&mut app, "busybox", now);
            assert!(app.handle(key(KeyCode::Enter), now).is_empty());
        }
        // Even an action that only a gate produces is refused.
        let run = Action::Run {
            svc: "busybox".into(),
            node: "deb1".into(),
            verb: "start".into(),
        };
        assert!(app.update(run).is_empty());
    }

    #[test]
    fn a_silent_node_becomes_unreachable() {
        let t0 = Instant::now();
        let mut app = lab_app(false);
        app.handle(
            Event::Node(NodeEvent::Heartbeat {
                node: "deb2".into(),
            }),
            t0,
        );
        assert!(app.freshness("deb2", t0 + Duration::from_secs(1)).is_ok());
        assert!(app
            .freshness("deb2", t0 + unreachable_after() + Duration::from_secs(1))
            .is_err());
        app.handle(
            Event::Node(NodeEvent::Down {
                node: "deb2".into(),
                reason: "gone".into(),
            }),
            t0,
        );
        assert!(app.freshness("deb2", t0).is_err());
    }

    #[test]
    fn the_log_filter_keeps_one_resource_and_save_asks_for_a_file() {
        let now = Instant::now();
        let mut app = lab_app(false);
        for (rid, msg) in [("sync#1", "sent"), ("app#1", "started"), ("fs#1", "link")] {
            app.push_log(LogLine {
                time: String::new(),
                node: "deb1".into(),
                svc: "busybox".into(),
                rid: rid.into(),
                level: "INFO".into(),
                msg: msg.into(),
            });
        }
        app.handle(key(KeyCode::Char('/')), now);
        typed(&mut app, "app#1", now);
        app.handle(key(KeyCode::Enter), now);
        let shown: Vec<&str> = app.visible_log().iter().map(|l| l.rid.as_str()).collect();
        assert_eq!(shown, vec!["app#1"]);
        app.handle(key(KeyCode::Esc), now);
        assert_eq!(app.visible_log().len(), 3);
        assert_eq!(
            command(&mut app, "save /tmp/x.log", now),
            vec![Effect::File(FileIo::SaveLog {
                file: "/tmp/x.log".into(),
                text: app.log.text(),
            })]
        );
    }

    #[test]
    fn theme_files_and_save_are_effects_not_file_io_on_the_app_task() {
        let now = Instant::now();
        let mut app = lab_app(false);
        let d = tempfile::tempdir().unwrap();
        let theme = d.path().join("mine.toml");
        std::fs::write(&theme, "[ui]\ntext = \"red\"\n").unwrap();
        let path = theme.to_string_lossy().into_owned();
        assert_eq!(
            command(&mut app, &format!("theme {path}"), now),
            vec![Effect::File(FileIo::LoadTheme(path.clone()))]
        );
        assert_eq!(app.theme.name, "default", "the file is not read here");
        // The result comes back as an event.
        let loaded = Theme::load(&path).map_err(|e| e.to_string());
        app.handle(Event::File(FileDone::Theme(loaded)), now);
        assert_eq!(app.theme.name, "mine");
        assert_eq!(app.message, Some(("theme mine".into(), false)));
        // A built-in theme is data of the binary: applied at once, no effect.
        assert!(command(&mut app, "theme light", now).is_empty());
        assert_eq!(app.theme.name, "light");

        let saved = d.path().join("x.log");
        let file = saved.to_string_lossy().into_owned();
        let effects = command(&mut app, &format!("save {file}"), now);
        assert!(
            matches!(&effects[..], [Effect::File(FileIo::SaveLog { .. })]),
            "{effects:?}"
        );
        assert!(!saved.exists(), "the app task wrote the file");
        app.handle(
            Event::File(FileDone::Saved {
                file: file.clone(),
                error: None,
            }),
            now,
        );
        assert_eq!(app.message, Some((format!("log saved to {file}"), false)));
    }

    #[test]
    fn keys_and_commands_produce_the_same_actions() {
        let now = Instant::now();
        let mut app = lab_app(false);
        app.handle(key(KeyCode::Char('?')), now);
        assert_eq!(app.mode, Mode::Help);
        app.handle(key(KeyCode::Char('x')), now);
        assert_eq!(app.mode, Mode::Normal, "any key closes the help");
        command(&mut app, "help", now);
        assert_eq!(app.mode, Mode::Help);
        app.handle(key(KeyCode::Esc), now);
        command(&mut app, "quit", now);
        assert!(app.quit);
        let quit = BINDINGS.iter().find(|b| b.label.starts_with('q')).unwrap();
        assert_eq!(
            crate::console::commands::parse("q"),
            Some(quit.action.clone())
        );
    }

    #[test]
    fn quitting_while_an_action_runs_asks_first() {
        let now = Instant::now();
        let mut app = lab_app(false);
        command(&mut app, "syncupdate", now);
        app.handle(key(KeyCode::Right), now);
        assert_eq!(app.handle(key(KeyCode::Enter), now).len(), 1);
        app.handle(key(KeyCode::Char('q')), now);
        assert!(!app.quit, "q asks first while the sync runs");
        assert_eq!(app.mode, Mode::Quit("syncupdate of busybox on deb1".into()));
        app.handle(key(KeyCode::Char('x')), now);
        assert!(!app.quit && app.mode == Mode::Normal, "any other key stays");
        command(&mut app, "q", now);
        app.handle(key(KeyCode::Char('y')), now);
        assert!(app.quit, "y quits");
        // Once the action is over, q quits at once.
        let mut app = lab_app(false);
        command(&mut app, "syncupdate", now);
        app.handle(key(KeyCode::Right), now);
        app.handle(key(KeyCode::Enter), now);
        app.handle(
            Event::ActionDone {
                node: "deb1".into(),
                svc: "busybox".into(),
                verb: "syncupdate".into(),
                ok: true,
                reason: String::new(),
            },
            now,
        );
        app.handle(key(KeyCode::Char('q')), now);
        assert!(app.quit);
    }

    fn log_line(msg: &str) -> LogLine {
        LogLine {
            time: "17:00:01".into(),
            node: "deb1".into(),
            svc: "busybox".into(),
            rid: "app#1".into(),
            level: "INFO".into(),
            msg: msg.into(),
        }
    }

    fn pointed_msg(app: &App) -> String {
        let i = LogView::pointed(&app.log).unwrap();
        app.visible_log()[i].msg.clone()
    }

    #[test]
    fn the_log_follows_new_lines_unless_scrolled_up_and_end_returns_to_following() {
        let now = Instant::now();
        let mut app = lab_app(false);
        for i in 0..30 {
            app.handle(Event::ActionLog(log_line(&format!("line {i}"))), now);
        }
        assert!(app.log.following());
        assert_eq!(pointed_msg(&app), "line 29");
        app.handle(key(KeyCode::PageUp), now);
        assert_eq!(pointed_msg(&app), "line 19");
        app.handle(Event::ActionLog(log_line("line 30")), now);
        assert_eq!(pointed_msg(&app), "line 19", "scrolled up, the view stays");
        app.handle(key(KeyCode::Home), now);
        assert_eq!(pointed_msg(&app), "line 0");
        app.handle(key(KeyCode::End), now);
        assert!(app.log.following());
        app.handle(Event::ActionLog(log_line("line 31")), now);
        assert_eq!(
            pointed_msg(&app),
            "line 31",
            "following, new lines come into view"
        );
        app.handle(key(KeyCode::Home), now);
        app.handle(key(KeyCode::Char('G')), now);
        assert!(app.log.following(), "G follows too");
    }

    #[test]
    fn the_log_search_jumps_with_n_and_shift_n() {
        let now = Instant::now();
        let mut app = lab_app(false);
        for msg in ["sent 1", "other", "SENT 2", "other", "last"] {
            app.handle(Event::ActionLog(log_line(msg)), now);
        }
        app.handle(key(KeyCode::Char('f')), now);
        assert!(matches!(app.mode, Mode::Search(_)));
        typed(&mut app, "sent", now);
        app.handle(key(KeyCode::Enter), now);
        assert_eq!(pointed_msg(&app), "SENT 2", "the newest match, any case");
        assert_eq!(app.log_view.count(&app.log), 2);
        app.handle(key(KeyCode::Char('n')), now);
        assert_eq!(pointed_msg(&app), "sent 1");
        app.handle(key(KeyCode::Char('n')), now);
        assert_eq!(pointed_msg(&app), "sent 1", "no older match: stays");
        app.handle(key(KeyCode::Char('N')), now);
        assert_eq!(pointed_msg(&app), "SENT 2");
    }

    #[test]
    fn the_mouse_toggle_and_the_yank_ask_the_terminal() {
        let now = Instant::now();
        let mut app = lab_app(false);
        app.handle(Event::ActionLog(log_line("copy me")), now);
        app.handle(key(KeyCode::Char('m')), now);
        app.handle(key(KeyCode::Char('y')), now);
        assert_eq!(
            app.log_view.requests,
            vec![
                TerminalRequest::MouseCapture(false),
                TerminalRequest::Clipboard("17:00:01 INFO    deb1 app#1 copy me".into()),
            ]
        );
        app.handle(key(KeyCode::Char('m')), now);
        assert!(app.log_view.mouse_capture);
    }

    #[test]
    fn one_failure_is_logged_once() {
        let now = Instant::now();
        let mut app = lab_app(false);
        app.update(Action::Run {
            svc: "busybox".into(),
            node: "deb1".into(),
            verb: "start".into(),
        });
        let failed = |msg: &str| LogLine {
            rid: String::new(),
            level: "ERROR".into(),
            ..log_line(msg)
        };
        // The agent's record, then the console's line for the failed action.
        app.handle(Event::ActionLog(failed("start failed: fs#1: no dev")), now);
        app.handle(
            Event::ActionLog(failed("start failed: error: fs#1: no dev")),
            now,
        );
        let failures = app
            .visible_log()
            .iter()
            .filter(|l| l.msg.starts_with("start failed"))
            .count();
        assert_eq!(failures, 1);
    }

    #[test]
    fn hotkeys_open_the_gates_of_the_common_verbs() {
        let now = Instant::now();
        let mut app = lab_app(false);
        for (k, verb, typed) in [
            ('s', "start", true),
            ('S', "stop", true),
            ('u', "syncupdate", false),
            ('U', "syncfullsync", false),
            ('D', "syncdrp", false),
        ] {
            assert!(
                app.handle(key(KeyCode::Char(k)), now).is_empty(),
                "no run without the gate"
            );
            match &app.mode {
                Mode::Confirm(c) => {
                    assert_eq!((c.verb.as_str(), c.typed.is_some()), (verb, typed), "{k}")
                }
                m => panic!("{k}: {m:?}"),
            }
            app.handle(key(KeyCode::Esc), now);
        }
        let mut ro = lab_app(true);
        ro.handle(key(KeyCode::Char('s')), now);
        assert_eq!(ro.mode, Mode::Normal, "read-only: no gate");
    }

    #[test]
    fn the_command_line_completes_with_tab_and_remembers_with_up() {
        let now = Instant::now();
        let mut app = lab_app(false);
        app.handle(key(KeyCode::Char(':')), now);
        typed(&mut app, "sta", now);
        app.handle(key(KeyCode::Tab), now);
        typed(&mut app, "deb", now);
        app.handle(key(KeyCode::Tab), now);
        assert_eq!(app.mode, Mode::Command("start deb".into()));
        assert!(
            matches!(&app.message, Some((m, false)) if m.contains("deb1") && m.contains("deb2")),
            "{:?}",
            app.message
        );
        typed(&mut app, "2", now);
        app.handle(key(KeyCode::Esc), now);
        command(&mut app, "theme li", now);
        app.handle(key(KeyCode::Esc), now);
        app.handle(key(KeyCode::Char(':')), now);
        typed(&mut app, "theme li", now);
        app.handle(key(KeyCode::Tab), now);
        assert_eq!(app.mode, Mode::Command("theme light ".into()));
        app.handle(key(KeyCode::Enter), now);
        assert_eq!(app.theme.name, "light");
        app.handle(key(KeyCode::Char(':')), now);
        app.handle(key(KeyCode::Up), now);
        assert_eq!(app.mode, Mode::Command("theme light".into()));
        app.handle(key(KeyCode::Up), now);
        assert_eq!(app.mode, Mode::Command("theme li".into()));
        app.handle(key(KeyCode::Down), now);
        app.handle(key(KeyCode::Down), now);
        assert_eq!(app.mode, Mode::Command(String::new()));
    }

    #[test]
    fn tab_focuses_each_tree_in_turn_and_enter_opens_a_detail() {
        let now = Instant::now();
        let mut app = lab_app(false);
        app.handle(key(KeyCode::Tab), now);
        assert_eq!(
            (app.selection.focus, app.selection.tree_side),
            (Focus::Trees, 0)
        );
        app.handle(key(KeyCode::Tab), now);
        assert_eq!(
            (app.selection.focus, app.selection.tree_side),
            (Focus::Trees, 1)
        );
        app.handle(key(KeyCode::Tab), now);
        assert_eq!(app.selection.focus, Focus::Log);
        app.handle(key(KeyCode::BackTab), now);
        assert_eq!(
            (app.selection.focus, app.selection.tree_side),
            (Focus::Trees, 1)
        );
        // No status yet from deb2: enter says so instead of an empty detail.
        app.handle(key(KeyCode::Enter), now);
        assert_eq!(app.mode, Mode::Normal);
        assert!(matches!(&app.message, Some((_, true))));
    }

    #[test]
    fn quitting_while_a_runbook_step_runs_asks_first() {
        use crate::runbook::plan::{Step, StepState};
        let now = Instant::now();
        let mut app = lab_app(false);
        for ev in [
            RunbookEvent::Started {
                svc: "busybox".into(),
                mode: "REHEARSAL".into(),
                steps: vec![Step::Preflight, Step::SyncUpdate],
            },
            RunbookEvent::Progress {
                step: Step::SyncUpdate,
                state: StepState::Running,
            },
        ] {
            app.handle(Event::Runbook(ev), now);
        }
        let ctrl_c = Event::Input(Input::Key(KeyEvent::new(
            KeyCode::Char('c'),
            KeyModifiers::CONTROL,
        )));
        app.handle(ctrl_c, now);
        assert_eq!(
            app.mode,
            Mode::Quit("the rehearsal runbook of busybox, step syncupdate".into())
        );
        app.handle(key(KeyCode::Esc), now);
        assert!(!app.quit);
        app.handle(
            Event::Runbook(RunbookEvent::Done {
                ok: true,
                summary: "done".into(),
            }),
            now,
        );
        app.handle(key(KeyCode::Char('q')), now);
        assert!(app.quit, "the run is over: q quits at once");
    }

    #[test]
    fn ctrl_c_cancels_a_typed_gate() {
        let now = Instant::now();
        let mut app = lab_app(false);
        command(&mut app, "stop deb1", now);
        typed(&mut app, "busy", now);
        let ctrl_c = Event::Input(Input::Key(KeyEvent::new(
            KeyCode::Char('c'),
            KeyModifiers::CONTROL,
        )));
        assert!(app.handle(ctrl_c.clone(), now).is_empty());
        assert_eq!(app.mode, Mode::Normal, "ctrl-c closes the gate");
        assert!(!app.quit, "ctrl-c in a gate cancels it, it does not quit");
        assert_eq!(app.message, Some(("stop cancelled".into(), false)));
        // On the command line it abandons the line.
        app.handle(key(KeyCode::Char(':')), now);
        typed(&mut app, "sto", now);
        assert!(app.handle(ctrl_c, now).is_empty());
        assert_eq!(app.mode, Mode::Normal);
    }

    #[test]
    fn footer_messages_expire_and_a_finished_runbook_pane_closes_with_esc() {
        let t0 = Instant::now();
        let mut app = lab_app(false);
        let hb = || {
            Event::Node(NodeEvent::Heartbeat {
                node: "deb1".into(),
            })
        };
        app.handle(
            Event::Input(Input::Key(KeyEvent::new(
                KeyCode::Char(':'),
                KeyModifiers::NONE,
            ))),
            t0,
        );
        typed(&mut app, "theme light", t0);
        app.handle(key(KeyCode::Enter), t0);
        assert_eq!(app.message, Some(("theme light".into(), false)));
        app.handle(hb(), t0 + MESSAGE_FOR - Duration::from_secs(1));
        assert!(app.message.is_some(), "still fresh");
        app.handle(hb(), t0 + MESSAGE_FOR + Duration::from_secs(1));
        assert_eq!(app.message, None, "an old message expires");

        let started = RunbookEvent::Started {
            svc: "busybox".into(),
            mode: "REHEARSAL".into(),
            steps: vec![],
        };
        app.handle(Event::Runbook(started), t0);
        app.handle(key(KeyCode::Esc), t0);
        assert!(app.runbook.is_some(), "a running run's pane stays");
        let done = RunbookEvent::Done {
            ok: true,
            summary: "run x succeeded".into(),
        };
        app.handle(Event::Runbook(done), t0);
        app.handle(key(KeyCode::Esc), t0);
        assert_eq!(app.runbook, None, "esc closes a finished run's pane");
    }

    #[test]
    fn a_runbook_gate_answers_the_run_and_never_runs_a_verb() {
        let now = Instant::now();
        let mut app = lab_app(false);
        app.handle(
            Event::Runbook(RunbookEvent::Gate {
                svc: "busybox".into(),
                node: "deb2".into(),
                step: "start_drp".into(),
                prompt: "start busybox on deb2".into(),
                typed: true,
            }),
            now,
        );
        assert_eq!(
            app.runbook, None,
            "no run started: the gate is still asked, the view stays empty"
        );
        app.handle(key(KeyCode::Esc), now);
        assert_eq!(
            app.message,
            Some(("start_drp refused at the gate".into(), false))
        );
        app.handle(
            Event::Runbook(RunbookEvent::Gate {
                svc: "busybox".into(),
                node: "deb2".into(),
                step: "start_drp".into(),
                prompt: "start busybox on deb2".into(),
                typed: true,
            }),
            now,
        );
        typed(&mut app, "busybox", now);
        assert_eq!(
            app.handle(key(KeyCode::Enter), now),
            vec![Effect::RunbookAnswer(true)]
        );
    }

    /// A rehearsal refused by its preflight: seven steps, `problems` reasons with their fixes
    /// and the outcome (the gate offering the first fix already answered).
    fn refused_run(app: &mut App, problems: usize, now: Instant) {
        use crate::runbook::plan::{steps, Mode as RunMode, StepState};
        use crate::runbook::preflight::Problem;
        let all: Vec<_> = steps(RunMode::Rehearsal)
            .into_iter()
            .map(|(s, _)| s)
            .collect();
        app.handle(
            Event::Runbook(RunbookEvent::Started {
                svc: "busybox".into(),
                mode: "REHEARSAL".into(),
                steps: all.clone(),
            }),
            now,
        );
        app.handle(
            Event::Runbook(RunbookEvent::Progress {
                step: all[0],
                state: StepState::Failed,
            }),
            now,
        );
        let problems = (1..=problems)
            .map(|i| Problem::fixed_by(format!("problem {i} on deb2"), "syncnodes", "deb2"))
            .collect();
        app.handle(Event::Runbook(RunbookEvent::Preflight(problems)), now);
        assert_eq!(app.mode, Mode::Normal, "the fix waits for the run's end");
        app.handle(
            Event::Runbook(RunbookEvent::Done {
                ok: false,
                summary: "rehearsal refused by the preflight".into(),
            }),
            now,
        );
        assert!(matches!(app.mode, Mode::Confirm(_)), "the fix is offered");
        app.mode = Mode::Normal;
        app.message = None;
    }

    /// The screen's text at the app's size.
    fn screen_text(app: &App, now: Instant) -> String {
        use ratatui::backend::TestBackend;
        let (w, h) = app.screen;
        let mut term = ratatui::Terminal::new(TestBackend::new(w, h)).unwrap();
        term.draw(|f| crate::console::ui::draw(f, app, now))
            .unwrap();
        let buf = term.backend().buffer();
        buf.content.iter().map(|c| c.symbol()).collect()
    }

    fn focus_of(app: &App) -> (Focus, usize) {
        let side = if app.selection.focus == Focus::Trees {
            app.selection.tree_side
        } else {
            0
        };
        (app.selection.focus, side)
    }

    #[test]
    fn the_runbook_pane_is_a_focus_stop_only_while_a_run_is_shown() {
        let now = Instant::now();
        let mut app = lab_app(false);
        let round = |app: &mut App, code| {
            (0..5)
                .map(|_| {
                    app.handle(key(code), now);
                    focus_of(app)
                })
                .collect::<Vec<_>>()
        };
        let without = [
            (Focus::Trees, 0),
            (Focus::Trees, 1),
            (Focus::Log, 0),
            (Focus::Services, 0),
            (Focus::Trees, 0),
        ];
        assert_eq!(round(&mut app, KeyCode::Tab), without, "no run: no stop");
        app.selection.focus = Focus::Services;
        refused_run(&mut app, 1, now);
        assert_eq!(
            round(&mut app, KeyCode::Tab),
            [
                (Focus::Trees, 0),
                (Focus::Trees, 1),
                (Focus::Runbook, 0),
                (Focus::Log, 0),
                (Focus::Services, 0),
            ],
            "a run shown: tab stops on its pane"
        );
        assert_eq!(
            round(&mut app, KeyCode::BackTab),
            [
                (Focus::Log, 0),
                (Focus::Runbook, 0),
                (Focus::Trees, 1),
                (Focus::Trees, 0),
                (Focus::Services, 0),
            ],
            "shift-tab too"
        );
        // The run is over: esc on its pane closes it, the focus goes to the log, and the
        // pane is no stop any more.
        app.selection.focus = Focus::Runbook;
        app.handle(key(KeyCode::Esc), now);
        assert_eq!(app.runbook, None);
        assert_eq!(app.selection.focus, Focus::Log);
        app.selection.focus = Focus::Services;
        assert_eq!(round(&mut app, KeyCode::Tab), without);
    }

    #[test]
    fn the_runbook_pane_scrolls_within_its_content_and_the_scroll_clamps() {
        let now = Instant::now();
        let mut app = lab_app(false);
        app.screen = (80, 24);
        refused_run(&mut app, 15, now);
        app.selection.focus = Focus::Runbook;
        let screen = screen_text(&app, now);
        assert!(
            screen.contains("rehearsal refused by the preflight"),
            "the end shows first: {screen}"
        );
        assert!(!screen.contains("✗ preflight"), "{screen}");
        // Up to the start of the pane, and no further.
        for _ in 0..100 {
            app.handle(key(KeyCode::Up), now);
        }
        let max = app.runbook.as_ref().unwrap().back;
        assert!(max > 0, "the content is taller than the pane");
        app.handle(key(KeyCode::Up), now);
        assert_eq!(
            app.runbook.as_ref().unwrap().back,
            max,
            "clamped at the start"
        );
        let screen = screen_text(&app, now);
        assert!(screen.contains("✗ preflight"), "{screen}");
        assert!(
            !screen.contains("rehearsal refused by the preflight"),
            "{screen}"
        );
        assert!(screen.contains(&format!("↑0 ↓{max} more")), "{screen}");
        // A page down, a line down, then back to the end, and no further.
        app.handle(key(KeyCode::PageDown), now);
        let paged = app.runbook.as_ref().unwrap().back;
        assert!(
            paged < max - 1,
            "a page is more than a line: {paged} of {max}"
        );
        app.handle(key(KeyCode::Down), now);
        assert_eq!(app.runbook.as_ref().unwrap().back, paged - 1);
        for _ in 0..5 {
            app.handle(key(KeyCode::PageDown), now);
        }
        assert_eq!(app.runbook.as_ref().unwrap().back, 0, "clamped at the end");
        assert!(
            app.log.following(),
            "the page keys scrolled the pane, not the log"
        );
        // A short run fits: nothing to scroll.
        let mut app = lab_app(false);
        refused_run(&mut app, 1, now);
        app.selection.focus = Focus::Runbook;
        app.handle(key(KeyCode::Up), now);
        assert_eq!(app.runbook.as_ref().unwrap().back, 0);
    }

    #[test]
    fn esc_on_a_running_runbook_pane_says_it_cannot_close() {
        let now = Instant::now();
        let mut app = lab_app(false);
        app.handle(
            Event::Runbook(RunbookEvent::Started {
                svc: "busybox".into(),
                mode: "REHEARSAL".into(),
                steps: vec![crate::runbook::plan::Step::Preflight],
            }),
            now,
        );
        for _ in 0..3 {
            app.handle(key(KeyCode::Tab), now);
        }
        assert_eq!(app.selection.focus, Focus::Runbook);
        app.handle(key(KeyCode::Esc), now);
        assert!(app.runbook.is_some(), "a running run's pane never closes");
        assert_eq!(app.selection.focus, Focus::Runbook);
        assert_eq!(app.message, Some((RUNBOOK_STAYS.into(), false)));
        // Its footer says so too, once the message is gone.
        app.message = None;
        let screen = screen_text(&app, now);
        assert!(
            screen.contains("esc closes once the run is over"),
            "{screen}"
        );
    }

    fn way_out_asked(app: &mut App, now: Instant) {
        use crate::runbook::plan::WayOut;
        app.handle(
            Event::Runbook(RunbookEvent::WayOut {
                svc: "busybox".into(),
                step: "stop_production".into(),
                situation: "busybox is stopped on deb1 and not started on deb2".into(),
                choices: vec![WayOut::Retry, WayOut::Rollback, WayOut::Leave],
            }),
            now,
        );
        assert!(matches!(&app.mode, Mode::WayOut(d) if d.focused == 0));
    }

    #[test]
    fn esc_at_a_way_out_takes_the_default_never_leave() {
        use crate::runbook::plan::WayOut;
        let now = Instant::now();
        let mut app = lab_app(false);
        way_out_asked(&mut app, now);
        let screen = screen_text(&app, now);
        for part in [
            "runbook step stop_production: way out?",
            "busybox is stopped on deb1 and not started on deb2",
            "[r] retry",
            "[b] roll back",
            "[l] leave as is",
        ] {
            assert!(screen.contains(part), "{part}: {screen}");
        }
        assert_eq!(
            app.handle(key(KeyCode::Esc), now),
            vec![Effect::RunbookWayOut(WayOut::Retry)]
        );
        assert_eq!(app.mode, Mode::Normal);
        // ctrl-c is esc in a dialog: the default too.
        way_out_asked(&mut app, now);
        let ctrl_c = Event::Input(Input::Key(KeyEvent::new(
            KeyCode::Char('c'),
            KeyModifiers::CONTROL,
        )));
        assert_eq!(
            app.handle(ctrl_c, now),
            vec![Effect::RunbookWayOut(WayOut::Retry)]
        );
    }

    #[test]
    fn l_leaves_b_rolls_back_and_enter_takes_the_focused_way_out() {
        use crate::runbook::plan::WayOut;
        let now = Instant::now();
        let mut app = lab_app(false);
        way_out_asked(&mut app, now);
        assert_eq!(
            app.handle(key(KeyCode::Char('l')), now),
            vec![Effect::RunbookWayOut(WayOut::Leave)]
        );
        way_out_asked(&mut app, now);
        assert_eq!(
            app.handle(key(KeyCode::Char('b')), now),
            vec![Effect::RunbookWayOut(WayOut::Rollback)]
        );
        way_out_asked(&mut app, now);
        assert!(app.handle(key(KeyCode::Char('x')), now).is_empty());
        assert!(app.handle(key(KeyCode::Right), now).is_empty());
        assert!(matches!(&app.mode, Mode::WayOut(d) if d.focused == 1));
        assert_eq!(
            app.handle(key(KeyCode::Enter), now),
            vec![Effect::RunbookWayOut(WayOut::Rollback)]
        );
        // Only the ways offered: without leave, l does nothing.
        app.handle(
            Event::Runbook(RunbookEvent::WayOut {
                svc: "busybox".into(),
                step: "start_drp".into(),
                situation: "deb2 half started".into(),
                choices: vec![WayOut::Rollback, WayOut::Retry],
            }),
            now,
        );
        assert!(app.handle(key(KeyCode::Char('l')), now).is_empty());
        assert!(!screen_text(&app, now).contains("leave as is"));
        assert_eq!(
            app.handle(key(KeyCode::Enter), now),
            vec![Effect::RunbookWayOut(WayOut::Rollback)],
            "the focus starts on the first offered"
        );
    }

    #[test]
    fn a_run_from_the_nodes_shows_in_a_read_only_console_and_for_this_consoles_own_run() {
        use crate::console::state::runs::tests::view;
        let now = Instant::now();
        for read_only in [true, false] {
            let mut app = lab_app(read_only);
            if !read_only {
                // This console's own run: the nodes' lease still shows.
                app.handle(
                    Event::Runbook(RunbookEvent::Started {
                        svc: "busybox".into(),
                        mode: "REHEARSAL".into(),
                        steps: vec![],
                    }),
                    now,
                );
            }
            app.handle(
                Event::Node(NodeEvent::Run {
                    node: "deb1".into(),
                    service: "busybox".into(),
                    lease: Some(Box::new(view(4, "stop_production", 3000, false))),
                }),
                now,
            );
            let screen = screen_text(&app, now);
            assert!(screen.contains("step 4/7 stop_production"), "{screen}");
            assert!(
                screen.contains("▶ REHEARSAL 4/7"),
                "the list's badge: {screen}"
            );
            app.handle(
                Event::Node(NodeEvent::Run {
                    node: "deb1".into(),
                    service: "busybox".into(),
                    lease: None,
                }),
                now,
            );
            assert!(!screen_text(&app, now).contains("step 4/7"), "released");
        }
    }
}

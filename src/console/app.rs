//! The console's state and how events change it. Pure: no IO here; what must happen outside
//! (watch a new node, run an action, save the log) is returned as [`Effect`]s.

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use crossterm::event::{Event as Input, KeyCode, KeyEvent, KeyEventKind, MouseEventKind};

use super::event::{Event, LogLine, NodeEvent};
use super::keys::{lookup, UiAction};
use super::theme::Theme;
use crate::agent::watch::HEARTBEAT_EVERY;
use crate::status::ServiceStatus;

/// How many log lines are kept (older ones are dropped: a flood must not grow memory).
pub const LOG_CAPACITY: usize = 5000;

/// A node is unreachable after this long without a heartbeat.
pub fn unreachable_after() -> Duration {
    HEARTBEAT_EVERY * 3
}

/// Which pane has the keyboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    /// The service list.
    Services,
    /// The two trees.
    Trees,
    /// The log pane.
    Log,
}

/// A confirmation in progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Confirm {
    /// Service.
    pub svc: String,
    /// Node to act on.
    pub node: String,
    /// Verb (`start`, `syncupdate`).
    pub verb: String,
    /// For typed gates, what the operator typed so far.
    pub typed: Option<String>,
    /// The Run button has the focus (Cancel is the default).
    pub on_run: bool,
    /// Why the last attempt did not run.
    pub error: Option<String>,
    /// A runbook gate: the answer goes back to the waiting run.
    pub runbook: Option<String>,
}

/// What the keyboard is doing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// Browsing.
    Normal,
    /// The help overlay.
    Help,
    /// Typing a `:` command.
    Command(String),
    /// Typing a `/` filter.
    Filter(String),
    /// A confirmation dialog.
    Confirm(Confirm),
}

/// What the app task must do outside the state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Start watching a node named by a service.
    Watch(String),
    /// Run a verb on a node (only reachable when the console has an executor).
    Run {
        svc: String,
        node: String,
        verb: String,
    },
    /// Write the log to a file.
    SaveLog(String),
    /// Start (or resume) a runbook of a service: `rehearsal`, `disaster`, `failback`.
    Runbook { mode: String, svc: String },
    /// The operator's answer to the runbook's gate.
    RunbookAnswer(bool),
}

/// A runbook as the console shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunbookView {
    /// Service.
    pub svc: String,
    /// `REHEARSAL`, `DISASTER`, `FAILBACK`.
    pub mode: String,
    /// Steps and their state (`pending`, `running`, `done`, `failed`, `skipped`).
    pub steps: Vec<(String, String)>,
    /// The gate waiting for the operator, if any.
    pub gate: Option<String>,
    /// When over: whether it succeeded, and the summary.
    pub finished: Option<(bool, String)>,
    /// Transfer progress per sync resource, during the sync step.
    pub syncs: Vec<(String, crate::protocol::log::SyncProgress)>,
}

/// A node's health as the console knows it.
#[derive(Debug, Clone, Default)]
pub struct NodeHealth {
    /// Last record of any kind from the node.
    pub last_heard: Option<Instant>,
    /// Why the link is down, if it is.
    pub error: Option<String>,
}

/// A service and its status on each node.
#[derive(Debug, Clone, Default)]
pub struct SvcEntry {
    /// Name.
    pub name: String,
    /// Production nodes.
    pub nodes: Vec<String>,
    /// DRP nodes.
    pub drpnodes: Vec<String>,
    /// Last status per node.
    pub status: BTreeMap<String, ServiceStatus>,
    /// Config errors per node.
    pub errors: BTreeMap<String, String>,
}

impl SvcEntry {
    /// The production node shown on the left.
    pub fn prod(&self) -> Option<&str> {
        self.nodes.first().map(String::as_str)
    }

    /// The DRP node shown on the right.
    pub fn drp(&self) -> Option<&str> {
        self.drpnodes.first().map(String::as_str)
    }

    /// The node where the service runs, if one does.
    pub fn running_on(&self) -> Option<&str> {
        self.status
            .iter()
            .find(|(_, s)| s.avail.is_active())
            .map(|(n, _)| n.as_str())
    }
}

/// The whole console state.
pub struct App {
    /// Services, sorted by name.
    pub services: Vec<SvcEntry>,
    /// Nodes being watched.
    pub nodes: BTreeMap<String, NodeHealth>,
    /// Index of the selected service.
    pub selected: usize,
    /// Focused pane.
    pub focus: Focus,
    /// Keyboard mode.
    pub mode: Mode,
    /// Action log lines, oldest first.
    pub log: VecDeque<LogLine>,
    /// Log filter (resource id or text); empty shows all.
    pub log_filter: String,
    /// Lines scrolled up from the bottom of the log.
    pub log_scroll: usize,
    /// A message for the operator: text and whether it is an error.
    pub message: Option<(String, bool)>,
    /// The theme.
    pub theme: Theme,
    /// Built without an executor: no action can be requested.
    pub read_only: bool,
    /// Wall mode.
    pub wall: bool,
    /// Services asked for on the command line (empty: all).
    pub only: Vec<String>,
    /// Set when the operator quits.
    pub quit: bool,
    /// When the console started (wall mode cycles from it).
    pub started: Instant,
    /// The runbook run from this console, if any.
    pub runbook: Option<RunbookView>,
}

impl App {
    /// A fresh state.
    pub fn new(theme: Theme, read_only: bool, wall: bool, only: Vec<String>) -> Self {
        Self {
            services: Vec::new(),
            nodes: BTreeMap::new(),
            selected: 0,
            focus: Focus::Services,
            mode: Mode::Normal,
            log: VecDeque::new(),
            log_filter: String::new(),
            log_scroll: 0,
            message: None,
            theme,
            read_only: read_only || wall,
            wall,
            only,
            quit: false,
            started: Instant::now(),
            runbook: None,
        }
    }

    /// The selected service.
    pub fn current(&self) -> Option<&SvcEntry> {
        self.services.get(self.selected)
    }

    /// Whether a node's status can be trusted now; `Err` says since when it cannot.
    pub fn freshness(&self, node: &str, now: Instant) -> Result<Duration, Option<Duration>> {
        let h = self.nodes.get(node);
        let age = h
            .and_then(|h| h.last_heard)
            .map(|t| now.saturating_duration_since(t));
        match (h.and_then(|h| h.error.as_ref()), age) {
            (None, Some(a)) if a <= unreachable_after() => Ok(a),
            (_, a) => Err(a),
        }
    }

    /// Applies an event; returns what must happen outside.
    pub fn handle(&mut self, ev: Event, now: Instant) -> Vec<Effect> {
        match ev {
            Event::Input(input) => self.on_input(input),
            Event::Node(n) => self.on_node(n, now),
            Event::ActionLog(line) => {
                self.push_log(line);
                Vec::new()
            }
            Event::ActionDone {
                node,
                svc,
                verb,
                ok,
                reason,
            } => {
                self.message = Some(if ok {
                    (format!("{verb} of {svc} on {node} done"), false)
                } else {
                    let reason = crate::text::clean_line(&reason);
                    (format!("{verb} of {svc} on {node} FAILED: {reason}"), true)
                });
                Vec::new()
            }
            Event::Runbook(r) => {
                self.on_runbook(r);
                Vec::new()
            }
            Event::Terminate => {
                self.quit = true;
                Vec::new()
            }
        }
    }

    fn on_runbook(&mut self, ev: super::event::RunbookEvent) {
        use super::event::RunbookEvent as R;
        match ev {
            R::Started { svc, mode, steps } => {
                self.runbook = Some(RunbookView {
                    svc,
                    mode,
                    steps: steps
                        .into_iter()
                        .map(|s| (s, "pending".to_string()))
                        .collect(),
                    gate: None,
                    finished: None,
                    syncs: Vec::new(),
                });
            }
            R::Progress { step, state } => {
                if let Some(rb) = self.runbook.as_mut() {
                    if let Some(s) = rb.steps.iter_mut().find(|(n, _)| *n == step) {
                        s.1 = state;
                    }
                }
            }
            R::SyncProgress { rid, progress } => {
                if let Some(rb) = self.runbook.as_mut() {
                    match rb.syncs.iter_mut().find(|(r, _)| *r == rid) {
                        Some(s) => s.1 = progress,
                        None => rb.syncs.push((rid, progress)),
                    }
                }
            }
            R::Say(msg) => {
                let svc = self
                    .runbook
                    .as_ref()
                    .map(|r| r.svc.clone())
                    .unwrap_or_default();
                self.push_log(LogLine {
                    time: chrono::Local::now().format("%H:%M:%S").to_string(),
                    node: "runbook".into(),
                    svc,
                    rid: String::new(),
                    level: "INFO".into(),
                    msg,
                });
            }
            R::Gate {
                svc,
                node,
                step,
                prompt,
                typed,
            } => {
                if let Some(rb) = self.runbook.as_mut() {
                    rb.gate = Some(step.clone());
                }
                self.mode = Mode::Confirm(Confirm {
                    svc,
                    node,
                    verb: step,
                    typed: typed.then(String::new),
                    on_run: false,
                    error: None,
                    runbook: Some(crate::text::clean_line(&prompt).into_owned()),
                });
            }
            R::Done { ok, summary } => {
                if let Some(rb) = self.runbook.as_mut() {
                    rb.gate = None;
                    rb.finished = Some((ok, summary.clone()));
                }
                self.message = Some((summary, !ok));
            }
        }
    }

    /// Adds a log line, dropping the oldest past the capacity. Its text comes from the nodes:
    /// kept as safe text, like every line drpilot prints.
    pub fn push_log(&mut self, mut line: LogLine) {
        for field in [&mut line.node, &mut line.svc, &mut line.rid, &mut line.msg] {
            if let std::borrow::Cow::Owned(clean) = crate::text::clean_line(field) {
                *field = clean;
            }
        }
        if self.log.len() == LOG_CAPACITY {
            self.log.pop_front();
        }
        self.log.push_back(line);
    }

    /// The log lines that pass the filter (a resource or a text, any case). Runs at every frame
    /// of the log pane: it allocates nothing per line.
    pub fn visible_log(&self) -> Vec<&LogLine> {
        let f = self.log_filter.to_lowercase();
        self.log
            .iter()
            .filter(|l| f.is_empty() || contains_ci(&l.rid, &f) || contains_ci(&l.msg, &f))
            .collect()
    }

    fn entry(&mut self, name: &str) -> &mut SvcEntry {
        let pos = match self
            .services
            .binary_search_by(|s| s.name.as_str().cmp(name))
        {
            Ok(i) => i,
            Err(i) => {
                let selected = self.current().map(|s| s.name.clone());
                self.services.insert(
                    i,
                    SvcEntry {
                        name: name.to_string(),
                        ..Default::default()
                    },
                );
                if let Some(sel) = selected {
                    self.selected = self
                        .services
                        .iter()
                        .position(|s| s.name == sel)
                        .unwrap_or(0);
                }
                i
            }
        };
        &mut self.services[pos]
    }

    fn wanted(&self, svc: &str) -> bool {
        self.only.is_empty() || self.only.iter().any(|s| s == svc)
    }

    fn on_node(&mut self, ev: NodeEvent, now: Instant) -> Vec<Effect> {
        let mut effects = Vec::new();
        let node = match &ev {
            NodeEvent::Hello { node, .. }
            | NodeEvent::Status { node, .. }
            | NodeEvent::Heartbeat { node }
            | NodeEvent::ServiceError { node, .. }
            | NodeEvent::Down { node, .. } => node.clone(),
        };
        let health = self.nodes.entry(node.clone()).or_default();
        if let NodeEvent::Down { reason, .. } = &ev {
            health.error = Some(reason.clone());
            return effects;
        }
        health.error = None;
        health.last_heard = Some(now);
        match ev {
            NodeEvent::Hello { services, .. } => {
                let wanted: Vec<_> = services
                    .into_iter()
                    .filter(|s| self.wanted(&s.name))
                    .collect();
                for s in wanted {
                    for n in s.nodes.iter().chain(&s.drpnodes) {
                        if !self.nodes.contains_key(n) {
                            self.nodes.insert(n.clone(), NodeHealth::default());
                            effects.push(Effect::Watch(n.clone()));
                        }
                    }
                    let e = self.entry(&s.name);
                    e.nodes = s.nodes;
                    e.drpnodes = s.drpnodes;
                }
            }
            NodeEvent::Status { status, .. } if self.wanted(&status.service) => {
                let e = self.entry(&status.service);
                e.errors.remove(&node);
                e.status.insert(node, *status);
            }
            NodeEvent::ServiceError {
                service, message, ..
            } if self.wanted(&service) => {
                self.entry(&service).errors.insert(node, message);
            }
            _ => {}
        }
        effects
    }

    fn on_input(&mut self, input: Input) -> Vec<Effect> {
        match input {
            Input::Key(k) if k.kind != KeyEventKind::Release => self.on_key(k),
            Input::Mouse(m) => {
                match m.kind {
                    MouseEventKind::ScrollUp => self.log_scroll = self.log_scroll.saturating_add(3),
                    MouseEventKind::ScrollDown => {
                        self.log_scroll = self.log_scroll.saturating_sub(3)
                    }
                    _ => {}
                }
                Vec::new()
            }
            _ => Vec::new(),
        }
    }

    fn on_key(&mut self, k: KeyEvent) -> Vec<Effect> {
        match self.mode.clone() {
            Mode::Help => {
                self.mode = Mode::Normal;
                Vec::new()
            }
            Mode::Command(text) => match k.code {
                KeyCode::Esc => {
                    self.mode = Mode::Normal;
                    Vec::new()
                }
                KeyCode::Enter => {
                    self.mode = Mode::Normal;
                    self.run_command(&text)
                }
                KeyCode::Backspace => {
                    let mut t = text;
                    t.pop();
                    self.mode = Mode::Command(t);
                    Vec::new()
                }
                KeyCode::Char(c) => {
                    self.mode = Mode::Command(format!("{text}{c}"));
                    Vec::new()
                }
                _ => Vec::new(),
            },
            Mode::Filter(text) => {
                match k.code {
                    KeyCode::Esc => self.mode = Mode::Normal,
                    KeyCode::Enter => {
                        self.log_filter = text;
                        self.log_scroll = 0;
                        self.mode = Mode::Normal;
                    }
                    KeyCode::Backspace => {
                        let mut t = text;
                        t.pop();
                        self.mode = Mode::Filter(t);
                    }
                    KeyCode::Char(c) => self.mode = Mode::Filter(format!("{text}{c}")),
                    _ => {}
                }
                Vec::new()
            }
            Mode::Confirm(c) => self.on_confirm_key(c, k),
            Mode::Normal => match lookup(k) {
                Some(a) => self.apply(a),
                None => Vec::new(),
            },
        }
    }

    fn on_confirm_key(&mut self, mut c: Confirm, k: KeyEvent) -> Vec<Effect> {
        match (k.code, &mut c.typed) {
            (KeyCode::Esc, _) => {
                self.mode = Mode::Normal;
                self.message = Some((format!("{} cancelled", c.verb), false));
                return Self::answer_or_nothing(&c, false);
            }
            (KeyCode::Enter, Some(typed)) => {
                if *typed == c.svc {
                    self.mode = Mode::Normal;
                    if c.runbook.is_some() {
                        return vec![Effect::RunbookAnswer(true)];
                    }
                    return self.request(c.svc, c.node, c.verb);
                }
                c.error = Some(format!(
                    "type {} exactly to confirm, or esc to cancel",
                    c.svc
                ));
                typed.clear();
            }
            (KeyCode::Enter, None) => {
                self.mode = Mode::Normal;
                if c.on_run && c.runbook.is_some() {
                    return vec![Effect::RunbookAnswer(true)];
                }
                if c.on_run {
                    return self.request(c.svc, c.node, c.verb);
                }
                self.message = Some((format!("{} cancelled", c.verb), false));
                return Self::answer_or_nothing(&c, false);
            }
            (KeyCode::Backspace, Some(typed)) => {
                typed.pop();
            }
            (KeyCode::Char(ch), Some(typed)) => typed.push(ch),
            (KeyCode::Left | KeyCode::Right | KeyCode::Tab | KeyCode::BackTab, None) => {
                c.on_run = !c.on_run
            }
            _ => {}
        }
        self.mode = Mode::Confirm(c);
        Vec::new()
    }

    fn answer_or_nothing(c: &Confirm, yes: bool) -> Vec<Effect> {
        if c.runbook.is_some() {
            vec![Effect::RunbookAnswer(yes)]
        } else {
            Vec::new()
        }
    }

    fn request(&mut self, svc: String, node: String, verb: String) -> Vec<Effect> {
        self.message = Some((format!("{verb} of {svc} on {node}: running"), false));
        self.log_scroll = 0;
        vec![Effect::Run { svc, node, verb }]
    }

    fn apply(&mut self, a: UiAction) -> Vec<Effect> {
        match a {
            UiAction::Quit => self.quit = true,
            UiAction::Help => self.mode = Mode::Help,
            UiAction::Command => self.mode = Mode::Command(String::new()),
            UiAction::Filter => self.mode = Mode::Filter(self.log_filter.clone()),
            UiAction::FocusNext | UiAction::FocusPrev => {
                let order = [Focus::Services, Focus::Trees, Focus::Log];
                let i = order.iter().position(|f| *f == self.focus).unwrap_or(0);
                let step = if a == UiAction::FocusNext {
                    1
                } else {
                    order.len() - 1
                };
                self.focus = order[(i + step) % order.len()];
            }
            UiAction::Up if self.focus == Focus::Log => {
                self.log_scroll = self.log_scroll.saturating_add(1)
            }
            UiAction::Down if self.focus == Focus::Log => {
                self.log_scroll = self.log_scroll.saturating_sub(1)
            }
            UiAction::Up => self.selected = self.selected.saturating_sub(1),
            UiAction::Down => {
                if self.selected + 1 < self.services.len() {
                    self.selected += 1;
                }
            }
            UiAction::PageUp => self.log_scroll = self.log_scroll.saturating_add(10),
            UiAction::PageDown => self.log_scroll = self.log_scroll.saturating_sub(10),
            UiAction::Back => {
                self.log_filter.clear();
                self.message = None;
            }
        }
        Vec::new()
    }

    fn run_command(&mut self, text: &str) -> Vec<Effect> {
        let words: Vec<&str> = text.split_whitespace().collect();
        let Some((&cmd, args)) = words.split_first() else {
            return Vec::new();
        };
        match cmd {
            "q" | "quit" => self.quit = true,
            "help" => self.mode = Mode::Help,
            "theme" => match args.first().map(|n| Theme::load(n)) {
                Some(Ok(t)) => {
                    self.message = Some((format!("theme {}", t.name), false));
                    self.theme = t;
                }
                Some(Err(e)) => self.message = Some((format!("{e:#}"), true)),
                None => self.message = Some(("usage: theme NAME".into(), true)),
            },
            "filter" => {
                self.log_filter = args.join(" ");
                self.log_scroll = 0;
            }
            "save" => {
                let file = args.first().map(|s| s.to_string()).unwrap_or_else(|| {
                    format!(
                        "drpilot-log-{}.txt",
                        chrono::Local::now().format("%Y%m%d-%H%M%S")
                    )
                });
                return vec![Effect::SaveLog(file)];
            }
            "start" | "stop" | "syncupdate" | "syncfullsync" | "syncdrp" => {
                self.ask(cmd, args.first().copied())
            }
            "rehearse" | "disaster" | "failback" => return self.runbook(cmd),
            other => {
                self.message = Some((format!("unknown command '{other}' (? lists them)"), true))
            }
        }
        Vec::new()
    }

    fn runbook(&mut self, which: &str) -> Vec<Effect> {
        if self.read_only {
            self.message = Some(("read-only console: actions are disabled".into(), true));
            return Vec::new();
        }
        if self.runbook.as_ref().is_some_and(|r| r.finished.is_none()) {
            self.message = Some(("a runbook is already running in this console".into(), true));
            return Vec::new();
        }
        let Some(svc) = self.current().map(|s| s.name.clone()) else {
            self.message = Some(("no service selected".into(), true));
            return Vec::new();
        };
        let mode = match which {
            "rehearse" => "rehearsal",
            other => other,
        };
        vec![Effect::Runbook {
            mode: mode.to_string(),
            svc,
        }]
    }

    fn ask(&mut self, verb: &str, node: Option<&str>) {
        if self.read_only {
            self.message = Some(("read-only console: actions are disabled".into(), true));
            return;
        }
        let Some(svc) = self.current() else {
            self.message = Some(("no service selected".into(), true));
            return;
        };
        let default = match verb {
            "start" => svc.prod(),
            _ => svc.running_on().or(svc.prod()),
        };
        let Some(node) = node.or(default).map(str::to_string) else {
            self.message = Some((format!("{verb}: name the node"), true));
            return;
        };
        if !svc.nodes.contains(&node) && !svc.drpnodes.contains(&node) {
            self.message = Some((format!("{node} is not a node of {}", svc.name), true));
            return;
        }
        let typed = matches!(verb, "start" | "stop").then(String::new);
        self.mode = Mode::Confirm(Confirm {
            svc: svc.name.clone(),
            node,
            verb: verb.to_string(),
            typed,
            on_run: false,
            error: None,
            runbook: None,
        });
    }
}

/// Whether `hay` contains `needle` (already lowercase), ignoring case, without allocating for
/// ASCII needles.
fn contains_ci(hay: &str, needle: &str) -> bool {
    if !needle.is_ascii() {
        return hay.to_lowercase().contains(needle);
    }
    let n = needle.as_bytes();
    n.is_empty()
        || hay
            .as_bytes()
            .windows(n.len())
            .any(|w| w.eq_ignore_ascii_case(n))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::KeyModifiers;

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
        app.nodes.insert("deb1".into(), NodeHealth::default());
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
                verb: "stop".into()
            }]
        );
    }

    #[test]
    fn the_log_filter_ignores_case() {
        assert!(contains_ci("SYNC#1 sent 3 files", "sync#1"));
        assert!(contains_ci("Größe", "größe"));
        assert!(!contains_ci("fs#1", "fs#2"));
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
                verb: "syncupdate".into()
            }]
        );
    }

    #[test]
    fn read_only_consoles_never_ask_for_an_action() {
        let now = Instant::now();
        let mut app = lab_app(true);
        for cmd in ["start deb1", "stop deb1", "syncupdate", "syncdrp"] {
            assert!(command(&mut app, cmd, now).is_empty());
            assert_eq!(app.mode, Mode::Normal);
            typed(&mut app, "busybox", now);
            assert!(app.handle(key(KeyCode::Enter), now).is_empty());
        }
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
            vec![Effect::SaveLog("/tmp/x.log".into())]
        );
    }

    #[test]
    fn the_log_is_bounded() {
        let mut app = lab_app(false);
        for i in 0..LOG_CAPACITY + 10 {
            app.push_log(LogLine {
                time: String::new(),
                node: "n".into(),
                svc: "s".into(),
                rid: "r".into(),
                level: "INFO".into(),
                msg: i.to_string(),
            });
        }
        assert_eq!(app.log.len(), LOG_CAPACITY);
        assert_eq!(app.log.front().map(|l| l.msg.as_str()), Some("10"));
    }
}

//! Runs actions on nodes for an interactive console: `drpilot svc SVC VERB --format json` through
//! the node's session of the console's pool (the one its watch uses), each JSON log line
//! forwarded as an event, the end reported. Read-only and
//! wall consoles are built without one, so no key can reach a node.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Local};
use tokio::sync::mpsc::Sender;

use super::event::{Event, LogLine, RunbookEvent};
use crate::protocol::log::LogRecord;
use crate::protocol::verb::{Action, SvcFlags};
use crate::runbook::engine::Operator;
use crate::runbook::plan::{Mode, Step, StepState, WayOut};
use crate::transport::client;
use crate::transport::Pool;

/// The action runner of an interactive console.
pub struct Executor {
    pool: Arc<Pool>,
    tx: Sender<Event>,
    /// Where the operator's answers to the running runbook's questions go.
    answers: Mutex<Option<std::sync::mpsc::Sender<Answer>>>,
}

/// An operator's answer to the running runbook: a gate's yes or no, or the way out of a run
/// stopped after a destructive step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answer {
    Gate(bool),
    WayOut(WayOut),
}

/// The console as the runbook's operator: gates and ways out become dialogs, messages log
/// lines.
struct ConsoleOperator {
    tx: Sender<Event>,
    answers: std::sync::mpsc::Receiver<Answer>,
    svc: String,
    /// The step whose gate the operator refused: the run was aborted, not failed.
    refused: Option<Step>,
}

impl Operator for ConsoleOperator {
    fn confirm(&mut self, step: Step, node: &str, prompt: &str, typed: Option<&str>) -> bool {
        let gate = RunbookEvent::Gate {
            svc: self.svc.clone(),
            node: node.to_string(),
            step: step.name().to_string(),
            prompt: prompt.to_string(),
            typed: typed.is_some(),
        };
        if self.tx.blocking_send(Event::Runbook(gate)).is_err() {
            return false;
        }
        // No answer (the console went away) is a refusal: a gate never opens by default. A
        // stray way out (none was asked) is no answer to a gate.
        let yes = loop {
            match self.answers.recv() {
                Ok(Answer::Gate(yes)) => break yes,
                Ok(Answer::WayOut(_)) => continue,
                Err(_) => break false,
            }
        };
        if !yes {
            self.refused = Some(step);
        }
        yes
    }

    fn preflight_failed(&mut self, problems: &[crate::runbook::preflight::Problem]) {
        let ev = RunbookEvent::Preflight(problems.to_vec());
        let _ = self.tx.blocking_send(Event::Runbook(ev));
    }

    fn way_out(&mut self, step: Step, situation: &str, choices: &[WayOut]) -> WayOut {
        // The default (the first offered, never leave) is the answer of a console gone away.
        let default = choices
            .iter()
            .copied()
            .find(|c| *c != WayOut::Leave)
            .or_else(|| choices.first().copied())
            .unwrap_or(WayOut::Leave);
        let ask = RunbookEvent::WayOut {
            svc: self.svc.clone(),
            step: step.name().to_string(),
            situation: situation.to_string(),
            choices: choices.to_vec(),
        };
        if self.tx.blocking_send(Event::Runbook(ask)).is_err() {
            return default;
        }
        loop {
            match self.answers.recv() {
                // Only a way out that was offered is taken.
                Ok(Answer::WayOut(w)) if choices.contains(&w) => return w,
                Ok(_) => continue,
                Err(_) => return default,
            }
        }
    }

    fn say(&mut self, msg: &str) {
        let _ = self
            .tx
            .blocking_send(Event::Runbook(RunbookEvent::Say(msg.to_string())));
    }

    fn name(&self) -> String {
        format!("{} (console)", crate::action_log::local_user())
    }

    fn sync_progress(&mut self, rid: &str, p: &crate::protocol::log::SyncProgress) {
        let ev = RunbookEvent::SyncProgress {
            rid: rid.to_string(),
            progress: *p,
        };
        let _ = self.tx.blocking_send(Event::Runbook(ev));
    }

    fn progress(&mut self, step: Step, state: StepState) {
        let ev = RunbookEvent::Progress { step, state };
        let _ = self.tx.blocking_send(Event::Runbook(ev));
    }
}

/// The end of a run in one line: how it ended (a refused gate aborts, it does not fail), its
/// RTO and RPO, and where the report is.
fn summary(o: &crate::runbook::session::Outcome, refused: Option<Step>) -> String {
    let how = match (o.ok, refused) {
        (true, _) => "succeeded".to_string(),
        (false, Some(step)) => format!("aborted ({} refused)", step.name()),
        (false, None) => "FAILED".to_string(),
    };
    let rto = o
        .rto_s
        .map(|s| format!("{s:.1} s"))
        .unwrap_or_else(|| "not measured".into());
    let rpo = o
        .rpo_s
        .map(|s| format!("{s} s"))
        .unwrap_or_else(|| "not measured".into());
    let left = o
        .left
        .as_deref()
        .map(|l| format!("; left: {l}"))
        .unwrap_or_default();
    format!(
        "run {} {how}: report {}; RTO {rto}, RPO {rpo}{left}",
        o.run,
        o.report.display()
    )
}

fn log_line(node: &str, svc: &str, line: &str) -> LogLine {
    match LogRecord::parse(line) {
        Some(j) => LogLine {
            time: DateTime::parse_from_rfc3339(&j.ts)
                .map(|t| t.with_timezone(&Local).format("%H:%M:%S").to_string())
                .unwrap_or(j.ts),
            node: node.to_string(),
            svc: j.svc,
            rid: j.rid,
            level: j.level.word().to_string(),
            msg: j.msg,
        },
        None => LogLine {
            time: Local::now().format("%H:%M:%S").to_string(),
            node: node.to_string(),
            svc: svc.to_string(),
            rid: String::new(),
            level: "INFO".to_string(),
            msg: line.to_string(),
        },
    }
}

impl Executor {
    /// An executor reaching nodes through the sessions of `pool`.
    pub fn new(pool: Arc<Pool>, tx: Sender<Event>) -> Self {
        Self {
            pool,
            tx,
            answers: Mutex::new(None),
        }
    }

    /// Starts (or resumes) a runbook on its own thread: the engine blocks on the pool's
    /// blocking facade and on the operator's answers, never on the UI.
    pub fn runbook(&self, mode: &str, svc: String) {
        let takeover = mode == "takeover";
        let keep = mode == "test-keep";
        let mode = match mode {
            "disaster" => Mode::Disaster,
            "failback" => Mode::Failback,
            "test" | "test-keep" => Mode::Test,
            _ => Mode::Rehearsal,
        };
        let (answer_tx, answers) = std::sync::mpsc::channel();
        if let Ok(mut slot) = self.answers.lock() {
            *slot = Some(answer_tx);
        }
        let (pool, tx) = (self.pool.clone(), self.tx.clone());
        std::thread::spawn(move || {
            // A takeover resumes the run the nodes hold a lease of, in its own mode.
            let (mode, run) = match takeover {
                false => (mode, None),
                true => match crate::runbook::session::holder_of(&pool, &svc).first() {
                    Some((_, v)) => (v.lease.mode, Some(v.lease.run.clone())),
                    None => {
                        let done = RunbookEvent::Done {
                            ok: false,
                            summary: format!("takeover: no node holds a run of {svc} any more"),
                        };
                        let _ = tx.blocking_send(Event::Runbook(done));
                        return;
                    }
                },
            };
            let steps = crate::runbook::plan::steps(mode)
                .iter()
                .map(|(s, _)| *s)
                .collect();
            let started = RunbookEvent::Started {
                svc: svc.clone(),
                mode: mode.banner().to_string(),
                steps,
            };
            let _ = tx.blocking_send(Event::Runbook(started));
            let mut op = ConsoleOperator {
                tx: tx.clone(),
                answers,
                svc: svc.clone(),
                refused: None,
            };
            let outcome = match &run {
                Some(run) => crate::runbook::session::takeover(run, &pool, &mut op),
                None if mode == Mode::Test => {
                    crate::runbook::session::run_test(&svc, &pool, &mut op, keep)
                }
                None => crate::runbook::session::run(mode, &svc, &pool, &mut op),
            };
            let done = match outcome {
                Ok(o) => RunbookEvent::Done {
                    ok: o.ok,
                    summary: summary(&o, op.refused),
                },
                Err(e) => RunbookEvent::Done {
                    ok: false,
                    summary: format!("runbook: {e:#}"),
                },
            };
            let _ = tx.blocking_send(Event::Runbook(done));
        });
    }

    /// Passes the operator's answer to the waiting gate.
    pub fn answer(&self, yes: bool) {
        self.send(Answer::Gate(yes));
    }

    /// Passes the operator's way out to the run waiting for it.
    pub fn way_out(&self, w: WayOut) {
        self.send(Answer::WayOut(w));
    }

    fn send(&self, a: Answer) {
        if let Ok(slot) = self.answers.lock() {
            if let Some(tx) = slot.as_ref() {
                let _ = tx.send(a);
            }
        }
    }

    /// Starts `verb` of `svc` on `node` in the background.
    pub fn run(&self, svc: String, node: String, verb: String, peers: Vec<String>) {
        let (pool, tx) = (self.pool.clone(), self.tx.clone());
        tokio::spawn(async move {
            let action = Action::parse(&[verb.as_str()]);
            // The console's syncs are the operator's explicit request: outside sync_period too.
            let is_sync = matches!(
                action,
                Some(Action::SyncFull | Action::SyncUpdate | Action::SyncDrp | Action::SyncNodes)
            );
            let mut flags = SvcFlags {
                json: true,
                force: is_sync,
                ..SvcFlags::default()
            };
            let result = async {
                let action = action.ok_or_else(|| color_eyre::eyre::eyre!("no verb '{verb}'"))?;
                // A node whose agent has no split-brain guard (OpenSVC): the seat asks the
                // other nodes first, and only a clear answer from each lets the start go.
                let flavor = pool.map().options_of(&node).flavor();
                if matches!(action, Action::Start(_)) && flavor != crate::transport::Flavor::Drpilot
                {
                    let (p, s, others) = (pool.clone(), svc.clone(), peers.clone());
                    let verdict = tokio::task::spawn_blocking(move || {
                        crate::agent::peer_answer::seat_guard(&s, &others, &[], &|n| {
                            crate::agent::peer_answer::PeerAnswer::ask(&p, n, &s)
                        })
                    })
                    .await
                    .map_err(|e| color_eyre::eyre::eyre!("the guard's task failed: {e}"))?;
                    match verdict {
                        Ok(lines) => {
                            for l in lines {
                                let line = format!("split-brain guard (asked from this seat): {l}");
                                let _ = tx
                                    .send(Event::ActionLog(log_line(&node, &svc, &line)))
                                    .await;
                            }
                            flags.force = true;
                        }
                        Err(why) => color_eyre::eyre::bail!("{why}"),
                    }
                }
                let args = client::svc(&svc, &action, &flags);
                let link = pool.link(&node).await?;
                let run = async {
                    let mut stream = link.spawn_lines(&args).await?;
                    while let Some(line) = stream.next_line().await? {
                        // A transfer's progress is a bar, not a log line.
                        let ev = match LogRecord::parse(&line) {
                            Some(LogRecord {
                                progress: Some(progress),
                                rid,
                                ..
                            }) => Event::ActionProgress {
                                node: node.clone(),
                                rid,
                                progress,
                            },
                            _ => Event::ActionLog(log_line(&node, &svc, &line)),
                        };
                        let _ = tx.send(ev).await;
                    }
                    stream.finish().await
                };
                let out = run.await;
                // A session that failed under the action is not reused: the next one connects
                // afresh.
                if out.is_err() {
                    pool.forget(&node, &link);
                }
                out
            }
            .await;
            let (ok, reason) = match result {
                Ok(out) if out.success => (true, String::new()),
                Ok(out) => (false, out.failure_reason()),
                Err(e) => (false, format!("{e:#}")),
            };
            if !ok {
                let line = LogLine {
                    time: Local::now().format("%H:%M:%S").to_string(),
                    node: node.clone(),
                    svc: svc.clone(),
                    rid: String::new(),
                    level: "ERROR".to_string(),
                    msg: format!("{verb} failed: {reason}"),
                };
                let _ = tx.send(Event::ActionLog(line)).await;
            }
            let _ = tx
                .send(Event::ActionDone {
                    node,
                    svc,
                    verb,
                    ok,
                    reason,
                })
                .await;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::console::app::{App, Effect};
    use crate::console::theme::Theme;
    use crossterm::event::{Event as Input, KeyCode, KeyEvent, KeyModifiers};
    use std::time::Instant;

    /// A console operator as a run thread holds it, and the ends the console keeps.
    fn operator() -> (
        ConsoleOperator,
        tokio::sync::mpsc::Receiver<Event>,
        std::sync::mpsc::Sender<Answer>,
    ) {
        let (tx, rx) = tokio::sync::mpsc::channel(16);
        let (answer_tx, answers) = std::sync::mpsc::channel();
        let op = ConsoleOperator {
            tx,
            answers,
            svc: "busybox".into(),
            refused: None,
        };
        (op, rx, answer_tx)
    }

    const ALL: [WayOut; 3] = [WayOut::Retry, WayOut::Rollback, WayOut::Leave];

    #[test]
    fn the_way_out_chosen_in_the_dialog_goes_back_to_the_waiting_run() {
        let (mut op, mut rx, answer) = operator();
        let run = std::thread::spawn(move || {
            op.way_out(Step::StopProd, "busybox is stopped on deb1", &ALL)
        });
        let asked = rx.blocking_recv().unwrap();
        assert!(
            matches!(&asked, Event::Runbook(RunbookEvent::WayOut { step, choices, .. })
                if step == "stop_production" && choices == &ALL.to_vec()),
            "{asked:?}"
        );
        let mut app = App::new(Theme::load("default").unwrap(), false, false, vec![]);
        let now = Instant::now();
        app.handle(asked, now);
        let key = KeyEvent::new(KeyCode::Char('l'), KeyModifiers::NONE);
        let effects = app.handle(Event::Input(Input::Key(key)), now);
        assert_eq!(effects, vec![Effect::RunbookWayOut(WayOut::Leave)]);
        // A stray gate answer is no way out; the dialog's answer is.
        answer.send(Answer::Gate(true)).unwrap();
        answer.send(Answer::WayOut(WayOut::Leave)).unwrap();
        assert_eq!(run.join().unwrap(), WayOut::Leave);
    }

    #[test]
    fn a_console_gone_away_answers_the_default_way_out_never_leave() {
        let (mut op, rx, answer) = operator();
        drop(answer);
        drop(rx);
        assert_eq!(op.way_out(Step::StopProd, "x", &ALL), WayOut::Retry);
        let (mut op, mut rx, answer) = operator();
        let run = std::thread::spawn(move || {
            op.way_out(Step::StartDrp, "x", &[WayOut::Rollback, WayOut::Leave])
        });
        assert!(rx.blocking_recv().is_some());
        drop(answer);
        assert_eq!(run.join().unwrap(), WayOut::Rollback);
    }

    #[test]
    fn the_console_operator_is_named_after_the_local_user() {
        let (op, _rx, _answer) = operator();
        assert_eq!(
            op.name(),
            format!("{} (console)", crate::action_log::local_user())
        );
    }
}

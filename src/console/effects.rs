//! What the app task asks of the world outside its state. [`crate::console::app::App`] never
//! does IO: applying an event or an action returns [`Effect`]s; the app task hands node work to
//! the watch tasks and the executor, and file work ([`FileIo`]: reading a theme file, writing
//! `:save`) to the blocking pool, whose result comes back as an [`Event::File`].

use tokio::sync::mpsc::Sender;

use super::event::{Event, FileDone};
use super::theme::Theme;

/// Work the app task must get done outside the state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Start watching a node named by a service.
    Watch(String),
    /// Run a verb on a node (only reachable when the console has an executor).
    Run {
        /// The service acted on.
        svc: String,
        /// Node to act on.
        node: String,
        /// Verb confirmed at the gate.
        verb: String,
        /// The service's other nodes, as the console knows them from the nodes' hellos: a
        /// node whose agent has no split-brain guard is guarded by asking them from the seat.
        peers: Vec<String>,
    },
    /// Start (or resume) a runbook of a service: `rehearsal`, `disaster`, `failback`.
    Runbook {
        /// Which runbook.
        mode: String,
        /// The service acted on.
        svc: String,
    },
    /// The operator's answer to the runbook's gate.
    RunbookAnswer(bool),
    /// The operator's way out of the run stopped after a destructive step.
    RunbookWayOut(crate::runbook::plan::WayOut),
    /// File work, done off the app task.
    File(FileIo),
}

/// File work asked by the operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileIo {
    /// Write the log text (taken from the state when asked) to a file.
    SaveLog {
        /// Where, as the operator typed it.
        file: String,
        /// The visible log, one line each.
        text: String,
    },
    /// Read a theme file and lay it over the default theme.
    LoadTheme(String),
}

impl FileIo {
    /// Does the IO; blocking.
    fn perform(self) -> FileDone {
        match self {
            FileIo::SaveLog { file, text } => {
                // The operator is told the full path: a relative name says nothing of where
                // the console was started.
                let file = std::path::absolute(&file)
                    .map(|p| p.to_string_lossy().into_owned())
                    .unwrap_or(file);
                let error =
                    crate::paths::write_atomic(std::path::Path::new(&file), text.as_bytes())
                        .err()
                        .map(|e| e.to_string());
                FileDone::Saved { file, error }
            }
            FileIo::LoadTheme(path) => {
                FileDone::Theme(Theme::load(&path).map_err(|e| format!("{e:#}")))
            }
        }
    }

    /// Does the IO on the blocking pool and sends the result to the app task.
    pub fn spawn(self, tx: Sender<Event>) {
        tokio::task::spawn_blocking(move || {
            let _ = tx.blocking_send(Event::File(self.perform()));
        });
    }
}

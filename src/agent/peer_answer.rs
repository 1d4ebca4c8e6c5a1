//! What a peer answered when asked for a service's status: the one classification that the
//! split-brain guard, the DRP node's sync refusals and the runbook's preflights decide on
//! (docs/safety.md). Fail closed: only a status document for this service on that node, or the
//! node's plain word that it has no config for the service, says whether the service runs
//! there; an error, garbage or silence never reads as "it is down".

use std::fmt;
use std::time::Duration;

use crate::status::ServiceStatus;
use crate::transport::{CallOutput, Pool, Transport};

/// The exit code of `drpilot svc SVC print status` on a node where SVC has no config: the node's
/// positive answer that it cannot run the service (any other failure exits 1).
pub const EXIT_NOT_CONFIGURED: u8 = 3;

/// A peer's answer to "what is the status of this service on you?".
#[derive(Debug, Clone)]
pub enum PeerAnswer {
    /// The service's status on that node.
    Status(Box<ServiceStatus>),
    /// The node has no config for the service, so drpilot cannot run it there.
    NotConfigured,
    /// drpilot ran on the node and failed (a broken config, say): its reason.
    Error(String),
    /// The node answered something that is not this service's status on that node.
    Garbage(String),
    /// The node was reached but said nothing within the limit.
    NoAnswer(Duration),
    /// The node could not be reached at all.
    Unreachable(String),
}

impl PeerAnswer {
    /// Asks `node` for the status of `svc` through its session of `pool`, at most the map's
    /// `[timeouts] status`. A node found unreachable loses its session, so that a node that
    /// comes back is reached anew.
    pub fn ask(pool: &Pool, node: &str, svc: &str) -> Self {
        let timeout = pool.map().status_timeout();
        let asked = pool.with(node, |t| match Self::ask_through(t, svc, timeout) {
            PeerAnswer::Unreachable(why) => Err(color_eyre::eyre::eyre!("{why}")),
            other => Ok(other),
        });
        asked.unwrap_or_else(|e| PeerAnswer::Unreachable(format!("{e:#}")))
    }

    /// Asks through an open transport.
    pub fn ask_through(t: &dyn Transport, svc: &str, timeout: Duration) -> Self {
        let flags = crate::protocol::verb::SvcFlags {
            json: true,
            ..Default::default()
        };
        let args =
            crate::transport::client::svc(svc, &crate::protocol::verb::Action::PrintStatus, &flags);
        match t.call(&args, None, Some(timeout)) {
            Ok(out) => Self::from_output(t.node(), svc, &out, timeout),
            Err(e) => PeerAnswer::Unreachable(format!("{e:#}")),
        }
    }

    /// Classifies what `drpilot svc SVC print status --format json` left on `node`.
    pub fn from_output(node: &str, svc: &str, out: &CallOutput, timeout: Duration) -> Self {
        if out.timed_out {
            return PeerAnswer::NoAnswer(timeout);
        }
        if !out.success {
            if out.code == Some(i32::from(EXIT_NOT_CONFIGURED)) {
                return PeerAnswer::NotConfigured;
            }
            return PeerAnswer::Error(crate::text::clean_line(&out.failure_reason()).into_owned());
        }
        // One reader, one schema rule (`status::parse_json`): a schema it does not know is garbage.
        let st: ServiceStatus = match crate::status::parse_json(&out.stdout_text()) {
            Ok(st) => st,
            Err(e) => {
                let first = out.stdout_text();
                let first = first.lines().next().unwrap_or("").chars().take(80);
                return PeerAnswer::Garbage(format!(
                    "not a status document ({e}): '{}'",
                    crate::text::clean_line(&first.collect::<String>())
                ));
            }
        };
        if st.service != svc || st.node != node {
            return PeerAnswer::Garbage(format!(
                "the status of {} on {}, not of {svc} on {node}",
                crate::text::clean_line(&st.service),
                crate::text::clean_line(&st.node),
            ));
        }
        PeerAnswer::Status(Box::new(st))
    }

    /// Whether the service runs on the node: `Some(true)` when its status is up or warn,
    /// `Some(false)` when the node positively said that it does not (down, standby, n/a, or no
    /// config), `None` when the answer tells nothing.
    pub fn runs(&self) -> Option<bool> {
        match self {
            PeerAnswer::Status(st) => Some(st.avail.is_active()),
            PeerAnswer::NotConfigured => Some(false),
            _ => None,
        }
    }

    /// Whether the node could not be reached at all (the only answer a disaster is declared on).
    pub fn is_unreachable(&self) -> bool {
        matches!(self, PeerAnswer::Unreachable(_))
    }

    /// The status, or an error that says what the node answered instead.
    pub fn into_status(self, node: &str) -> color_eyre::eyre::Result<ServiceStatus> {
        match self {
            PeerAnswer::Status(st) => Ok(*st),
            other => Err(color_eyre::eyre::eyre!("{node} {other}")),
        }
    }
}

/// Completes "NODE …": what the node answered, for logs and refusals.
impl fmt::Display for PeerAnswer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PeerAnswer::Status(st) => write!(f, "answered {}", st.avail),
            PeerAnswer::NotConfigured => {
                write!(f, "answered that it has no config for the service")
            }
            PeerAnswer::Error(why) => write!(f, "answered an error: {why}"),
            PeerAnswer::Garbage(why) => write!(f, "answered garbage: {why}"),
            PeerAnswer::NoAnswer(t) => write!(f, "did not answer within {}s", t.as_secs()),
            PeerAnswer::Unreachable(why) => write!(f, "is unreachable: {why}"),
        }
    }
}

/// The split-brain guard run from a seat (the console, a runbook), for a node whose agent has
/// none of drpilot's (an OpenSVC node): each of `others` is asked through `ask`; the lines to
/// log when all are clear (or declared lost and unreachable), else why the start is refused.
pub fn seat_guard(
    svc: &str,
    others: &[String],
    declared_lost: &[String],
    ask: &dyn Fn(&str) -> PeerAnswer,
) -> Result<Vec<String>, String> {
    let mut clear = Vec::new();
    let mut blockers = Vec::new();
    for node in others {
        match guard_line(svc, node, &ask(node), declared_lost) {
            GuardLine::Clear(l) | GuardLine::Lost(l) => clear.push(l),
            GuardLine::Blocks(b) => blockers.push(b),
        }
    }
    if blockers.is_empty() {
        Ok(clear)
    } else {
        Err(blockers.join("; "))
    }
}

/// What one peer's answer means for a start (the split-brain guard, docs/safety.md).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GuardLine {
    /// It positively does not run the service there: the line says so.
    Clear(String),
    /// Declared lost and unreachable: the start may go on, the line warns.
    Lost(String),
    /// It blocks the start: why, and the way out.
    Blocks(String),
}

/// The guard's verdict on `node`'s answer about `svc` (one wording for the agent's guard and a
/// seat's, for nodes whose agent has none).
pub fn guard_line(
    svc: &str,
    node: &str,
    answer: &PeerAnswer,
    declared_lost: &[String],
) -> GuardLine {
    match answer.runs() {
        Some(false) => GuardLine::Clear(format!("{node} {answer}: {svc} does not run there")),
        Some(true) => {
            let avail = match answer {
                PeerAnswer::Status(st) => st.avail.to_string(),
                other => other.to_string(),
            };
            GuardLine::Blocks(format!(
                "{svc} is {avail} on {node}: refusing to start it here too (split brain); stop it on {node} first"
            ))
        }
        None if answer.is_unreachable() && declared_lost.iter().any(|n| n == node) => {
            GuardLine::Lost(format!("{node} {answer}: it was declared lost, going on"))
        }
        None => GuardLine::Blocks(format!(
            "cannot tell whether {svc} runs on {node}: it {answer}; refusing to start \
             (repair {node}, or use --force if {svc} surely does not run there)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::{aggregate, Status};

    fn output(code: i32, stdout: &str, stderr: &str) -> CallOutput {
        CallOutput {
            success: code == 0,
            code: Some(code),
            stdout: stdout.as_bytes().to_vec(),
            stderr: stderr.to_string(),
            timed_out: false,
        }
    }

    fn status_json(svc: &str, node: &str) -> String {
        let st = aggregate(
            svc,
            node,
            "2026-12-01T00:00:00Z".into(),
            Vec::new(),
            Vec::new(),
        );
        serde_json::to_string(&st).unwrap()
    }

    const T: Duration = Duration::from_secs(7);

    #[test]
    fn only_a_status_of_this_service_on_that_node_counts_as_an_answer() {
        let a = PeerAnswer::from_output(
            "deb1",
            "svc",
            &output(0, &status_json("svc", "deb1"), ""),
            T,
        );
        assert_eq!(a.runs(), Some(false), "{a}");
        assert!(matches!(&a, PeerAnswer::Status(st) if st.avail == Status::NotApplicable));
        for (stdout, what) in [
            (status_json("other", "deb1"), "another service"),
            (status_json("svc", "deb9"), "another node"),
            ("garbage line\n".to_string(), "garbage"),
            (String::new(), "nothing"),
        ] {
            let a = PeerAnswer::from_output("deb1", "svc", &output(0, &stdout, ""), T);
            assert!(matches!(a, PeerAnswer::Garbage(_)), "{what}: {a}");
            assert_eq!(a.runs(), None, "{what}");
        }
    }

    #[test]
    fn errors_and_silence_tell_nothing_but_no_config_is_a_no() {
        let err = PeerAnswer::from_output("deb1", "svc", &output(1, "", "error: bad line\n"), T);
        assert_eq!(err.runs(), None);
        assert_eq!(err.to_string(), "answered an error: error: bad line");
        let none = PeerAnswer::from_output(
            "deb1",
            "svc",
            &output(EXIT_NOT_CONFIGURED.into(), "", "not configured"),
            T,
        );
        assert_eq!(none.runs(), Some(false));
        let mut hung = output(0, "", "");
        hung.timed_out = true;
        let hung = PeerAnswer::from_output("deb1", "svc", &hung, T);
        assert_eq!(hung.runs(), None);
        assert_eq!(hung.to_string(), "did not answer within 7s");
        assert!(!hung.is_unreachable());
    }

    #[test]
    fn control_characters_of_a_peer_never_reach_the_message() {
        let a = PeerAnswer::from_output("deb1", "svc", &output(1, "", "\x1b]0;pwned\x07boom"), T);
        assert!(!a.to_string().contains('\x1b'), "{a}");
    }
}

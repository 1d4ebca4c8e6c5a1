//! The DRP runbook: rehearsal, disaster and failback as journaled state machines, with gates,
//! resume after a crash, and reports with measured RTO and RPO.

pub mod bubble;
pub mod engine;
pub mod journal;
pub mod nodes;
pub mod on_nodes;
pub mod plan;
pub mod preflight;
pub mod report;
pub mod seat;
pub mod session;
pub mod signing;

/// Test hook: `DRPILOT_CRASH_AFTER=<step>` makes the process SIGKILL itself right after that
/// step is journaled done, so tests can prove a crashed run resumes correctly.
pub fn crash_point(step: plan::Step) {
    if std::env::var("DRPILOT_CRASH_AFTER").is_ok_and(|s| s == step.name()) {
        let _ =
            rustix::process::kill_process(rustix::process::getpid(), rustix::process::Signal::KILL);
    }
}

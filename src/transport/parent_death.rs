//! Commands that end with the drpilot waiting for them. A runbook seat (a `drpilot drp` run, the
//! console) killed in the middle of a step must not leave that step's node command running: it
//! would hold the service lock, and the resumed run would be refused. The kernel ends such a
//! child when its parent dies (`PR_SET_PDEATHSIG`), and each drpilot child arms its own children
//! the same way, so the whole tree ends, level by level.
//!
//! The signal is SIGKILL, like every other "give up on a child" path here (the transports'
//! deadlines, `timeout -s KILL` on ssh nodes): nobody reads the child's result any more, SIGKILL
//! cannot be caught or ignored, so the lock is surely released, and a cut transfer is safe by
//! design (the receivers stage the new copy beside the previous replica and swap it in only when
//! it is complete). SIGTERM would let a child that catches it linger with the lock.
//!
//! Not for the service's workload (the app driver, the private dockerd): those outlive the action
//! on purpose and are spawned without this.

use std::os::unix::process::CommandExt;
use std::process::Command;

use rustix::process::{getpid, getppid, set_parent_process_death_signal, Signal};

/// Arms `cmd` so that its process gets SIGKILL when the thread spawning it exits (or the whole
/// process dies), and puts it in a process group of its own so that a deadline can kill it with
/// everything it started ([`kill_tree`]).
///
/// The kernel ties the signal to the spawning THREAD: spawn from the thread that waits for the
/// child, never from a helper thread that ends before it.
pub fn end_with_parent(cmd: &mut Command) {
    let parent = getpid();
    cmd.process_group(0);
    // SAFETY: the closure runs between fork and exec and only makes two system calls (prctl and
    // getppid) and builds an io::Error from a raw errno: no allocation, no lock.
    unsafe {
        cmd.pre_exec(move || {
            set_parent_process_death_signal(Some(Signal::KILL))?;
            // The parent died between fork and prctl: the signal was missed, so end now.
            if getppid() != Some(parent) {
                return Err(rustix::io::Errno::SRCH.into());
            }
            Ok(())
        });
    }
}

/// Kills the child `pid` armed by [`end_with_parent`] and every process of its group (a shell's
/// background jobs, a tool's helpers), so none keeps its pipes or the service lock.
pub fn kill_tree(pid: u32) {
    let Some(p) = rustix::process::Pid::from_raw(pid as i32) else {
        return;
    };
    // The group id is the child's pid (process_group(0)); the child itself is killed first in
    // case its group is gone already.
    let _ = rustix::process::kill_process(p, Signal::KILL);
    let _ = rustix::process::kill_process_group(p, Signal::KILL);
}

//! What wakes an OpenSVC node's watch loop before its next poll: an action run through the same
//! link (the console's action or runbook, sharing the seat's session) changed the node, so the
//! poll reads it now; or a line of the agent's own event stream (v3's daemon) pushed a status.
//! The trees then show a change within a status call instead of up to a poll period later.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

/// How many wakeups wait at most; past that the oldest events go (the next poll reads the truth).
const KEPT: usize = 256;

/// Why the loop woke.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Wakeup {
    /// Something changed on the node: read it again.
    Changed,
    /// A line of the agent's event stream.
    Event(String),
}

/// The wakeups of one node's watch, shared by every clone of its link.
#[derive(Clone, Default)]
pub struct Wake(Arc<(Mutex<VecDeque<Wakeup>>, Condvar)>);

impl Wake {
    /// Something changed on the node.
    pub fn poke(&self) {
        self.push(Wakeup::Changed);
    }

    /// The agent's event stream said `line`.
    pub fn event(&self, line: String) {
        self.push(Wakeup::Event(line));
    }

    fn push(&self, w: Wakeup) {
        let (queue, cv) = &*self.0;
        let mut q = queue.lock().unwrap_or_else(|e| e.into_inner());
        if q.len() >= KEPT {
            if let Some(at) = q.iter().position(|x| matches!(x, Wakeup::Event(_))) {
                q.remove(at);
            }
        }
        if !(w == Wakeup::Changed && q.contains(&Wakeup::Changed)) {
            q.push_back(w);
        }
        cv.notify_all();
    }

    /// Waits at most `limit` for a wakeup; every one that came, in order (taken).
    pub fn wait(&self, limit: Duration) -> Vec<Wakeup> {
        let (queue, cv) = &*self.0;
        let q = queue.lock().unwrap_or_else(|e| e.into_inner());
        let (mut q, _) = cv
            .wait_timeout_while(q, limit, |q| q.is_empty())
            .unwrap_or_else(|e| e.into_inner());
        q.drain(..).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wakeups_wake_the_wait_in_order_and_are_taken() {
        let wake = Wake::default();
        assert!(wake.wait(Duration::from_millis(10)).is_empty());
        let other = wake.clone();
        let t = std::thread::spawn(move || {
            other.event("one".into());
            other.poke();
            other.poke();
        });
        t.join().unwrap();
        assert_eq!(
            wake.wait(Duration::from_secs(30)),
            [Wakeup::Event("one".into()), Wakeup::Changed]
        );
        assert!(wake.wait(Duration::from_millis(10)).is_empty(), "taken");
    }
}

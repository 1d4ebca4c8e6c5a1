//! How much of this process's time went into the external commands it waited for. The failover
//! benchmark reads it (`DRPILOT_TIMINGS=1`) to tell the agent's own overhead from the time the
//! underlying commands (ip, mount, dockerd, ssh) took.

//! Commands of lanes that ran side by side overlap: the part that ran beside a longer lane is
//! counted in [`overlapped`], so the floor (command time that could not overlap) is the total
//! minus it.

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

static NANOS: AtomicU64 = AtomicU64::new(0);
static COUNT: AtomicU64 = AtomicU64::new(0);
static OVERLAP: AtomicU64 = AtomicU64::new(0);

thread_local! {
    static THIS_THREAD: Cell<u64> = const { Cell::new(0) };
}

/// Adds one finished command's wall time.
pub fn account(elapsed: Duration) {
    let nanos = elapsed.as_nanos() as u64;
    NANOS.fetch_add(nanos, Ordering::Relaxed);
    COUNT.fetch_add(1, Ordering::Relaxed);
    THIS_THREAD.with(|t| t.set(t.get() + nanos));
}

/// Command time waited for by this thread so far (a lane measures its own).
pub fn this_thread() -> Duration {
    Duration::from_nanos(THIS_THREAD.with(Cell::get))
}

/// Records command time that ran beside a longer lane (it is not part of the floor).
pub fn overlapped(d: Duration) {
    OVERLAP.fetch_add(d.as_nanos() as u64, Ordering::Relaxed);
}

/// Accounts commands that ran side by side in threads of this one (each thread's own
/// [`this_thread`] time): the longest counts on this thread's path, the rest overlapped.
pub fn joined(lanes: &[Duration]) {
    let longest = lanes.iter().max().copied().unwrap_or_default();
    let sum: Duration = lanes.iter().sum();
    THIS_THREAD.with(|t| t.set(t.get() + longest.as_nanos() as u64));
    overlapped(sum.saturating_sub(longest));
}

/// The command time that ran beside longer lanes so far.
pub fn overlap() -> Duration {
    Duration::from_nanos(OVERLAP.load(Ordering::Relaxed))
}

/// Commands waited for so far, and their summed wall time.
pub fn total() -> (u64, Duration) {
    (
        COUNT.load(Ordering::Relaxed),
        Duration::from_nanos(NANOS.load(Ordering::Relaxed)),
    )
}

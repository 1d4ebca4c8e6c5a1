//! How much of this process's time went into the external commands it waited for. The failover
//! benchmark reads it (`DRPILOT_TIMINGS=1`) to tell the agent's own overhead from the time the
//! underlying commands (ip, mount, dockerd, ssh) took.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

static NANOS: AtomicU64 = AtomicU64::new(0);
static COUNT: AtomicU64 = AtomicU64::new(0);

/// Adds one finished command's wall time.
pub fn account(elapsed: Duration) {
    NANOS.fetch_add(elapsed.as_nanos() as u64, Ordering::Relaxed);
    COUNT.fetch_add(1, Ordering::Relaxed);
}

/// Commands waited for so far, and their summed wall time.
pub fn total() -> (u64, Duration) {
    (
        COUNT.load(Ordering::Relaxed),
        Duration::from_nanos(NANOS.load(Ordering::Relaxed)),
    )
}

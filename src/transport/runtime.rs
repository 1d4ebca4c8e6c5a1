//! The one tokio runtime of the transports. SSH sessions are async (the openssh crate); the
//! console runs on this runtime, and synchronous callers (the agent's peer calls, the runbook,
//! the drivers' syncs) reach the same sessions through [`block_on`]. Started on first use, so a
//! command that only reaches `local:` nodes never starts its threads.

use std::future::Future;
use std::sync::OnceLock;

use color_eyre::eyre::{eyre, Result};
use tokio::runtime::Runtime;

/// Worker threads: the console's tasks and the ssh channels are IO-bound.
const WORKERS: usize = 2;

static RUNTIME: OnceLock<std::result::Result<Runtime, String>> = OnceLock::new();

/// The shared runtime, started on first use.
pub fn runtime() -> Result<&'static Runtime> {
    let rt = RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(WORKERS)
            .thread_name("drpilot-transport")
            .enable_all()
            .build()
            .map_err(|e| e.to_string())
    });
    rt.as_ref()
        .map_err(|e| eyre!("starting the transport runtime: {e}"))
}

/// Runs `fut` to its end on the shared runtime, for synchronous callers. The future runs on the
/// calling thread (so a child it spawns is tied to the thread that waits for it). Called from a
/// thread already inside a runtime (where blocking would panic or stall that runtime), it runs
/// on a helper thread instead.
pub fn block_on<F>(fut: F) -> Result<F::Output>
where
    F: Future + Send,
    F::Output: Send,
{
    let rt = runtime()?;
    if tokio::runtime::Handle::try_current().is_err() {
        return Ok(rt.block_on(fut));
    }
    std::thread::scope(|scope| {
        scope
            .spawn(|| rt.block_on(fut))
            .join()
            .map_err(|_| eyre!("the transport's helper thread failed"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_from_plain_threads_and_from_inside_a_runtime() {
        assert_eq!(block_on(async { 1 + 1 }).unwrap(), 2);
        let inner = runtime()
            .unwrap()
            .block_on(async { block_on(async { 3 }).unwrap() });
        assert_eq!(inner, 3);
        let threads: Vec<_> = (0..4)
            .map(|i| std::thread::spawn(move || block_on(async move { i * 2 }).unwrap()))
            .collect();
        let got: Vec<i32> = threads.into_iter().map(|t| t.join().unwrap()).collect();
        assert_eq!(got, [0, 2, 4, 6]);
    }
}

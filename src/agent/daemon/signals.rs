//! SIGTERM and SIGINT set the daemon's stop flag (a thread of its own waits for them).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};

use color_eyre::eyre::{eyre, Result, WrapErr};

/// Installs the handlers; returns once they are in place.
pub fn install(stop: Arc<AtomicBool>) -> Result<()> {
    let (ready_tx, ready_rx) = mpsc::channel::<Result<(), String>>();
    std::thread::spawn(move || {
        let rt = match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(rt) => rt,
            Err(e) => {
                let _ = ready_tx.send(Err(format!("starting the signal runtime: {e}")));
                return;
            }
        };
        rt.block_on(async move {
            use tokio::signal::unix::{signal, SignalKind};
            let (mut term, mut int) = match (
                signal(SignalKind::terminate()),
                signal(SignalKind::interrupt()),
            ) {
                (Ok(t), Ok(i)) => (t, i),
                (Err(e), _) | (_, Err(e)) => {
                    let _ = ready_tx.send(Err(format!("installing the signal handlers: {e}")));
                    return;
                }
            };
            let _ = ready_tx.send(Ok(()));
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
            stop.store(true, Ordering::SeqCst);
        });
    });
    ready_rx
        .recv()
        .wrap_err("the signal thread ended early")?
        .map_err(|e| eyre!(e))
}

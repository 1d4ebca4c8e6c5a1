//! The per-service lock: one action at a time on a service, across every console and shell; the
//! agent's verbs and a driver receiving a replica both take it, so it sits below both.
//! An advisory `flock` on a file in the state directory, released when the process ends, so a
//! crashed action never leaves a stale lock.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::time::{Duration, Instant};

use std::path::Path;

use color_eyre::eyre::{bail, Result, WrapErr};
use rustix::fs::{flock, FlockOperation};

/// Opens (creating) a lock file: its `flock` lives as long as the returned file is open, so a
/// crashed holder never leaves a stale lock.
pub fn open_lock_file(path: &Path) -> Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .wrap_err_with(|| format!("opening {}", path.display()))
}

/// Waits for the exclusive lock of `path` (writers hold such locks for milliseconds): held
/// until the returned file is dropped.
pub fn exclusive(path: &Path) -> Result<File> {
    let file = open_lock_file(path)?;
    flock(&file, FlockOperation::LockExclusive)
        .wrap_err_with(|| format!("locking {}", path.display()))?;
    Ok(file)
}

use crate::paths::NodeEnv;

/// A held lock; dropping it releases the lock.
pub struct ServiceLock {
    _file: File,
}

/// Takes the lock of `svc` for `what`, waiting at most `wait` (a wait too long to count, like
/// `--waitlock 18446744073709551615`, waits forever).
pub fn acquire(env: &NodeEnv, svc: &str, what: &str, wait: Duration) -> Result<ServiceLock> {
    acquire_logging(env, svc, what, wait, &mut |_| {})
}

/// Like [`acquire`], telling `on_wait` once, when it has to wait, who holds the lock ("waiting
/// up to 60s for the lock held by pid 42 (syncupdate) since 10:02:03"): an operator watching a
/// runbook sees why its step does not move.
pub fn acquire_logging(
    env: &NodeEnv,
    svc: &str,
    what: &str,
    wait: Duration,
    on_wait: &mut dyn FnMut(&str),
) -> Result<ServiceLock> {
    let dir = env.state_dir(svc);
    std::fs::create_dir_all(&dir).wrap_err_with(|| format!("creating {}", dir.display()))?;
    let path = dir.join("lock");
    let mut file = open_lock_file(&path)?;
    // `None`: no instant is that far, so the wait has no end.
    let deadline = Instant::now().checked_add(wait);
    let mut told = false;
    loop {
        match flock(&file, FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => break,
            Err(rustix::io::Errno::WOULDBLOCK) if deadline.is_none_or(|d| Instant::now() < d) => {
                if !told {
                    told = true;
                    let limit = match deadline {
                        Some(_) => format!("up to {}s ", wait.as_secs()),
                        None => String::new(),
                    };
                    on_wait(&format!(
                        "waiting {limit}for the lock held by {}",
                        holder(&mut file)
                    ));
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(rustix::io::Errno::WOULDBLOCK) => {
                let holder = holder(&mut file);
                if wait.is_zero() {
                    bail!("{svc}: {what} refused: already running ({holder})");
                }
                bail!(
                    "{svc}: {what} gave up after waiting {}s for the lock held by {holder}",
                    wait.as_secs()
                );
            }
            Err(e) => return Err(e).wrap_err_with(|| format!("locking {}", path.display())),
        }
    }
    file.set_len(0)?;
    file.rewind()?;
    let _ = write!(
        file,
        "pid {} ({what}) since {}",
        std::process::id(),
        chrono::Local::now().format("%H:%M:%S")
    );
    Ok(ServiceLock { _file: file })
}

/// What the holder of the lock wrote in it ("pid N (verb) since HH:MM:SS").
fn holder(file: &mut File) -> String {
    let mut text = String::new();
    let _ = file.rewind();
    let _ = file.read_to_string(&mut text);
    match text.trim() {
        "" => "another action".to_string(),
        t => t.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_with_the_first_ones_name() {
        let d = tempfile::tempdir().unwrap();
        let env = NodeEnv::new(d.path(), "n1");
        let _held = acquire(&env, "svc", "start", Duration::ZERO).unwrap();
        // flock locks belong to the open file description: a second open conflicts.
        let err = acquire(&env, "svc", "syncupdate", Duration::ZERO)
            .err()
            .unwrap();
        let msg = format!("{err:#}");
        assert!(msg.contains("already running"), "{msg}");
        assert!(msg.contains("(start)"), "{msg}");
    }

    #[test]
    fn the_lock_is_free_again_after_release() {
        let d = tempfile::tempdir().unwrap();
        let env = NodeEnv::new(d.path(), "n1");
        drop(acquire(&env, "svc", "start", Duration::ZERO).unwrap());
        assert!(acquire(&env, "svc", "stop", Duration::ZERO).is_ok());
    }

    #[test]
    fn a_wait_too_long_to_add_to_now_waits_forever_instead_of_panicking() {
        let d = tempfile::tempdir().unwrap();
        let env = NodeEnv::new(d.path(), "n1");
        let forever = Duration::from_secs(u64::MAX);
        // A free lock is taken at once, whatever the wait.
        drop(acquire(&env, "svc", "stop", forever).unwrap());
        let held = acquire(&env, "svc", "start", Duration::ZERO).unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let waiter_env = env.clone();
        let waiter = std::thread::spawn(move || {
            let got = acquire(&waiter_env, "svc", "stop", forever).map(|_| ());
            let _ = tx.send(());
            got
        });
        // Still waiting while the lock is held...
        assert!(rx.recv_timeout(Duration::from_millis(300)).is_err());
        drop(held);
        // ...and it gets the lock once released.
        assert!(rx.recv_timeout(Duration::from_secs(10)).is_ok());
        waiter.join().expect("no panic").unwrap();
    }
}

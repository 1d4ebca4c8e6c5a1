//! Reading `/proc` about one process. A pid alone can be recycled by another process; its start
//! time (field 22 of `/proc/PID/stat`) tells them apart, so every tracked process (a service's
//! app, a private dockerd, a mount's holder, a testbed host) is known by both.

/// The kernel start time of `pid`, `None` when it is gone or a zombie (which holds nothing any
/// more and only waits for its parent).
pub fn start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &stat[stat.rfind(')')? + 1..];
    let mut fields = after.split_whitespace();
    if matches!(fields.next(), Some("Z") | Some("X") | None) {
        return None;
    }
    fields.nth(18)?.parse().ok()
}

/// A live process we identified: its pid and kernel start time (a service's app, a private
/// dockerd). Signals only ever reach it while it is still that process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tracked {
    /// The pid.
    pub pid: i32,
    /// Its kernel start time.
    pub start_time: u64,
}

impl Tracked {
    /// The process running as `pid` now, if any (a child just spawned, a pid from a file).
    pub fn spawned(pid: u32) -> Option<Self> {
        Some(Self {
            pid: i32::try_from(pid).ok()?,
            start_time: start_time(pid)?,
        })
    }

    /// Whether it still runs.
    pub fn alive(&self) -> bool {
        u32::try_from(self.pid)
            .ok()
            .and_then(start_time)
            .is_some_and(|t| t == self.start_time)
    }

    /// Sends `sig`, only while it is still the same process.
    pub fn signal(&self, sig: rustix::process::Signal) {
        if !self.alive() {
            return;
        }
        if let Some(p) = rustix::process::Pid::from_raw(self.pid) {
            let _ = rustix::process::kill_process(p, sig);
        }
    }

    /// Waits up to `limit` for it to be gone; true when it is. The wait counts as time spent on
    /// an external process (the failover benchmark tells it from the agent's overhead).
    pub fn wait_gone(&self, limit: std::time::Duration) -> bool {
        let started = std::time::Instant::now();
        let gone = self.wait_exit(limit);
        crate::transport::child_time::account(started.elapsed());
        gone || !self.alive()
    }

    /// Sleeps until the process exits or `limit` passes: on its pidfd where the kernel has them
    /// (woken by the exit itself), else by looking every 10 ms.
    fn wait_exit(&self, limit: std::time::Duration) -> bool {
        use rustix::event::{poll, PollFd, PollFlags, Timespec};
        let deadline = std::time::Instant::now() + limit;
        let pidfd = rustix::process::Pid::from_raw(self.pid).and_then(|p| {
            rustix::process::pidfd_open(p, rustix::process::PidfdFlags::empty()).ok()
        });
        // Opened after a recycle, the pidfd would watch another process: check it is still ours.
        if let Some(fd) = pidfd.filter(|_| self.alive()) {
            loop {
                let left = deadline.saturating_duration_since(std::time::Instant::now());
                if left.is_zero() {
                    return !self.alive();
                }
                let mut fds = [PollFd::new(&fd, PollFlags::IN)];
                let timeout = Timespec::try_from(left).ok();
                match poll(&mut fds, timeout.as_ref()) {
                    Ok(n) if n > 0 => return true,
                    Ok(_) => return !self.alive(),
                    Err(rustix::io::Errno::INTR) => continue,
                    Err(_) => break,
                }
            }
        }
        while std::time::Instant::now() < deadline {
            if !self.alive() {
                return true;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        !self.alive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wait_for_an_exit_wakes_with_the_exit_and_gives_up_at_its_limit() {
        let mut long = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .expect("sleep");
        let t = Tracked::spawned(long.id()).expect("tracked");
        let began = std::time::Instant::now();
        assert!(!t.wait_gone(std::time::Duration::from_millis(200)));
        assert!(began.elapsed() >= std::time::Duration::from_millis(200));
        t.signal(rustix::process::Signal::TERM);
        let began = std::time::Instant::now();
        assert!(t.wait_gone(std::time::Duration::from_secs(20)));
        // Woken by the exit, not by the limit.
        assert!(began.elapsed() < std::time::Duration::from_secs(10));
        let _ = long.wait();
    }

    #[test]
    fn this_process_has_a_stable_start_time_and_pid_0_has_none() {
        let me = std::process::id();
        let t = start_time(me);
        assert!(t.is_some());
        assert_eq!(start_time(me), t);
        assert_eq!(start_time(0), None);
    }
}

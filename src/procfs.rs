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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_has_a_stable_start_time_and_pid_0_has_none() {
        let me = std::process::id();
        let t = start_time(me);
        assert!(t.is_some());
        assert_eq!(start_time(me), t);
        assert_eq!(start_time(0), None);
    }
}

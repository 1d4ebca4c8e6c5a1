//! The seat a run is operated from: who (the user as the action log names them), which
//! machine, which process, and a token that tells two seats of one user on one host apart.

use crate::action_log::{local_host, local_user};
use crate::protocol::run::Holder;

/// This process as a run's holder.
pub fn this_seat() -> Holder {
    let host = local_host();
    let pid = std::process::id();
    let nanos = chrono::Utc::now().timestamp_subsec_nanos();
    let safe_host: String = host
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    Holder {
        user: local_user(),
        host,
        pid,
        seat: format!(
            "s{}:{pid}:{nanos:08x}",
            safe_host.trim_start_matches(['.', '-'])
        ),
    }
}

/// Whether `holder` is a process of this machine that no longer exists: positive evidence
/// that its seat died (a holder on another machine is never judged from here).
pub fn holder_is_gone(holder: &Holder) -> bool {
    if holder.host != local_host() || holder.pid == std::process::id() {
        return false;
    }
    let Some(pid) = rustix::process::Pid::from_raw(holder.pid as i32) else {
        return false;
    };
    match rustix::process::test_kill_process(pid) {
        Err(rustix::io::Errno::SRCH) => true,
        // A killed process not reaped yet is a zombie: gone all the same.
        _ => is_zombie(holder.pid),
    }
}

/// Whether process `pid` has ended but was not reaped yet (state `Z` or `X` in /proc).
fn is_zombie(pid: u32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    // The state follows the command name, which ends with the last ')'.
    stat.rsplit_once(')')
        .and_then(|(_, rest)| rest.trim_start().chars().next())
        .is_some_and(|c| c == 'Z' || c == 'X')
}

/// The seat as a journal detail: who, where, which process.
pub fn seat_detail(h: &Holder) -> serde_json::Value {
    serde_json::json!({"user": h.user, "host": h.host, "pid": h.pid})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seat_token_is_a_valid_seat_name_and_this_process_is_never_gone() {
        let me = this_seat();
        assert!(
            me.seat.parse::<crate::protocol::names::SeatId>().is_ok(),
            "{}",
            me.seat
        );
        assert!(!holder_is_gone(&me));
        let dead = Holder {
            pid: i32::MAX as u32 - 7,
            ..me.clone()
        };
        assert!(holder_is_gone(&dead));
        let elsewhere = Holder {
            host: "another-host.example".into(),
            ..dead
        };
        assert!(
            !holder_is_gone(&elsewhere),
            "a holder elsewhere is never judged from here"
        );
    }
}

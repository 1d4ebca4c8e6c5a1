//! The dockerd process as the pid file names it: is that pid really our daemon, signal it, and
//! wait for it to be gone. A pid is tracked with its kernel start time so that a pid recycled
//! by another process is never mistaken for the daemon (nor signalled).

use std::path::Path;

pub use crate::procfs::Tracked;

/// The command line of `pid`, one string per argument.
fn cmdline(pid: i32) -> Vec<String> {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|b| {
            b.split(|c| *c == 0)
                .filter(|a| !a.is_empty())
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// Whether `argv` runs `program` with `needle` as one of its arguments (alone or as the value
/// of a `--flag=needle`): how a daemon is told apart from a recycled pid.
pub fn runs(argv: &[String], program: &str, needle: &str) -> bool {
    let is_program = argv
        .first()
        .is_some_and(|a| Path::new(a).file_name().is_some_and(|n| n == program));
    let has_needle = argv
        .iter()
        .skip(1)
        .any(|a| a == needle || a.split_once('=').is_some_and(|(_, v)| v == needle));
    is_program && has_needle
}

/// The process a pid file names, when it runs `program` with `needle` among its arguments.
pub fn named_by(pid_file: &Path, program: &str, needle: &str) -> Option<Tracked> {
    let text = std::fs::read_to_string(pid_file).ok()?;
    let pid: i32 = text.trim().parse().ok()?;
    let t = Tracked::spawned(u32::try_from(pid).ok()?)?;
    runs(&cmdline(pid), program, needle).then_some(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        s.split(' ').map(str::to_string).collect()
    }

    #[test]
    fn only_the_dockerd_of_our_pid_file_is_ours() {
        let pf = "/s/docker.pid";
        let ours = words("/usr/sbin/dockerd --pidfile /s/docker.pid -H unix:///s/docker.sock");
        assert!(runs(&ours, "dockerd", pf));
        assert!(runs(
            &words("dockerd --pidfile=/s/docker.pid"),
            "dockerd",
            pf
        ));
        let other = words("/usr/sbin/dockerd --pidfile /other/docker.pid");
        assert!(!runs(&other, "dockerd", pf));
        assert!(!runs(
            &words("sleep --pidfile /s/docker.pid"),
            "dockerd",
            pf
        ));
    }

    #[test]
    fn a_recycled_or_missing_pid_is_not_alive() {
        let me = Tracked::spawned(std::process::id()).unwrap();
        assert!(me.alive());
        let other = Tracked {
            pid: me.pid,
            start_time: me.start_time + 1,
        };
        assert!(!other.alive());
    }
}

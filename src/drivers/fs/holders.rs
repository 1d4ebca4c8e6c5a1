//! Who keeps a mount busy: the processes whose working directory, root, executable, open files
//! or mapped files lie under the mount point, read from `/proc`. A refused unmount names them;
//! `stop --force` ends them (SIGTERM, a deadline, SIGKILL), never a lazy unmount.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rustix::process::{kill_process, Pid, Signal};

use super::super::Ctx;

/// How many holders a message names before "and N more".
const NAMED: usize = 10;
/// How long holders get to exit after SIGTERM.
const TERM_GRACE: Duration = Duration::from_secs(10);
/// How long the kernel gets to reap them after SIGKILL.
const KILL_GRACE: Duration = Duration::from_secs(5);
/// How many times newcomers (children of dying holders) are swept up after the first round.
const SWEEPS: usize = 3;

/// A process holding a mount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Holder {
    /// Its pid.
    pub pid: i32,
    /// Its command name (`/proc/PID/comm`).
    pub comm: String,
    /// What of it lies under the mount: `cwd`, `root`, `exe`, `fd`, `maps`.
    pub uses: Vec<&'static str>,
}

/// A link target of /proc, without the kernel's ` (deleted)` mark.
fn link_target(p: &Path) -> Option<PathBuf> {
    let t = std::fs::read_link(p).ok()?;
    let s = t.to_string_lossy();
    Some(match s.strip_suffix(" (deleted)") {
        Some(stripped) => PathBuf::from(stripped),
        None => t,
    })
}

/// The file of a `/proc/PID/maps` line (after address, perms, offset, dev and inode).
fn maps_path(line: &str) -> Option<&str> {
    let mut rest = line;
    for _ in 0..5 {
        rest = rest.trim_start();
        let end = rest.find(char::is_whitespace)?;
        rest = &rest[end..];
    }
    let p = rest.trim();
    let p = p.strip_suffix(" (deleted)").unwrap_or(p);
    p.starts_with('/').then_some(p)
}

/// What of process `dir` (a `/proc/PID` directory) lies under `mnt`.
fn uses_of(dir: &Path, mnt: &Path) -> Vec<&'static str> {
    let under = |p: &Path| p.starts_with(mnt);
    let mut uses = Vec::new();
    for (name, word) in [("cwd", "cwd"), ("root", "root"), ("exe", "exe")] {
        if link_target(&dir.join(name)).is_some_and(|t| under(&t)) {
            uses.push(word);
        }
    }
    if let Ok(fds) = std::fs::read_dir(dir.join("fd")) {
        let open = fds
            .flatten()
            .any(|fd| link_target(&fd.path()).is_some_and(|t| under(&t)));
        if open {
            uses.push("fd");
        }
    }
    if let Ok(maps) = std::fs::read_to_string(dir.join("maps")) {
        if maps
            .lines()
            .filter_map(maps_path)
            .any(|p| under(Path::new(p)))
        {
            uses.push("maps");
        }
    }
    uses
}

/// The processes of `proc_root` (a `/proc` tree) holding something under `mnt`, by pid. A
/// process that vanishes while read is skipped.
pub(crate) fn scan(proc_root: &Path, mnt: &Path) -> Vec<Holder> {
    pids(proc_root)
        .into_iter()
        .filter_map(|pid| {
            let pdir = proc_root.join(pid.to_string());
            let uses = uses_of(&pdir, mnt);
            if uses.is_empty() {
                return None;
            }
            Some(Holder {
                pid,
                comm: comm_of(&pdir),
                uses,
            })
        })
        .collect()
}

/// `pid 12 (sleep), pid 40 (bash) and 3 more`.
pub(crate) fn describe(holders: &[Holder]) -> String {
    let mut s = holders
        .iter()
        .take(NAMED)
        .map(|h| format!("pid {} ({})", h.pid, h.comm))
        .collect::<Vec<_>>()
        .join(", ");
    if holders.len() > NAMED {
        s.push_str(&format!(" and {} more", holders.len() - NAMED));
    }
    s
}

/// The pids of a `/proc` tree, in order.
pub(super) fn pids(proc_root: &Path) -> Vec<i32> {
    let Ok(dir) = std::fs::read_dir(proc_root) else {
        return Vec::new();
    };
    let mut pids: Vec<i32> = dir
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .collect();
    pids.sort_unstable();
    pids
}

/// The command name of a `/proc/PID` directory (`?` when gone).
pub(super) fn comm_of(pdir: &Path) -> String {
    std::fs::read_to_string(pdir.join("comm"))
        .map(|c| c.trim().to_string())
        .unwrap_or_else(|_| "?".to_string())
}

/// The kernel start time of a live (not zombie) process: a pid that is reused is not the same
/// process.
fn start_time(pid: i32) -> Option<u64> {
    crate::procfs::start_time(u32::try_from(pid).ok()?)
}

fn parent_of(pid: i32) -> Option<i32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &stat[stat.rfind(')')? + 1..];
    after.split_whitespace().nth(1)?.parse().ok()
}

/// drpilot itself, its ancestors and init: never killed, whatever they hold.
fn protected() -> Vec<i32> {
    let mut out = vec![1];
    let mut pid = std::process::id() as i32;
    while pid > 1 && !out.contains(&pid) {
        out.push(pid);
        match parent_of(pid) {
            Some(p) => pid = p,
            None => break,
        }
    }
    out
}

fn signal(pid: i32, sig: Signal) {
    if let Some(p) = Pid::from_raw(pid) {
        // A process gone since the scan is what we wanted anyway.
        let _ = kill_process(p, sig);
    }
}

/// Waits until none of `targets` (pid, start time) runs, or the deadline; returns those left.
fn wait_gone(targets: &[(Holder, u64)], limit: Duration) -> Vec<(Holder, u64)> {
    let deadline = Instant::now() + limit;
    loop {
        let left: Vec<(Holder, u64)> = targets
            .iter()
            .filter(|(h, t)| start_time(h.pid) == Some(*t))
            .cloned()
            .collect();
        if left.is_empty() || Instant::now() >= deadline {
            return left;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Pairs holders with their start time, dropping those already gone.
fn timed(holders: Vec<Holder>) -> Vec<(Holder, u64)> {
    holders
        .into_iter()
        .filter_map(|h| start_time(h.pid).map(|t| (h, t)))
        .collect()
}

fn kill_logged(ctx: &Ctx, rid: &str, targets: &[(Holder, u64)], why: &str) {
    for (h, _) in targets {
        ctx.log.warn(
            rid,
            &format!("--force: SIGKILL pid {} ({}), {why}", h.pid, h.comm),
        );
        signal(h.pid, Signal::KILL);
    }
}

/// `stop --force`: ends the processes holding `mnt_path` (shown as `mnt`), logging each pid:
/// SIGTERM, then SIGKILL past a deadline; processes that appear meanwhile (children forked by a
/// dying holder inherit its cwd) get SIGKILL at once, for a few sweeps. drpilot itself, its
/// parents and init are spared and reported.
pub(crate) fn end(ctx: &Ctx, rid: &str, mnt: &str, mnt_path: &Path, holders: &[Holder]) {
    let spared = protected();
    let mut first = Vec::new();
    for h in holders {
        if spared.contains(&h.pid) {
            ctx.log.warn(
                rid,
                &format!(
                    "pid {} ({}) holds {mnt} but is drpilot itself, one of its parents or init: \
                     not killed",
                    h.pid, h.comm
                ),
            );
            continue;
        }
        ctx.log.warn(
            rid,
            &format!(
                "--force: SIGTERM pid {} ({}), holding {mnt} ({})",
                h.pid,
                h.comm,
                h.uses.join(", ")
            ),
        );
        first.push(h.clone());
    }
    let first = timed(first);
    for (h, _) in &first {
        signal(h.pid, Signal::TERM);
    }
    let stubborn = wait_gone(&first, TERM_GRACE);
    let why = format!("still alive {}s after SIGTERM", TERM_GRACE.as_secs());
    kill_logged(ctx, rid, &stubborn, &why);
    wait_gone(&stubborn, KILL_GRACE);
    for _ in 0..SWEEPS {
        let late = timed(
            scan(Path::new("/proc"), mnt_path)
                .into_iter()
                .filter(|h| !spared.contains(&h.pid))
                .collect(),
        );
        if late.is_empty() {
            break;
        }
        kill_logged(
            ctx,
            rid,
            &late,
            &format!("appeared under {mnt} while its holders were ended"),
        );
        wait_gone(&late, KILL_GRACE);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    /// A fake /proc: `pid` with a comm and the given links (name, target).
    fn fake_proc(root: &Path, pid: i32, comm: &str, links: &[(&str, &str)], maps: &str) {
        let dir = root.join(pid.to_string());
        std::fs::create_dir_all(dir.join("fd")).unwrap();
        std::fs::write(dir.join("comm"), format!("{comm}\n")).unwrap();
        std::fs::write(dir.join("maps"), maps).unwrap();
        for (name, target) in links {
            symlink(target, dir.join(name)).unwrap();
        }
    }

    #[test]
    fn lists_processes_by_what_they_hold_under_the_mount() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path();
        fake_proc(
            p,
            300,
            "sleep",
            &[("cwd", "/opt/x/appdata"), ("root", "/")],
            "",
        );
        fake_proc(
            p,
            20,
            "bash",
            &[("cwd", "/"), ("fd/3", "/opt/x/log (deleted)")],
            "",
        );
        fake_proc(
            p,
            31,
            "python3",
            &[("cwd", "/home"), ("exe", "/usr/bin/python3")],
            "7f00-7f01 r-xp 00000000 08:01 1234                       /opt/x/lib/my lib.so\n\
             7f01-7f02 rw-p 00000000 00:00 0                          [heap]\n",
        );
        fake_proc(
            p,
            4,
            "chrooted",
            &[("root", "/opt/x"), ("exe", "/opt/x/bin/sh")],
            "",
        );
        // Not holders: a sibling path that only shares a prefix, and one under /opt elsewhere.
        fake_proc(
            p,
            5,
            "near",
            &[("cwd", "/opt/xy"), ("fd/0", "/opt/x.log")],
            "",
        );
        fake_proc(p, 6, "other", &[("cwd", "/opt")], "");
        std::fs::create_dir_all(p.join("self")).unwrap();
        std::fs::write(p.join("meminfo"), "").unwrap();

        let h = scan(p, Path::new("/opt/x"));
        let summary: Vec<(i32, &str, Vec<&str>)> = h
            .iter()
            .map(|h| (h.pid, h.comm.as_str(), h.uses.clone()))
            .collect();
        assert_eq!(
            summary,
            vec![
                (4, "chrooted", vec!["root", "exe"]),
                (20, "bash", vec!["fd"]),
                (31, "python3", vec!["maps"]),
                (300, "sleep", vec!["cwd"]),
            ]
        );
        assert_eq!(
            describe(&h),
            "pid 4 (chrooted), pid 20 (bash), pid 31 (python3), pid 300 (sleep)"
        );
        // The inner mount's holders only.
        let inner = scan(p, Path::new("/opt/x/appdata"));
        assert_eq!(inner.iter().map(|h| h.pid).collect::<Vec<_>>(), vec![300]);
    }

    #[test]
    fn a_long_list_is_capped() {
        let holders: Vec<Holder> = (1..=13)
            .map(|pid| Holder {
                pid,
                comm: "w".into(),
                uses: vec!["cwd"],
            })
            .collect();
        let d = describe(&holders);
        assert!(d.starts_with("pid 1 (w), pid 2 (w)"), "{d}");
        assert!(d.ends_with("pid 10 (w) and 3 more"), "{d}");
        assert_eq!(describe(&holders[..1]), "pid 1 (w)");
    }

    #[test]
    fn maps_lines_give_their_file() {
        assert_eq!(
            maps_path("55d0-55d1 r--p 00000000 fd:01 393 /usr/bin/cat"),
            Some("/usr/bin/cat")
        );
        assert_eq!(
            maps_path("55d0-55d1 r--p 00000000 fd:01 393    /a b/c (deleted)"),
            Some("/a b/c")
        );
        assert_eq!(maps_path("7ffd-7ffe rw-p 00000000 00:00 0  [stack]"), None);
        assert_eq!(maps_path("7ffd-7ffe rw-p 00000000 00:00 0"), None);
    }

    #[test]
    fn drpilot_and_its_parents_are_never_killed() {
        let p = protected();
        assert!(p.contains(&(std::process::id() as i32)));
        assert!(p.contains(&1));
    }

    #[test]
    fn an_unreadable_proc_has_no_holders() {
        assert!(scan(Path::new("/nonexistent/proc"), Path::new("/opt/x")).is_empty());
    }
}

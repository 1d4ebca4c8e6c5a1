//! Where the ssh master sockets live. Unix socket paths are limited to ~100 bytes, so not under
//! a deep state directory: `$XDG_RUNTIME_DIR/drpilot-ssh/p<pid>/` when that variable is set (a
//! tmpfs private to the user, emptied at logout) and short enough, else
//! `/tmp/drpilot-ssh-<uid>/p<pid>/`, private to the user (also when the runtime directory is
//! missing or not ours, as under `sudo`). One directory per process because openssh's
//! `clean_history_control_directory` would delete the sockets of every session sharing a
//! directory, live ones included; directories left by dead processes are swept here instead.

use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use color_eyre::eyre::{bail, Result, WrapErr};

/// This process's control directory, created (0700) on first use.
pub(super) fn for_this_process() -> Result<PathBuf> {
    let uid = rustix::process::getuid().as_raw();
    // Only a runtime directory that exists and is ours: `sudo` keeps the user's, where root's
    // sockets would then block the user's own.
    let runtime = crate::paths::xdg_dir("XDG_RUNTIME_DIR")
        .filter(|d| std::fs::metadata(d).is_ok_and(|m| m.is_dir() && m.uid() == uid));
    let base = base_dir(runtime, uid);
    ensure_private_dir(&base, uid)?;
    sweep_dead(&base);
    let dir = base.join(format!("p{}", std::process::id()));
    ensure_private_dir(&dir, uid)?;
    Ok(dir)
}

/// The longest base directory kept: openssh adds `/p<pid>/.ssh-connectionXXXXXX/master` and a
/// temporary suffix of 17 bytes, and a unix socket path holds at most 107.
const MAX_BASE_LEN: usize = 40;

/// The directory the per-process directories go in: under the runtime directory when one is
/// given and its path leaves room for the socket names, else under `/tmp`.
fn base_dir(runtime_dir: Option<PathBuf>, uid: u32) -> PathBuf {
    runtime_dir
        .map(|d| d.join("drpilot-ssh"))
        .filter(|d| d.as_os_str().len() <= MAX_BASE_LEN)
        .unwrap_or_else(|| PathBuf::from(format!("/tmp/drpilot-ssh-{uid}")))
}

/// Creates `dir` 0700, or checks that the existing one is a real directory of ours (a directory
/// planted by another user could expose the sockets).
fn ensure_private_dir(dir: &Path, uid: u32) -> Result<()> {
    match std::fs::DirBuilder::new().mode(0o700).create(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e).wrap_err_with(|| format!("creating {}", dir.display())),
    }
    let meta =
        std::fs::symlink_metadata(dir).wrap_err_with(|| format!("inspecting {}", dir.display()))?;
    if !meta.is_dir() {
        bail!(
            "{} is not a directory (a symlink?): not keeping ssh sockets there",
            dir.display()
        );
    }
    if meta.uid() != uid {
        bail!(
            "{} belongs to uid {}, not to uid {uid}: not keeping ssh sockets there",
            dir.display(),
            meta.uid()
        );
    }
    if meta.mode() & 0o077 != 0 {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .wrap_err_with(|| format!("making {} private", dir.display()))?;
    }
    Ok(())
}

/// Removes the directories of processes that no longer exist (their masters exit on their own
/// after the idle delay; the sockets left behind are useless).
fn sweep_dead(base: &Path) {
    let Ok(entries) = std::fs::read_dir(base) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix('p'))
            .and_then(|p| p.parse::<i32>().ok())
        else {
            continue;
        };
        let Some(pid) = rustix::process::Pid::from_raw(pid) else {
            continue;
        };
        if rustix::process::test_kill_process(pid) == Err(rustix::io::Errno::SRCH) {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_directory_is_short_private_and_ours() {
        let dir = for_this_process().unwrap();
        // Room for openssh's `.ssh-connectionXXXXXX/master` plus ssh's temporary suffix.
        assert!(dir.as_os_str().len() < 50, "{}", dir.display());
        let meta = std::fs::metadata(&dir).unwrap();
        assert_eq!(meta.mode() & 0o777, 0o700);
        assert_eq!(for_this_process().unwrap(), dir);
    }

    #[test]
    fn control_sockets_go_under_xdg_runtime_dir_when_set() {
        assert_eq!(
            base_dir(Some("/run/user/1000".into()), 1000),
            PathBuf::from("/run/user/1000/drpilot-ssh")
        );
        assert_eq!(base_dir(None, 1000), PathBuf::from("/tmp/drpilot-ssh-1000"));
        // Too long for the socket names that follow: /tmp, as without the variable.
        let deep = format!("/{}", "d".repeat(60));
        assert_eq!(
            base_dir(Some(deep.into()), 7),
            PathBuf::from("/tmp/drpilot-ssh-7")
        );
    }

    #[test]
    fn refuses_a_symlink() {
        let tmp = tempfile::tempdir().unwrap();
        let link = tmp.path().join("l");
        std::os::unix::fs::symlink(tmp.path(), &link).unwrap();
        let uid = rustix::process::getuid().as_raw();
        assert!(ensure_private_dir(&link, uid).is_err());
    }
}

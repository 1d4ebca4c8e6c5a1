//! The check before a mount, the seed's way: `e2fsck -p` for ext2/3/4, whose exit code decides
//! (fixed is a warning, errors it cannot fix refuse the mount, quoting it). xfs is not checked
//! (xfs_repair needs the fs unmounted and is a manual job) and btrfs has no offline check.

use std::process::Command;
use std::time::Duration;

use color_eyre::eyre::{bail, Result, WrapErr};

use super::super::Ctx;
use crate::transport::run_child;

/// A check longer than this is killed and the mount refused (a big damaged fs needs a human).
const FSCK_TIMEOUT: Duration = Duration::from_secs(3600);

/// What an `e2fsck -p` exit code means for the mount.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// 0: no errors.
    Clean,
    /// 1: errors found and fixed.
    Fixed,
    /// 2 (or 3): fixed, and a reboot is advised (it matters only for a mounted root fs).
    FixedRebootAdvised,
    /// 4 and above, or killed: the mount is refused.
    Refused,
}

/// Classifies an e2fsck exit code (`None`: killed by a signal or the deadline).
pub(crate) fn classify(code: Option<i32>) -> Verdict {
    match code {
        Some(0) => Verdict::Clean,
        Some(1) => Verdict::Fixed,
        Some(2 | 3) => Verdict::FixedRebootAdvised,
        _ => Verdict::Refused,
    }
}

/// The meaning of the bits of an e2fsck exit code ≥ 4, for the refusal message.
pub(crate) fn meaning(code: Option<i32>) -> String {
    let Some(code) = code else {
        return "killed before it finished".to_string();
    };
    let words: Vec<&str> = [
        (4, "errors left uncorrected"),
        (8, "operational error"),
        (16, "usage or syntax error"),
        (32, "canceled by user request"),
        (128, "shared library error"),
    ]
    .iter()
    .filter(|(bit, _)| code & bit != 0)
    .map(|(_, w)| *w)
    .collect();
    if words.is_empty() {
        format!("exit {code}")
    } else {
        format!("exit {code}: {}", words.join(", "))
    }
}

/// The check command for a filesystem type, `None` when it has none before a mount.
pub(crate) fn argv(fstype: &str, dev: &str) -> Option<Vec<String>> {
    matches!(fstype, "ext2" | "ext3" | "ext4")
        .then(|| vec!["e2fsck".to_string(), "-p".to_string(), dev.to_string()])
}

/// Fsck output quoted on one line: its non-empty lines joined.
fn quote(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" / ")
}

/// Checks the filesystem on `dev` (shown as `shown`) before it is mounted, logging the command
/// and its output; fails, quoting the checker, when the mount must not happen.
pub(crate) fn check(ctx: &Ctx, rid: &str, fstype: &str, dev: &str, shown: &str) -> Result<()> {
    let Some(argv) = argv(fstype, dev) else {
        if fstype == "xfs" {
            ctx.log.info(
                rid,
                &format!(
                    "xfs: no check before mount (xfs_repair needs {shown} unmounted and is run \
                     by hand)"
                ),
            );
        }
        return Ok(());
    };
    ctx.log.cmd(rid, &argv);
    let mut cmd = Command::new(&argv[0]);
    cmd.args(&argv[1..]);
    let out = run_child(cmd, None, Some(FSCK_TIMEOUT)).wrap_err_with(|| {
        format!("{rid}: running e2fsck -p on {shown} (is e2fsprogs installed?)")
    })?;
    let mut text = out.stdout_text();
    text.push_str(&out.stderr);
    ctx.log.output(rid, &text);
    let code = if out.timed_out { None } else { out.code };
    match classify(code) {
        Verdict::Clean => Ok(()),
        Verdict::Fixed => {
            ctx.log.warn(
                rid,
                &format!("e2fsck fixed errors on {shown} (exit 1): mounting it"),
            );
            Ok(())
        }
        Verdict::FixedRebootAdvised => {
            ctx.log.warn(
                rid,
                &format!(
                    "e2fsck fixed errors on {shown} and advises a reboot (exit {}), which only \
                     matters for a mounted root fs: mounting it",
                    code.unwrap_or(2)
                ),
            );
            Ok(())
        }
        Verdict::Refused => bail!(
            "{rid}: e2fsck -p {shown} failed ({}): refusing to mount it; run `e2fsck {dev}` by \
             hand, then start again. e2fsck said: {}",
            if out.timed_out {
                format!("timed out after {}s", FSCK_TIMEOUT.as_secs())
            } else {
                meaning(code)
            },
            quote(&text)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_decide_the_mount() {
        assert_eq!(classify(Some(0)), Verdict::Clean);
        assert_eq!(classify(Some(1)), Verdict::Fixed);
        assert_eq!(classify(Some(2)), Verdict::FixedRebootAdvised);
        assert_eq!(classify(Some(3)), Verdict::FixedRebootAdvised);
        for refused in [
            Some(4),
            Some(5),
            Some(8),
            Some(12),
            Some(16),
            Some(32),
            Some(128),
            None,
        ] {
            assert_eq!(classify(refused), Verdict::Refused, "{refused:?}");
        }
    }

    #[test]
    fn refusals_say_what_the_bits_mean() {
        assert_eq!(meaning(Some(4)), "exit 4: errors left uncorrected");
        assert_eq!(
            meaning(Some(12)),
            "exit 12: errors left uncorrected, operational error"
        );
        assert_eq!(meaning(Some(8)), "exit 8: operational error");
        assert_eq!(meaning(None), "killed before it finished");
    }

    #[test]
    fn only_ext_filesystems_are_checked() {
        assert_eq!(
            argv("ext4", "/dev/vg/lv"),
            Some(vec!["e2fsck".into(), "-p".into(), "/dev/vg/lv".into()])
        );
        assert!(argv("ext2", "/d").is_some() && argv("ext3", "/d").is_some());
        assert_eq!(argv("xfs", "/d"), None);
        assert_eq!(argv("btrfs", "/d"), None);
    }

    #[test]
    fn output_is_quoted_on_one_line() {
        assert_eq!(
            quote("img: Root inode is not a directory.  \n\n\nimg: UNEXPECTED INCONSISTENCY; RUN fsck MANUALLY.\n\t(i.e., without -a or -p options)\n"),
            "img: Root inode is not a directory. / img: UNEXPECTED INCONSISTENCY; RUN fsck MANUALLY. / (i.e., without -a or -p options)"
        );
    }
}

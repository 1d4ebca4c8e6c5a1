//! The volume's top level, mounted privately while a btrfs sync works on it: the sender's
//! snapshot and send, the target's receive and listing, a start's promotion. Every step runs
//! `btrfs` or `mount` as an argument vector, logged, and fails naming the node, the rid and the
//! command's own message. A per-resource lock serialises the processes sharing the mount point.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use color_eyre::eyre::{bail, eyre, Report, Result, WrapErr};
use rustix::fs::{flock, FlockOperation};

use super::mounts;
use super::subvol::{parse_list, parse_show, Shown, Subvol};
use crate::action_log::ActionLog;
use crate::transport::{run_child, CallOutput};

/// How long a btrfs or mount command may take (a send or receive has no limit).
pub const TOOL_TIMEOUT: Duration = Duration::from_secs(300);
/// How long a process waits for another one working on the same volume (a long receive).
const LOCK_WAIT: Duration = Duration::from_secs(600);

/// Runs the commands of one resource on one node, logging them the seed's way.
pub struct Tool<'a> {
    /// Where the lines go (a silent log on the receiving side of a transfer).
    pub log: &'a ActionLog,
    /// The sync resource.
    pub rid: &'a str,
    /// This node, named in every error.
    pub node: &'a str,
}

impl Tool<'_> {
    /// The error of a failed step: node, rid, what, and why.
    pub fn fail(&self, what: &str, why: impl std::fmt::Display) -> Report {
        eyre!("{} on {}: {what}: {why}", self.rid, self.node)
    }

    fn exec(&self, argv: &[String], logged: bool) -> Result<CallOutput> {
        let Some((program, args)) = argv.split_first() else {
            bail!("{}: empty command", self.rid);
        };
        if logged {
            self.log.cmd(self.rid, argv);
        }
        let mut cmd = Command::new(program);
        cmd.args(args);
        let out = run_child(cmd, None, Some(TOOL_TIMEOUT))
            .map_err(|e| self.fail(&format!("cannot run {program}"), format!("{e:#}")))?;
        if logged {
            let mut text = out.stdout_text();
            text.push_str(&out.stderr);
            self.log.output(self.rid, &text);
        }
        if !out.success {
            return Err(self.fail(
                &format!("{} failed", shell_words::join(argv)),
                out.failure_reason(),
            ));
        }
        Ok(out)
    }

    /// Runs a command that changes something: logged before, its output after.
    pub fn run(&self, argv: &[String]) -> Result<CallOutput> {
        self.exec(argv, true)
    }

    /// Runs a command that only looks (listings): not logged.
    pub fn query(&self, argv: &[String]) -> Result<CallOutput> {
        self.exec(argv, false)
    }
}

/// Builds an argument vector from words and paths.
pub fn argv(words: &[&dyn AsRef<std::ffi::OsStr>]) -> Vec<String> {
    words
        .iter()
        .map(|w| w.as_ref().to_string_lossy().into_owned())
        .collect()
}

/// Takes the lock of a resource's volume work, waiting for another process at most `LOCK_WAIT`.
fn lock(tool: &Tool, path: &Path) -> Result<File> {
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(|e| tool.fail(&format!("opening {}", path.display()), e))?;
    let deadline = Instant::now() + LOCK_WAIT;
    let mut said = false;
    loop {
        match flock(&file, FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => break,
            Err(rustix::io::Errno::WOULDBLOCK) => {
                let mut holder = String::new();
                let _ = file.rewind();
                let _ = file.read_to_string(&mut holder);
                if Instant::now() >= deadline {
                    return Err(tool.fail(
                        "the volume is busy",
                        format!(
                            "gave up after {}s waiting for {}",
                            LOCK_WAIT.as_secs(),
                            holder.trim()
                        ),
                    ));
                }
                if !said {
                    tool.log.info(
                        tool.rid,
                        &format!(
                            "waiting for another drpilot working on the volume ({})",
                            holder.trim()
                        ),
                    );
                    said = true;
                }
                std::thread::sleep(Duration::from_millis(200));
            }
            Err(e) => return Err(tool.fail(&format!("locking {}", path.display()), e)),
        }
    }
    file.set_len(0)?;
    file.rewind()?;
    let _ = write!(
        file,
        "pid {} since {}",
        std::process::id(),
        chrono::Local::now().format("%H:%M:%S")
    );
    Ok(file)
}

/// The volume's top level (subvolid=5), mounted at `<state_dir>/btrfs/<rid>/top` while this value
/// lives; unmounted by [`Top::close`] (or, failing that, on drop).
pub struct Top<'a> {
    tool: &'a Tool<'a>,
    path: PathBuf,
    mounted: bool,
    _lock: File,
}

impl<'a> Top<'a> {
    /// Locks the resource's volume work and mounts the top level of `dev` (reusing a mount a
    /// killed run left there, if it is the same device).
    pub fn open(tool: &'a Tool<'a>, svc_state_dir: &Path, dev: &Path) -> Result<Self> {
        let dir = svc_state_dir.join("btrfs").join(tool.rid);
        let path = dir.join("top");
        std::fs::create_dir_all(&path)
            .map_err(|e| tool.fail(&format!("creating {}", path.display()), e))?;
        let lock = lock(tool, &dir.join("lock"))?;
        let canon = std::fs::canonicalize(&path).unwrap_or_else(|_| path.clone());
        let table = mounts::current()
            .map_err(|e| tool.fail("reading the mount table", format!("{e:#}")))?;
        let mut top = Self {
            tool,
            path: canon.clone(),
            mounted: false,
            _lock: lock,
        };
        match mounts::mounted_at(&table, &canon) {
            Some(m)
                if m.fstype == "btrfs"
                    && m.root == Path::new("/")
                    && mounts::same_device(&m.source, dev) =>
            {
                tool.log.info(
                    tool.rid,
                    &format!("reusing the top-level mount left at {}", canon.display()),
                );
                top.mounted = true;
            }
            Some(m) => {
                return Err(tool.fail(
                    &format!("{} is busy", canon.display()),
                    format!("{} {} is mounted there (unmount it)", m.fstype, m.source),
                ))
            }
            None => {
                tool.run(&argv(&[
                    &"mount",
                    &"-t",
                    &"btrfs",
                    &"-o",
                    &"subvolid=5",
                    &dev,
                    &canon,
                ]))?;
                top.mounted = true;
            }
        }
        Ok(top)
    }

    /// A path under the top level.
    pub fn join(&self, rel: &str) -> PathBuf {
        self.path.join(rel)
    }

    /// Every subvolume of the volume.
    pub fn list(&self) -> Result<Vec<Subvol>> {
        let out = self.tool.query(&argv(&[
            &"btrfs",
            &"subvolume",
            &"list",
            &"-u",
            &"-q",
            &"-R",
            &"-c",
            &self.path,
        ]))?;
        parse_list(&out.stdout_text()).map_err(|e| self.tool.fail("reading the subvolume list", e))
    }

    /// One subvolume's details.
    pub fn show(&self, rel: &str) -> Result<Shown> {
        let out = self
            .tool
            .query(&argv(&[&"btrfs", &"subvolume", &"show", &self.join(rel)]))?;
        parse_show(&out.stdout_text())
            .map_err(|e| self.tool.fail(&format!("reading the details of {rel}"), e))
    }

    /// Snapshots `from` as `to` (both relative to the top level), read-only or writable.
    pub fn snapshot(&self, from: &str, to: &str, readonly: bool) -> Result<()> {
        let (src, dst) = (self.join(from), self.join(to));
        let mut v = argv(&[&"btrfs", &"subvolume", &"snapshot"]);
        if readonly {
            v.push("-r".into());
        }
        v.extend(argv(&[&src, &dst]));
        self.tool.run(&v).map(|_| ())
    }

    /// Deletes a subvolume (relative to the top level).
    pub fn delete(&self, rel: &str) -> Result<()> {
        self.tool
            .run(&argv(&[&"btrfs", &"subvolume", &"delete", &self.join(rel)]))
            .map(|_| ())
    }

    /// Creates a plain directory under the top level.
    pub fn mkdir(&self, rel: &str) -> Result<()> {
        let p = self.join(rel);
        std::fs::create_dir_all(&p)
            .map_err(|e| self.tool.fail(&format!("creating {}", p.display()), e))
    }

    /// Unmounts the top level, reporting a failure.
    pub fn close(mut self) -> Result<()> {
        self.unmount()
    }

    fn unmount(&mut self) -> Result<()> {
        if !self.mounted {
            return Ok(());
        }
        self.mounted = false;
        self.tool
            .run(&argv(&[&"umount", &self.path]))
            .map(|_| ())
            .wrap_err("the volume's top level stays mounted: unmount it by hand")
    }
}

impl Drop for Top<'_> {
    fn drop(&mut self) {
        if let Err(e) = self.unmount() {
            self.tool.log.warn(self.tool.rid, &format!("{e:#}"));
        }
    }
}

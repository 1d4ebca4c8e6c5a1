//! Test support: a QEMU guest for what these machines' kernels cannot do (device-mapper, LVM
//! snapshots). It boots Debian's cloud kernel with an initramfs holding busybox, LVM, e2fsprogs
//! and the drpilot binary under test, attaches raw virtio disks, runs a shell script given by
//! the test as PID 1's child and powers off; the test reads the script's steps back from the
//! serial console. Kernel and base initramfs are cached under `target/qemu-guest/`.

pub mod cpio;
pub mod initramfs;
pub mod kernel;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use cpio::Cpio;

use super::{root_testbed_ready, testbed_required};

/// The emulator.
pub const QEMU: &str = "qemu-system-x86_64";

/// A guest ready to boot: its kernel and base initramfs.
pub struct Guest {
    cache: PathBuf,
    kernel: PathBuf,
    base: PathBuf,
}

/// One `step NAME CMD...` of the guest script.
#[derive(Debug, Clone)]
pub struct Step {
    /// The step's name.
    pub name: String,
    /// The command's exit code.
    pub rc: i32,
    /// What it printed (stdout and stderr), without the console's carriage returns.
    pub output: String,
    /// How long it took, from the guest's uptime.
    pub secs: f64,
}

/// What the guest printed on its serial console.
pub struct Console {
    /// The whole console, carriage returns removed.
    pub text: String,
}

/// The cache directory: `target/qemu-guest` next to the binary under test.
fn cache_dir() -> PathBuf {
    let exe = PathBuf::from(env!("CARGO_BIN_EXE_drpilot"));
    let target = exe
        .parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or_else(std::env::temp_dir);
    target.join("qemu-guest")
}

/// Says why the guest cannot run: skips, or fails under `DRPILOT_REQUIRE_TESTBED=1`.
fn unavailable(test: &str, why: &str) -> Option<Guest> {
    assert!(
        !testbed_required(),
        "DRPILOT_REQUIRE_TESTBED=1 but {test}: {why}"
    );
    eprintln!("skipping {test}: {why}");
    None
}

/// A guest, or None (with the reason printed) when this machine lacks qemu, LVM or the kernel.
pub fn guest(test: &str) -> Option<Guest> {
    let mut tools = vec![QEMU, "gzip"];
    tools.extend_from_slice(initramfs::TOOLS);
    if !root_testbed_ready(test, &tools) {
        return None;
    }
    let cache = cache_dir();
    if let Err(e) = std::fs::create_dir_all(&cache) {
        panic!("creating {}: {e}", cache.display());
    }
    let kernel = match kernel::find(&cache) {
        Ok(k) => k,
        Err(e) => return unavailable(test, &format!("no guest kernel: {e}")),
    };
    let base = initramfs::base(&cache, &kernel);
    Some(Guest {
        cache,
        kernel: kernel.vmlinuz,
        base,
    })
}

/// How long a KVM guest may take to show a sign of life before KVM is deemed unusable here
/// (nested KVM can open `/dev/kvm` and then abort or hang).
const KVM_BOOT_LIMIT: Duration = Duration::from_secs(15);

/// The accelerators to try: KVM when `/dev/kvm` opens and has not failed before, then TCG.
fn accelerators(cache: &Path) -> Vec<&'static str> {
    let kvm = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/kvm")
        .is_ok();
    if kvm && !cache.join(KVM_UNUSABLE).exists() {
        vec!["kvm", "tcg"]
    } else {
        vec!["tcg"]
    }
}

/// Marker left in the cache when KVM failed to boot the guest (remove it to try again).
const KVM_UNUSABLE: &str = "kvm-unusable";

/// How one boot ended.
enum Boot {
    /// The guest ran and powered off.
    Finished(Console),
    /// KVM could not boot the guest: why.
    NoKvm(String),
}

impl Guest {
    /// Boots the guest with `disks` raw virtio disks of the given sizes (`/dev/vda`, `/dev/vdb`,
    /// ...), `files` added to its root, and `script` run by busybox sh (with the `step`
    /// function of `assets/qemu/init`); waits at most `limit` for it to power off.
    pub fn run(&self, script: &str, mut files: Cpio, disks: &[u64], limit: Duration) -> Console {
        let work = tempfile::tempdir_in(&self.cache).expect("run directory");
        let drpilot = initramfs::drpilot(&self.cache);
        let bytes = std::fs::read(&drpilot).expect("reading drpilot");
        files.file("/usr/bin/drpilot", 0o755, &bytes);
        for lib in initramfs::libraries(&drpilot) {
            let data = std::fs::read(&lib).expect("reading a library of drpilot");
            files.file(&lib.to_string_lossy(), 0o755, &data);
        }
        files.file("/guest/test.sh", 0o755, script.as_bytes());
        files.file(
            "/etc/guest/disks",
            0o644,
            format!("{}\n", disks.len()).as_bytes(),
        );
        // The kernel unpacks concatenated archives in turn: the cached base, then this run's.
        let mut initrd = std::fs::read(&self.base).expect("reading the base initramfs");
        while !initrd.len().is_multiple_of(4) {
            initrd.push(0);
        }
        initrd.extend_from_slice(&files.finish());
        let initrd_path = work.path().join("initrd");
        std::fs::write(&initrd_path, &initrd).expect("writing the initrd");
        for accel in accelerators(&self.cache) {
            match self.boot(accel, work.path(), disks, limit) {
                Boot::Finished(c) => return c,
                Boot::NoKvm(why) => {
                    eprintln!("KVM cannot boot the guest here ({why}): falling back to TCG");
                    let _ = std::fs::write(self.cache.join(KVM_UNUSABLE), why);
                }
            }
        }
        panic!("the guest did not boot with any accelerator");
    }

    /// One boot with accelerator `accel` (fresh disks in `work`).
    fn boot(&self, accel: &str, work: &Path, disks: &[u64], limit: Duration) -> Boot {
        let console_path = work.join(format!("console-{accel}.log"));
        let mut cmd = Command::new(QEMU);
        cmd.args(["-machine", "q35", "-accel", accel])
            .args(["-cpu", "max", "-m", "1024", "-smp", "2"])
            .args(["-nodefaults", "-display", "none", "-no-reboot"])
            .arg("-serial")
            .arg(format!("file:{}", console_path.display()))
            .arg("-kernel")
            .arg(&self.kernel)
            .arg("-initrd")
            .arg(work.join("initrd"))
            .args(["-append", "console=ttyS0 panic=-1 quiet loglevel=3"]);
        for (i, size) in disks.iter().enumerate() {
            let disk = work.join(format!("disk{i}.raw"));
            let _ = std::fs::remove_file(&disk);
            let f = std::fs::File::create(&disk).expect("creating a disk");
            f.set_len(*size).expect("sizing a disk");
            cmd.arg("-drive").arg(format!(
                "file={},format=raw,if=virtio,cache=unsafe",
                disk.display()
            ));
        }
        cmd.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let started = Instant::now();
        let child = cmd.spawn().expect("starting qemu-system-x86_64");
        let mut guard = Running(Some(child));
        let mut alive = accel != "kvm";
        let status = loop {
            let child = guard.0.as_mut().expect("qemu child");
            if let Some(st) = child.try_wait().expect("waiting for qemu") {
                break st;
            }
            if !alive {
                alive = read_console(&console_path).contains("@@@BOOT");
                if !alive && started.elapsed() > KVM_BOOT_LIMIT {
                    return Boot::NoKvm(format!("no sign of life within {KVM_BOOT_LIMIT:?}"));
                }
            }
            if started.elapsed() > limit {
                drop(guard);
                let text = read_console(&console_path);
                panic!("the guest did not power off within {limit:?}; console:\n{text}");
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        let child = guard.0.take().expect("qemu child");
        let out = child.wait_with_output().expect("qemu output");
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        let text = read_console(&console_path);
        if accel == "kvm" && !text.contains("@@@BOOT") {
            let last = stderr.lines().last().unwrap_or("no message").to_string();
            return Boot::NoKvm(format!("qemu exited with {status}: {last}"));
        }
        assert!(
            status.success(),
            "qemu failed ({status}): {stderr}\nconsole:\n{text}"
        );
        let kept = self.cache.join("last-console.log");
        let _ = std::fs::write(&kept, &text);
        eprintln!(
            "guest ran in {:.1}s with {accel}; its console is in {}",
            started.elapsed().as_secs_f64(),
            kept.display()
        );
        Boot::Finished(Console { text })
    }
}

fn read_console(p: &Path) -> String {
    String::from_utf8_lossy(&std::fs::read(p).unwrap_or_default()).replace('\r', "")
}

/// Kills QEMU if the test leaves early (a deadline, a panic).
struct Running(Option<std::process::Child>);

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(mut c) = self.0.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Console {
    /// Whether the script ran to its end.
    pub fn done(&self) -> bool {
        self.text.lines().any(|l| l.starts_with("@@@DONE"))
    }

    /// Every step, in order.
    pub fn steps(&self) -> Vec<Step> {
        let mut out = Vec::new();
        let mut current: Option<(String, Vec<&str>)> = None;
        for line in self.text.lines() {
            if let Some(name) = line.strip_prefix("@@@BEGIN ") {
                current = Some((name.trim().to_string(), Vec::new()));
            } else if let Some(rest) = line.strip_prefix("@@@END ") {
                let Some((name, lines)) = current.take() else {
                    continue;
                };
                let field = |k: &str| {
                    rest.split_whitespace()
                        .find_map(|w| w.strip_prefix(k))
                        .unwrap_or_default()
                        .to_string()
                };
                let t = |k: &str| field(k).parse::<f64>().unwrap_or(0.0);
                out.push(Step {
                    name,
                    rc: field("rc=").parse().unwrap_or(-1),
                    output: lines.join("\n"),
                    secs: t("t1=") - t("t0="),
                });
            } else if let Some((_, lines)) = current.as_mut() {
                lines.push(line);
            }
        }
        out
    }

    /// The step named `name`; panics with the console when it did not run.
    pub fn step(&self, name: &str) -> Step {
        self.steps()
            .into_iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("no step {name} in the guest console:\n{}", self.text))
    }

    /// The step named `name`, which must have succeeded.
    pub fn ok(&self, name: &str) -> Step {
        let s = self.step(name);
        assert_eq!(
            s.rc, 0,
            "guest step {name} failed (rc {}):\n{}\n--- whole console:\n{}",
            s.rc, s.output, self.text
        );
        s
    }
}

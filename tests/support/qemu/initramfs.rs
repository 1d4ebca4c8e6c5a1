//! The guest's initramfs, in two parts the kernel unpacks one after the other: a base (busybox,
//! LVM, dmsetup, e2fsprogs, kpartx when installed, the kernel modules, lvm.conf without udev and
//! the init script of `assets/qemu/init`) cached under `target/` and rebuilt when any input
//! changes, and a small per-run part (the test's script and files, the drpilot binary).

use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

use super::cpio::Cpio;
use super::kernel::Kernel;

/// PID 1 of the guest.
const INIT: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/qemu/init"));

/// LVM without udev, lvmpolld or dmeventd.
const LVM_CONF: &str = "\
devices { obtain_device_list_from_udev = 0 external_device_info_source = \"none\" }
activation { udev_sync = 0 udev_rules = 0 monitoring = 0 }
global { use_lvmpolld = 0 event_activation = 0 }
";

/// The LVM sub-commands reachable under their own names, as Debian links them.
const LVM_LINKS: &[&str] = &[
    "pvcreate",
    "pvs",
    "pvremove",
    "vgcreate",
    "vgs",
    "vgchange",
    "vgremove",
    "vgdisplay",
    "lvcreate",
    "lvs",
    "lvremove",
    "lvrename",
    "lvchange",
    "lvdisplay",
    "lvextend",
];

/// Programs the guest needs (a missing one skips the test).
pub const TOOLS: &[&str] = &["busybox", "lvm", "dmsetup", "mke2fs", "e2fsck"];

/// Programs copied when the host has them.
const OPTIONAL_TOOLS: &[&str] = &["kpartx"];

/// Modules always loaded: virtio disks and device-mapper snapshots.
const MODULES: &[&str] = &[
    "virtio_pci",
    "virtio_blk",
    "dm-mod",
    "dm-bufio",
    "dm-snapshot",
];

/// Where `program` lives on the host (PATH, then the sbin directories).
pub fn which(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin", "/usr/bin", "/bin"].map(PathBuf::from))
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}

/// The shared libraries `ldd` lists for `exe` (none for a static binary).
pub fn libraries(exe: &Path) -> Vec<PathBuf> {
    let Ok(out) = Command::new("ldd").arg(exe).output() else {
        return Vec::new();
    };
    parse_ldd(&String::from_utf8_lossy(&out.stdout))
}

/// Absolute library paths of `ldd` output (`libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x..)`
/// and the loader's own `/lib64/ld-linux-x86-64.so.2 (0x..)`).
pub fn parse_ldd(text: &str) -> Vec<PathBuf> {
    text.split_whitespace()
        .filter(|w| w.starts_with('/') && w.contains(".so"))
        .map(PathBuf::from)
        .collect()
}

/// Host files to copy: (path in the guest, path on the host).
struct Manifest {
    files: Vec<(String, PathBuf)>,
}

impl Manifest {
    fn add_program(&mut self, guest_dir: &str, host: &Path) {
        let name = host.file_name().unwrap_or_default().to_string_lossy();
        self.files
            .push((format!("{guest_dir}/{name}"), host.to_path_buf()));
        self.add_libraries(host);
    }

    fn add_libraries(&mut self, exe: &Path) {
        for lib in libraries(exe) {
            let guest = lib.to_string_lossy().into_owned();
            if !self.files.iter().any(|(g, _)| *g == guest) {
                self.files.push((guest, lib));
            }
        }
    }

    /// A digest of every input: paths, sizes and mtimes of host files, the init, the config.
    fn digest(&self, extra: &[&str]) -> String {
        let mut h = Sha256::new();
        for (guest, host) in &self.files {
            let meta = std::fs::metadata(host).ok();
            let stamp = meta.map(|m| (m.len(), m.modified().ok()));
            h.update(format!("{guest} {} {stamp:?}\n", host.display()));
        }
        for e in extra {
            h.update(e.as_bytes());
            h.update(b"\n");
        }
        let d = h.finalize();
        d.iter().take(8).map(|b| format!("{b:02x}")).collect()
    }
}

fn read(p: &Path) -> Vec<u8> {
    std::fs::read(p).unwrap_or_else(|e| panic!("reading {}: {e}", p.display()))
}

/// The base initramfs (gzip'd cpio) for `kernel`, built in `cache` unless an identical one is
/// there already. Panics with the reason when a build step fails.
pub fn base(cache: &Path, kernel: &Kernel) -> PathBuf {
    let mut wanted: Vec<&str> = MODULES.to_vec();
    if !kernel.builtin("kernel/fs/ext4/ext4.ko") {
        wanted.push("ext4");
        if !kernel.builtin("kernel/crypto/crc32c_generic.ko") {
            wanted.push("crc32c_generic");
        }
    }
    let modules = kernel
        .load_order(&wanted)
        .unwrap_or_else(|e| panic!("kernel {}: {e}", kernel.abi));
    let mut m = Manifest { files: Vec::new() };
    for t in TOOLS.iter().chain(OPTIONAL_TOOLS) {
        if let Some(p) = which(t) {
            let dir = if *t == "busybox" { "/bin" } else { "/sbin" };
            m.add_program(dir, &p);
        }
    }
    for (name, path) in &modules {
        m.files
            .push((format!("/lib/modules/{name}.ko"), path.clone()));
    }
    if Path::new("/etc/mke2fs.conf").is_file() {
        m.files
            .push(("/etc/mke2fs.conf".into(), PathBuf::from("/etc/mke2fs.conf")));
    }
    let order: Vec<&str> = modules.iter().map(|(n, _)| n.as_str()).collect();
    let order = order.join("\n");
    let digest = m.digest(&[INIT, LVM_CONF, &order, &kernel.abi]);
    let out = cache.join(format!("base-{digest}.cpio.gz"));
    if out.is_file() {
        return out;
    }
    let mut c = Cpio::new();
    for d in [
        "/proc",
        "/sys",
        "/dev",
        "/run",
        "/tmp",
        "/mnt",
        "/root",
        "/usr/bin",
        "/usr/sbin",
    ] {
        c.dir(d);
    }
    for (guest, host) in &m.files {
        c.file(guest, 0o755, &read(host));
    }
    if !m.files.iter().any(|(g, _)| g == "/sbin/mkfs.ext4") {
        c.symlink("/sbin/mkfs.ext4", "mke2fs");
    }
    for l in LVM_LINKS {
        c.symlink(&format!("/sbin/{l}"), "lvm");
    }
    c.file("/etc/lvm/lvm.conf", 0o644, LVM_CONF.as_bytes());
    c.file("/etc/guest/modules", 0o644, format!("{order}\n").as_bytes());
    c.file("/init", 0o755, INIT.as_bytes());
    let tmp = cache.join(format!("base-{digest}.cpio.tmp{}", std::process::id()));
    std::fs::write(&tmp, c.finish()).unwrap_or_else(|e| panic!("{}: {e}", tmp.display()));
    let st = Command::new("gzip")
        .args(["-1", "-f", "-S", ".gz"])
        .arg(&tmp)
        .status()
        .expect("running gzip");
    assert!(st.success(), "gzip {} failed", tmp.display());
    // Older bases are stale: keep only this one.
    for e in std::fs::read_dir(cache).into_iter().flatten().flatten() {
        let n = e.file_name().to_string_lossy().into_owned();
        if n.starts_with("base-") && n.ends_with(".cpio.gz") {
            let _ = std::fs::remove_file(e.path());
        }
    }
    let gz = PathBuf::from(format!("{}.gz", tmp.display()));
    std::fs::rename(&gz, &out).unwrap_or_else(|e| panic!("{}: {e}", out.display()));
    out
}

/// The drpilot binary for the guest: stripped into the cache when `strip` is there (the debug
/// build is ~90 MiB), else as built.
pub fn drpilot(cache: &Path) -> PathBuf {
    let built = PathBuf::from(env!("CARGO_BIN_EXE_drpilot"));
    let Some(strip) = which("strip") else {
        return built;
    };
    let meta = std::fs::metadata(&built).expect("drpilot binary");
    let stamp = format!("{}-{:?}", meta.len(), meta.modified().ok());
    let mut h = Sha256::new();
    h.update(stamp.as_bytes());
    let tag: String = h
        .finalize()
        .iter()
        .take(6)
        .map(|b| format!("{b:02x}"))
        .collect();
    let out = cache.join(format!("drpilot-{tag}"));
    if out.is_file() {
        return out;
    }
    let tmp = cache.join(format!("drpilot.tmp{}", std::process::id()));
    let ok = Command::new(strip)
        .arg("-o")
        .arg(&tmp)
        .arg(&built)
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        return built;
    }
    for e in std::fs::read_dir(cache).into_iter().flatten().flatten() {
        if e.file_name().to_string_lossy().starts_with("drpilot-") {
            let _ = std::fs::remove_file(e.path());
        }
    }
    std::fs::rename(&tmp, &out).expect("caching the stripped drpilot");
    out
}

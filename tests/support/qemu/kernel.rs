//! The guest's kernel: Debian's cloud kernel, whose ABI name comes from the dependency of the
//! `linux-image-cloud-amd64` package (old point releases leave the archive, so it is never
//! hard-coded). Taken from `/boot` and `/lib/modules` when installed (CI installs it), else
//! downloaded with `apt-get download` and unpacked with `dpkg-deb -x` into the cache. Modules
//! are resolved with their dependencies from each module's own `depends=` field.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The meta package whose dependency names the kernel.
const META: &str = "linux-image-cloud-amd64";

/// A kernel image and its module tree.
pub struct Kernel {
    /// `6.1.0-56-cloud-amd64`.
    pub abi: String,
    /// The bzImage.
    pub vmlinuz: PathBuf,
    /// `.../lib/modules/<abi>`.
    pub modules: PathBuf,
}

fn output(program: &str, args: &[&str], dir: Option<&Path>) -> Result<String, String> {
    let mut cmd = Command::new(program);
    cmd.args(args);
    if let Some(d) = dir {
        cmd.current_dir(d);
    }
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run {program}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{program} {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The ABI name from `apt-cache depends linux-image-cloud-amd64` (`Depends: linux-image-<abi>`).
pub fn parse_abi(depends: &str) -> Option<String> {
    depends.lines().find_map(|l| {
        let dep = l.trim().strip_prefix("Depends:")?.trim();
        let abi = dep.strip_prefix("linux-image-")?;
        (abi.ends_with("-cloud-amd64") && abi != "cloud-amd64").then(|| abi.to_string())
    })
}

/// Finds (or fetches into `cache`) the cloud kernel. The error is why the guest cannot boot.
pub fn find(cache: &Path) -> Result<Kernel, String> {
    let depends = output("apt-cache", &["depends", META], None)?;
    let abi = parse_abi(&depends)
        .ok_or_else(|| format!("apt-cache depends {META} names no linux-image-*: {depends}"))?;
    let installed = Kernel {
        vmlinuz: PathBuf::from(format!("/boot/vmlinuz-{abi}")),
        modules: PathBuf::from(format!("/lib/modules/{abi}")),
        abi: abi.clone(),
    };
    if installed.vmlinuz.is_file() && installed.modules.join("kernel").is_dir() {
        return Ok(installed);
    }
    let dir = cache.join(format!("kernel-{abi}"));
    let root = dir.join("root");
    let unpacked = Kernel {
        vmlinuz: root.join(format!("boot/vmlinuz-{abi}")),
        modules: root.join(format!("lib/modules/{abi}")),
        abi: abi.clone(),
    };
    if unpacked.vmlinuz.is_file() {
        return Ok(unpacked);
    }
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    let package = format!("linux-image-{abi}");
    output("apt-get", &["download", &package], Some(&dir))
        .map_err(|e| format!("{package} is not installed and downloading it failed: {e}"))?;
    let deb = std::fs::read_dir(&dir)
        .map_err(|e| e.to_string())?
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "deb"))
        .ok_or_else(|| {
            format!(
                "apt-get download {package} left no .deb in {}",
                dir.display()
            )
        })?;
    let tmp = dir.join("root.tmp");
    output(
        "dpkg-deb",
        &["-x", &deb.to_string_lossy(), &tmp.to_string_lossy()],
        None,
    )?;
    std::fs::rename(&tmp, &root).map_err(|e| e.to_string())?;
    let _ = std::fs::remove_file(&deb);
    Ok(unpacked)
}

fn norm(name: &str) -> String {
    name.replace('-', "_")
}

/// The `depends=` field of a module's `.modinfo` section (NUL-separated `key=value` strings).
pub fn modinfo_depends(ko: &[u8]) -> Vec<String> {
    ko.split(|b| *b == 0)
        .find_map(|s| s.strip_prefix(b"depends="))
        .map(|d| {
            String::from_utf8_lossy(d)
                .split(',')
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

impl Kernel {
    /// Whether `rel` (`kernel/fs/ext4/ext4.ko`) is built into the kernel.
    pub fn builtin(&self, rel: &str) -> bool {
        std::fs::read_to_string(self.modules.join("modules.builtin"))
            .is_ok_and(|t| t.lines().any(|l| l.trim() == rel))
    }

    /// Every module file, by normalised name (`dm_mod`).
    fn index(&self) -> BTreeMap<String, PathBuf> {
        let mut out = BTreeMap::new();
        let mut stack = vec![self.modules.join("kernel")];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
                let p = e.path();
                if p.is_dir() {
                    stack.push(p);
                } else if let Some(n) = p.file_name().and_then(|n| n.to_str()) {
                    if let Some(stem) = n.strip_suffix(".ko") {
                        out.insert(norm(stem), p.clone());
                    }
                }
            }
        }
        out
    }

    /// The modules to load for `wanted`, dependencies first: (name, file).
    pub fn load_order(&self, wanted: &[&str]) -> Result<Vec<(String, PathBuf)>, String> {
        let index = self.index();
        let mut order = Vec::new();
        let mut seen = HashSet::new();
        fn visit(
            name: &str,
            index: &BTreeMap<String, PathBuf>,
            seen: &mut HashSet<String>,
            order: &mut Vec<(String, PathBuf)>,
        ) -> Result<(), String> {
            let key = norm(name);
            if !seen.insert(key.clone()) {
                return Ok(());
            }
            let path = index.get(&key).ok_or_else(|| {
                format!("module {name} not found (compressed modules are not supported)")
            })?;
            let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
            for dep in modinfo_depends(&bytes) {
                visit(&dep, index, seen, order)?;
            }
            order.push((key, path.clone()));
            Ok(())
        }
        for w in wanted {
            visit(w, &index, &mut seen, &mut order)?;
        }
        Ok(order)
    }
}

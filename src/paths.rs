//! Where things live on a node. `DRPILOT_ROOT` prefixes every path drpilot touches, including
//! the paths a service config names, so the lab and the tests run unprivileged with the same
//! configs as production; `DRPILOT_NODENAME` overrides the hostname.

use std::path::{Path, PathBuf};

/// The node this process acts as: its name and the root every path is taken under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeEnv {
    /// Prefix of every path (empty for `/`).
    pub root: PathBuf,
    /// The node's name, as it appears in `nodes`, `drpnodes` and scopes.
    pub nodename: String,
}

impl NodeEnv {
    /// Reads `DRPILOT_ROOT` and `DRPILOT_NODENAME`, falling back to `/` and the hostname.
    pub fn from_env() -> Self {
        let root = std::env::var_os("DRPILOT_ROOT")
            .map(PathBuf::from)
            .unwrap_or_default();
        let nodename = std::env::var("DRPILOT_NODENAME")
            .ok()
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| {
                rustix::system::uname()
                    .nodename()
                    .to_string_lossy()
                    .into_owned()
            });
        Self { root, nodename }
    }

    /// A node environment with an explicit root and name (tests, the lab).
    pub fn new(root: impl Into<PathBuf>, nodename: impl Into<String>) -> Self {
        Self {
            root: root.into(),
            nodename: nodename.into(),
        }
    }

    /// Maps an absolute path as written in a config to the path on this node.
    pub fn path(&self, abs: impl AsRef<Path>) -> PathBuf {
        let abs = abs.as_ref();
        if self.root.as_os_str().is_empty() {
            return abs.to_path_buf();
        }
        let rel = abs.strip_prefix("/").unwrap_or(abs);
        self.root.join(rel)
    }

    /// Directory of the service configs, `/etc/drpilot`.
    pub fn etc_dir(&self) -> PathBuf {
        self.path("/etc/drpilot")
    }

    /// The config file of a service, `/etc/drpilot/<svc>.env`.
    pub fn config_path(&self, svc: &str) -> PathBuf {
        self.etc_dir().join(format!("{svc}.env"))
    }

    /// The node address map used by agents to reach their peers.
    pub fn nodes_map_path(&self) -> PathBuf {
        self.etc_dir().join("nodes.toml")
    }

    /// State of a service: sync state files, pid files, the lock, action logs.
    pub fn state_dir(&self, svc: &str) -> PathBuf {
        self.path(state_dir_of(svc))
    }
}

/// Where drpilot keeps its state on a node, as a configured path (under the node's root).
pub const STATE_ROOT: &str = "/var/lib/drpilot";

/// A service's state directory as a configured path, `/var/lib/drpilot/<svc>` (what
/// [`NodeEnv::state_dir`] maps under the node's root).
pub fn state_dir_of(svc: &str) -> String {
    format!("{STATE_ROOT}/{svc}")
}

/// Writes a file atomically: a temporary file in the same directory, fsync, rename, fsync of
/// the directory. A reader sees the old content or the new one, never a torn file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    // A bare file name has an empty parent: the current directory, which must be synced too.
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp{}", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        std::fs::File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Whether `program` is an executable on PATH (or an existing file, given a path).
pub fn on_path(program: &str) -> bool {
    if program.contains('/') {
        return Path::new(program).is_file();
    }
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|d| d.join(program).is_file()))
}

/// An XDG base directory variable (`XDG_STATE_HOME`, `XDG_CONFIG_HOME`, `XDG_RUNTIME_DIR`):
/// `None` when unset, set but empty, or relative, which the XDG spec says to ignore (an empty
/// `XDG_CONFIG_HOME=` in a unit file would otherwise put the node map in the current directory).
pub fn xdg_dir(var: &str) -> Option<PathBuf> {
    xdg_value(std::env::var_os(var))
}

fn xdg_value(value: Option<std::ffi::OsString>) -> Option<PathBuf> {
    value.map(PathBuf::from).filter(|p| p.is_absolute())
}

/// `$XDG_CONFIG_HOME`, else `~/.config` (else the current directory without a `HOME`).
pub fn config_home() -> PathBuf {
    xdg_dir("XDG_CONFIG_HOME").unwrap_or_else(|| home_or_cwd().join(".config"))
}

/// `$XDG_STATE_HOME`, else `~/.local/state` (else the current directory without a `HOME`).
pub fn state_home() -> PathBuf {
    xdg_dir("XDG_STATE_HOME").unwrap_or_else(|| home_or_cwd().join(".local/state"))
}

fn home_or_cwd() -> PathBuf {
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map_or_else(|| PathBuf::from("."), PathBuf::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xdg_variables_set_but_empty_are_treated_as_unset() {
        assert_eq!(xdg_value(None), None);
        assert_eq!(xdg_value(Some("".into())), None);
        assert_eq!(xdg_value(Some("relative/dir".into())), None);
        assert_eq!(
            xdg_value(Some("/run/user/1000".into())),
            Some(PathBuf::from("/run/user/1000"))
        );
    }

    #[test]
    fn root_prefixes_absolute_config_paths() {
        let env = NodeEnv::new("/lab/deb1", "deb1");
        assert_eq!(
            env.path("/opt/busybox"),
            PathBuf::from("/lab/deb1/opt/busybox")
        );
        assert_eq!(
            env.config_path("busybox"),
            PathBuf::from("/lab/deb1/etc/drpilot/busybox.env")
        );
    }

    #[test]
    fn atomic_write_replaces_content() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sub/state");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        assert_eq!(
            std::fs::read_dir(dir.path().join("sub")).unwrap().count(),
            1
        );
    }

    #[test]
    fn empty_root_keeps_paths() {
        let env = NodeEnv::new("", "deb1");
        assert_eq!(env.path("/opt/busybox"), PathBuf::from("/opt/busybox"));
        assert_eq!(env.state_dir("svc"), PathBuf::from("/var/lib/drpilot/svc"));
    }
}

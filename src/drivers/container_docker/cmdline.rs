//! The private dockerd's command line: our fixed flags (data root on the replicated
//! `docker_data_dir`, socket, pid file and config in the state directory, no networking of its
//! own, cgroupfs under a per-node-and-service parent), then the scoped `docker_daemon_args`.

use std::path::{Path, PathBuf};

use color_eyre::eyre::{bail, eyre, Result};

use super::daemon::{Daemon, SOCKET_PATH_MAX};
use crate::drivers::Ctx;

impl Daemon {
    /// The data root: `docker_data_dir` under this node's root. It must exist: when it sits on a
    /// filesystem of the service that is not mounted, a daemon started on the empty mount point
    /// would run the workload on the wrong data.
    fn data_root(&self, ctx: &Ctx, rid: &str) -> Result<PathBuf> {
        let Some(dir) = ctx.get(rid, "docker_data_dir") else {
            bail!(
                "{}: [DEFAULT] docker_data_dir has no value for node {}: set it to a directory on \
                 the service's replicated filesystem",
                ctx.cfg.raw.path.display(),
                ctx.env.nodename
            );
        };
        let path = ctx.env.path(&dir);
        if !path.is_dir() {
            bail!(
                "{rid}: docker_data_dir {dir} ({}) does not exist on {}: is the filesystem \
                 holding it up? On a first start, create it (mkdir -p)",
                path.display(),
                ctx.env.nodename
            );
        }
        Ok(path)
    }

    /// The dockerd command line: our fixed flags, then the scoped `docker_daemon_args` (a
    /// user's `--storage-driver` replaces ours).
    pub fn argv(&self, ctx: &Ctx, rid: &str) -> Result<Vec<String>> {
        let sock = self.socket();
        if sock.as_os_str().len() > SOCKET_PATH_MAX {
            bail!(
                "{rid}: the docker socket path {} is longer than {SOCKET_PATH_MAX} bytes, the \
                 limit of a unix socket: use a shorter DRPILOT_ROOT",
                sock.display()
            );
        }
        let extra = match ctx.get(rid, "docker_daemon_args") {
            Some(line) => shell_words::split(&line).map_err(|e| {
                eyre!(
                    "{}: [{rid}] docker_daemon_args: cannot split '{line}': {e}",
                    ctx.cfg.raw.path.display()
                )
            })?,
            None => Vec::new(),
        };
        let path = |p: &Path| p.to_string_lossy().into_owned();
        let mut argv = vec![
            "dockerd".to_string(),
            "--data-root".to_string(),
            path(&self.data_root(ctx, rid)?),
            "-H".to_string(),
            format!("unix://{}", sock.display()),
            "--pidfile".to_string(),
            path(&self.pid_file()),
            "--exec-root".to_string(),
            path(&self.exec_root()),
            "--config-file".to_string(),
            path(&self.config_file()),
            "--bridge=none".to_string(),
            "--iptables=false".to_string(),
            "--ip-masq=false".to_string(),
            "--ip-forward=false".to_string(),
            "--exec-opt".to_string(),
            "native.cgroupdriver=cgroupfs".to_string(),
            format!("--cgroup-parent={}", self.cgroup_parent()),
            "--shutdown-timeout=5".to_string(),
        ];
        // overlay2 even on btrfs: docker's btrfs driver makes nested subvolumes, which a btrfs
        // snapshot of the data root (our replication) would not carry.
        let user_driver = extra
            .iter()
            .any(|a| a == "-s" || a == "--storage-driver" || a.starts_with("--storage-driver="));
        if !user_driver {
            argv.push("--storage-driver=overlay2".to_string());
        }
        argv.extend(extra);
        Ok(argv)
    }
}

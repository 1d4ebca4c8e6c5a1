//! The docker container driver on this host, as root: a service's private dockerd started and
//! stopped with the service, its container run once and restarted with the same id and logs
//! (what makes a replicated data root carry the workload across nodes), and the
//! `svc docker ARGS` passthrough.

mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use support::{bin, resource, wait_until, Run};

const IMAGE: &str = "tb/busybox:1";
const NODE: &str = "deb1";
const T: Duration = Duration::from_secs(20);

/// One service under a temporary root; its dockerd is stopped (then killed) on drop, whatever
/// the test did.
struct Service {
    root: PathBuf,
    name: String,
    _tmp: tempfile::TempDir,
}

impl Service {
    fn new() -> Self {
        // The data root must sit on a real filesystem (overlay2 cannot stack on tmpfs nor on
        // overlay): the target directory is on the worktree's disk, unlike a tmpfs /tmp.
        let tmp = tempfile::Builder::new()
            .prefix("docker")
            .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
            .expect("tempdir");
        let name = format!("dk{}", std::process::id());
        let root = tmp.path().to_path_buf();
        std::fs::create_dir_all(root.join("etc/drpilot")).unwrap();
        std::fs::create_dir_all(root.join(format!("srv/{name}/docker"))).unwrap();
        let cfg = format!(
            "[DEFAULT]\n\
             nodes = {NODE}\n\
             docker_data_dir = /srv/{name}/docker\n\
             \n\
             [container#1]\n\
             type = docker\n\
             run_image = {IMAGE}\n\
             run_command = sh -c 'trap \"exit 0\" TERM; while :; do date +%T; sleep 1; done'\n"
        );
        std::fs::write(root.join(format!("etc/drpilot/{name}.env")), cfg).unwrap();
        Self {
            root,
            name,
            _tmp: tmp,
        }
    }

    fn svc(&self, args: &[&str]) -> Run {
        bin()
            .env("DRPILOT_ROOT", &self.root)
            .env("DRPILOT_NODENAME", NODE)
            .args(["svc", &self.name])
            .args(args)
            .output()
            .expect("run drpilot")
            .into()
    }

    fn state(&self) -> PathBuf {
        self.root.join("var/lib/drpilot").join(&self.name)
    }

    fn status(&self) -> serde_json::Value {
        let out = self
            .svc(&["print", "status", "--format", "json"])
            .expect_ok("print status");
        serde_json::from_str(&out.stdout).expect("status JSON")
    }

    fn container(&self) -> serde_json::Value {
        resource(&self.status(), "container#1").clone()
    }

    fn dockerd_pid(&self) -> Option<i32> {
        let text = std::fs::read_to_string(self.state().join("docker.pid")).ok()?;
        text.trim().parse().ok()
    }

    fn logs(&self) -> Vec<String> {
        let out = self
            .svc(&["docker", "logs", &format!("{}.container.1", self.name)])
            .expect_ok("svc docker logs");
        out.stdout.lines().map(str::to_string).collect()
    }

    fn cgroup_dirs(&self) -> Vec<PathBuf> {
        let leaf = format!("drpilot-{NODE}-{}", self.name);
        std::fs::read_dir("/sys/fs/cgroup")
            .map(|d| {
                d.flatten()
                    .map(|e| e.path().join(&leaf))
                    .chain([Path::new("/sys/fs/cgroup").join(&leaf)])
                    .filter(|p| p.is_dir())
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// Whether a pid runs (a zombie does not).
fn alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rfind(')')
                .map(|i| !matches!(s[i + 1..].split_whitespace().next(), Some("Z" | "X")))
        })
        .unwrap_or(false)
}

impl Drop for Service {
    fn drop(&mut self) {
        let pid = self.dockerd_pid();
        let _ = self.svc(&["stop"]);
        if let Some(pid) = pid
            .filter(|p| alive(*p))
            .and_then(rustix::process::Pid::from_raw)
        {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
        }
    }
}

#[test]
fn a_private_dockerd_runs_the_container_and_restarts_it_with_its_id_and_logs() {
    if !support::root_testbed_ready(
        "a_private_dockerd_runs_the_container_and_restarts_it_with_its_id_and_logs",
        &["dockerd", "docker", "tar", "/bin/busybox"],
    ) {
        return;
    }
    let s = Service::new();

    // Stopped service: the seed's first status.
    let c = s.container();
    assert_eq!(c["status"], "down", "{c}");
    assert_eq!(c["label"], IMAGE, "{c}");
    assert_eq!(c["comments"][0], "docker daemon is not running", "{c}");

    // The passthrough starts the daemon, as the seed's `docker images` on a stopped service.
    let out = s.svc(&["docker", "images"]).expect_ok("svc docker images");
    assert!(out.stdout.starts_with("REPOSITORY"), "{}", out.stdout);
    assert!(
        out.stderr.contains("docker daemon is not running"),
        "{}",
        out.stderr
    );
    let c = s.container();
    assert_eq!(c["comments"][0], "can not find container id", "{c}");
    assert!(
        c["comments"][1]
            .as_str()
            .is_some_and(|m| m.starts_with(&format!("image {IMAGE} is missing"))),
        "{c}"
    );
    let tar = s.root.join("busybox.tar");
    drpilot::lab::busybox_image::write_rootfs_tar(Path::new("/bin/busybox"), &tar)
        .expect("busybox rootfs tar");
    let out = s
        .svc(&["docker", "import", &tar.to_string_lossy(), IMAGE])
        .expect_ok("svc docker import");
    assert!(out.stdout.trim().starts_with("sha256:"), "{}", out.stdout);
    assert_eq!(s.container()["comments"].as_array().map(Vec::len), Some(1));
    // docker's own exit code comes back.
    let out = s.svc(&["docker", "run", "--rm", IMAGE, "sh", "-c", "exit 7"]);
    assert_eq!(out.code, Some(7), "{}", out.stderr);

    // Start: the container runs, labelled <id>@<image>.
    let out = s.svc(&["start"]).expect_ok("start");
    assert!(out.stdout.contains(" run -d --name "), "{}", out.stdout);
    let c = s.container();
    assert_eq!(c["status"], "up", "{c}");
    let label = c["label"].as_str().unwrap_or_default().to_string();
    let (id, image) = label.split_once('@').expect("id@image label");
    assert_eq!((id.len(), image), (12, IMAGE), "{label}");
    wait_until(T, "three date lines in the container log", || {
        s.logs().len() >= 3
    });
    let before = s.logs();

    // Stop: the container, then the daemon, whose pid and socket are gone on return.
    let pid = s.dockerd_pid().expect("docker.pid while running");
    assert!(alive(pid));
    let out = s.svc(&["stop"]).expect_ok("stop");
    assert!(
        out.stdout
            .contains("no more container handled by docker daemon. shut it down"),
        "{}",
        out.stdout
    );
    assert!(!alive(pid), "dockerd {pid} survived the stop");
    assert!(!s.state().join("docker.sock").exists());
    let c = s.container();
    assert_eq!(
        (c["status"].as_str(), c["comments"][0].as_str()),
        (Some("down"), Some("docker daemon is not running")),
        "{c}"
    );
    assert_eq!(s.cgroup_dirs(), Vec::<PathBuf>::new(), "cgroup parent left");
    s.svc(&["stop"]).expect_ok("stop of a stopped service");

    // Start again: the same container, its log continued.
    let out = s.svc(&["start"]).expect_ok("second start");
    assert!(
        out.stdout.contains(&format!(" start {id}")),
        "{}",
        out.stdout
    );
    assert_eq!(s.container()["label"], label.as_str());
    wait_until(T, "the log to grow past the first run", || {
        s.logs().len() > before.len() + 1
    });
    let after = s.logs();
    assert_eq!(
        after[..before.len()],
        before[..],
        "the old log lines are kept"
    );
    s.svc(&["stop"]).expect_ok("final stop");
    assert!(s.dockerd_pid().is_none(), "pid file left");
}

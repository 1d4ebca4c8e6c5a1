//! A real OpenSSH server for the ssh transport tests: its own host key, client key,
//! authorized_keys, known_hosts and ssh_config in a short temporary directory, listening on a
//! free port of 127.0.0.1. Depends on std and tempfile only.

#![allow(dead_code)]

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const SSHD: &str = "/usr/sbin/sshd";

/// A running sshd, killed on drop.
pub struct TestSshd {
    dir: tempfile::TempDir,
    port: u16,
    user: String,
    ssh_config: PathBuf,
    child: Option<Child>,
}

use super::{on_path as have, testbed_required as required};

fn run(cmd: &mut Command, what: &str) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn keygen(path: &Path) {
    run(
        Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-C", "drpilot-test", "-f"])
            .arg(path),
        "ssh-keygen",
    );
}

fn current_user() -> String {
    let out = Command::new("id").arg("-un").output().expect("id -un");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    l.local_addr().expect("local addr").port()
}

impl TestSshd {
    /// Starts sshd, or returns None (saying why on stderr) when OpenSSH is not installed;
    /// panics instead when `DRPILOT_REQUIRE_TESTBED=1` (CI).
    pub fn start() -> Option<Self> {
        for tool in [SSHD, "ssh", "ssh-keygen"] {
            if !have(tool) {
                let why = format!("{tool} is missing (install openssh-server and openssh-client)");
                assert!(!required(), "DRPILOT_REQUIRE_TESTBED=1 but {why}");
                eprintln!("skipping: {why}");
                return None;
            }
        }
        let dir = tempfile::Builder::new()
            .prefix("drpsshd")
            .tempdir_in("/tmp")
            .expect("tempdir");
        let mut me = Self {
            ssh_config: dir.path().join("ssh_config"),
            port: free_port(),
            user: current_user(),
            child: None,
            dir,
        };
        me.write_files();
        me.spawn();
        Some(me)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn write_files(&mut self) {
        keygen(&self.path("host_key"));
        keygen(&self.path("client_key"));
        std::fs::copy(self.path("client_key.pub"), self.path("authorized_keys"))
            .expect("authorized_keys");
        self.write_known_hosts();
        let d = self.dir.path().display();
        let sshd_config = format!(
            "Port {port}\nListenAddress 127.0.0.1\nHostKey {d}/host_key\nPidFile {d}/sshd.pid\n\
             PermitRootLogin prohibit-password\nPasswordAuthentication no\n\
             KbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\n\
             AuthorizedKeysFile {d}/authorized_keys\nUseDNS no\nPrintMotd no\nPrintLastLog no\n\
             MaxStartups 100:30:200\n",
            port = self.port
        );
        std::fs::write(self.path("sshd_config"), sshd_config).expect("sshd_config");
        let ssh_config = format!(
            "Host *\n  HostName 127.0.0.1\n  Port {port}\n  User {user}\n\
             \x20 IdentityFile {d}/client_key\n  IdentitiesOnly yes\n\
             \x20 UserKnownHostsFile {d}/known_hosts\n  GlobalKnownHostsFile /dev/null\n\
             \x20 StrictHostKeyChecking yes\n  BatchMode yes\n  ConnectTimeout 5\n",
            port = self.port,
            user = self.user
        );
        std::fs::write(self.path("ssh_config"), ssh_config).expect("ssh_config");
    }

    /// known_hosts recording the current host key for `[127.0.0.1]:PORT`.
    fn write_known_hosts(&self) {
        let key = std::fs::read_to_string(self.path("host_key.pub")).expect("host key");
        let mut fields = key.split_whitespace();
        let (kind, blob) = (fields.next().unwrap_or(""), fields.next().unwrap_or(""));
        std::fs::write(
            self.path("known_hosts"),
            format!("[127.0.0.1]:{} {kind} {blob}\n", self.port),
        )
        .expect("known_hosts");
    }

    fn spawn(&mut self) {
        if is_root() {
            let _ = std::fs::create_dir_all("/run/sshd");
        }
        let child = Command::new(SSHD)
            .args(["-D", "-e", "-f"])
            .arg(self.path("sshd_config"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(
                std::fs::File::create(self.path("sshd.log"))
                    .map(Stdio::from)
                    .unwrap_or_else(|_| Stdio::null()),
            )
            .spawn()
            .expect("start sshd");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            if let Some(Ok(Some(status))) = self.child.as_mut().map(Child::try_wait) {
                panic!("sshd exited ({status}): {}", self.log());
            }
            assert!(
                Instant::now() < deadline,
                "sshd did not listen within 10 s: {}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// What sshd printed (its -e log), for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.path("sshd.log")).unwrap_or_default()
    }

    fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// The port sshd listens on (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The client configuration: identity, known_hosts, strict checking, batch mode.
    pub fn ssh_config(&self) -> &Path {
        &self.ssh_config
    }

    /// The node address of this server: `ssh://USER@127.0.0.1:PORT`.
    pub fn address(&self) -> String {
        format!("ssh://{}@127.0.0.1:{}", self.user, self.port)
    }

    /// Gives the server a new host key and restarts it on the same port; known_hosts keeps the
    /// old key, as a client's would.
    pub fn change_host_key(&mut self) {
        self.stop();
        for f in ["host_key", "host_key.pub"] {
            let _ = std::fs::remove_file(self.path(f));
        }
        keygen(&self.path("host_key"));
        self.spawn();
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

impl Drop for TestSshd {
    fn drop(&mut self) {
        self.stop();
    }
}

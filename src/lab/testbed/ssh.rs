//! The testbed's SSH: one client key for root everywhere, a host key and an sshd config per
//! host, and a client config naming every host by node name and short name, with strict host
//! key checking against the testbed's own known_hosts.

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use color_eyre::eyre::{Result, WrapErr};

use super::net::run;

/// The client side: key, known hosts, config.
#[derive(Debug, Clone)]
pub struct SshFiles {
    /// The directory holding them.
    pub dir: PathBuf,
}

impl SshFiles {
    /// Creates the client key in `dir`.
    pub fn create(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir).wrap_err_with(|| format!("creating {}", dir.display()))?;
        let files = Self {
            dir: dir.to_path_buf(),
        };
        keygen(&files.identity())?;
        let public = std::fs::read_to_string(files.identity().with_extension("pub"))
            .wrap_err("reading the client public key")?;
        std::fs::write(files.authorized_keys(), public).wrap_err("writing authorized_keys")?;
        std::fs::write(files.known_hosts(), "").wrap_err("writing known_hosts")?;
        Ok(files)
    }

    /// The client's private key.
    pub fn identity(&self) -> PathBuf {
        self.dir.join("id_ed25519")
    }

    /// The keys every host accepts for root.
    pub fn authorized_keys(&self) -> PathBuf {
        self.dir.join("authorized_keys")
    }

    /// The host keys of the testbed's hosts.
    pub fn known_hosts(&self) -> PathBuf {
        self.dir.join("known_hosts")
    }

    /// The client config (`ssh -F`, and the nodes map's `ssh_config`).
    pub fn config(&self) -> PathBuf {
        self.dir.join("config")
    }

    /// Writes the client config for `hosts` (node name, short name, address).
    pub fn write_config(&self, hosts: &[(String, String, Ipv4Addr)]) -> Result<()> {
        let mut text = String::new();
        for (name, short, addr) in hosts {
            text.push_str(&format!("Host {name} {short}\n  HostName {addr}\n"));
        }
        text.push_str(&format!(
            "Host *\n  User root\n  IdentityFile {}\n  IdentitiesOnly yes\n  \
             UserKnownHostsFile {}\n  GlobalKnownHostsFile /dev/null\n  \
             StrictHostKeyChecking yes\n  BatchMode yes\n  ConnectTimeout 3\n  \
             ServerAliveInterval 2\n  ServerAliveCountMax 3\n",
            self.identity().display(),
            self.known_hosts().display()
        ));
        std::fs::write(self.config(), text).wrap_err("writing the ssh client config")
    }

    /// Adds a host's key to known_hosts under its names and address.
    pub fn trust_host(&self, names: &[&str], addr: Ipv4Addr, host_key_pub: &Path) -> Result<()> {
        let key = std::fs::read_to_string(host_key_pub)
            .wrap_err_with(|| format!("reading {}", host_key_pub.display()))?;
        let key: Vec<&str> = key.split_whitespace().take(2).collect();
        let line = format!("{},{} {}\n", addr, names.join(","), key.join(" "));
        let mut all = std::fs::read_to_string(self.known_hosts()).unwrap_or_default();
        all.push_str(&line);
        std::fs::write(self.known_hosts(), all).wrap_err("writing known_hosts")
    }
}

fn keygen(path: &Path) -> Result<()> {
    let p = path.to_string_lossy().into_owned();
    run(&[
        "ssh-keygen",
        "-q",
        "-t",
        "ed25519",
        "-N",
        "",
        "-C",
        "drpilot-testbed",
        "-f",
        &p,
    ])?;
    Ok(())
}

/// Writes a host's key and sshd config in `dir`; returns the config path.
pub fn write_sshd_config(dir: &Path, files: &SshFiles) -> Result<PathBuf> {
    let key = dir.join("ssh_host_ed25519_key");
    keygen(&key)?;
    let config = dir.join("sshd_config");
    // UsePAM no and StrictModes no: PAM sessions and home-permission checks fail inside the
    // namespaces (measured); the keys stay the only way in.
    let text = format!(
        "ListenAddress 0.0.0.0\nHostKey {key}\nPidFile {pid}\nPermitRootLogin prohibit-password\n\
         PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\n\
         AuthorizedKeysFile {auth}\nUseDNS no\nPrintMotd no\nPrintLastLog no\n\
         MaxStartups 100:30:200\nMaxSessions 100\nAcceptEnv LANG LC_*\n\
         ClientAliveInterval 2\nClientAliveCountMax 3\n",
        key = key.display(),
        pid = dir.join("sshd.pid").display(),
        auth = files.authorized_keys().display(),
    );
    std::fs::write(&config, text).wrap_err("writing sshd_config")?;
    Ok(config)
}

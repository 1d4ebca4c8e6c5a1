//! Report signing with the operator's ssh key (`ssh-keygen -Y sign`, namespace
//! `drpilot-report`), so an auditor can check that a report is the one its author wrote
//! (`ssh-keygen -Y verify` against an allowed_signers file). No key at hand is not an error: the
//! report is then unsigned and says why. ssh-keygen runs without a terminal (its own session,
//! stdin null, `SSH_ASKPASS_REQUIRE=never`) so a passphrase never blocks a run's end.

use std::ffi::OsString;
use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use color_eyre::eyre::{bail, eyre, Result, WrapErr};

/// The signature namespace: a signature made for a drpilot report verifies for nothing else.
pub const NAMESPACE: &str = "drpilot-report";

/// The key that signs, and where it was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SigningKey {
    /// A key file (private, or public with its private half in the agent).
    File(PathBuf),
    /// The ssh-agent's first key: its public line (`ssh-ed25519 AAAA… comment`).
    Agent(String),
    /// No key: why.
    None(String),
}

/// What signing a file did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignOutcome {
    /// `FILE.sig` was written.
    Signed {
        /// The signature file.
        sig: PathBuf,
        /// Which key signed (a path, or the agent's key comment).
        key: String,
    },
    /// No key was found: the file stays unsigned, for this reason.
    Unsigned(String),
    /// A key was found but signing failed (the report is kept; this says why).
    Failed(String),
}

impl std::fmt::Display for SignOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SignOutcome::Signed { sig, key } => write!(f, "signed with {key}: {}", sig.display()),
            SignOutcome::Unsigned(why) => write!(f, "unsigned: {why}"),
            SignOutcome::Failed(why) => write!(f, "signing FAILED: {why}"),
        }
    }
}

/// A good signature: who made it, as the allowed_signers file names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The principal of the allowed_signers file whose key made the signature.
    pub principal: String,
    /// ssh-keygen's own words (key type and fingerprint).
    pub detail: String,
}

/// The signature file of `file`: `FILE.sig`.
pub fn sig_path(file: &Path) -> PathBuf {
    let mut s = file.as_os_str().to_owned();
    s.push(".sig");
    PathBuf::from(s)
}

/// Where `report --verify` looks for the allowed signers by default:
/// `$XDG_CONFIG_HOME/drpilot/allowed_signers`, else `~/.config/drpilot/allowed_signers`.
pub fn default_allowed_signers() -> PathBuf {
    crate::paths::config_home().join("drpilot/allowed_signers")
}

/// An ssh tool run without a terminal: its own session (no /dev/tty to prompt on), stdin
/// null, askpass never used.
fn tool(program: &str) -> Command {
    let mut cmd = Command::new(program);
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .env("SSH_ASKPASS_REQUIRE", "never");
    // SAFETY: the closure runs between fork and exec and makes one system call (setsid), which
    // is async-signal-safe: no allocation, no lock.
    unsafe {
        cmd.pre_exec(|| {
            rustix::process::setsid()?;
            Ok(())
        });
    }
    cmd
}

fn run(cmd: &mut Command, what: &str) -> Result<Output> {
    cmd.output().wrap_err_with(|| format!("running {what}"))
}

fn last_line(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    crate::text::clean_line(
        text.lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("no message"),
    )
    .into_owned()
}

impl SigningKey {
    /// The key to sign with: `DRPILOT_SIGNING_KEY` when set, else the running ssh-agent's
    /// first key, else the first of `~/.ssh/id_ed25519`, `id_ecdsa`, `id_rsa` that exists.
    pub fn find() -> SigningKey {
        let agent = std::env::var_os("SSH_AUTH_SOCK").is_some_and(|s| !s.is_empty());
        Self::find_with(
            std::env::var_os("DRPILOT_SIGNING_KEY").filter(|s| !s.is_empty()),
            agent,
            std::env::var_os("HOME").map(PathBuf::from),
        )
    }

    /// [`SigningKey::find`] with its places given: the key variable, whether an agent runs,
    /// the home directory.
    pub fn find_with(env_key: Option<OsString>, agent: bool, home: Option<PathBuf>) -> SigningKey {
        if let Some(k) = env_key {
            return SigningKey::File(PathBuf::from(k));
        }
        if agent {
            if let Some(line) = agent_key() {
                return SigningKey::Agent(line);
            }
        }
        if let Some(home) = &home {
            for name in ["id_ed25519", "id_ecdsa", "id_rsa"] {
                let p = home.join(".ssh").join(name);
                if p.is_file() {
                    return SigningKey::File(p);
                }
            }
        }
        SigningKey::None(
            "no signing key: DRPILOT_SIGNING_KEY is not set, no ssh-agent key, and no \
             ~/.ssh/id_ed25519, id_ecdsa or id_rsa"
                .to_string(),
        )
    }
}

/// The agent's first public key line, if an agent answers with one.
fn agent_key() -> Option<String> {
    let out = tool("ssh-add").arg("-L").output().ok()?;
    if !out.status.success() {
        return None;
    }
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
}

/// A temporary `.pub` file holding the agent's key, removed when dropped.
struct TempPub(PathBuf);

impl TempPub {
    fn write(line: &str) -> Result<Self> {
        let nanos = chrono::Utc::now().timestamp_subsec_nanos();
        let path = std::env::temp_dir().join(format!(
            "drpilot-sign-{}-{nanos:08x}.pub",
            std::process::id()
        ));
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .wrap_err_with(|| format!("creating {}", path.display()))?;
        writeln!(f, "{line}").wrap_err_with(|| format!("writing {}", path.display()))?;
        Ok(Self(path))
    }
}

impl Drop for TempPub {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Signs `file` with the key [`SigningKey::find`] finds: writes `FILE.sig`.
pub fn sign(file: &Path) -> Result<SignOutcome> {
    sign_with(file, &SigningKey::find())
}

/// Signs `file` with `key`: `ssh-keygen -Y sign -n drpilot-report -f KEY FILE`, which writes
/// `FILE.sig` (an older one is removed first: a stale signature never stays beside a new
/// file). No key, or no ssh-keygen, is [`SignOutcome::Unsigned`]; a key that does not sign is
/// an error naming it.
pub fn sign_with(file: &Path, key: &SigningKey) -> Result<SignOutcome> {
    let sig = sig_path(file);
    match std::fs::remove_file(&sig) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).wrap_err_with(|| format!("removing {}", sig.display())),
    }
    let (_temp, key_file, name) = match key {
        SigningKey::None(why) => return Ok(SignOutcome::Unsigned(why.clone())),
        SigningKey::File(p) => {
            if !p.exists() {
                bail!(
                    "the signing key {} does not exist (DRPILOT_SIGNING_KEY)",
                    p.display()
                );
            }
            (None, p.clone(), p.display().to_string())
        }
        SigningKey::Agent(line) => {
            let t = TempPub::write(line)?;
            let p = t.0.clone();
            let comment = line.split_whitespace().nth(2).unwrap_or("key");
            (Some(t), p, format!("the ssh-agent's key {comment}"))
        }
    };
    let mut cmd = tool("ssh-keygen");
    cmd.args(["-Y", "sign", "-n", NAMESPACE, "-f"])
        .arg(&key_file)
        .arg(file);
    let out = match cmd.output() {
        Ok(o) => o,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(SignOutcome::Unsigned(
                "ssh-keygen is not installed (openssh-client)".to_string(),
            ))
        }
        Err(e) => return Err(e).wrap_err("running ssh-keygen -Y sign"),
    };
    if !out.status.success() || !sig.exists() {
        bail!(
            "ssh-keygen could not sign {} with {name}: {}",
            file.display(),
            last_line(&out.stderr)
        );
    }
    Ok(SignOutcome::Signed { sig, key: name })
}

/// Verifies `FILE.sig` over `file` against the `allowed` signers: finds the principal whose key
/// made it (`ssh-keygen -Y find-principals`), then checks the signature for that principal in
/// the `drpilot-report` namespace (`ssh-keygen -Y verify … < FILE`). Any doubt is an error.
pub fn verify(file: &Path, allowed: &Path) -> Result<Verified> {
    let sig = sig_path(file);
    if !sig.is_file() {
        bail!("no signature {}", sig.display());
    }
    if !allowed.is_file() {
        bail!(
            "no allowed signers file {} (lines `PRINCIPAL namespaces=\"{NAMESPACE}\" KEY`)",
            allowed.display()
        );
    }
    let found = run(
        tool("ssh-keygen")
            .args(["-Y", "find-principals", "-s"])
            .arg(&sig)
            .arg("-f")
            .arg(allowed),
        "ssh-keygen -Y find-principals",
    )?;
    let principal = String::from_utf8_lossy(&found.stdout)
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .map(str::to_string);
    let principal = match principal {
        Some(p) if found.status.success() => p,
        _ => bail!(
            "no key of {} made {}: {}",
            allowed.display(),
            sig.display(),
            last_line(&found.stderr)
        ),
    };
    let input =
        std::fs::File::open(file).wrap_err_with(|| format!("opening {}", file.display()))?;
    let out = run(
        tool("ssh-keygen")
            .args(["-Y", "verify", "-f"])
            .arg(allowed)
            .args(["-I", &principal, "-n", NAMESPACE, "-s"])
            .arg(&sig)
            .stdin(input),
        "ssh-keygen -Y verify",
    )?;
    if !out.status.success() {
        let why = last_line(&out.stderr);
        let why = if why == "no message" {
            last_line(&out.stdout)
        } else {
            why
        };
        return Err(eyre!(
            "the signature of {} does not verify for {principal}: {why}",
            file.display()
        ));
    }
    Ok(Verified {
        principal,
        detail: last_line(&out.stdout),
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Whether ssh-keygen runs here; without it a test fails under DRPILOT_REQUIRE_TESTBED=1
    /// and is skipped (saying why) otherwise.
    pub(crate) fn ssh_keygen_here(test: &str) -> bool {
        let ok = Command::new("ssh-keygen")
            .arg("-?")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok();
        if !ok {
            assert!(
                std::env::var_os("DRPILOT_REQUIRE_TESTBED").is_none(),
                "{test}: ssh-keygen is not installed (openssh-client)"
            );
            eprintln!("{test}: SKIPPED: ssh-keygen is not installed (openssh-client)");
        }
        ok
    }

    /// A fresh ed25519 key in `dir` and an allowed_signers file for it: (key, allowed).
    pub(crate) fn key_and_signers(dir: &Path, principal: &str) -> (PathBuf, PathBuf) {
        let key = dir.join("id_ed25519");
        let st = Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-C", principal, "-f"])
            .arg(&key)
            .status()
            .unwrap();
        assert!(st.success());
        let public = std::fs::read_to_string(key.with_extension("pub")).unwrap();
        let allowed = dir.join("allowed_signers");
        std::fs::write(
            &allowed,
            format!("{principal} namespaces=\"{NAMESPACE}\" {}", public.trim()),
        )
        .unwrap();
        (key, allowed)
    }

    #[test]
    fn a_signed_file_verifies_and_fails_after_a_one_byte_change() {
        if !ssh_keygen_here("a_signed_file_verifies_and_fails_after_a_one_byte_change") {
            return;
        }
        let d = tempfile::tempdir().unwrap();
        let (key, allowed) = key_and_signers(d.path(), "auditor@example.org");
        let file = d.path().join("run.md");
        std::fs::write(&file, "# DRP rehearsal of busybox\n").unwrap();
        let out = sign_with(&file, &SigningKey::File(key)).unwrap();
        assert!(matches!(out, SignOutcome::Signed { .. }), "{out}");
        let v = verify(&file, &allowed).unwrap_or_else(|e| panic!("{e:#}"));
        assert_eq!(v.principal, "auditor@example.org");
        std::fs::write(&file, "# DRP rehearsal of busyboy\n").unwrap();
        let e = format!("{:#}", verify(&file, &allowed).unwrap_err());
        assert!(e.contains("does not verify"), "{e}");
    }

    #[test]
    fn a_key_with_a_passphrase_fails_at_once_without_asking() {
        if !ssh_keygen_here("a_key_with_a_passphrase_fails_at_once_without_asking") {
            return;
        }
        let d = tempfile::tempdir().unwrap();
        let key = d.path().join("id_ed25519");
        let st = Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "secret words", "-f"])
            .arg(&key)
            .status()
            .unwrap();
        assert!(st.success());
        let file = d.path().join("run.md");
        std::fs::write(&file, "x").unwrap();
        let e = format!(
            "{:#}",
            sign_with(&file, &SigningKey::File(key)).unwrap_err()
        );
        assert!(e.contains("could not sign"), "{e}");
        assert!(!sig_path(&file).exists());
    }

    #[test]
    fn no_key_leaves_the_file_unsigned_not_an_error() {
        let d = tempfile::tempdir().unwrap();
        let key = SigningKey::find_with(None, false, Some(d.path().to_path_buf()));
        assert!(matches!(key, SigningKey::None(_)), "{key:?}");
        let file = d.path().join("run.md");
        std::fs::write(&file, "x").unwrap();
        std::fs::write(sig_path(&file), "stale").unwrap();
        let out = sign_with(&file, &key).unwrap();
        assert!(matches!(out, SignOutcome::Unsigned(ref why) if why.contains("no signing key")));
        assert!(!sig_path(&file).exists(), "a stale signature stayed");
        // The home's key comes before nothing; DRPILOT_SIGNING_KEY before the home's key.
        std::fs::create_dir(d.path().join(".ssh")).unwrap();
        std::fs::write(d.path().join(".ssh/id_rsa"), "k").unwrap();
        let home = Some(d.path().to_path_buf());
        assert_eq!(
            SigningKey::find_with(None, false, home.clone()),
            SigningKey::File(d.path().join(".ssh/id_rsa"))
        );
        assert_eq!(
            SigningKey::find_with(Some("/k".into()), false, home),
            SigningKey::File("/k".into())
        );
    }
}

//! Clear connection errors: ssh reports everything as text on stderr (which the openssh crate
//! passes through), so the well-known cases are recognised here and explained with the node
//! name and what to do.

use std::error::Error as _;

use color_eyre::eyre::{eyre, Report};

use crate::transport::NodeAddress;

/// Why a connection failed, as far as ssh's messages tell.
#[derive(Debug, PartialEq, Eq)]
enum Failure {
    /// The host presented a key other than the recorded one.
    HostKeyChanged,
    /// The host is absent from known_hosts and checking is strict.
    HostKeyUnknown,
    /// The server refused our credentials.
    AuthDenied,
    /// Anything else (refused, unreachable, timeouts, config errors).
    Other,
}

fn classify(text: &str) -> Failure {
    if text.contains("REMOTE HOST IDENTIFICATION HAS CHANGED")
        || text.contains("has changed and you have requested strict checking")
    {
        Failure::HostKeyChanged
    } else if text.contains("Host key verification failed")
        || text.contains("you have requested strict checking")
    {
        Failure::HostKeyUnknown
    } else if text.contains("Permission denied") {
        Failure::AuthDenied
    } else {
        Failure::Other
    }
}

/// An openssh error with its sources, on one line.
pub(super) fn chain(e: &openssh::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// What ssh said that matters: its message lines without the warning banner.
fn ssh_said(text: &str) -> String {
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| {
            !l.is_empty()
                && !l.starts_with('@')
                && !l.contains("@@@@")
                && !l.starts_with("Warning: Permanently added")
                && !l.starts_with("Please contact")
                && !l.starts_with("IT IS POSSIBLE")
                && !l.starts_with("Someone could be")
                && !l.starts_with("It is also possible")
                && !l.starts_with("The fingerprint for")
                && !l.starts_with("SHA256:")
                && !l.starts_with("Add correct host key")
                && !l.starts_with("Offending")
                && !l.starts_with("remove with:")
                && !l.starts_with("ssh-keygen -f")
        })
        .collect();
    let start = lines.len().saturating_sub(3);
    lines[start..].join(" / ")
}

/// The host as known_hosts names it: `host` or `[host]:port`.
fn known_hosts_name(addr: &NodeAddress) -> String {
    match addr {
        NodeAddress::Ssh {
            host,
            port: Some(p),
            ..
        } if *p != 22 => format!("[{host}]:{p}"),
        NodeAddress::Ssh { host, .. } => host.clone(),
        NodeAddress::Local { root } => root.display().to_string(),
    }
}

/// The deepest source of an error: for a failed connect, ssh's own log text.
fn innermost(e: &openssh::Error) -> String {
    let mut last: &dyn std::error::Error = e;
    while let Some(s) = last.source() {
        last = s;
    }
    last.to_string()
}

/// The error for a failed connect to `node` at `addr`.
pub(super) fn connect_error(node: &str, addr: &NodeAddress, e: &openssh::Error) -> Report {
    explain(node, addr, &innermost(e))
}

fn explain(node: &str, addr: &NodeAddress, text: &str) -> Report {
    let said = ssh_said(text);
    let name = known_hosts_name(addr);
    match classify(text) {
        Failure::HostKeyChanged => eyre!(
            "node {node}: connection refused because the host key of {addr} changed: it no \
             longer matches the key recorded in known_hosts (the host was reinstalled, or someone \
             is intercepting the connection). Verify the new key with the host's administrator, \
             then remove the old entry (ssh-keygen -R '{name}') and connect again [ssh: {said}]"
        ),
        Failure::HostKeyUnknown => eyre!(
            "node {node}: the host key of {addr} is not in known_hosts and host keys are checked \
             strictly: add it to known_hosts (after checking its fingerprint, e.g. from \
             ssh-keyscan) or use --accept-new-host-keys [ssh: {said}]"
        ),
        Failure::AuthDenied => eyre!(
            "node {node}: {addr} refused the authentication: check the user and the ssh key \
             (IdentityFile of the node's ssh_config) [ssh: {said}]"
        ),
        Failure::Other => eyre!("node {node}: cannot open an ssh connection to {addr}: {said}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHANGED: &str = "\
@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@\r\n\
@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\r\n\
@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@\r\n\
IT IS POSSIBLE THAT SOMEONE IS DOING SOMETHING NASTY!\r\n\
Host key for [127.0.0.1]:2222 has changed and you have requested strict checking.\r\n\
Host key verification failed.\r\n";

    const UNKNOWN: &str = "No ED25519 host key is known \
for [127.0.0.1]:2222 and you have requested strict checking.\r\nHost key verification failed.";

    fn addr() -> NodeAddress {
        NodeAddress::parse("ssh://root@127.0.0.1:2222").unwrap()
    }

    #[test]
    fn a_changed_key_is_named_as_such() {
        assert_eq!(classify(CHANGED), Failure::HostKeyChanged);
        let text = explain("deb2", &addr(), CHANGED).to_string();
        assert!(text.contains("host key"), "{text}");
        assert!(text.contains("deb2"), "{text}");
        assert!(text.contains("refused because the host key"), "{text}");
        assert!(text.contains("ssh-keygen -R '[127.0.0.1]:2222'"), "{text}");
        assert!(!text.contains("@@@"), "{text}");
        assert!(
            text.contains("[ssh: Host key for [127.0.0.1]:2222 has changed"),
            "{text}"
        );
    }

    #[test]
    fn an_unknown_host_says_what_to_do() {
        assert_eq!(classify(UNKNOWN), Failure::HostKeyUnknown);
        let text = explain("deb2", &addr(), UNKNOWN).to_string();
        assert!(text.contains("known_hosts"), "{text}");
        assert!(text.contains("--accept-new-host-keys"), "{text}");
    }

    #[test]
    fn other_failures_keep_the_ssh_message() {
        let raw = "connect to host 127.0.0.1 port 1: Connection refused";
        assert_eq!(classify(raw), Failure::Other);
        let text = explain("deb1", &addr(), raw).to_string();
        assert!(
            text.contains("deb1") && text.contains("Connection refused"),
            "{text}"
        );
        let denied = "x: root@127.0.0.1: Permission denied (publickey).";
        assert_eq!(classify(denied), Failure::AuthDenied);
    }
}

//! "checking ADDR availability": before an address is brought up, does anything else answer it?
//! An ICMP echo (ping) and ARP duplicate address detection on the interface (`arping -D`), side
//! by side. Both are asked because a firewalled host ignores ping but must answer ARP for its
//! address. The ARP probe listens for `arp_probe_window` seconds: no answer within it is the
//! only evidence that nobody holds the address, so that window is the floor of an ip start.

use std::net::IpAddr;
use std::process::Command;
use std::time::Duration;

use crate::paths::on_path;
use crate::transport::{child_time, run_child};

/// Who answered the address, or what could not be checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Availability {
    /// Nothing answered.
    Free,
    /// Something answered: how (`ping`, `ARP from 02:..`).
    Taken(String),
}

/// Checks `addr` from interface `dev` before it is brought up: the ping and the ARP probe
/// (listening `arp_window` seconds, 0 for none) run side by side; `warn` receives the checks that
/// could not run.
pub fn check(
    addr: IpAddr,
    dev: &str,
    arp_window: u64,
    warn: &mut dyn FnMut(String),
) -> Availability {
    let timed = |f: &dyn Fn() -> (Option<String>, Vec<String>)| {
        let r = f();
        (r, child_time::this_thread())
    };
    let ((by_ping, t_ping), (by_arp, t_arp)) = std::thread::scope(|s| {
        let arp = s.spawn(|| {
            timed(&|| match addr {
                IpAddr::V4(_) if arp_window > 0 => arp_probe(addr, dev, arp_window),
                _ => (None, Vec::new()),
            })
        });
        let ping = s.spawn(|| timed(&|| ping(addr)));
        let lost = || {
            (
                (None, vec!["a check thread panicked".to_string()]),
                Duration::ZERO,
            )
        };
        (
            ping.join().unwrap_or_else(|_| lost()),
            arp.join().unwrap_or_else(|_| lost()),
        )
    });
    child_time::joined(&[t_ping, t_arp]);
    for w in by_ping.1.into_iter().chain(by_arp.1) {
        warn(w);
    }
    by_ping
        .0
        .or(by_arp.0)
        .map_or(Availability::Free, Availability::Taken)
}

/// After an address was removed here: does anything still answer it? A ping, as OpenSVC's
/// post-stop check; the ARP window guards a start, not a stop.
pub fn check_after_stop(addr: IpAddr, warn: &mut dyn FnMut(String)) -> Availability {
    let (taken, warnings) = ping(addr);
    for w in warnings {
        warn(w);
    }
    taken.map_or(Availability::Free, Availability::Taken)
}

/// Who answered a ping (`Some`), and the warnings of a ping that could not run.
fn ping(addr: IpAddr) -> (Option<String>, Vec<String>) {
    match ping_command(&addr.to_string()) {
        Some(cmd) => match run_child(cmd, None, Some(Duration::from_secs(5))) {
            Ok(o) if o.success => (Some("answers ping".into()), Vec::new()),
            Ok(_) => (None, Vec::new()),
            Err(e) => (None, vec![format!("ping could not run: {e:#}")]),
        },
        None => (
            None,
            vec![
                "no ping command (install iputils-ping or busybox-static): ping check skipped"
                    .into(),
            ],
        ),
    }
}

/// ARP duplicate address detection for `window` seconds (one probe a second).
fn arp_probe(addr: IpAddr, dev: &str, window: u64) -> (Option<String>, Vec<String>) {
    if !on_path("arping") {
        return (
            None,
            vec!["arping is not installed (iputils-arping): ARP check skipped".into()],
        );
    }
    let w = window.to_string();
    let mut cmd = Command::new("arping");
    cmd.args(["-D", "-c", &w, "-w", &w, "-I", dev, &addr.to_string()]);
    match run_child(cmd, None, Some(Duration::from_secs(window + 4))) {
        // iputils arping -D: exit 0 when no reply (no duplicate), 1 when a host replied.
        Ok(o) if o.code == Some(1) => {
            let who = o
                .stdout_text()
                .lines()
                .find(|l| l.contains("reply from"))
                .map(|l| l.trim().to_string())
                .unwrap_or_else(|| "a host".into());
            (Some(format!("answers ARP ({who})")), Vec::new())
        }
        Ok(o) if !o.success => (None, vec![format!("arping failed: {}", o.failure_reason())]),
        Ok(_) => (None, Vec::new()),
        Err(e) => (None, vec![format!("arping could not run: {e:#}")]),
    }
}

fn ping_command(addr: &str) -> Option<Command> {
    let args = ["-c", "1", "-W", "1", addr];
    if on_path("ping") {
        let mut c = Command::new("ping");
        c.args(args);
        Some(c)
    } else if on_path("busybox") {
        let mut c = Command::new("busybox");
        c.arg("ping").args(args);
        Some(c)
    } else {
        None
    }
}

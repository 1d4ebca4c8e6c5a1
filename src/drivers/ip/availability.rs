//! "checking ADDR availability": before an address is brought up, does anything else answer it?
//! An ICMP echo (ping), then ARP duplicate address detection on the interface (`arping -D`). Both
//! are asked because a firewalled host ignores ping but must answer ARP for its address.

use std::net::IpAddr;
use std::process::Command;
use std::time::Duration;

use crate::paths::on_path;
use crate::transport::run_child;

/// Who answered the address, or what could not be checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Availability {
    /// Nothing answered.
    Free,
    /// Something answered: how (`ping`, `ARP from 02:..`).
    Taken(String),
}

/// Checks `addr` from interface `dev`; `warn` receives the checks that could not run.
pub fn check(addr: IpAddr, dev: &str, warn: &mut dyn FnMut(String)) -> Availability {
    let a = addr.to_string();
    match ping_command(&a) {
        Some(cmd) => match run_child(cmd, None, Some(Duration::from_secs(5))) {
            Ok(o) if o.success => return Availability::Taken("answers ping".into()),
            Ok(_) => {}
            Err(e) => warn(format!("ping could not run: {e:#}")),
        },
        None => warn(
            "no ping command (install iputils-ping or busybox-static): ping check skipped".into(),
        ),
    }
    if addr.is_ipv4() {
        if !on_path("arping") {
            warn("arping is not installed (iputils-arping): ARP check skipped".into());
            return Availability::Free;
        }
        let mut cmd = Command::new("arping");
        cmd.args(["-D", "-c", "2", "-w", "2", "-I", dev, &a]);
        match run_child(cmd, None, Some(Duration::from_secs(6))) {
            // iputils arping -D: exit 0 when no reply (no duplicate), 1 when a host replied.
            Ok(o) if o.code == Some(1) => {
                let who = o
                    .stdout_text()
                    .lines()
                    .find(|l| l.contains("reply from"))
                    .map(|l| l.trim().to_string())
                    .unwrap_or_else(|| "a host".into());
                return Availability::Taken(format!("answers ARP ({who})"));
            }
            Ok(o) if !o.success => warn(format!("arping failed: {}", o.failure_reason())),
            Ok(_) => {}
            Err(e) => warn(format!("arping could not run: {e:#}")),
        }
    }
    Availability::Free
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

//! `container` type=docker: a container run by the service's private dockerd, whose socket lives
//! in the service's state directory. This version looks only (the daemon and container
//! lifecycle come with the testbed issue) and passes `drpilot svc SVC docker ARGS` through.

use std::process::Command;
use std::time::Duration;

use color_eyre::eyre::Result;

use super::{not_yet, Ctx, Probe, Resource};
use crate::transport::run_child;

/// The docker container driver.
pub struct Docker {
    rid: String,
}

impl Docker {
    /// A driver for section `rid`.
    pub fn new(rid: &str) -> Self {
        Self {
            rid: rid.to_string(),
        }
    }

    /// The container name, `<svc>.container.<n>` as in the seed.
    fn container_name(&self, svc: &str) -> String {
        let n = self.rid.split('#').nth(1).unwrap_or("0");
        format!("{svc}.container.{n}")
    }
}

/// The private daemon's socket path of a service on this node.
pub fn docker_socket(ctx: &Ctx) -> std::path::PathBuf {
    ctx.state_dir().join("docker.sock")
}

impl Resource for Docker {
    fn rid(&self) -> &str {
        &self.rid
    }

    fn type_name(&self) -> String {
        "container.docker".to_string()
    }

    fn label(&self, ctx: &Ctx) -> String {
        ctx.get(&self.rid, "run_image").unwrap_or_default()
    }

    fn probe(&self, ctx: &Ctx) -> Probe {
        let sock = docker_socket(ctx);
        if !sock.exists() {
            return Probe::down("docker daemon is not running");
        }
        let name = self.container_name(ctx.svc);
        let mut cmd = Command::new("docker");
        cmd.arg("-H")
            .arg(format!("unix://{}", sock.display()))
            .args(["ps", "-a", "--no-trunc", "--filter"])
            .arg(format!("name=^/?{}$", regex_escape(&name)))
            .args(["--format", "{{.ID}} {{.State}} {{.Image}}"]);
        let out = match run_child(cmd, None, Some(Duration::from_secs(10))) {
            Ok(o) if o.success => o,
            Ok(o)
                if o.stderr.contains("Cannot connect")
                    || o.stderr.contains("connection refused") =>
            {
                return Probe::down("docker daemon is not running")
            }
            Ok(o) => return Probe::down(format!("docker ps failed: {}", o.failure_reason())),
            Err(_) => return Probe::down("docker is not installed (no docker command)"),
        };
        let text = out.stdout_text();
        let Some(line) = text.lines().next() else {
            return Probe::down("can not find container id");
        };
        let mut parts = line.split_whitespace();
        let id: String = parts.next().unwrap_or_default().chars().take(12).collect();
        let state = parts.next().unwrap_or_default();
        let image = parts.next().unwrap_or_default();
        let mut probe = if state == "running" {
            Probe::up()
        } else {
            Probe::down(format!("container {id} is {state}"))
        };
        probe.label = Some(format!("{id}@{image}"));
        probe
    }

    fn start(&self, _ctx: &Ctx) -> Result<()> {
        Err(not_yet(
            &self.rid,
            "starting a docker container",
            "the testbed issue (#5)",
        ))
    }

    fn stop(&self, _ctx: &Ctx) -> Result<()> {
        Err(not_yet(
            &self.rid,
            "stopping a docker container",
            "the testbed issue (#5)",
        ))
    }
}

fn regex_escape(s: &str) -> String {
    s.chars()
        .flat_map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                vec![c]
            } else {
                vec!['\\', c]
            }
        })
        .collect()
}

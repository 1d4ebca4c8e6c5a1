//! The daemon's own config, `/etc/drpilot/daemon.toml`: notifications, the scheduler's tick and
//! retries, the metrics listen address. Every section and key may be left out; an unknown one
//! is an error naming the file and the key.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use color_eyre::eyre::{bail, eyre, Result};
use serde::Deserialize;

/// The whole file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DaemonConfig {
    /// `[notify]`.
    #[serde(default)]
    pub notify: NotifyConfig,
    /// `[schedule]`.
    #[serde(default)]
    pub schedule: ScheduleConfig,
    /// `[metrics]`.
    #[serde(default)]
    pub metrics: MetricsConfig,
}

/// `[notify]`: where status transitions, RPO breaches and failed scheduled syncs go.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotifyConfig {
    /// A program and its arguments, run with the event's JSON on stdin.
    pub exec: Option<Vec<String>>,
    /// An `http://` URL the event's JSON is POSTed to.
    pub webhook: Option<String>,
    /// Tries per notification [default 3].
    #[serde(default = "three")]
    pub tries: u32,
    /// Seconds before the first retry, doubled at each one [default 5].
    #[serde(default = "five")]
    pub backoff: u64,
}

/// `[schedule]`: the scheduler's pace.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleConfig {
    /// Seconds between two looks at the jobs [default 30; `--tick` wins].
    #[serde(default = "thirty")]
    pub tick: u64,
    /// Tries per scheduled job [default 3].
    #[serde(default = "three")]
    pub tries: u32,
    /// Seconds before the first retry, doubled at each one [default 30: 30 s then 60 s].
    #[serde(default = "thirty")]
    pub backoff: u64,
    /// Seconds a running action is given to finish on SIGTERM before it is stopped [default 60].
    #[serde(default = "sixty")]
    pub grace: u64,
}

/// `[metrics]`: where the daemon serves its metrics.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsConfig {
    /// The listen address [default 127.0.0.1:9808, loopback only].
    #[serde(default = "default_listen")]
    pub listen: String,
}

fn three() -> u32 {
    3
}
fn five() -> u64 {
    5
}
fn thirty() -> u64 {
    30
}
fn sixty() -> u64 {
    60
}
fn default_listen() -> String {
    "127.0.0.1:9808".to_string()
}

impl Default for NotifyConfig {
    fn default() -> Self {
        Self {
            exec: None,
            webhook: None,
            tries: three(),
            backoff: five(),
        }
    }
}

impl Default for ScheduleConfig {
    fn default() -> Self {
        Self {
            tick: thirty(),
            tries: three(),
            backoff: thirty(),
            grace: sixty(),
        }
    }
}

impl Default for MetricsConfig {
    fn default() -> Self {
        Self {
            listen: default_listen(),
        }
    }
}

impl DaemonConfig {
    /// Reads `path`; a missing file is the defaults.
    pub fn load(path: &Path) -> Result<Self> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(e) => return Err(eyre!("{}: {e}", path.display())),
        };
        Self::parse(&text).map_err(|e| eyre!("{}: {e}", path.display()))
    }

    /// Parses and checks the file's text.
    pub fn parse(text: &str) -> Result<Self> {
        let cfg: Self = toml::from_str(text).map_err(|e| eyre!("{}", e.to_string().trim()))?;
        if let Some(exec) = &cfg.notify.exec {
            if exec.first().is_none_or(|p| p.trim().is_empty()) {
                bail!("[notify] exec: give the program and its arguments, e.g. [\"/usr/local/bin/page\", \"ops\"]");
            }
        }
        if let Some(url) = &cfg.notify.webhook {
            super::notify::Url::parse(url).map_err(|e| eyre!("[notify] webhook: {e}"))?;
        }
        if cfg.notify.tries == 0 {
            bail!("[notify] tries: at least 1");
        }
        if cfg.schedule.tick == 0 {
            bail!("[schedule] tick: at least 1 second");
        }
        if cfg.schedule.tries == 0 {
            bail!("[schedule] tries: at least 1");
        }
        cfg.metrics
            .listen
            .parse::<SocketAddr>()
            .map_err(|e| eyre!("[metrics] listen: '{}': {e}", cfg.metrics.listen))?;
        Ok(cfg)
    }

    /// The scheduler's retries.
    pub fn job_retry(&self) -> Retry {
        Retry {
            tries: self.schedule.tries,
            backoff: Duration::from_secs(self.schedule.backoff),
        }
    }

    /// The notifications' retries.
    pub fn notify_retry(&self) -> Retry {
        Retry {
            tries: self.notify.tries,
            backoff: Duration::from_secs(self.notify.backoff),
        }
    }
}

/// How often to try, and how long to wait before the first retry (doubled at each one).
#[derive(Debug, Clone, Copy)]
pub struct Retry {
    /// Tries in all.
    pub tries: u32,
    /// Wait before the first retry.
    pub backoff: Duration,
}

impl Retry {
    /// The wait before try `n` (counted from 1 for the first retry).
    pub fn wait_before(&self, n: u32) -> Duration {
        self.backoff
            .saturating_mul(1u32.checked_shl(n.saturating_sub(1)).unwrap_or(u32::MAX))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_parses_with_defaults_and_names_a_bad_key() {
        let c = DaemonConfig::parse(
            "[notify]\nexec = [\"/bin/true\", \"x\"]\nwebhook = \"http://127.0.0.1:8080/hook\"\n[schedule]\ntick = 5\n",
        )
        .unwrap();
        assert_eq!(c.schedule.tick, 5);
        assert_eq!(c.schedule.tries, 3);
        assert_eq!(c.metrics.listen, "127.0.0.1:9808");
        let e = DaemonConfig::parse("[schedule]\ntik = 5\n").unwrap_err();
        assert!(format!("{e}").contains("tik"), "{e}");
        let e = DaemonConfig::parse("[notify]\nwebhook = \"https://x\"\n").unwrap_err();
        assert!(format!("{e}").contains("webhook"), "{e}");
        let r = c.job_retry();
        assert_eq!(r.wait_before(1), Duration::from_secs(30));
        assert_eq!(r.wait_before(2), Duration::from_secs(60));
    }
}

//! What every data sync shares: the state file `datetime;id` kept on both nodes, the
//! `sync_max_delay` freshness rule and the `sync_period` window.

use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Local, NaiveTime, Utc};
use color_eyre::eyre::{bail, eyre, Result};

use super::{Ctx, Probe};
use crate::config::KeywordSpec;
use crate::paths::{write_atomic, NodeEnv};
use crate::protocol::node_state::LastTransfer;

/// The keywords every data sync reads, whatever its type.
pub(crate) const KEYWORDS: &[KeywordSpec] = &[
    KeywordSpec::req("type", "replication driver"),
    KeywordSpec::req("src", "source device or path"),
    KeywordSpec::req("dst", "destination device or path"),
    KeywordSpec::req(
        "target",
        "nodes to replicate to: nodes, drpnodes or node names",
    ),
    KeywordSpec::opt("sync_period", "time window when the sync may run"),
    KeywordSpec::opt(
        "sync_max_delay",
        "minutes after which a missed sync is a warning",
    ),
    KeywordSpec::opt(
        "sync_interval",
        "minutes between the node daemon's syncupdate of this resource (default: none, only \
         the daily syncdrp inside sync_period)",
    ),
];

/// The DEFAULT keywords a sync reads when its section leaves them out.
pub(crate) const DEFAULTS_READ: &[&str] = &["sync_period", "sync_max_delay", "sync_interval"];

/// Default `sync_max_delay`: 1500 minutes, as OpenSVC.
pub const DEFAULT_MAX_DELAY: Duration = Duration::from_secs(1500 * 60);
/// Default `sync_period`, as OpenSVC.
pub const DEFAULT_PERIOD: &str = "03:59-05:59";

/// The last completed sync of a resource: when, and which snapshot/transfer id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncState {
    /// When the transfer completed.
    pub when: DateTime<Utc>,
    /// The id of the replicated image, the same on both nodes.
    pub id: String,
}

impl SyncState {
    /// A new state stamped now with a fresh id.
    pub fn now() -> Self {
        use sha2::{Digest, Sha256};
        let when = Utc::now();
        let mut h = Sha256::new();
        h.update(when.to_rfc3339().as_bytes());
        h.update(std::process::id().to_le_bytes());
        let mut seed = [0u8; 16];
        if let Ok(mut f) = std::fs::File::open("/dev/urandom") {
            let _ = std::io::Read::read_exact(&mut f, &mut seed);
        }
        h.update(seed);
        let id = h
            .finalize()
            .iter()
            .take(8)
            .map(|b| format!("{b:02x}"))
            .collect();
        Self { when, id }
    }

    /// How long ago the sync completed (zero for a time in the future: a clock set back).
    pub fn age(&self) -> Duration {
        (Utc::now() - self.when).to_std().unwrap_or_default()
    }

    /// The file form, `datetime;id`.
    pub fn to_line(&self) -> String {
        format!(
            "{};{}\n",
            self.when.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            self.id
        )
    }

    /// Parses the file form.
    pub fn parse(text: &str) -> Result<Self> {
        let (when, id) = text
            .trim()
            .split_once(';')
            .ok_or_else(|| eyre!("expected 'datetime;id', found '{}'", text.trim()))?;
        let when = DateTime::parse_from_rfc3339(when)
            .map_err(|e| eyre!("bad datetime '{when}': {e}"))?
            .with_timezone(&Utc);
        if id.is_empty() {
            bail!("empty id");
        }
        Ok(Self {
            when,
            id: id.to_string(),
        })
    }
}

/// The state file of sync resource `rid` of `svc` on a node.
pub fn state_path(env: &NodeEnv, svc: &str, rid: &str) -> PathBuf {
    env.state_dir(svc).join(format!("{rid}.state"))
}

/// Reads a state file: `Ok(None)` when there is none.
pub fn read_state(env: &NodeEnv, svc: &str, rid: &str) -> Result<Option<SyncState>> {
    match std::fs::read_to_string(state_path(env, svc, rid)) {
        Ok(t) => SyncState::parse(&t).map(Some),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Writes a state file atomically.
pub fn write_state(env: &NodeEnv, svc: &str, rid: &str, state: &SyncState) -> Result<()> {
    write_atomic(&state_path(env, svc, rid), state.to_line().as_bytes())?;
    Ok(())
}

/// The file of sync resource `rid`'s last completed transfer, next to its state file.
pub fn transfer_path(env: &NodeEnv, svc: &str, rid: &str) -> PathBuf {
    env.state_dir(svc).join(format!("{rid}.transfer.json"))
}

/// Records a completed transfer of `bytes` that began at `started`, for the metrics (bytes and
/// duration of the last sync). A sync that completed is not failed by a record it cannot write:
/// the error is returned for the caller to log as a warning.
pub fn record_transfer(
    env: &NodeEnv,
    svc: &str,
    rid: &str,
    bytes: u64,
    started: std::time::Instant,
) -> Result<()> {
    let t = LastTransfer {
        bytes,
        seconds: started.elapsed().as_secs_f64(),
        ended: Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
    };
    let path = transfer_path(env, svc, rid);
    write_atomic(&path, &serde_json::to_vec(&t)?)
        .map_err(|e| eyre!("writing {}: {e}", path.display()))
}

/// Reads the last transfer of a sync resource: `Ok(None)` when none was recorded.
pub fn read_transfer(env: &NodeEnv, svc: &str, rid: &str) -> Result<Option<LastTransfer>> {
    let path = transfer_path(env, svc, rid);
    match std::fs::read(&path) {
        Ok(b) => serde_json::from_slice(&b)
            .map(Some)
            .map_err(|e| eyre!("{}: {e}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(eyre!("reading {}: {e}", path.display())),
    }
}

/// Parses a delay: plain minutes (OpenSVC's unit) or a number with s, m, h or d.
pub fn parse_delay(text: &str) -> Result<Duration> {
    let t = text.trim();
    let (num, unit) = match t.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => t.split_at(i),
        None => (t, "m"),
    };
    let n: u64 = num
        .parse()
        .map_err(|_| eyre!("'{t}' is not a delay (use 1500, 90m, 25h, 1d)"))?;
    let secs = match unit.trim() {
        "s" => n,
        "m" | "min" => n * 60,
        "h" => n * 3600,
        "d" => n * 86400,
        u => bail!("'{t}': unknown unit '{u}' (use s, m, h or d)"),
    };
    Ok(Duration::from_secs(secs))
}

/// The `sync_max_delay` of a sync resource (section, then DEFAULT, then 1500 minutes).
pub fn max_delay(ctx: &Ctx, rid: &str) -> Duration {
    ctx.get(rid, "sync_max_delay")
        .and_then(|v| parse_delay(&v).ok())
        .unwrap_or(DEFAULT_MAX_DELAY)
}

/// A daily window `HH:MM-HH:MM`, possibly across midnight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    start: NaiveTime,
    end: NaiveTime,
}

impl Period {
    /// Parses `HH:MM-HH:MM`.
    pub fn parse(text: &str) -> Result<Self> {
        let (a, b) = text
            .trim()
            .split_once('-')
            .ok_or_else(|| eyre!("'{text}' is not a period (expected HH:MM-HH:MM)"))?;
        let t = |s: &str| {
            NaiveTime::parse_from_str(s.trim(), "%H:%M")
                .map_err(|_| eyre!("'{s}' is not a time of day (expected HH:MM)"))
        };
        Ok(Self {
            start: t(a)?,
            end: t(b)?,
        })
    }

    /// When the window opens each day (the daemon's once-a-day sync counts its days from it).
    pub fn start(&self) -> NaiveTime {
        self.start
    }

    /// Whether `now` falls in the window.
    pub fn contains(&self, now: NaiveTime) -> bool {
        if self.start <= self.end {
            now >= self.start && now <= self.end
        } else {
            now >= self.start || now <= self.end
        }
    }
}

impl std::fmt::Display for Period {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}-{}",
            self.start.format("%H:%M"),
            self.end.format("%H:%M")
        )
    }
}

/// The `sync_period` of a sync resource and whether the local time is inside it.
pub fn in_period(ctx: &Ctx, rid: &str) -> Result<(bool, Period)> {
    let text = ctx
        .get(rid, "sync_period")
        .unwrap_or_else(|| DEFAULT_PERIOD.to_string());
    let p = Period::parse(&text)
        .map_err(|e| eyre!("{}: [{rid}] sync_period: {e}", ctx.cfg.raw.path.display()))?;
    Ok((p.contains(Local::now().time()), p))
}

/// The status of a data sync from its state file: `warn` when missing or too old.
pub fn probe_state(ctx: &Ctx, rid: &str, driver: &str) -> Probe {
    match read_state(ctx.env, ctx.svc, rid) {
        Ok(None) => Probe::warn(format!("{driver} state file not found")),
        Err(e) => Probe::warn(format!("{driver} state file unreadable: {e}")),
        Ok(Some(s)) => {
            let limit = max_delay(ctx, rid);
            if s.age() > limit {
                Probe::warn(format!(
                    "last sync on {} is older than sync_max_delay ({} min)",
                    s.when.format("%Y-%m-%d %H:%M:%S UTC"),
                    limit.as_secs() / 60
                ))
            } else {
                Probe::up()
            }
        }
    }
}

/// The seed's sync label target part: `['drpnodes']`.
pub fn target_repr(words: &[String]) -> String {
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    format!("[{}]", quoted.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_line_round_trips() {
        let s = SyncState::now();
        let back = SyncState::parse(&s.to_line()).unwrap();
        assert_eq!(back.id, s.id);
        assert_eq!(back.when.timestamp(), s.when.timestamp());
        assert!(SyncState::parse("garbage").is_err());
        assert!(SyncState::parse("2026-01-01T00:00:00Z;").is_err());
    }

    #[test]
    fn delays_default_to_minutes() {
        assert_eq!(parse_delay("1500").unwrap(), Duration::from_secs(90000));
        assert_eq!(parse_delay("25h").unwrap(), Duration::from_secs(90000));
        assert_eq!(parse_delay("30s").unwrap(), Duration::from_secs(30));
        assert!(parse_delay("soon").is_err());
        assert!(parse_delay("3w").is_err());
    }

    #[test]
    fn periods_may_cross_midnight() {
        let t = |s| NaiveTime::parse_from_str(s, "%H:%M").unwrap();
        let night = Period::parse("22:00-02:00").unwrap();
        assert!(night.contains(t("23:30")));
        assert!(night.contains(t("01:00")));
        assert!(!night.contains(t("12:00")));
        let day = Period::parse("03:59-05:59").unwrap();
        assert!(day.contains(t("04:00")));
        assert!(!day.contains(t("06:00")));
        assert!(Period::parse("4am").is_err());
    }

    #[test]
    fn target_repr_matches_the_seed() {
        assert_eq!(target_repr(&["drpnodes".to_string()]), "['drpnodes']");
    }
}

//! The action counters a service keeps for monitoring (`counters.json` in its state
//! directory): every action, when it ends, adds itself to its verb's count, failures and time.
//! Written atomically under a small lock: actions of one service may end together (a read-only
//! verb beside a mutating one), and none of their counts may be lost.

use std::path::Path;
use std::time::Duration;

use chrono::Utc;
use color_eyre::eyre::{Result, WrapErr};

use crate::protocol::node_state::{ActionCounters, COUNTERS_FILE};

/// Adds one ended action of `verb` to the counters in `dir`: its duration, and whether it
/// failed. A counters file that cannot be read is kept aside (`counters.json.bad`) and the
/// counting starts again, so monitoring sees the reset rather than stale numbers.
pub fn count_action(dir: &Path, verb: &str, ok: bool, took: Duration) -> Result<()> {
    std::fs::create_dir_all(dir).wrap_err_with(|| format!("creating {}", dir.display()))?;
    let _lock = crate::lock::exclusive(&dir.join("counters.lock"))?;
    let path = dir.join(COUNTERS_FILE);
    let mut counters = match std::fs::read_to_string(&path) {
        Ok(text) => match serde_json::from_str::<ActionCounters>(&text) {
            Ok(c) => c,
            Err(e) => {
                let bad = dir.join(format!("{COUNTERS_FILE}.bad"));
                eprintln!(
                    "warning: {}: {e}: kept as {}, counting again from zero",
                    path.display(),
                    bad.display()
                );
                let _ = std::fs::rename(&path, &bad);
                ActionCounters::default()
            }
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => ActionCounters::default(),
        Err(e) => return Err(e).wrap_err_with(|| format!("reading {}", path.display())),
    };
    let c = counters.verbs.entry(verb.to_string()).or_default();
    let secs = took.as_secs_f64();
    c.count += 1;
    if !ok {
        c.failures += 1;
    }
    c.seconds_total += secs;
    c.last_seconds = secs;
    c.last_end = Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let json = serde_json::to_string_pretty(&counters).wrap_err("encoding the counters")?;
    crate::paths::write_atomic(&path, json.as_bytes())
        .wrap_err_with(|| format!("writing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concurrent_actions_lose_no_count() {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path().to_path_buf();
        let threads: Vec<_> = (0..8)
            .map(|i| {
                let dir = dir.clone();
                std::thread::spawn(move || {
                    for _ in 0..5 {
                        count_action(&dir, "start", i % 2 == 0, Duration::from_millis(10)).unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let c: ActionCounters =
            serde_json::from_str(&std::fs::read_to_string(dir.join(COUNTERS_FILE)).unwrap())
                .unwrap();
        assert_eq!(c.verbs["start"].count, 40);
        assert_eq!(c.verbs["start"].failures, 20);
    }
}

//! The run journal: append-only JSON lines, one fsync per record, each record carrying the hash
//! of the previous one, so a run survives a crash of the console and an edited journal shows.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use chrono::Utc;
use color_eyre::eyre::{bail, eyre, Result, WrapErr};

pub use crate::protocol::journal::{EntryKind, Record, GENESIS};

/// Where runs are kept: `$XDG_STATE_HOME/drpilot/runs`, else `~/.local/state/drpilot/runs`
/// (an empty `XDG_STATE_HOME` is unset).
pub fn runs_dir() -> PathBuf {
    crate::paths::state_home().join("drpilot/runs")
}

/// An open journal, appending.
pub struct Journal {
    path: PathBuf,
    file: File,
    run: String,
    next_seq: u64,
    last_hash: String,
}

impl Journal {
    /// Creates the journal of a new run.
    pub fn create(dir: &Path, run: &str) -> Result<Self> {
        std::fs::create_dir_all(dir).wrap_err_with(|| format!("creating {}", dir.display()))?;
        let path = dir.join(format!("{run}.jsonl"));
        let file = OpenOptions::new()
            .create_new(true)
            .append(true)
            .open(&path)
            .wrap_err_with(|| format!("creating {}", path.display()))?;
        Ok(Self {
            path,
            file,
            run: run.to_string(),
            next_seq: 0,
            last_hash: GENESIS.to_string(),
        })
    }

    /// A seat's copy of a run it did not start (or whose copy is behind the nodes'): `records`
    /// (already verified) written afresh, then reopened to go on with it.
    pub fn adopt(dir: &Path, run: &str, records: &[Record]) -> Result<(Self, Vec<Record>)> {
        std::fs::create_dir_all(dir).wrap_err_with(|| format!("creating {}", dir.display()))?;
        let path = dir.join(format!("{run}.jsonl"));
        let mut text = Vec::new();
        for r in records {
            serde_json::to_writer(&mut text, r)?;
            text.push(b'\n');
        }
        crate::paths::write_atomic(&path, &text)
            .wrap_err_with(|| format!("writing {}", path.display()))?;
        Self::reopen(&path)
    }

    /// Reopens a run's journal to go on with it, after verifying its chain.
    pub fn reopen(path: &Path) -> Result<(Self, Vec<Record>)> {
        let records = read_verified(path)?;
        let last = records
            .last()
            .ok_or_else(|| eyre!("{} is empty", path.display()))?;
        // Cut a torn last line (a crash mid-write) so the next record starts on a line of its own;
        // a whole last record whose newline was lost gets it back.
        let text = std::fs::read(path)?;
        let valid: usize = text
            .split_inclusive(|b| *b == b'\n')
            .take(records.len())
            .map(<[u8]>::len)
            .sum();
        let mut file = OpenOptions::new()
            .append(true)
            .open(path)
            .wrap_err_with(|| format!("opening {}", path.display()))?;
        file.set_len(valid as u64)?;
        if valid > 0 && text[valid - 1] != b'\n' {
            file.write_all(b"\n")?;
        }
        file.sync_all()?;
        let j = Self {
            path: path.to_path_buf(),
            file,
            run: last.run.clone(),
            next_seq: last.seq + 1,
            last_hash: last.hash.clone(),
        };
        Ok((j, records))
    }

    /// The journal file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The run id.
    pub fn run(&self) -> &str {
        &self.run
    }

    /// The hash of the last record written.
    pub fn last_hash(&self) -> &str {
        &self.last_hash
    }

    /// Appends a record and fsyncs it before returning.
    pub fn append(
        &mut self,
        kind: EntryKind,
        step: Option<&str>,
        detail: serde_json::Value,
    ) -> Result<Record> {
        let r = self.seal(kind, step, detail);
        self.write(&r)?;
        Ok(r)
    }

    /// The next record, hashed onto the chain but not written yet (the nodes get it first).
    pub fn seal(&self, kind: EntryKind, step: Option<&str>, detail: serde_json::Value) -> Record {
        let mut r = Record {
            seq: self.next_seq,
            ts: Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            run: self.run.clone(),
            kind,
            step: step.map(str::to_string),
            detail,
            prev: self.last_hash.clone(),
            hash: String::new(),
        };
        r.hash = r.digest(&self.last_hash);
        r
    }

    /// Writes a record [`Self::seal`]ed: the JSON and its newline in one write, then fsync, so
    /// a crash leaves a whole record or a torn line that a reopen cuts, never two records on a
    /// line.
    pub fn write(&mut self, r: &Record) -> Result<()> {
        if r.seq != self.next_seq || r.prev != self.last_hash {
            bail!("record {} does not follow {}", r.seq, self.path.display());
        }
        let mut line = serde_json::to_vec(r)?;
        line.push(b'\n');
        self.file
            .write_all(&line)
            .wrap_err_with(|| format!("writing {}", self.path.display()))?;
        self.file
            .sync_all()
            .wrap_err_with(|| format!("syncing {}", self.path.display()))?;
        self.next_seq += 1;
        self.last_hash = r.hash.clone();
        Ok(())
    }
}

/// Reads a journal and verifies its hash chain; a torn last line (a crash mid-write) is ignored.
pub fn read_verified(path: &Path) -> Result<Vec<Record>> {
    let f = File::open(path).wrap_err_with(|| format!("opening {}", path.display()))?;
    let lines: Vec<String> = BufReader::new(f).lines().collect::<std::io::Result<_>>()?;
    let mut out: Vec<Record> = Vec::new();
    let mut prev = GENESIS.to_string();
    for (i, line) in lines.iter().enumerate() {
        let r: Record = match serde_json::from_str(line) {
            Ok(r) => r,
            Err(_) if i + 1 == lines.len() => break,
            Err(e) => bail!("{}:{}: not a journal record: {e}", path.display(), i + 1),
        };
        if !r.chains_after(&prev, i as u64) {
            bail!(
                "{}:{}: the hash chain is broken (the journal was altered)",
                path.display(),
                i + 1
            );
        }
        prev = r.hash.clone();
        out.push(r);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_written_journal_verifies_and_an_edited_one_does_not() {
        let d = tempfile::tempdir().unwrap();
        let mut j = Journal::create(d.path(), "svc-1").unwrap();
        j.append(
            EntryKind::RunStarted,
            None,
            serde_json::json!({"mode": "rehearsal"}),
        )
        .unwrap();
        j.append(
            EntryKind::StepDone,
            Some("preflight"),
            serde_json::Value::Null,
        )
        .unwrap();
        let path = j.path().to_path_buf();
        let recs = read_verified(&path).unwrap();
        assert_eq!(recs.len(), 2);
        assert_eq!(recs[1].prev, recs[0].hash);
        let text = std::fs::read_to_string(&path)
            .unwrap()
            .replace("preflight", "preflite");
        std::fs::write(&path, text).unwrap();
        assert!(format!("{:#}", read_verified(&path).unwrap_err()).contains("hash chain"));
    }

    #[test]
    fn a_journal_written_before_the_kinds_were_typed_still_verifies() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/journal/rehearsal-before-typed-entries.jsonl");
        let recs = read_verified(&path).unwrap_or_else(|e| panic!("{e:#}"));
        assert_eq!(recs.len(), 19);
        assert_eq!(recs[0].kind, EntryKind::RunStarted);
        assert_eq!(recs[18].kind, EntryKind::RunFinished);
    }

    #[test]
    fn a_torn_last_line_is_ignored_and_the_run_goes_on() {
        let d = tempfile::tempdir().unwrap();
        let mut j = Journal::create(d.path(), "svc-2").unwrap();
        j.append(EntryKind::RunStarted, None, serde_json::Value::Null)
            .unwrap();
        let path = j.path().to_path_buf();
        drop(j);
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(b"{\"seq\":1,\"ts\":").unwrap();
        drop(f);
        let (mut j, recs) = Journal::reopen(&path).unwrap();
        assert_eq!(recs.len(), 1);
        j.append(EntryKind::Resumed, None, serde_json::Value::Null)
            .unwrap();
        assert_eq!(read_verified(&path).unwrap().len(), 2);
    }

    #[test]
    fn a_last_record_that_lost_its_newline_is_kept_and_the_next_one_starts_a_line() {
        let d = tempfile::tempdir().unwrap();
        let mut j = Journal::create(d.path(), "svc-3").unwrap();
        j.append(EntryKind::RunStarted, None, serde_json::Value::Null)
            .unwrap();
        j.append(
            EntryKind::StepDone,
            Some("stop_production"),
            serde_json::Value::Null,
        )
        .unwrap();
        let path = j.path().to_path_buf();
        drop(j);
        let text = std::fs::read(&path).unwrap();
        std::fs::write(&path, &text[..text.len() - 1]).unwrap();
        let (mut j, recs) = Journal::reopen(&path).unwrap();
        assert_eq!(recs.len(), 2);
        j.append(EntryKind::Resumed, None, serde_json::Value::Null)
            .unwrap();
        let recs = read_verified(&path).unwrap_or_else(|e| panic!("{e:#}"));
        assert_eq!(recs.len(), 3);
        assert_eq!(recs[2].kind, EntryKind::Resumed);
    }
}

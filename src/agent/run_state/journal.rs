//! A run's journal as this node keeps it: records appended one write each and fsynced, the head
//! stored after each, a torn last line (a write cut by a crash) left out when read and cut before
//! the next append; a line that does not parse before the last one is an error with file:line.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;

use color_eyre::eyre::{bail, eyre, Result, WrapErr};
use serde::de::DeserializeOwned;

use super::store::Runs;
use crate::paths::NodeEnv;
use crate::protocol::journal::{Record, GENESIS};
use crate::protocol::names::{RunId, SeatId};
use crate::protocol::run::{AppendAnswer, Head, NodeJournal, RunSummary};

/// The lines of a JSON-lines file that parse, and the length of the file they span: a last line
/// without its newline, or that does not parse, is torn and left out; an earlier line that does
/// not parse is an error naming `path:line`.
fn parse_lines<T: DeserializeOwned>(path: &Path, bytes: &[u8]) -> Result<(Vec<T>, usize)> {
    let mut items = Vec::new();
    let mut start = 0;
    let mut line_no = 0;
    while start < bytes.len() {
        line_no += 1;
        let Some(nl) = bytes[start..].iter().position(|b| *b == b'\n') else {
            break; // no newline: torn
        };
        let end = start + nl + 1;
        match serde_json::from_slice::<T>(&bytes[start..end - 1]) {
            Ok(v) => items.push(v),
            Err(_) if end == bytes.len() => break, // the last line: torn
            Err(e) => bail!("{}:{line_no}: not a journal line: {e}", path.display()),
        }
        start = end;
    }
    Ok((items, start))
}

/// The parsed lines of a file and how long its whole lines are (empty when it does not exist).
fn load<T: DeserializeOwned>(path: &Path) -> Result<(Vec<T>, usize, usize)> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((Vec::new(), 0, 0)),
        Err(e) => return Err(e).wrap_err_with(|| format!("reading {}", path.display())),
    };
    let (items, good) = parse_lines(path, &bytes)?;
    Ok((items, good, bytes.len()))
}

/// A run's journal as this node holds it; a run it has no journal of is an error.
pub fn read(env: &NodeEnv, svc: &str, run: &RunId) -> Result<NodeJournal> {
    let runs = Runs::of(env, svc);
    let path = runs.journal(run);
    if !path.is_file() {
        bail!("no journal of run {run} on {}", env.nodename);
    }
    let (records, _, _) = load::<Record>(&path)?;
    let (heads, _, _) = load::<Head>(&runs.heads(run))?;
    Ok(NodeJournal { records, heads })
}

/// Appends `input` (JSON lines, records of `run`) to this node's copy, under the runs folder's
/// lock: refused while another seat holds the service's lease, or when a record does not
/// chain onto the node's copy; a record the node already holds, identical, is skipped.
/// Nothing is written unless every record is accepted.
pub fn append(
    env: &NodeEnv,
    svc: &str,
    run: &RunId,
    seat: &SeatId,
    input: &str,
) -> Result<AppendAnswer> {
    let mut incoming = Vec::new();
    for (i, line) in input.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let rec: Record = serde_json::from_str(line)
            .map_err(|e| eyre!("stdin:{}: not a journal record: {e}", i + 1))?;
        incoming.push(rec);
    }
    let runs = Runs::of(env, svc);
    let _lock = runs.lock()?;
    let path = runs.journal(run);
    let heads_path = runs.heads(run);
    let (held, good, len) = load::<Record>(&path)?;
    let (count, head) = (held.len() as u64, last_hash(&held));
    let refuse = |reason: String| AppendAnswer {
        ok: false,
        records: count,
        head: head.clone(),
        reason: Some(reason),
    };
    if let Some(lease) = super::lease::load(&runs)? {
        if lease.holder.seat != seat.as_ref() {
            return Ok(refuse(format!(
                "the lease of {svc} is held by {}, run {}: take the run over before writing to \
                 its journal",
                lease.holder, lease.run
            )));
        }
    }
    let mut fresh = Vec::new();
    let (mut next, mut prev) = (count, head.clone());
    for rec in incoming {
        if rec.run != run.as_ref() {
            return Ok(refuse(format!(
                "record {} is of run {}, not {run}",
                rec.seq, rec.run
            )));
        }
        if let Some(mine) = usize::try_from(rec.seq).ok().and_then(|i| held.get(i)) {
            if *mine == rec {
                continue; // resent: already here
            }
            return Ok(refuse(format!(
                "record {} differs from this node's record {} of {run}",
                rec.seq, rec.seq
            )));
        }
        if !rec.chains_after(&prev, next) {
            return Ok(refuse(format!(
                "record {} does not chain onto this node's copy of {run} ({next} records, head \
                 {})",
                rec.seq,
                short(&prev)
            )));
        }
        prev.clone_from(&rec.hash);
        next += 1;
        fresh.push(rec);
    }
    if !fresh.is_empty() {
        cut_torn(&path, good, len)?;
        let (_, hgood, hlen) = load::<Head>(&heads_path)?;
        cut_torn(&heads_path, hgood, hlen)?;
        let mut journal = open_append(&path)?;
        let mut heads = open_append(&heads_path)?;
        for rec in &fresh {
            write_line(&mut journal, &path, &serde_json::to_string(rec)?)?;
            let h = Head {
                seq: rec.seq,
                hash: rec.hash.clone(),
            };
            write_line(&mut heads, &heads_path, &serde_json::to_string(&h)?)?;
        }
    }
    Ok(AppendAnswer {
        ok: true,
        records: next,
        head: prev,
        reason: None,
    })
}

fn last_hash(records: &[Record]) -> String {
    records
        .last()
        .map_or_else(|| GENESIS.to_string(), |r| r.hash.clone())
}

fn short(hash: &str) -> &str {
    hash.get(..12).unwrap_or(hash)
}

/// Cuts a torn last line (a write a crash interrupted) so the next record starts a line.
fn cut_torn(path: &Path, good: usize, len: usize) -> Result<()> {
    if good == len {
        return Ok(());
    }
    let f = OpenOptions::new()
        .write(true)
        .open(path)
        .wrap_err_with(|| format!("opening {}", path.display()))?;
    f.set_len(good as u64)
        .and_then(|()| f.sync_all())
        .wrap_err_with(|| format!("cutting the torn last line of {}", path.display()))
}

/// Opens a file for appending (`O_APPEND`); a new file's directory entry is synced too.
fn open_append(path: &Path) -> Result<File> {
    let existed = path.exists();
    let f = OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .wrap_err_with(|| format!("opening {}", path.display()))?;
    if !existed {
        if let Some(dir) = path.parent() {
            File::open(dir)
                .and_then(|d| d.sync_all())
                .wrap_err_with(|| format!("syncing {}", dir.display()))?;
        }
    }
    Ok(f)
}

/// One line in one write, then fsync: a crash leaves the line whole or torn, never mixed.
fn write_line(f: &mut File, path: &Path, json: &str) -> Result<()> {
    let mut line = String::with_capacity(json.len() + 1);
    line.push_str(json);
    line.push('\n');
    f.write_all(line.as_bytes())
        .and_then(|()| f.sync_data())
        .wrap_err_with(|| format!("appending to {}", path.display()))
}

/// Every run of `svc` this node holds a journal of; a journal that does not parse is left out
/// with a warning, never blocking the others.
pub fn list(env: &NodeEnv, svc: &str, warnings: &mut Vec<String>) -> Result<Vec<RunSummary>> {
    let runs = Runs::of(env, svc);
    let entries = match std::fs::read_dir(runs.dir()) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).wrap_err_with(|| format!("reading {}", runs.dir().display())),
    };
    let mut out = Vec::new();
    for entry in entries {
        let path = entry?.path();
        let Some(stem) = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".jsonl"))
        else {
            continue;
        };
        match summary(&path, stem) {
            Ok(Some(s)) => out.push(s),
            Ok(None) => {}
            Err(e) => warnings.push(format!("skipping {}: {e:#}", path.display())),
        }
    }
    out.sort_by(|a, b| a.started.cmp(&b.started).then(a.run.cmp(&b.run)));
    Ok(out)
}

/// A journal's summary (`None`: it holds no whole record yet).
fn summary(path: &Path, stem: &str) -> Result<Option<RunSummary>> {
    let run: RunId = stem.parse()?;
    let (records, _, _) = load::<Record>(path)?;
    let (Some(first), Some(last)) = (records.first(), records.last()) else {
        return Ok(None);
    };
    let mode = serde_json::from_value(first.detail["mode"].clone())
        .map_err(|e| eyre!("its first record names no runbook mode: {e}"))?;
    Ok(Some(RunSummary {
        run: run.to_string(),
        mode,
        records: records.len() as u64,
        head: last.hash.clone(),
        ended: last.kind.ends_run(),
        started: first.ts.clone(),
        last_step: records.iter().rev().find_map(|r| r.step.clone()),
    }))
}

/// Whether this node's journal of `run` ends with a record that ends the run.
pub fn ended(env: &NodeEnv, svc: &str, run: &str) -> bool {
    let Ok(run) = run.parse::<RunId>() else {
        return false;
    };
    load::<Record>(&Runs::of(env, svc).journal(&run))
        .ok()
        .and_then(|(records, _, _)| records.last().map(|r| r.kind.ends_run()))
        .unwrap_or(false)
}

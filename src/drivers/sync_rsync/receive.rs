//! The receiving half of `sync` type=rsync, run by the sending node through its transport:
//! `drpilot peer rsync-receive` reads the sender's rsync batch on stdin into a file beside the
//! copy, checks it is whole (the length and SHA-256 the sender announced: rsync waits for ever
//! on a cut batch), has this node's rsync apply it (`--read-batch`, with the options of this
//! node's own config, within a deadline) to a staging tree, and swaps that in at once. The
//! copy's place is this node's config's `dst`, never the path the sender names; a cut stream
//! leaves the previous copy complete.

use std::io::{BufRead, Write};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use color_eyre::eyre::{bail, Result, WrapErr};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256 as Hasher};

use crate::drivers::receive::{local_sync, receive_lock, Incoming, LiveCheck, SyncType};
use crate::drivers::replace_copy::replace_copy;
use crate::drivers::system_files;
use crate::paths::NodeEnv;
use crate::protocol::names::Sha256;

/// How long applying a whole batch may take.
const APPLY_WITHIN: Duration = Duration::from_secs(3600);

/// What the sender announces of its batch, checked before anything is applied.
pub struct Batch<'a> {
    /// Its length.
    pub bytes: u64,
    /// Its SHA-256.
    pub sha256: &'a Sha256,
}

/// What the receiver tells the sender: how many bytes of batch it applied.
#[derive(Debug, Serialize, Deserialize)]
pub struct Received {
    /// Bytes read from the stream.
    pub bytes: u64,
}

/// Receives an rsync sync: the batch applied to a staging tree, then swapped in.
pub fn rsync_receive(
    env: &NodeEnv,
    inc: &Incoming,
    batch: &Batch,
    refuse_if_running: LiveCheck,
    input: &mut impl BufRead,
    out: &mut impl Write,
) -> Result<()> {
    let system = inc.rid.as_ref() == system_files::RID;
    let (dst, mut argv) = if system {
        (
            system_files::receive::local_cache(env, inc)?,
            system_files::options(),
        )
    } else {
        let local = local_sync(
            env,
            inc.svc,
            inc.rid,
            SyncType::Rsync,
            inc.dst,
            Some(inc.from),
        )?;
        let node = env.nodename.as_str();
        let get = |k: &str| {
            local
                .config
                .get(inc.rid.as_ref(), k, node)
                .map(|r| r.value.to_string())
        };
        let argv = super::config_options(get, inc.rid.as_ref())?;
        (local.dst, argv)
    };
    let _lock = receive_lock(env, inc.svc, inc.rid, inc.from)?;
    // The system files' copy is the DRP node's own business, not the service's data: it may
    // be refreshed while the service runs here.
    let live_check: LiveCheck = if system {
        &|_, _| Ok(())
    } else {
        refuse_if_running
    };
    live_check(env, inc.svc)?;
    if !crate::paths::on_path("rsync") {
        bail!("{}: rsync is not installed on {}", inc.rid, env.nodename);
    }
    let bytes = replace_copy(env, inc, &dst, live_check, |_, staging| {
        std::fs::create_dir_all(staging)
            .wrap_err_with(|| format!("creating {}", staging.display()))?;
        let file = staging.with_extension("batch");
        argv.push(format!("--read-batch={}", file.display()));
        argv.push(format!("{}/", staging.display()));
        let applied = keep_whole(input, &file, batch).and_then(|n| apply(&argv).map(|()| n));
        let _ = std::fs::remove_file(&file);
        applied
    })?;
    serde_json::to_writer(&mut *out, &Received { bytes })?;
    writeln!(out)?;
    Ok(())
}

/// Writes `input` to `file` and checks it is the batch the sender announced; its length.
fn keep_whole(input: &mut impl BufRead, file: &Path, batch: &Batch) -> Result<u64> {
    let mut out =
        std::fs::File::create(file).wrap_err_with(|| format!("creating {}", file.display()))?;
    let mut hasher = Hasher::new();
    let mut buf = vec![0u8; 256 * 1024];
    let mut n = 0u64;
    loop {
        let got = input.read(&mut buf).wrap_err("reading the batch")?;
        if got == 0 {
            break;
        }
        hasher.update(&buf[..got]);
        out.write_all(&buf[..got])?;
        n += got as u64;
    }
    out.sync_all()?;
    let sum = Sha256::of_digest(&hasher.finalize());
    if n != batch.bytes || &sum != batch.sha256 {
        bail!(
            "the batch is not whole: {n} bytes of {} received (SHA-256 {sum}, {} announced)",
            batch.bytes,
            batch.sha256
        );
    }
    Ok(n)
}

/// Runs rsync `argv` (after `rsync`), within [`APPLY_WITHIN`].
fn apply(argv: &[String]) -> Result<()> {
    let mut cmd = Command::new("rsync");
    cmd.args(argv);
    let out = crate::transport::run_child(cmd, None, Some(APPLY_WITHIN))
        .wrap_err("running rsync --read-batch")?;
    if out.timed_out {
        bail!(
            "rsync --read-batch did not end within {}s",
            APPLY_WITHIN.as_secs()
        );
    }
    if !out.success {
        bail!("rsync --read-batch failed: {}", out.failure_reason());
    }
    Ok(())
}

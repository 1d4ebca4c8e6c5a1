//! The receiving half of `sync` type=dir, run by the sending node through its transport:
//! `drpilot peer dir-manifest` (what this node's copy holds, so only changes are sent) and
//! `drpilot peer dir-receive` (the tree rebuilt beside the copy, then swapped in at once).

use std::io::{BufRead, Write};

use color_eyre::eyre::Result;

use super::archive::{apply_stream, walk};
use crate::drivers::receive::{local_sync, receive_lock, Incoming, LiveCheck, SyncType};
use crate::drivers::replace_copy::replace_copy;
use crate::paths::NodeEnv;
use crate::protocol::names::{Rid, ServiceName};

/// Prints, as JSON, the manifest of the directory sync `rid` holds on this node; `dst` is what
/// the sender believes it is, checked against this node's config.
pub fn dir_manifest(
    env: &NodeEnv,
    svc: &ServiceName,
    rid: &Rid,
    dst: &str,
    out: &mut impl Write,
) -> Result<()> {
    let local = local_sync(env, svc, rid, SyncType::Dir, dst, None)?;
    let entries = walk(&env.path(&local.dst))?;
    serde_json::to_writer(&mut *out, &entries)?;
    writeln!(out)?;
    Ok(())
}

/// Receives a directory sync: rebuilds the tree beside the current copy, then swaps it in. A cut
/// stream leaves the current copy and state file untouched.
pub fn dir_receive(
    env: &NodeEnv,
    inc: &Incoming,
    refuse_if_running: LiveCheck,
    input: &mut impl BufRead,
    out: &mut impl Write,
) -> Result<()> {
    let local = local_sync(
        env,
        inc.svc,
        inc.rid,
        SyncType::Dir,
        inc.dst,
        Some(inc.from),
    )?;
    let _lock = receive_lock(env, inc.svc, inc.rid, inc.from)?;
    refuse_if_running(env, inc.svc)?;
    let summary = replace_copy(env, inc, &local.dst, refuse_if_running, |dst, staging| {
        apply_stream(input, dst, staging)
    })?;
    serde_json::to_writer(&mut *out, &summary)?;
    writeln!(out)?;
    Ok(())
}

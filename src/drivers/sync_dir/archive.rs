//! The transfer format of `sync` type=dir: the target's manifest (what it holds), and a stream
//! of records that rebuilds the source tree next to the target's copy, sending only the files
//! that changed and asking the target to keep (hard-link) the others.

use std::collections::BTreeMap;
use std::io::{self, BufRead, Read, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::time::{Duration, UNIX_EPOCH};

use color_eyre::eyre::{bail, eyre, Result, WrapErr};
use serde::{Deserialize, Serialize};

use crate::drivers::beneath::Beneath;

const MAGIC: &[u8] = b"DRPSYNC1\n";

/// One entry of a tree, relative path with '/' separators.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Path relative to the tree's root.
    pub path: String,
    /// `f` file, `d` directory, `l` symbolic link.
    pub kind: char,
    /// Size in bytes (files).
    pub size: u64,
    /// Modification time, nanoseconds since the epoch (files).
    pub mtime_ns: i128,
    /// Permission bits.
    pub mode: u32,
    /// Link target (links).
    pub link: Option<String>,
}

impl Entry {
    /// Whether the target's copy of this entry can be kept as it is.
    pub fn same_as(&self, other: &Entry) -> bool {
        self.kind == other.kind
            && match self.kind {
                'f' => {
                    self.size == other.size
                        && self.mtime_ns == other.mtime_ns
                        && self.mode == other.mode
                }
                'l' => self.link == other.link,
                _ => true,
            }
    }
}

fn mtime_ns(m: &std::fs::Metadata) -> i128 {
    i128::from(m.mtime()) * 1_000_000_000 + i128::from(m.mtime_nsec())
}

/// Lists a tree (directories before their content, names sorted). A missing root is empty.
pub fn walk(root: &Path) -> Result<Vec<Entry>> {
    let mut out = Vec::new();
    if !root.exists() {
        return Ok(out);
    }
    walk_into(root, "", &mut out)?;
    Ok(out)
}

fn walk_into(dir: &Path, prefix: &str, out: &mut Vec<Entry>) -> Result<()> {
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .wrap_err_with(|| format!("reading {}", dir.display()))?
        .collect::<io::Result<Vec<_>>>()?;
    names.sort_by_key(|e| e.file_name());
    for e in names {
        let name = e
            .file_name()
            .into_string()
            .map_err(|n| eyre!("{}: file name {n:?} is not UTF-8", dir.display()))?;
        let rel = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}/{name}")
        };
        let m = std::fs::symlink_metadata(e.path())?;
        let ft = m.file_type();
        let mode = m.permissions().mode() & 0o7777;
        if ft.is_symlink() {
            let t = std::fs::read_link(e.path())?;
            out.push(Entry {
                path: rel,
                kind: 'l',
                size: 0,
                mtime_ns: 0,
                mode,
                link: Some(t.to_string_lossy().into_owned()),
            });
        } else if ft.is_dir() {
            out.push(Entry {
                path: rel.clone(),
                kind: 'd',
                size: 0,
                mtime_ns: 0,
                mode,
                link: None,
            });
            walk_into(&e.path(), &rel, out)?;
        } else if ft.is_file() {
            out.push(Entry {
                path: rel,
                kind: 'f',
                size: m.len(),
                mtime_ns: mtime_ns(&m),
                mode,
                link: None,
            });
        }
        // Sockets, fifos and devices are not data: skipped.
    }
    Ok(())
}

/// What a stream carried, reported by both ends.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// Files whose content travelled.
    pub files_sent: u64,
    /// Bytes of file content that travelled.
    pub bytes_sent: u64,
    /// Unchanged files the target kept.
    pub files_kept: u64,
    /// Records in the stream.
    pub records: u64,
}

fn put_str(w: &mut impl Write, s: &str) -> io::Result<()> {
    w.write_all(&(s.len() as u32).to_le_bytes())?;
    w.write_all(s.as_bytes())
}

/// Writes the stream that turns `target` (the target's manifest) into a copy of `root`.
#[cfg(test)]
pub fn write_stream(root: &Path, target: &[Entry], w: &mut impl Write) -> Result<Summary> {
    write_stream_with_progress(root, target, w, &mut |_| {})
}

/// How far a transfer is: what was sent of what must be.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Progress {
    /// Content bytes sent so far.
    pub bytes_sent: u64,
    /// Content bytes the transfer sends in all.
    pub bytes_total: u64,
    /// Changed files sent so far.
    pub files_sent: u64,
    /// Changed files in all.
    pub files_total: u64,
}

/// Writes the stream that turns `target` (the target's manifest) into a copy of `root`,
/// reporting progress after every MiB and every file.
pub fn write_stream_with_progress(
    root: &Path,
    target: &[Entry],
    w: &mut impl Write,
    on: &mut dyn FnMut(Progress),
) -> Result<Summary> {
    let have: BTreeMap<&str, &Entry> = target.iter().map(|e| (e.path.as_str(), e)).collect();
    let entries = walk(root)?;
    let changed =
        |e: &Entry| e.kind == 'f' && !have.get(e.path.as_str()).is_some_and(|t| e.same_as(t));
    let mut prog = Progress {
        bytes_total: entries.iter().filter(|e| changed(e)).map(|e| e.size).sum(),
        files_total: entries.iter().filter(|e| changed(e)).count() as u64,
        ..Progress::default()
    };
    on(prog);
    let mut sum = Summary::default();
    w.write_all(MAGIC)?;
    for e in entries {
        sum.records += 1;
        match e.kind {
            'd' => {
                w.write_all(b"D")?;
                put_str(w, &e.path)?;
                w.write_all(&e.mode.to_le_bytes())?;
            }
            'l' => {
                w.write_all(b"L")?;
                put_str(w, &e.path)?;
                put_str(w, e.link.as_deref().unwrap_or_default())?;
            }
            _ if have.get(e.path.as_str()).is_some_and(|t| e.same_as(t)) => {
                w.write_all(b"K")?;
                put_str(w, &e.path)?;
                sum.files_kept += 1;
            }
            _ => {
                let full = root.join(&e.path);
                let f = std::fs::File::open(&full)
                    .wrap_err_with(|| format!("opening {}", full.display()))?;
                let m = f.metadata()?;
                let size = m.len();
                let ns = mtime_ns(&m);
                w.write_all(b"F")?;
                put_str(w, &e.path)?;
                w.write_all(&(m.permissions().mode() & 0o7777).to_le_bytes())?;
                w.write_all(&ns.to_le_bytes())?;
                w.write_all(&size.to_le_bytes())?;
                let mut src = f.take(size);
                let mut buf = vec![0u8; 1 << 20];
                let mut copied = 0u64;
                loop {
                    let n = src.read(&mut buf)?;
                    if n == 0 {
                        break;
                    }
                    w.write_all(&buf[..n])?;
                    copied += n as u64;
                    prog.bytes_sent += n as u64;
                    on(prog);
                }
                prog.files_sent += 1;
                on(prog);
                if copied != size {
                    bail!(
                        "{} shrank while it was being sent; run the sync again",
                        full.display()
                    );
                }
                sum.files_sent += 1;
                sum.bytes_sent += size;
            }
        }
    }
    w.write_all(b"E")?;
    w.write_all(&sum.records.to_le_bytes())?;
    w.flush()?;
    Ok(sum)
}

fn get_exact<const N: usize>(r: &mut impl Read) -> Result<[u8; N]> {
    let mut b = [0u8; N];
    r.read_exact(&mut b).map_err(|e| {
        if e.kind() == io::ErrorKind::UnexpectedEof {
            eyre!("the stream ended early (the sync was cut)")
        } else {
            eyre!(e)
        }
    })?;
    Ok(b)
}

fn get_str(r: &mut impl Read) -> Result<String> {
    let len = u32::from_le_bytes(get_exact::<4>(r)?) as usize;
    if len > 64 * 1024 {
        bail!("corrupt stream: a {len}-byte name");
    }
    let mut b = vec![0u8; len];
    r.read_exact(&mut b)
        .map_err(|_| eyre!("the stream ended early (the sync was cut)"))?;
    String::from_utf8(b).map_err(|_| eyre!("corrupt stream: a name is not UTF-8"))
}

fn safe_rel(path: &str) -> Result<&str> {
    let bad = path.is_empty()
        || path.starts_with('/')
        || path
            .split('/')
            .any(|c| c.is_empty() || c == "." || c == "..");
    if bad {
        bail!("corrupt stream: unsafe path '{path}'");
    }
    Ok(path)
}

/// Rebuilds a tree into `staging` (which must not exist) from a stream, keeping unchanged files
/// from `current` as hard links. Every written file is fsynced. Every entry is created beneath
/// `staging` without following a symbolic link, and kept files are read beneath `current` the
/// same way: a stream that would cross a link (its own or the current copy's) is refused.
pub fn apply_stream(r: &mut impl BufRead, current: &Path, staging: &Path) -> Result<Summary> {
    let magic = get_exact::<9>(r)?;
    if magic != MAGIC {
        bail!("not a drpilot sync stream");
    }
    std::fs::create_dir(staging).wrap_err_with(|| format!("creating {}", staging.display()))?;
    let mut out = Beneath::open(staging)?;
    let mut kept: Option<Beneath> = None;
    let mut sum = Summary::default();
    loop {
        let [tag] = get_exact::<1>(r)?;
        if tag == b'E' {
            let count = u64::from_le_bytes(get_exact::<8>(r)?);
            if count != sum.records {
                bail!(
                    "corrupt stream: {count} records announced, {} received",
                    sum.records
                );
            }
            break;
        }
        sum.records += 1;
        let rel = get_str(r)?;
        let rel = safe_rel(&rel)?;
        match tag {
            b'D' => {
                let mode = u32::from_le_bytes(get_exact::<4>(r)?);
                out.mkdir(rel, mode)?;
            }
            b'L' => {
                let target = get_str(r)?;
                out.symlink(rel, &target)?;
            }
            b'K' => {
                let from = match &mut kept {
                    Some(b) => b,
                    None => kept.insert(Beneath::open(current)?),
                };
                out.link_from(from, rel).wrap_err_with(|| {
                    format!("keeping {rel}: the target's copy changed since its manifest was read")
                })?;
                sum.files_kept += 1;
            }
            b'F' => {
                let mode = u32::from_le_bytes(get_exact::<4>(r)?);
                let ns = i128::from_le_bytes(get_exact::<16>(r)?);
                let size = u64::from_le_bytes(get_exact::<8>(r)?);
                let mut f = out.create_file(rel)?;
                let copied = io::copy(&mut r.take(size), &mut f)?;
                if copied != size {
                    bail!("the stream ended early (the sync was cut)");
                }
                f.set_permissions(std::fs::Permissions::from_mode(mode))?;
                let ns = u64::try_from(ns.clamp(0, i128::from(u64::MAX))).unwrap_or(0);
                f.set_modified(UNIX_EPOCH + Duration::from_nanos(ns))?;
                f.sync_all()?;
                sum.files_sent += 1;
                sum.bytes_sent += size;
            }
            t => bail!("corrupt stream: unknown record {t:#x}"),
        }
    }
    Ok(sum)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(root: &Path) {
        std::fs::create_dir_all(root.join("sub")).unwrap();
        std::fs::write(root.join("a.log"), b"line1\n").unwrap();
        std::fs::write(root.join("sub/b.bin"), vec![7u8; 10_000]).unwrap();
        std::os::unix::fs::symlink("a.log", root.join("link")).unwrap();
    }

    #[test]
    fn full_then_incremental_sends_only_changes() {
        let d = tempfile::tempdir().unwrap();
        let (src, cur, stage) = (
            d.path().join("src"),
            d.path().join("cur"),
            d.path().join("stage"),
        );
        tree(&src);
        let mut buf = Vec::new();
        let sent = write_stream(&src, &[], &mut buf).unwrap();
        assert_eq!(sent.files_sent, 2);
        let got = apply_stream(&mut &buf[..], &cur, &cur).unwrap();
        assert_eq!(got, sent);
        assert_eq!(walk(&cur).unwrap(), walk(&src).unwrap());

        std::fs::write(src.join("a.log"), b"line1\nline2\n").unwrap();
        std::fs::remove_file(src.join("link")).unwrap();
        let mut buf = Vec::new();
        let sent = write_stream(&src, &walk(&cur).unwrap(), &mut buf).unwrap();
        assert_eq!(
            (sent.files_sent, sent.files_kept, sent.bytes_sent),
            (1, 1, 12)
        );
        assert!(buf.len() < 200, "incremental stream is {} bytes", buf.len());
        apply_stream(&mut &buf[..], &cur, &stage).unwrap();
        assert_eq!(walk(&stage).unwrap(), walk(&src).unwrap());
    }

    #[test]
    fn a_cut_stream_is_an_error() {
        let d = tempfile::tempdir().unwrap();
        let src = d.path().join("src");
        tree(&src);
        let mut buf = Vec::new();
        write_stream(&src, &[], &mut buf).unwrap();
        for cut in [5, 20, buf.len() / 2, buf.len() - 1] {
            let stage = d.path().join(format!("stage{cut}"));
            let err = apply_stream(&mut &buf[..cut], &src, &stage).unwrap_err();
            assert!(
                format!("{err:#}").contains("ended early")
                    || format!("{err:#}").contains("drpilot sync stream"),
                "{err:#}"
            );
        }
    }

    #[test]
    fn unsafe_paths_are_refused() {
        let mut buf = MAGIC.to_vec();
        buf.push(b'D');
        put_str(&mut buf, "../escape").unwrap();
        buf.extend_from_slice(&0o755u32.to_le_bytes());
        let d = tempfile::tempdir().unwrap();
        let err = apply_stream(&mut &buf[..], d.path(), &d.path().join("s")).unwrap_err();
        assert!(format!("{err:#}").contains("unsafe path"));
    }

    /// `esc -> OUTSIDE`, then `esc/pwned.txt`: written with the stream's own record writers.
    fn escaping_stream(outside: &Path) -> Vec<u8> {
        let mut buf = MAGIC.to_vec();
        buf.push(b'L');
        put_str(&mut buf, "esc").unwrap();
        put_str(&mut buf, outside.to_str().unwrap()).unwrap();
        buf.push(b'F');
        put_str(&mut buf, "esc/pwned.txt").unwrap();
        buf.extend_from_slice(&0o644u32.to_le_bytes());
        buf.extend_from_slice(&0i128.to_le_bytes());
        buf.extend_from_slice(&5u64.to_le_bytes());
        buf.extend_from_slice(b"owned");
        buf.push(b'E');
        buf.extend_from_slice(&2u64.to_le_bytes());
        buf
    }

    #[test]
    fn a_stream_crossing_a_symlink_it_created_is_refused() {
        let d = tempfile::tempdir().unwrap();
        let (outside, cur, stage) = (
            d.path().join("outside"),
            d.path().join("cur"),
            d.path().join("stage"),
        );
        std::fs::create_dir_all(&outside).unwrap();
        tree(&cur);
        let before = walk(&cur).unwrap();
        let buf = escaping_stream(&outside);
        let err = apply_stream(&mut &buf[..], &cur, &stage).unwrap_err();
        assert!(
            format!("{err:#}").contains("'esc/pwned.txt' goes through 'esc', a symbolic link"),
            "{err:#}"
        );
        assert!(!outside.join("pwned.txt").exists(), "wrote outside");
        assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 0);
        assert_eq!(walk(&cur).unwrap(), before, "the current copy changed");
    }

    #[test]
    fn a_kept_file_is_never_read_through_a_link_of_the_current_copy() {
        let d = tempfile::tempdir().unwrap();
        let (outside, cur, stage) = (
            d.path().join("outside"),
            d.path().join("cur"),
            d.path().join("stage"),
        );
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::write(outside.join("secret"), b"secret").unwrap();
        std::fs::create_dir_all(&cur).unwrap();
        std::os::unix::fs::symlink(&outside, cur.join("esc")).unwrap();
        let mut buf = MAGIC.to_vec();
        buf.push(b'D');
        put_str(&mut buf, "esc").unwrap();
        buf.extend_from_slice(&0o755u32.to_le_bytes());
        buf.push(b'K');
        put_str(&mut buf, "esc/secret").unwrap();
        buf.push(b'E');
        buf.extend_from_slice(&2u64.to_le_bytes());
        let err = apply_stream(&mut &buf[..], &cur, &stage).unwrap_err();
        assert!(format!("{err:#}").contains("a symbolic link"), "{err:#}");
        assert!(!stage.join("esc/secret").exists());
    }
}

//! The stream a dds sync sends: chunks of the source device, framed so that the target can
//! refuse a cut or altered transfer. `extract` writes it, `merge` applies it.
//!
//! Format (integers little-endian):
//! * header, 40 bytes: magic `drpdds1\n`, `version u32` (1), `flags u32` (bit 0: full copy),
//!   `chunk_size u32` (bytes, a power of two), `reserved u32` (0), `device_size u64` (bytes of
//!   the source device), `count u64` (records that follow);
//! * `count` records: `chunk u64` (index, strictly ascending), `len u32` (the chunk size, less
//!   for the device's last chunk when it is partial), then `len` bytes, to be written at
//!   `chunk * chunk_size`;
//! * trailer, 56 bytes: magic `drpddsE\n`, `count u64`, `data_bytes u64`, and the SHA-256 of
//!   everything before the trailer.
//!
//! The framing costs 96 bytes plus 12 per record: 0.3% of a 4 KiB chunk.
//!
//! `merge` writes records as they arrive (a volume is too big to stage), so a cut merge leaves
//! the target partly written: the caller flags that (see `receive`) and only reports success,
//! and writes its state file, after the trailer verified.

use std::io::{Read, Seek, SeekFrom, Write};

use color_eyre::eyre::{bail, eyre, Result, WrapErr};
use sha2::{Digest, Sha256};

pub use super::frame::{
    StreamHeader, StreamStats, FULL_CHUNK, HEADER_BYTES, MAX_CHUNK, MIN_CHUNK, RECORD_HEAD_BYTES,
    STREAM_MAGIC, STREAM_VERSION, TRAILER_BYTES, TRAILER_MAGIC,
};

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A writer that hashes and counts what passes.
struct Hashing<'a, W> {
    inner: &'a mut W,
    hash: Sha256,
    bytes: u64,
}

impl<W: Write> Hashing<'_, W> {
    fn put(&mut self, b: &[u8]) -> std::io::Result<()> {
        self.hash.update(b);
        self.bytes += b.len() as u64;
        self.inner.write_all(b)
    }
}

/// Extract: writes the stream of `chunks` (strictly ascending indexes) read from `source`;
/// `progress` is told the stream bytes written after each record.
pub fn extract<S: Read + Seek, W: Write>(
    source: &mut S,
    header: &StreamHeader,
    chunks: impl IntoIterator<Item = u64>,
    out: &mut W,
    progress: &mut dyn FnMut(u64),
) -> Result<StreamStats> {
    let mut w = Hashing {
        inner: out,
        hash: Sha256::new(),
        bytes: 0,
    };
    let write_err = |e: std::io::Error| eyre!(e).wrap_err("writing the dds stream");
    w.put(&header.encode()).map_err(write_err)?;
    let cs = u64::from(header.chunk_size).min(header.device_size);
    let mut buf = vec![0u8; cs as usize];
    let (mut records, mut data_bytes) = (0u64, 0u64);
    let mut last: Option<u64> = None;
    for c in chunks {
        if last.is_some_and(|l| c <= l) {
            bail!("chunk {c} comes after chunk {last:?}: chunks must be strictly ascending");
        }
        last = Some(c);
        let len = header.chunk_len(c).ok_or_else(|| {
            eyre!(
                "chunk {c} lies past the end of the source ({} bytes in chunks of {})",
                header.device_size,
                header.chunk_size
            )
        })?;
        let offset = c * u64::from(header.chunk_size);
        let data = &mut buf[..len as usize];
        source
            .seek(SeekFrom::Start(offset))
            .and_then(|_| source.read_exact(data))
            .wrap_err_with(|| format!("reading {len} bytes at offset {offset} of the source"))?;
        let mut head = [0u8; RECORD_HEAD_BYTES as usize];
        head[0..8].copy_from_slice(&c.to_le_bytes());
        head[8..12].copy_from_slice(&(len as u32).to_le_bytes());
        w.put(&head).map_err(write_err)?;
        w.put(data).map_err(write_err)?;
        records += 1;
        data_bytes += len;
        progress(w.bytes);
    }
    if records != header.count {
        bail!(
            "the header announced {} records but {records} were written",
            header.count
        );
    }
    let digest = w.hash.clone().finalize();
    let mut t = [0u8; TRAILER_BYTES as usize];
    t[0..8].copy_from_slice(&TRAILER_MAGIC);
    t[8..16].copy_from_slice(&records.to_le_bytes());
    t[16..24].copy_from_slice(&data_bytes.to_le_bytes());
    t[24..56].copy_from_slice(&digest);
    w.inner.write_all(&t).map_err(write_err)?;
    w.inner.flush().map_err(write_err)?;
    let stats = StreamStats {
        records,
        data_bytes,
        stream_bytes: w.bytes + TRAILER_BYTES,
        sha256: hex(&digest),
    };
    progress(stats.stream_bytes);
    Ok(stats)
}

/// A reader that hashes and counts what passes.
struct Reading<'a, R> {
    inner: &'a mut R,
    hash: Sha256,
    bytes: u64,
}

impl<R: Read> Reading<'_, R> {
    /// Reads exactly `buf.len()` bytes; `what` names them in the error of a cut stream.
    fn take(&mut self, buf: &mut [u8], hashed: bool, what: &dyn Fn() -> String) -> Result<()> {
        let mut got = 0;
        while got < buf.len() {
            match self.inner.read(&mut buf[got..]) {
                Ok(0) => bail!(
                    "the stream ended after {} bytes, inside {} (a cut transfer)",
                    self.bytes + got as u64,
                    what()
                ),
                Ok(n) => got += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    return Err(eyre!(e).wrap_err(format!(
                        "reading the stream at byte {}",
                        self.bytes + got as u64
                    )))
                }
            }
        }
        if hashed {
            self.hash.update(&buf[..]);
        }
        self.bytes += buf.len() as u64;
        Ok(())
    }
}

/// What a merge did, success or not: records already written tell how far a cut merge went.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MergeProgress {
    /// Records written to the target.
    pub records: u64,
    /// Bytes of chunk data written to the target.
    pub data_bytes: u64,
    /// A write to the target was started (it may have failed half-way).
    pub touched: bool,
}

/// Merge: applies a stream to `target`, a device of `target_size` bytes, at `chunk *
/// chunk_size`, then checks the trailer. `expect_full` says whether the receiver was asked for
/// a full copy. The target is not synced here: the caller syncs it before reporting success.
/// On error, `progress` tells what was already written.
pub fn merge<R: Read, T: Write + Seek>(
    input: &mut R,
    target: &mut T,
    target_size: u64,
    expect_full: bool,
    progress: &mut MergeProgress,
) -> Result<(StreamHeader, StreamStats)> {
    let mut r = Reading {
        inner: input,
        hash: Sha256::new(),
        bytes: 0,
    };
    let mut hb = [0u8; HEADER_BYTES as usize];
    r.take(&mut hb, true, &|| "the stream header".to_string())?;
    let header = StreamHeader::decode(&hb)?;
    if header.full != expect_full {
        bail!(
            "the stream is {} but the receiver was asked for {}",
            if header.full {
                "a full copy"
            } else {
                "a delta"
            },
            if expect_full {
                "a full copy"
            } else {
                "a delta"
            }
        );
    }
    if header.device_size > target_size {
        bail!(
            "the source device is {} bytes but the target is only {target_size}: extend the \
             target volume to at least the source's size",
            header.device_size
        );
    }
    let cs = u64::from(header.chunk_size);
    // No record is longer than the device: a small device never costs a big buffer.
    let mut buf = vec![0u8; cs.min(header.device_size) as usize];
    let mut last: Option<u64> = None;
    for n in 0..header.count {
        let mut head = [0u8; RECORD_HEAD_BYTES as usize];
        r.take(&mut head, true, &|| format!("the head of record {n}"))?;
        let mut a = [0u8; 8];
        a.copy_from_slice(&head[0..8]);
        let chunk = u64::from_le_bytes(a);
        let len = u64::from(u32::from_le_bytes([head[8], head[9], head[10], head[11]]));
        if last.is_some_and(|l| chunk <= l) {
            bail!("record {n} (chunk {chunk}) is out of order after chunk {last:?}");
        }
        if header.full && chunk != n {
            bail!("record {n} of a full copy carries chunk {chunk}");
        }
        last = Some(chunk);
        let want = header.chunk_len(chunk).ok_or_else(|| {
            eyre!(
                "record {n}: chunk {chunk} lies past the end of the {}-byte source device",
                header.device_size
            )
        })?;
        if len != want {
            bail!("record {n}: chunk {chunk} carries {len} bytes, expected {want}");
        }
        let data = &mut buf[..len as usize];
        r.take(data, true, &|| {
            format!("the data of record {n} (chunk {chunk})")
        })?;
        let offset = chunk * cs;
        progress.touched = true;
        target
            .seek(SeekFrom::Start(offset))
            .and_then(|_| target.write_all(data))
            .wrap_err_with(|| format!("writing {len} bytes at offset {offset} of the target"))?;
        progress.records += 1;
        progress.data_bytes += len;
    }
    let digest = r.hash.clone().finalize();
    let mut t = [0u8; TRAILER_BYTES as usize];
    r.take(&mut t, false, &|| "the trailer".to_string())?;
    if t[0..8] != TRAILER_MAGIC {
        bail!(
            "the stream's trailer is missing or corrupt (bad magic at byte {})",
            r.bytes - TRAILER_BYTES
        );
    }
    let mut a = [0u8; 8];
    a.copy_from_slice(&t[8..16]);
    let count = u64::from_le_bytes(a);
    a.copy_from_slice(&t[16..24]);
    let data_bytes = u64::from_le_bytes(a);
    if count != progress.records || data_bytes != progress.data_bytes {
        bail!(
            "the trailer counts {count} records and {data_bytes} bytes, {} and {} were received",
            progress.records,
            progress.data_bytes
        );
    }
    if t[24..56] != digest[..] {
        bail!("the stream's checksum does not match: the data was altered on the way");
    }
    let mut extra = [0u8; 1];
    loop {
        match r.inner.read(&mut extra) {
            Ok(0) => break,
            Ok(_) => bail!("unexpected bytes after the trailer at byte {}", r.bytes),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(eyre!(e).wrap_err("reading past the trailer")),
        }
    }
    let stats = StreamStats {
        records: progress.records,
        data_bytes: progress.data_bytes,
        stream_bytes: r.bytes,
        sha256: hex(&digest),
    };
    Ok((header, stats))
}

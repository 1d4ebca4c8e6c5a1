//! Reader of a dm-snapshot persistent copy-on-write store (the kernel's
//! `drivers/md/dm-snap-persistent.c`), the list of origin chunks written since the snapshot was
//! taken: what `syncupdate` must send.
//!
//! Layout, all little-endian, in chunks of `chunk_size` 512-byte sectors:
//! * chunk 0, the header: `magic u32` (0x70416e53, "SnAp"), `valid u32` (0 once the kernel
//!   invalidated the snapshot: it overflowed or hit an I/O error), `version u32` (1),
//!   `chunk_size u32` (sectors);
//! * then metadata areas: area `a` sits at chunk `1 + a * (per_area + 1)` and holds `per_area =
//!   chunk_bytes / 16` exception records (`old_chunk u64`: the origin chunk, `new_chunk u64`:
//!   where its old data went in the COW), followed by `per_area` data chunks;
//! * the list ends at the first record whose `new_chunk` is 0 (the kernel zeroes the next area
//!   whenever one fills up), so a full area is always followed by another.
//!
//! The reader trusts nothing: every offset is checked against the store's length before it is
//! read, a single chunk-sized buffer is the only allocation besides the result, and a corrupt
//! store is an error naming the byte offset where it went wrong.

use std::io::{Read, Seek, SeekFrom};

use color_eyre::eyre::{bail, eyre, Result, WrapErr};

/// The header's magic, "SnAp" read as a little-endian u32.
pub const SNAP_MAGIC: u32 = 0x7041_6e53;
/// The only on-disk version the kernel writes.
pub const SNAP_VERSION: u32 = 1;
/// A sector, the unit of the header's chunk size.
pub const SECTOR: u64 = 512;
/// Bytes of one exception record.
pub const RECORD_BYTES: u64 = 16;
/// The largest chunk accepted, in sectors (1 MiB; LVM's limit is 512 KiB): it bounds the one
/// buffer the reader allocates.
pub const MAX_CHUNK_SECTORS: u32 = 2048;

/// The header chunk's fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CowHeader {
    /// Always [`SNAP_MAGIC`] once parsed.
    pub magic: u32,
    /// The kernel still considers the snapshot usable.
    pub valid: bool,
    /// Always [`SNAP_VERSION`] once parsed.
    pub version: u32,
    /// Chunk size in 512-byte sectors.
    pub chunk_sectors: u32,
}

/// What a COW store says changed in the origin since its snapshot was taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CowSummary {
    /// The header.
    pub header: CowHeader,
    /// Chunk size in bytes.
    pub chunk_bytes: u64,
    /// The origin chunks written since the snapshot (their `old_chunk`), in store order.
    pub changed: Vec<u64>,
    /// Metadata areas read (the seed's "Exception chunks").
    pub areas: u64,
    /// Bytes of metadata read: the header chunk and every area read.
    pub metadata_bytes: u64,
}

impl CowSummary {
    /// Exception records found (the seed's "Exceptions").
    pub fn exceptions(&self) -> u64 {
        self.changed.len() as u64
    }

    /// The changed origin chunks, ascending (the order a device reads fastest).
    pub fn sorted_chunks(&self) -> Vec<u64> {
        let mut v = self.changed.clone();
        v.sort_unstable();
        v
    }
}

fn le32(b: &[u8], at: usize) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[at..at + 4]);
    u32::from_le_bytes(a)
}

fn le64(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(a)
}

/// Reads `buf.len()` bytes at `offset`, which the caller checked lies inside the store.
fn read_at<R: Read + Seek>(r: &mut R, offset: u64, buf: &mut [u8]) -> Result<()> {
    r.seek(SeekFrom::Start(offset))
        .wrap_err_with(|| format!("seeking to offset {offset} of the COW store"))?;
    r.read_exact(buf).wrap_err_with(|| {
        format!(
            "reading {} bytes at offset {offset} of the COW store",
            buf.len()
        )
    })
}

/// Checks the header chunk's 16 bytes.
pub fn parse_header(b: &[u8; 16]) -> Result<CowHeader> {
    let magic = le32(b, 0);
    let valid = le32(b, 4);
    let version = le32(b, 8);
    let chunk_sectors = le32(b, 12);
    if magic == 0 {
        bail!(
            "offset 0: blank header (magic 0): the snapshot's COW store was never initialised by \
             the kernel"
        );
    }
    if magic != SNAP_MAGIC {
        bail!(
            "offset 0: bad magic {magic:#010x} (expected {SNAP_MAGIC:#010x}, \"SnAp\"): not a \
             dm-snapshot persistent COW store"
        );
    }
    if version != SNAP_VERSION {
        bail!("offset 8: unsupported COW version {version} (only {SNAP_VERSION} exists)");
    }
    if chunk_sectors == 0 || !chunk_sectors.is_power_of_two() || chunk_sectors > MAX_CHUNK_SECTORS {
        bail!(
            "offset 12: chunk size of {chunk_sectors} sectors is not a power of two between 1 \
             and {MAX_CHUNK_SECTORS}"
        );
    }
    let valid = match valid {
        1 => true,
        0 => false,
        v => bail!("offset 4: valid flag is {v} (the kernel writes 0 or 1)"),
    };
    Ok(CowHeader {
        magic,
        valid,
        version,
        chunk_sectors,
    })
}

/// Parses a whole COW store. An invalidated snapshot (valid = 0) is an error: the changes it
/// recorded are incomplete.
pub fn parse_cow<R: Read + Seek>(r: &mut R) -> Result<CowSummary> {
    let len = r
        .seek(SeekFrom::End(0))
        .wrap_err("measuring the COW store")?;
    if len < 16 {
        bail!("offset 0: the COW store is {len} bytes, too short for its 16-byte header");
    }
    let mut hb = [0u8; 16];
    read_at(r, 0, &mut hb)?;
    let header = parse_header(&hb)?;
    if !header.valid {
        bail!(
            "offset 4: the snapshot is marked invalid (it overflowed its COW space or hit an I/O \
             error): the changes since it was taken are unknown"
        );
    }
    let chunk_bytes = u64::from(header.chunk_sectors) * SECTOR;
    let per_area = chunk_bytes / RECORD_BYTES;
    let stride = per_area + 1;
    let total_chunks = len / chunk_bytes;
    let mut buf = vec![0u8; chunk_bytes as usize];
    let mut changed = Vec::new();
    let mut areas = 0u64;
    loop {
        let loc = areas
            .checked_mul(stride)
            .and_then(|x| x.checked_add(1))
            .ok_or_else(|| eyre!("metadata area {areas}: its location overflows"))?;
        let offset = loc
            .checked_mul(chunk_bytes)
            .ok_or_else(|| eyre!("metadata area {areas}: its offset overflows"))?;
        if loc >= total_chunks {
            bail!(
                "offset {offset}: metadata area {areas} lies past the end of the COW store \
                 ({len} bytes) while the exception list has not ended: the store is truncated"
            );
        }
        read_at(r, offset, &mut buf)?;
        areas += 1;
        let mut ended = false;
        for i in 0..per_area as usize {
            let at = i * RECORD_BYTES as usize;
            let old = le64(&buf, at);
            let new = le64(&buf, at + 8);
            if new == 0 {
                ended = true;
                break;
            }
            let rec_offset = offset + at as u64;
            if new >= total_chunks {
                bail!(
                    "offset {rec_offset}: exception {} maps origin chunk {old} to COW chunk {new}, \
                     past the end of the store ({total_chunks} chunks)",
                    changed.len()
                );
            }
            if (new - 1).is_multiple_of(stride) {
                bail!(
                    "offset {rec_offset}: exception {} maps origin chunk {old} to COW chunk {new}, \
                     which is a metadata area",
                    changed.len()
                );
            }
            changed.push(old);
        }
        if ended {
            break;
        }
    }
    let mut sorted = changed.clone();
    sorted.sort_unstable();
    if let Some(w) = sorted.windows(2).find(|w| w[0] == w[1]) {
        bail!(
            "origin chunk {} has two exceptions: the COW store is corrupt",
            w[0]
        );
    }
    Ok(CowSummary {
        header,
        chunk_bytes,
        changed,
        areas,
        metadata_bytes: (1 + areas) * chunk_bytes,
    })
}

/// Builds COW stores in the kernel's format: the unit tests, `tests/cow_fuzz_corpus.rs` (which
/// also writes the fuzz seed corpus) and the stand-in-lvm test use it.
#[path = "cow_builder.rs"]
pub mod builder;

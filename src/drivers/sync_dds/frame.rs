//! The dds stream's framing: header, record heads and trailer (the format is described in
//! `delta`), shared by the extracting sender and the merging receiver.

use color_eyre::eyre::{bail, Result};

/// First bytes of a stream.
pub const STREAM_MAGIC: [u8; 8] = *b"drpdds1\n";
/// First bytes of the trailer.
pub const TRAILER_MAGIC: [u8; 8] = *b"drpddsE\n";
/// The stream format version.
pub const STREAM_VERSION: u32 = 1;
/// Bytes of the header.
pub const HEADER_BYTES: u64 = 40;
/// Bytes before each record's data.
pub const RECORD_HEAD_BYTES: u64 = 12;
/// Bytes of the trailer.
pub const TRAILER_BYTES: u64 = 56;
/// The chunk of a full copy.
pub const FULL_CHUNK: u32 = 1 << 20;
/// The largest chunk a stream may use (it bounds the receiver's one buffer).
pub const MAX_CHUNK: u32 = 16 << 20;
/// The smallest chunk a stream may use.
pub const MIN_CHUNK: u32 = 512;

const FLAG_FULL: u32 = 1;

/// What a stream announces before its records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamHeader {
    /// Every chunk of the device follows (a `syncfullsync`).
    pub full: bool,
    /// Chunk size in bytes.
    pub chunk_size: u32,
    /// Size of the source device in bytes: the target must be at least as big.
    pub device_size: u64,
    /// Records that follow.
    pub count: u64,
}

impl StreamHeader {
    /// The header of a full copy of a device of `device_size` bytes.
    pub fn full(device_size: u64) -> Self {
        let mut h = Self {
            full: true,
            chunk_size: FULL_CHUNK,
            device_size,
            count: 0,
        };
        h.count = h.device_chunks();
        h
    }

    /// Chunks of the device, the last one possibly partial.
    pub fn device_chunks(&self) -> u64 {
        self.device_size.div_ceil(u64::from(self.chunk_size.max(1)))
    }

    /// Bytes of chunk `index`, `None` past the device's end.
    pub fn chunk_len(&self, index: u64) -> Option<u64> {
        let cs = u64::from(self.chunk_size);
        let start = index.checked_mul(cs)?;
        if start >= self.device_size {
            return None;
        }
        Some(cs.min(self.device_size - start))
    }

    pub(super) fn encode(&self) -> [u8; HEADER_BYTES as usize] {
        let mut b = [0u8; HEADER_BYTES as usize];
        b[0..8].copy_from_slice(&STREAM_MAGIC);
        b[8..12].copy_from_slice(&STREAM_VERSION.to_le_bytes());
        let flags = if self.full { FLAG_FULL } else { 0 };
        b[12..16].copy_from_slice(&flags.to_le_bytes());
        b[16..20].copy_from_slice(&self.chunk_size.to_le_bytes());
        b[24..32].copy_from_slice(&self.device_size.to_le_bytes());
        b[32..40].copy_from_slice(&self.count.to_le_bytes());
        b
    }

    /// Decodes and checks a header.
    pub fn decode(b: &[u8; HEADER_BYTES as usize]) -> Result<Self> {
        if b[0..8] != STREAM_MAGIC {
            bail!("not a drpilot dds stream (bad magic)");
        }
        let u32_at = |at: usize| u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]);
        let u64_at = |at: usize| {
            let mut a = [0u8; 8];
            a.copy_from_slice(&b[at..at + 8]);
            u64::from_le_bytes(a)
        };
        let version = u32_at(8);
        if version != STREAM_VERSION {
            bail!("dds stream version {version} is not supported (this drpilot reads {STREAM_VERSION})");
        }
        let flags = u32_at(12);
        if flags & !FLAG_FULL != 0 {
            bail!("dds stream header: unknown flags {flags:#x}");
        }
        let chunk_size = u32_at(16);
        if !chunk_size.is_power_of_two() || !(MIN_CHUNK..=MAX_CHUNK).contains(&chunk_size) {
            bail!("dds stream header: chunk size {chunk_size} is not a power of two between {MIN_CHUNK} and {MAX_CHUNK}");
        }
        if u32_at(20) != 0 {
            bail!("dds stream header: reserved field is not zero");
        }
        let h = Self {
            full: flags & FLAG_FULL != 0,
            chunk_size,
            device_size: u64_at(24),
            count: u64_at(32),
        };
        let max = h.device_chunks();
        if h.count > max {
            bail!(
                "dds stream header: {} records announced for a device of {} chunks",
                h.count,
                max
            );
        }
        if h.full && h.count != max {
            bail!(
                "dds stream header: a full copy of {max} chunks announces {} records",
                h.count
            );
        }
        Ok(h)
    }

    /// The exact length of the stream carrying `chunks`.
    pub fn stream_len(&self, chunks: impl IntoIterator<Item = u64>) -> u64 {
        let data: u64 = chunks
            .into_iter()
            .filter_map(|c| self.chunk_len(c))
            .map(|l| l + RECORD_HEAD_BYTES)
            .sum();
        HEADER_BYTES + data + TRAILER_BYTES
    }
}

/// What went through a stream, as the sender and the receiver each count it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StreamStats {
    /// Records carried.
    pub records: u64,
    /// Bytes of chunk data.
    pub data_bytes: u64,
    /// Bytes of the whole stream, framing included.
    pub stream_bytes: u64,
    /// SHA-256 of the stream before its trailer, hex.
    pub sha256: String,
}

impl StreamStats {
    /// Bytes that were not chunk data: header, record heads and trailer.
    pub fn framing_bytes(&self) -> u64 {
        self.stream_bytes - self.data_bytes
    }
}

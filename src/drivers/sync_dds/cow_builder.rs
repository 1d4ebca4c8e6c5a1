//! Builds dm-snapshot COW stores in the kernel's persistent format (see `cow`): a header,
//! exceptions placed as the kernel allocates them, and the zeroed area after a full one; header
//! fields can be overridden to build broken stores.

use super::{RECORD_BYTES, SECTOR, SNAP_MAGIC, SNAP_VERSION};

/// A COW store under construction: exceptions are placed as the kernel allocates them.
pub struct CowBuilder {
    /// Chunk size in sectors written in the header.
    pub chunk_sectors: u32,
    /// Exceptions, in the order they are recorded.
    pub exceptions: Vec<u64>,
    /// Header fields, overridable to build broken stores.
    pub magic: u32,
    /// The valid flag.
    pub valid: u32,
    /// The version.
    pub version: u32,
}

impl CowBuilder {
    /// A valid, empty store.
    pub fn new(chunk_sectors: u32) -> Self {
        Self {
            chunk_sectors,
            exceptions: Vec::new(),
            magic: SNAP_MAGIC,
            valid: 1,
            version: SNAP_VERSION,
        }
    }

    /// Records that origin chunk `old` was written.
    pub fn exception(mut self, old: u64) -> Self {
        self.exceptions.push(old);
        self
    }

    /// Records several exceptions.
    pub fn exceptions(mut self, olds: impl IntoIterator<Item = u64>) -> Self {
        self.exceptions.extend(olds);
        self
    }

    /// Bytes of a chunk.
    pub fn chunk_bytes(&self) -> u64 {
        u64::from(self.chunk_sectors) * SECTOR
    }

    /// Exception records per metadata area.
    pub fn per_area(&self) -> u64 {
        self.chunk_bytes() / RECORD_BYTES
    }

    /// The image: header, areas with their data chunks (filled with a marker byte), and the
    /// zeroed area the kernel prepares after a full one.
    pub fn build(&self) -> Vec<u8> {
        let cb = self.chunk_bytes() as usize;
        let per_area = self.per_area() as usize;
        let stride = per_area + 1;
        // Areas used, plus one zeroed when the last is exactly full (or there is none).
        let areas = self.exceptions.len() / per_area + 1;
        let last_area_data = self.exceptions.len() % per_area;
        let chunks = 1 + (areas - 1) * stride + 1 + last_area_data;
        let mut img = vec![0u8; chunks * cb];
        img[0..4].copy_from_slice(&self.magic.to_le_bytes());
        img[4..8].copy_from_slice(&self.valid.to_le_bytes());
        img[8..12].copy_from_slice(&self.version.to_le_bytes());
        img[12..16].copy_from_slice(&self.chunk_sectors.to_le_bytes());
        for (n, old) in self.exceptions.iter().enumerate() {
            let area = n / per_area;
            let slot = n % per_area;
            let loc = 1 + area * stride;
            let new = loc + 1 + slot;
            let at = loc * cb + slot * RECORD_BYTES as usize;
            img[at..at + 8].copy_from_slice(&old.to_le_bytes());
            img[at + 8..at + 16].copy_from_slice(&(new as u64).to_le_bytes());
            let data = new * cb;
            img[data..data + cb].fill(0xc0);
        }
        img
    }
}

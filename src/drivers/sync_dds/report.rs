//! The report a `syncupdate` prints after a delta, in the seed's layout (`dds --extract -v`):
//! the COW header, the exception counts, and what went on the wire.

use super::cow::CowSummary;
use super::delta::StreamStats;

/// Bytes in KiB as the seed writes them: `428 KB`, `1.4 KB`.
pub fn kb(bytes: u64) -> String {
    if bytes.is_multiple_of(1024) {
        format!("{} KB", bytes / 1024)
    } else {
        format!("{:.1} KB", bytes as f64 / 1024.0)
    }
}

/// The seed's `Snapshot header: ... Report: ...` block, plus the exact bytes sent and the share
/// of framing in them.
pub fn delta_report(cow: &CowSummary, sent: &StreamStats) -> String {
    let h = &cow.header;
    let framing = sent.framing_bytes();
    let share = if sent.data_bytes > 0 {
        framing as f64 * 100.0 / sent.data_bytes as f64
    } else {
        0.0
    };
    format!(
        "Snapshot header:\n  magic             {:#010x}\n  version           {}\n  valid             {}\n  \
         chunk_size        {}\nReport:\n  Exception chunks  {}\n  Exceptions        {}\n  \
         COW metadata read {}\n  Output size meta  {}\n  Output size data  {}\n  \
         Output size total {}\n  Output bytes      {} ({} data + {} framing, {share:.2}%)",
        h.magic,
        h.version,
        if h.valid { "yes" } else { "no" },
        kb(cow.chunk_bytes),
        cow.areas,
        cow.exceptions(),
        kb(cow.metadata_bytes),
        kb(framing),
        kb(sent.data_bytes),
        kb(sent.stream_bytes),
        sent.stream_bytes,
        sent.data_bytes,
        framing,
    )
}

#[cfg(test)]
mod tests {
    use super::super::cow::{CowHeader, SNAP_MAGIC};
    use super::*;

    #[test]
    fn the_report_reads_like_the_seed() {
        let cow = CowSummary {
            header: CowHeader {
                magic: SNAP_MAGIC,
                valid: true,
                version: 1,
                chunk_sectors: 8,
            },
            chunk_bytes: 4096,
            changed: (0..107).collect(),
            areas: 1,
            metadata_bytes: 8192,
        };
        let sent = StreamStats {
            records: 107,
            data_bytes: 107 * 4096,
            stream_bytes: 107 * 4096 + 96 + 107 * 12,
            sha256: String::new(),
        };
        let r = delta_report(&cow, &sent);
        for line in [
            "Snapshot header:",
            "  magic             0x70416e53",
            "  version           1",
            "  valid             yes",
            "  chunk_size        4 KB",
            "Report:",
            "  Exception chunks  1",
            "  Exceptions        107",
            "  COW metadata read 8 KB",
            "  Output size data  428 KB",
            "  Output size meta  1.3 KB",
        ] {
            assert!(r.lines().any(|l| l == line), "missing '{line}' in\n{r}");
        }
        assert!(r.contains("(438272 data + 1380 framing, 0.31%)"), "{r}");
    }
}

// Shared by the fuzz target (fuzz/fuzz_targets/cow_parse.rs) and the ordinary test
// tests/cow_fuzz_corpus.rs, which both `include!` it so the corpus runs in `cargo test`.

/// Reads `data` as a dm-snapshot COW store, then as a dds stream merged into a 1 MiB target
/// (as a delta and as a full copy). Panics (a fuzz finding) only when an invariant breaks:
/// a corrupt input must be an error, never a panic, a write outside the target or a bogus
/// allocation.
pub fn exercise_cow(data: &[u8]) {
    use drpilot::drivers::sync_dds::cow::parse_cow;
    use drpilot::drivers::sync_dds::delta::{merge, MergeProgress};
    use std::io::Cursor;

    if let Ok(s) = parse_cow(&mut Cursor::new(data)) {
        assert!(s.chunk_bytes.is_power_of_two() && s.chunk_bytes >= 512);
        assert_eq!(s.metadata_bytes, (1 + s.areas) * s.chunk_bytes);
        assert!(
            s.metadata_bytes <= data.len() as u64,
            "metadata read past the end of the store"
        );
        let sorted = s.sorted_chunks();
        assert_eq!(sorted.len() as u64, s.exceptions());
        assert!(sorted.windows(2).all(|w| w[0] < w[1]), "duplicates accepted");
    }
    const TARGET: u64 = 1 << 20;
    for full in [false, true] {
        let mut target = Cursor::new(Vec::new());
        let mut p = MergeProgress::default();
        if let Ok((h, stats)) = merge(&mut Cursor::new(data), &mut target, TARGET, full, &mut p) {
            assert!(h.device_size <= TARGET);
            assert_eq!(h.full, full);
            assert_eq!(stats.stream_bytes, data.len() as u64);
            assert_eq!(stats.records, p.records);
            assert_eq!(stats.data_bytes, p.data_bytes);
        }
        assert!(
            target.get_ref().len() as u64 <= TARGET,
            "a merge wrote past the target's end"
        );
    }
}

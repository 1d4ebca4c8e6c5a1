//! The seed corpus of the `cow_parse` fuzz target (fuzz/corpus/cow_parse/): generated here from
//! the kernel's format (`seed_*`, valid and broken COW stores and dds streams), and every file,
//! crash regressions included, run through the fuzz target's body in the ordinary `cargo test`.
//! `DRPILOT_REGEN_COW_CORPUS=1 cargo test --test cow_fuzz_corpus` rewrites the `seed_*` files.

use std::io::Cursor;
use std::path::{Path, PathBuf};

use drpilot::drivers::sync_dds::cow::builder::CowBuilder;
use drpilot::drivers::sync_dds::cow::parse_cow;
use drpilot::drivers::sync_dds::delta::{extract, StreamHeader};

include!("../fuzz/cow_exercise.rs");

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/cow_parse")
}

fn with<F: FnOnce(&mut CowBuilder)>(b: CowBuilder, f: F) -> Vec<u8> {
    let mut b = b;
    f(&mut b);
    b.build()
}

fn stream(header: StreamHeader, chunks: &[u64], device: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    extract(
        &mut Cursor::new(device),
        &header,
        chunks.iter().copied(),
        &mut out,
        &mut |_| {},
    )
    .expect("extract");
    out
}

/// The generated seeds: name, bytes, and whether the COW reader must accept them.
fn seeds() -> Vec<(&'static str, Vec<u8>, Option<bool>)> {
    // 512-byte chunks (1 sector) keep the images small: 32 records per area.
    let small = || CowBuilder::new(1);
    let mut v = vec![
        ("seed_empty_512.cow", small().build(), Some(true)),
        (
            "seed_three_512.cow",
            small().exceptions([7, 2, 40]).build(),
            Some(true),
        ),
        (
            "seed_two_areas_512.cow",
            small().exceptions((0..40).rev()).build(),
            Some(true),
        ),
        (
            "seed_full_area_512.cow",
            small().exceptions(0..32).build(),
            Some(true),
        ),
        (
            "seed_five_4k.cow",
            CowBuilder::new(8).exceptions([1, 3, 5, 7, 9]).build(),
            Some(true),
        ),
        (
            "seed_bad_magic.cow",
            with(small().exception(1), |b| b.magic = 0x1234_5678),
            Some(false),
        ),
        (
            "seed_blank_header.cow",
            with(small(), |b| b.magic = 0),
            Some(false),
        ),
        (
            "seed_invalidated.cow",
            with(small().exception(1), |b| b.valid = 0),
            Some(false),
        ),
        (
            "seed_version_2.cow",
            with(small(), |b| b.version = 2),
            Some(false),
        ),
        (
            "seed_chunk_3_sectors.cow",
            with(small(), |b| b.chunk_sectors = 3),
            Some(false),
        ),
        (
            "seed_duplicate.cow",
            small().exceptions([4, 9, 4]).build(),
            Some(false),
        ),
        (
            "seed_short_header.cow",
            small().build()[..10].to_vec(),
            Some(false),
        ),
    ];
    let two = small().exceptions(0..40).build();
    // Cut inside the second area (chunk 1 + 33 = 34).
    v.push((
        "seed_truncated.cow",
        two[..34 * 512 + 100].to_vec(),
        Some(false),
    ));
    let mut past = small().exceptions([1, 2]).build();
    past[512 + 16 + 8..512 + 32].copy_from_slice(&u64::MAX.to_le_bytes());
    v.push(("seed_new_chunk_past_end.cow", past, Some(false)));
    let mut meta = small().exceptions([1, 2]).build();
    meta[512 + 8..512 + 16].copy_from_slice(&1u64.to_le_bytes());
    v.push(("seed_new_chunk_metadata.cow", meta, Some(false)));

    let device: Vec<u8> = (0..20_000u32).map(|i| (i * 31 % 251) as u8).collect();
    let delta = StreamHeader {
        full: false,
        chunk_size: 4096,
        device_size: device.len() as u64,
        count: 3,
    };
    v.push((
        "seed_stream_delta.bin",
        stream(delta, &[0, 2, 4], &device),
        None,
    ));
    v.push((
        "seed_stream_full.bin",
        stream(StreamHeader::full(device.len() as u64), &[0], &device),
        None,
    ));
    let mut cut = stream(delta, &[0, 2, 4], &device);
    cut.truncate(cut.len() - 30);
    v.push(("seed_stream_cut.bin", cut, None));
    v
}

#[test]
fn seeds_are_read_as_their_names_say() {
    for (name, bytes, valid) in seeds() {
        if let Some(valid) = valid {
            let got = parse_cow(&mut Cursor::new(&bytes));
            assert_eq!(got.is_ok(), valid, "{name}: {got:?}");
        }
    }
}

#[test]
fn every_corpus_file_is_handled_without_panic() {
    let dir = corpus_dir();
    let regen = std::env::var("DRPILOT_REGEN_COW_CORPUS").as_deref() == Ok("1");
    for (name, bytes, _) in seeds() {
        let path = dir.join(name);
        if regen {
            std::fs::create_dir_all(&dir).expect("corpus dir");
            std::fs::write(&path, &bytes).expect("write seed");
        } else {
            let on_disk = std::fs::read(&path).unwrap_or_else(|e| {
                panic!(
                    "{}: {e}; regenerate with DRPILOT_REGEN_COW_CORPUS=1",
                    path.display()
                )
            });
            assert!(
                on_disk == bytes,
                "{} is stale; regenerate with DRPILOT_REGEN_COW_CORPUS=1",
                path.display()
            );
        }
    }
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("read corpus dir")
        .map(|e| e.expect("corpus entry").path())
        .collect();
    files.sort();
    for path in &files {
        let bytes = std::fs::read(path).expect("read corpus file");
        let caught = std::panic::catch_unwind(|| exercise_cow(&bytes));
        assert!(
            caught.is_ok(),
            "{} made the COW reader or the merge panic",
            path.display()
        );
    }
    assert!(files.len() >= 12, "corpus too small: {}", files.len());
}

//! Tests of the COW reader, the delta stream and the probe, on COW images built per the
//! kernel's format and plain files standing for devices.

use std::io::Cursor;

use super::cow::builder::CowBuilder;
use super::cow::parse_cow;
use super::delta::{
    extract, merge, MergeProgress, StreamHeader, HEADER_BYTES, RECORD_HEAD_BYTES, TRAILER_BYTES,
};
use super::*;

fn parse(img: &[u8]) -> Result<cow::CowSummary> {
    parse_cow(&mut Cursor::new(img))
}

fn err(img: &[u8]) -> String {
    format!(
        "{:#}",
        parse(img).expect_err("a broken store must be refused")
    )
}

/// A deterministic pseudo-random byte sequence.
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

#[test]
fn an_empty_store_lists_nothing() {
    let s = parse(&CowBuilder::new(8).build()).unwrap();
    assert_eq!(s.chunk_bytes, 4096);
    assert_eq!(s.exceptions(), 0);
    assert_eq!(s.areas, 1);
    assert_eq!(
        s.metadata_bytes, 8192,
        "header chunk + one area, as the seed's 8 KB"
    );
    assert!(s.header.valid);
}

#[test]
fn several_areas_and_a_list_ending_mid_area() {
    // 4 KiB chunks hold 256 records per area: 600 exceptions fill two areas and end in a third.
    let olds: Vec<u64> = (0..600).map(|i| (i * 7919) % 100_003).collect();
    let b = CowBuilder::new(8).exceptions(olds.iter().copied());
    assert_eq!(b.per_area(), 256);
    let s = parse(&b.build()).unwrap();
    assert_eq!(s.changed, olds, "every exception, in store order");
    assert_eq!(s.areas, 3);
    assert_eq!(s.metadata_bytes, 4 * 4096);
    let sorted = s.sorted_chunks();
    assert!(sorted.windows(2).all(|w| w[0] < w[1]));
}

#[test]
fn a_full_area_is_followed_by_a_zeroed_one() {
    let s = parse(&CowBuilder::new(8).exceptions(0..256).build()).unwrap();
    assert_eq!(s.exceptions(), 256);
    assert_eq!(s.areas, 2, "the kernel's zeroed next area ends the list");
}

#[test]
fn chunk_sizes_4k_8k_64k() {
    for sectors in [8u32, 16, 128] {
        let per_area = u64::from(sectors) * 512 / 16;
        let n = per_area * 2 + 5;
        let s = parse(&CowBuilder::new(sectors).exceptions((0..n).rev()).build()).unwrap();
        assert_eq!(s.chunk_bytes, u64::from(sectors) * 512);
        assert_eq!(s.exceptions(), n);
        assert_eq!(s.areas, 3, "chunk of {sectors} sectors");
        assert_eq!(s.sorted_chunks(), (0..n).collect::<Vec<_>>());
    }
}

#[test]
fn a_corrupt_header_is_refused_naming_the_offset() {
    let good = CowBuilder::new(8).exceptions(0..3);
    let mut b = CowBuilder::new(8);
    b.magic = 0x1234_5678;
    let e = err(&b.build());
    assert!(
        e.contains("offset 0") && e.contains("bad magic 0x12345678"),
        "{e}"
    );
    b.magic = 0;
    assert!(err(&b.build()).contains("never initialised"));
    let mut b = CowBuilder::new(8);
    b.valid = 0;
    assert!(err(&b.build()).contains("marked invalid"));
    b.valid = 7;
    assert!(err(&b.build()).contains("offset 4"));
    let mut b = CowBuilder::new(8);
    b.version = 2;
    assert!(err(&b.build()).contains("offset 8: unsupported COW version 2"));
    for bad in [0u32, 3, 4096, u32::MAX] {
        let mut img = good.build();
        img[12..16].copy_from_slice(&bad.to_le_bytes());
        assert!(err(&img).contains("offset 12"), "chunk size {bad}");
    }
    assert!(err(&good.build()[..10]).contains("too short"));
    assert!(err(&[]).contains("too short"));
}

#[test]
fn a_truncated_store_is_refused_naming_the_area() {
    let img = CowBuilder::new(8).exceptions(0..600).build();
    // Cut inside the third area (chunk 1 + 2 * 257 = 515).
    let cut = &img[..515 * 4096 + 100];
    let e = err(cut);
    assert!(
        e.contains(&format!("offset {}", 515 * 4096)) && e.contains("truncated"),
        "{e}"
    );
    // A header alone, without its first area.
    assert!(err(&img[..4096]).contains("offset 4096"));
}

#[test]
fn records_pointing_outside_the_data_are_refused() {
    let mut img = CowBuilder::new(8).exceptions(0..3).build();
    // Exception 1's new_chunk, at 4096 + 16 + 8, pointing past the end.
    let at = 4096 + 16 + 8;
    img[at..at + 8].copy_from_slice(&u64::MAX.to_le_bytes());
    let e = err(&img);
    assert!(
        e.contains(&format!("offset {}", 4096 + 16)) && e.contains("past the end"),
        "{e}"
    );
    // Pointing at the metadata area itself (chunk 1).
    img[at..at + 8].copy_from_slice(&1u64.to_le_bytes());
    assert!(err(&img).contains("metadata area"));
}

#[test]
fn a_duplicate_exception_is_refused() {
    let e = err(&CowBuilder::new(8).exceptions([5, 9, 5]).build());
    assert!(e.contains("origin chunk 5 has two exceptions"), "{e}");
}

#[test]
fn a_huge_bogus_chunk_size_allocates_nothing() {
    // 2^31 sectors would be a 1 TiB buffer: refused from the header.
    let mut img = CowBuilder::new(8).build();
    img[12..16].copy_from_slice(&(1u32 << 31).to_le_bytes());
    assert!(err(&img).contains("not a power of two between 1 and 2048"));
}

/// A "device": its bytes, chunk by chunk.
struct Devices {
    snap1: Vec<u8>,
    snap2: Vec<u8>,
    changed: Vec<u64>,
}

/// An origin of `size` bytes copied at snap1, then `changed` chunks rewritten (snap2).
fn devices(size: usize, chunk: usize, changed: &[u64]) -> Devices {
    let snap1 = noise(size, 1);
    let mut snap2 = snap1.clone();
    for (n, c) in changed.iter().enumerate() {
        let start = *c as usize * chunk;
        let end = (start + chunk).min(size);
        let fresh = noise(end - start, 100 + n as u64);
        snap2[start..end].copy_from_slice(&fresh);
    }
    Devices {
        snap1,
        snap2,
        changed: changed.to_vec(),
    }
}

/// COW of snap1 → extract from snap2 → merge into a copy of snap1.
fn round_trip(d: &Devices, sectors: u32) -> (Vec<u8>, delta::StreamStats, Vec<u8>) {
    let cow = parse(
        &CowBuilder::new(sectors)
            .exceptions(d.changed.iter().copied())
            .build(),
    )
    .unwrap();
    let chunks = cow.sorted_chunks();
    let header = StreamHeader {
        full: false,
        chunk_size: cow.chunk_bytes as u32,
        device_size: d.snap2.len() as u64,
        count: chunks.len() as u64,
    };
    let mut stream = Vec::new();
    let mut seen = Vec::new();
    let sent = extract(
        &mut Cursor::new(&d.snap2),
        &header,
        chunks.iter().copied(),
        &mut stream,
        &mut |b| seen.push(b),
    )
    .unwrap();
    assert_eq!(sent.stream_bytes, stream.len() as u64);
    assert_eq!(
        header.stream_len(chunks.iter().copied()),
        stream.len() as u64
    );
    assert_eq!(seen.last(), Some(&(stream.len() as u64)));
    let mut target = Cursor::new(d.snap1.clone());
    let mut p = MergeProgress::default();
    let (h, got) = merge(
        &mut Cursor::new(&stream),
        &mut target,
        d.snap1.len() as u64,
        false,
        &mut p,
    )
    .unwrap();
    assert_eq!(h, header);
    assert_eq!(got, sent, "the receiver counts what the sender counted");
    (target.into_inner(), sent, stream)
}

#[test]
fn extract_then_merge_rebuilds_snap2_byte_for_byte() {
    for (sectors, size) in [(8u32, 1 << 20), (16, 3 << 20), (128, 5 << 20)] {
        let chunk = sectors as usize * 512;
        let nchunks = size / chunk;
        let changed: Vec<u64> = [nchunks - 1, 0, 3, nchunks / 2, 7]
            .iter()
            .map(|c| *c as u64)
            .collect();
        let d = devices(size, chunk, &changed);
        assert_ne!(d.snap1, d.snap2);
        let (merged, sent, _) = round_trip(&d, sectors);
        assert!(
            merged == d.snap2,
            "chunk {chunk}: merged target differs from snap2"
        );
        assert_eq!(sent.records, 5);
        assert_eq!(sent.data_bytes, 5 * chunk as u64);
    }
}

#[test]
fn a_partial_last_chunk_travels_at_its_size() {
    let size = 10 * 4096 + 1000;
    let d = devices(size, 4096, &[10, 2]);
    let (merged, sent, _) = round_trip(&d, 8);
    assert!(merged == d.snap2);
    assert_eq!(sent.data_bytes, 4096 + 1000);
}

#[test]
fn the_stream_is_the_chunks_plus_under_one_percent() {
    for (sectors, n) in [(8u32, 64u64), (8, 1000), (16, 64), (16, 200), (128, 64)] {
        let chunk = u64::from(sectors) * 512;
        let size = (n * 2 * chunk) as usize;
        let changed: Vec<u64> = (0..n).map(|i| i * 2 + 1).collect();
        let d = devices(size, chunk as usize, &changed);
        let (merged, sent, _) = round_trip(&d, sectors);
        assert!(merged == d.snap2);
        let data = n * chunk;
        assert_eq!(sent.data_bytes, data);
        assert_eq!(
            sent.stream_bytes,
            data + HEADER_BYTES + TRAILER_BYTES + n * RECORD_HEAD_BYTES,
            "exact framing for {n} chunks of {chunk}"
        );
        assert!(
            sent.stream_bytes * 100 <= data * 101,
            "{n} chunks of {chunk}: {} bytes sent for {data} of data",
            sent.stream_bytes
        );
    }
}

#[test]
fn a_full_copy_round_trips() {
    let src = noise((5 << 20) / 2 + 333, 9);
    let header = StreamHeader::full(src.len() as u64);
    assert_eq!(header.count, 3);
    let mut stream = Vec::new();
    let sent = extract(
        &mut Cursor::new(&src),
        &header,
        0..header.count,
        &mut stream,
        &mut |_| {},
    )
    .unwrap();
    let mut target = Cursor::new(vec![0u8; src.len() + 4096]);
    let mut p = MergeProgress::default();
    let (_, got) = merge(
        &mut Cursor::new(&stream),
        &mut target,
        src.len() as u64 + 4096,
        true,
        &mut p,
    )
    .unwrap();
    assert_eq!(got, sent);
    assert!(target.get_ref()[..src.len()] == src[..]);
    // A full copy may not skip a chunk.
    let mut p = MergeProgress::default();
    let mut stream2 = Vec::new();
    let partial = StreamHeader { count: 2, ..header };
    assert!(extract(
        &mut Cursor::new(&src),
        &partial,
        [0, 2],
        &mut stream2,
        &mut |_| {}
    )
    .is_ok());
    let e = merge(
        &mut Cursor::new(&stream2),
        &mut Cursor::new(vec![0u8; src.len()]),
        src.len() as u64,
        true,
        &mut p,
    )
    .unwrap_err();
    assert!(
        format!("{e:#}").contains("full copy of 3 chunks announces 2"),
        "{e:#}"
    );
}

fn merge_err(stream: &[u8], target_len: usize, full: bool) -> (String, MergeProgress) {
    let mut p = MergeProgress::default();
    let e = merge(
        &mut Cursor::new(stream),
        &mut Cursor::new(vec![0u8; target_len]),
        target_len as u64,
        full,
        &mut p,
    )
    .expect_err("a broken stream must be refused");
    (format!("{e:#}"), p)
}

#[test]
fn a_cut_stream_is_detected_wherever_it_is_cut() {
    let d = devices(64 * 4096, 4096, &[1, 5, 9, 33]);
    let (_, _, stream) = round_trip(&d, 8);
    let len = stream.len();
    for cut in [0, 10, 40, 45, 52 + 100, 52 + 4096 + 12, len - 56, len - 1] {
        let (e, p) = merge_err(&stream[..cut], d.snap1.len(), false);
        assert!(e.contains("a cut transfer"), "cut at {cut}: {e}");
        // A record is written only once its data arrived whole.
        assert_eq!(p.touched, cut >= 52 + 4096, "cut at {cut}");
    }
}

#[test]
fn an_altered_stream_is_refused_by_its_checksum() {
    let d = devices(64 * 4096, 4096, &[1, 5]);
    let (_, _, mut stream) = round_trip(&d, 8);
    stream[HEADER_BYTES as usize + 12 + 100] ^= 1;
    let (e, _) = merge_err(&stream, d.snap1.len(), false);
    assert!(e.contains("checksum does not match"), "{e}");
    let (_, _, mut stream) = round_trip(&d, 8);
    stream.push(0);
    assert!(merge_err(&stream, d.snap1.len(), false)
        .0
        .contains("after the trailer"));
    let (_, _, stream) = round_trip(&d, 8);
    assert!(merge_err(&stream, d.snap1.len(), true)
        .0
        .contains("asked for a full copy"));
    let (e, p) = merge_err(&stream, d.snap1.len() - 1, false);
    assert!(e.contains("extend the target"), "{e}");
    assert!(!p.touched);
}

#[test]
fn bogus_headers_and_records_allocate_nothing() {
    let d = devices(64 * 4096, 4096, &[1, 5]);
    let (_, _, stream) = round_trip(&d, 8);
    let mut s = stream.clone();
    s[32..40].copy_from_slice(&u64::MAX.to_le_bytes());
    assert!(merge_err(&s, d.snap1.len(), false)
        .0
        .contains("records announced"));
    let mut s = stream.clone();
    s[16..20].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(merge_err(&s, d.snap1.len(), false).0.contains("chunk size"));
    let mut s = stream.clone();
    s[24..32].copy_from_slice(&u64::MAX.to_le_bytes());
    assert!(merge_err(&s, d.snap1.len(), false).0.contains("extend"));
    // Record 0 claiming a huge length.
    let mut s = stream.clone();
    s[48..52].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(merge_err(&s, d.snap1.len(), false)
        .0
        .contains("expected 4096"));
    // Record 0 claiming a chunk past the device.
    let mut s = stream.clone();
    s[40..48].copy_from_slice(&1_000_000u64.to_le_bytes());
    assert!(merge_err(&s, d.snap1.len(), false)
        .0
        .contains("past the end"));
    let mut s = stream;
    s[0] = b'X';
    assert!(merge_err(&s, d.snap1.len(), false).0.contains("bad magic"));
}

#[test]
fn extract_refuses_unordered_or_outside_chunks() {
    let src = vec![0u8; 8 * 4096];
    let h = StreamHeader {
        full: false,
        chunk_size: 4096,
        device_size: src.len() as u64,
        count: 2,
    };
    let e = extract(
        &mut Cursor::new(&src),
        &h,
        [3, 3],
        &mut Vec::new(),
        &mut |_| {},
    );
    assert!(format!("{:#}", e.unwrap_err()).contains("strictly ascending"));
    let e = extract(
        &mut Cursor::new(&src),
        &h,
        [3, 8],
        &mut Vec::new(),
        &mut |_| {},
    );
    assert!(format!("{:#}", e.unwrap_err()).contains("past the end"));
}

#[test]
fn dm_names_split_back() {
    assert_eq!(
        split_dm_name("vglocaldeb1-lvbusyboxroot"),
        Some(("vglocaldeb1".into(), "lvbusyboxroot".into()))
    );
    assert_eq!(
        split_dm_name("a--b-c--d-cow"),
        Some(("a-b".into(), "c-d-cow".into()))
    );
    assert_eq!(split_dm_name("nodash"), None);
    assert_eq!(split_dm_name("-lv"), None);
    assert_eq!(
        vg_of_device("/dev/mapper/my--vg-lv").as_deref(),
        Some("my-vg")
    );
    assert_eq!(vg_of_device("/dev/vg0/lv0").as_deref(), Some("vg0"));
    assert_eq!(vg_of_device("/dev/sda"), None);
    let name = lvm::dm_name("x-y", "z-w_osvc_snap1", None);
    assert_eq!(
        split_dm_name(&name),
        Some(("x-y".into(), "z-w_osvc_snap1".into()))
    );
}

mod probe {
    use super::super::marker::{write_marker, CutMarker};
    use super::super::SyncDds;
    use crate::action_log::ActionLog;
    use crate::config::ServiceConfig;
    use crate::drivers::sync_state::{write_state, SyncState};
    use crate::drivers::{Ctx, Resource};
    use crate::paths::NodeEnv;
    use crate::status::Status;
    use crate::transport::NodeMap;

    const CFG: &str = "[DEFAULT]\nnodes = n1\ndrpnodes = n2\n\n[sync#1]\ntype = dds\n\
                       src = /dev/mapper/vglocaldeb1-lvroot\ndst = /dev/mapper/vglocaldeb2-lvroot\n\
                       target = drpnodes\n";

    fn probe_on(root: &std::path::Path, node: &str) -> crate::drivers::Probe {
        let cfg = ServiceConfig::parse(
            "svc",
            std::path::Path::new("svc.env"),
            CFG,
            crate::drivers::catalogue(),
        )
        .unwrap()
        .config;
        let env = NodeEnv::new(root, node);
        let log = ActionLog::silent("svc");
        let peers = NodeMap::default();
        let ctx = Ctx {
            env: &env,
            cfg: &cfg,
            svc: "svc",
            log: &log,
            force: false,
            peers: &peers,
        };
        let d = SyncDds::new("sync#1");
        assert_eq!(
            d.label(&ctx),
            "dds of /dev/mapper/vglocaldeb1-lvroot to ['drpnodes']"
        );
        d.probe(&ctx)
    }

    #[test]
    fn the_probe_follows_the_seed() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        // Inactive group (a stopped service): the state file decides, as the seed.
        let p = probe_on(root, "n1");
        assert_eq!(p.status, Status::Warn);
        assert_eq!(p.comments, vec!["dds state file not found".to_string()]);
        // Active group without the volume: down.
        std::fs::create_dir_all(root.join("dev/vglocaldeb1")).unwrap();
        let p = probe_on(root, "n1");
        assert_eq!(p.status, Status::Down);
        assert!(p.comments[0].contains("/dev/mapper/vglocaldeb1-lvroot not found on n1"));
        std::fs::create_dir_all(root.join("dev/mapper")).unwrap();
        std::fs::write(root.join("dev/mapper/vglocaldeb1-lvroot"), b"").unwrap();
        assert_eq!(probe_on(root, "n1").status, Status::Warn);
        let env = NodeEnv::new(root, "n1");
        write_state(&env, "svc", "sync#1", &SyncState::now()).unwrap();
        assert_eq!(probe_on(root, "n1"), crate::drivers::Probe::up());
        // The target looks at dst.
        std::fs::create_dir_all(root.join("dev/vglocaldeb2")).unwrap();
        assert_eq!(probe_on(root, "n2").status, Status::Down);
        std::fs::write(root.join("dev/mapper/vglocaldeb2-lvroot"), b"").unwrap();
        assert_eq!(probe_on(root, "n2").status, Status::Up);
        // A cut merge is flagged.
        let m = CutMarker {
            from: "n1".into(),
            id: "u2".into(),
            full: false,
            started: "2026-01-01T00:00:00Z".into(),
        };
        write_marker(&NodeEnv::new(root, "n2"), "svc", "sync#1", &m).unwrap();
        let p = probe_on(root, "n2");
        assert_eq!(p.status, Status::Warn);
        assert!(
            p.comments[0].starts_with("replica inconsistent: a delta merge from n1")
                && p.comments[0].ends_with("run syncfullsync"),
            "{:?}",
            p.comments
        );
    }
}

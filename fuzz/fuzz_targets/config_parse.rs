//! Fuzzes the service config reader: any UTF-8 text must be accepted or refused with
//! diagnostics, and an accepted config must answer per-node lookups, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

include!("../exercise.rs");

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        exercise(text);
    }
});

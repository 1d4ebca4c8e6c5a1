//! Fuzzes the dm-snapshot COW reader and the dds stream merge: any bytes must be read or
//! refused with an error, never a panic, an out-of-bounds write or a huge allocation.
#![no_main]

use libfuzzer_sys::fuzz_target;

include!("../cow_exercise.rs");

fuzz_target!(|data: &[u8]| {
    exercise_cow(data);
});

//! Runs every file of the fuzz seed corpus (fuzz/corpus/config_parse/) through the fuzz
//! target's body, so the corpus is exercised by the ordinary `cargo test` without nightly.

use std::path::Path;

include!("../fuzz/exercise.rs");

#[test]
fn every_corpus_file_is_handled_without_panic() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/config_parse");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("read corpus dir")
        .map(|e| e.expect("corpus entry").path())
        .collect();
    files.sort();
    for path in &files {
        let bytes = std::fs::read(path).expect("read corpus file");
        let text = String::from_utf8_lossy(&bytes);
        let caught = std::panic::catch_unwind(|| exercise(&text));
        assert!(
            caught.is_ok(),
            "{} made the config reader panic",
            path.display()
        );
    }
    assert!(files.len() >= 15, "corpus too small: {}", files.len());
}

// Shared by the fuzz target (fuzz/fuzz_targets/config_parse.rs) and the ordinary test
// tests/config_fuzz_corpus.rs, which both `include!` it so the corpus runs in `cargo test`.

/// Parses `text` as a service config and, when it is accepted, drives the per-node lookups.
/// Panics (a fuzz finding) only when an invariant of the reader is broken.
pub fn exercise(text: &str) {
    use drpilot::config::ServiceConfig;
    use drpilot::drivers::catalogue;
    use std::path::Path;

    let loaded = match ServiceConfig::parse("fuzz", Path::new("fuzz.env"), text, catalogue()) {
        Ok(loaded) => loaded,
        Err(e) => {
            assert!(
                e.diagnostics.first().is_some_and(|d| d.is_error()),
                "a refusal must start with an error"
            );
            let _ = e.to_string();
            return;
        }
    };
    assert!(loaded.warnings.iter().all(|w| !w.is_error()));
    let config = &loaded.config;
    let mut nodes = config.all_nodes();
    nodes.truncate(3);
    nodes.push("stranger".to_string());
    for node in &nodes {
        let _ = config.role(node);
        for section in config.raw.sections.iter() {
            for entry in &section.entries {
                if let Some(r) = config.get(&section.name, &entry.key, node) {
                    assert!(r.section == section.name || r.section == "DEFAULT");
                }
                let words = config.get_list(&section.name, &entry.key, node);
                let _ = config.list_includes(&words, node);
            }
            let _ = config.section_type(&section.name, node);
        }
        let printed = config.print_config(node, catalogue());
        assert_eq!(
            printed.matches("\n[").count() + 1,
            config.raw.sections.len().max(1)
        );
    }
    let _ = config.resource_sections().count();
}

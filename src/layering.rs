//! The module layers, checked: a module may use its own layer and those below, never one above,
//! so each layer can be read, tested and changed without the ones built on it. The check reads
//! the sources for `crate::MODULE` paths outside test code.

use std::path::{Path, PathBuf};

/// Top-level modules by layer, lowest first.
const LAYERS: &[&[&str]] = &[
    // The status model is itself a value that crosses processes (print status, the watch
    // stream): it sits with the protocol, which carries it.
    &["protocol", "status", "text", "paths", "lock", "color"],
    &["config", "action_log"],
    &["transport", "procfs"],
    &["drivers"],
    &["agent"],
    &["runbook"],
    &["console"],
    &["cli", "lab"],
    &["lib", "main", "layering"],
];

/// Imports from above that are known and not yet moved: (file or folder, import, why).
const ALLOWED: &[(&str, &str, &str)] = &[];

fn layer(module: &str) -> Option<usize> {
    LAYERS.iter().position(|l| l.contains(&module))
}

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            sources(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The lines of `text` outside test code: an inline `#[cfg(test)] mod` ends the file's code
/// (test modules come last); a `tests.rs` file is all test code.
fn code_lines(path: &Path, text: &str) -> Vec<(usize, String)> {
    if path.file_name().is_some_and(|n| n == "tests.rs") {
        return Vec::new();
    }
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let t = line.trim();
        if t == "#[cfg(test)]" {
            let next = lines.get(i + 1).map_or("", |l| l.trim());
            if next.starts_with("mod ") && next.ends_with('{') {
                break;
            }
        }
        if !t.starts_with("//") {
            out.push((i + 1, t.to_string()));
        }
    }
    out
}

/// Every `crate::MODULE` a line names.
fn crate_paths(line: &str) -> Vec<&str> {
    line.match_indices("crate::")
        .filter(|(i, _)| {
            // Not `drpilot_crate::` and the like.
            !line[..*i]
                .chars()
                .next_back()
                .is_some_and(|c| c.is_alphanumeric() || c == '_')
        })
        .map(|(i, _)| {
            let rest = &line[i + "crate::".len()..];
            let end = rest
                .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            &rest[..end]
        })
        .collect()
}

#[test]
fn no_module_imports_from_a_layer_above_it() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    sources(&root.join("src"), &mut files);
    files.sort();
    assert!(
        files.len() > 50,
        "the sources were not found under {root:?}"
    );
    let mut offending = Vec::new();
    let mut used = vec![false; ALLOWED.len()];
    for path in &files {
        let rel = path
            .strip_prefix(root)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let top = rel
            .trim_start_matches("src/")
            .split('/')
            .next()
            .unwrap()
            .trim_end_matches(".rs");
        let own = layer(top).unwrap_or_else(|| panic!("{rel}: module {top} has no layer"));
        let text = std::fs::read_to_string(path).unwrap();
        for (n, line) in code_lines(path, &text) {
            for target in crate_paths(&line) {
                let Some(theirs) = layer(target) else {
                    continue;
                };
                if theirs <= own {
                    continue;
                }
                let allowed = ALLOWED
                    .iter()
                    .position(|(at, import, _)| rel.starts_with(at) && line.contains(import));
                match allowed {
                    Some(k) => used[k] = true,
                    None => offending.push(format!("{rel}:{n}: {top} uses {target}: {line}")),
                }
            }
        }
    }
    assert!(
        offending.is_empty(),
        "imports from a layer above:\n{}",
        offending.join("\n")
    );
    let stale: Vec<_> = ALLOWED
        .iter()
        .zip(&used)
        .filter(|(_, u)| !**u)
        .map(|((at, import, _), _)| format!("{at}: {import}"))
        .collect();
    assert!(
        stale.is_empty(),
        "allowed exceptions no longer needed (remove them from ALLOWED):\n{}",
        stale.join("\n")
    );
}

#[test]
fn the_check_sees_an_upward_import_and_ignores_tests_and_comments() {
    let code = "use crate::agent::log::ActionLog;\n// crate::cli::x\nfn f() {}\n\
                #[cfg(test)]\nmod tests {\n    use crate::console::App;\n}\n";
    let lines = code_lines(Path::new("src/drivers/x.rs"), code);
    let found: Vec<_> = lines.iter().flat_map(|(_, l)| crate_paths(l)).collect();
    assert_eq!(found, ["agent"]);
    assert_eq!(
        crate_paths("a::b(crate::config::x, my_crate::y)"),
        ["config"]
    );
    assert!(code_lines(Path::new("src/config/tests.rs"), code).is_empty());
}

//! A strict, line-based INI reader for the seed's `.env` files.
//!
//! We do not use rust-ini: it has no line numbers, silently glues a bare line onto the next key,
//! drops indented continuation lines and treats ':' as a separator. Here each of those is an
//! error naming file and line, and reading goes on so that every error is reported at once.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::diagnostic::Diagnostic;

/// One `key[@scope] = value` line, kept with its line number for diagnostics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawEntry {
    /// Base keyword, lowercased (keywords are case-insensitive).
    pub key: String,
    /// The text after '@', as written (node names match exactly).
    pub scope: Option<String>,
    /// The value, trimmed, verbatim otherwise (no escapes, no inline comments).
    pub value: String,
    /// 1-based line number.
    pub line: usize,
}

impl RawEntry {
    /// The key as diagnostics show it: `base@scope` or `base`.
    pub fn written_key(&self) -> String {
        match &self.scope {
            Some(scope) => format!("{}@{}", self.key, scope),
            None => self.key.clone(),
        }
    }
}

/// One `[name]` section with its entries in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawSection {
    /// `DEFAULT` or a rid such as `fs#1`, as written.
    pub name: String,
    /// Line of the `[name]` header.
    pub line: usize,
    /// Entries in file order.
    pub entries: Vec<RawEntry>,
}

/// A whole file as read, before any meaning is given to sections or keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawConfig {
    /// The file the text came from, used in diagnostics.
    pub path: PathBuf,
    /// `DEFAULT` first if present, then the other sections in file order.
    pub sections: Vec<RawSection>,
    /// Section name to its position in `sections`: lookups stay constant-time, so a config of
    /// many sections is read in linear time.
    index: HashMap<String, usize>,
}

impl RawConfig {
    /// Finds a section by exact name.
    pub fn section(&self, name: &str) -> Option<&RawSection> {
        let indexed = self
            .index
            .get(name)
            .and_then(|&i| self.sections.get(i))
            .filter(|s| s.name == name);
        // `sections` is public: should it ever change behind the index, search it.
        indexed.or_else(|| self.sections.iter().find(|s| s.name == name))
    }
}

/// The name of the section every other section falls back to.
pub const DEFAULT_SECTION: &str = "DEFAULT";

/// Reads `text` line by line; returns what could be read plus every syntax error found.
pub(crate) fn parse(path: &Path, text: &str) -> (RawConfig, Vec<Diagnostic>) {
    let mut reader = Reader {
        path,
        sections: Vec::new(),
        duplicate: Vec::new(),
        first_of: HashMap::new(),
        keys: HashMap::new(),
        current: None,
        lost: false,
        diags: Vec::new(),
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    for (i, line) in text.split('\n').enumerate() {
        reader.line(i + 1, line.strip_suffix('\r').unwrap_or(line));
    }
    let Reader {
        sections,
        duplicate,
        diags,
        ..
    } = reader;
    let mut kept: Vec<RawSection> = sections
        .into_iter()
        .zip(duplicate)
        .filter_map(|(s, dup)| (!dup).then_some(s))
        .collect();
    if let Some(pos) = kept.iter().position(|s| s.name == DEFAULT_SECTION) {
        let default = kept.remove(pos);
        kept.insert(0, default);
    }
    let index = kept
        .iter()
        .enumerate()
        .map(|(i, s)| (s.name.clone(), i))
        .collect();
    let config = RawConfig {
        path: path.to_path_buf(),
        sections: kept,
        index,
    };
    (config, diags)
}

struct Reader<'p> {
    path: &'p Path,
    sections: Vec<RawSection>,
    /// Parallel to `sections`: true for a repeated section, read for diagnostics then dropped.
    duplicate: Vec<bool>,
    /// Section name to the index of its first occurrence (duplicate headers are told by it).
    first_of: HashMap<String, usize>,
    /// `(key, scope)` of the current section to its line (duplicate keys are told by it).
    keys: HashMap<(String, Option<String>), usize>,
    current: Option<usize>,
    /// After a malformed header: following keys are checked but have no section to go to.
    lost: bool,
    diags: Vec<Diagnostic>,
}

impl Reader<'_> {
    fn error(&mut self, line: usize, message: impl Into<String>) -> &mut Diagnostic {
        let mut d = Diagnostic::error(self.path, line, message);
        if let Some(i) = self.current {
            d = d.in_section(self.sections[i].name.clone());
        }
        self.diags.push(d);
        let last = self.diags.len() - 1;
        &mut self.diags[last]
    }

    fn line(&mut self, n: usize, line: &str) {
        if line.contains('\0') {
            // A text file holds none; the line is still read, so its other errors show too.
            self.diags.push(Diagnostic::error(
                self.path,
                n,
                "NUL byte in the line: a config is a text file",
            ));
        }
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
            return;
        }
        if line.starts_with(char::is_whitespace) {
            self.error(
                n,
                "indented continuation lines are not supported: put the value on one line",
            );
            return;
        }
        if trimmed.starts_with('[') {
            self.header(n, trimmed);
            return;
        }
        let Some((key, value)) = trimmed.split_once('=') else {
            if trimmed.contains(':') {
                self.error(n, "':' is not a separator, use '='");
            } else {
                self.error(
                    n,
                    "line has no '=': every line is `key = value`, a [section] or a # comment",
                );
            }
            return;
        };
        self.entry(n, key.trim(), value.trim());
    }

    fn header(&mut self, n: usize, trimmed: &str) {
        self.current = None;
        self.lost = false;
        self.keys.clear();
        let problem = match trimmed.find(']') {
            None => Some("missing ']'"),
            Some(close) => {
                let name = &trimmed[1..close];
                if !trimmed[close + 1..].trim().is_empty() {
                    Some("text after ']'")
                } else if name.trim().is_empty() {
                    Some("empty name")
                } else if name.contains('[') {
                    Some("'[' inside the name")
                } else if name.contains(char::is_whitespace) {
                    Some("spaces in the name")
                } else {
                    None
                }
            }
        };
        if let Some(problem) = problem {
            let shown = excerpt(trimmed);
            self.error(n, format!("malformed section header {shown}: {problem}"));
            // Keys up to the next header belong to the broken section: check them, keep none.
            self.lost = true;
            return;
        }
        let name = trimmed.trim_start_matches('[').trim_end_matches(']');
        let first = self.first_of.get(name).copied();
        if let Some(first) = first {
            let first_line = self.sections[first].line;
            let message = if name == DEFAULT_SECTION {
                format!("duplicate section [DEFAULT] (first at line {first_line})")
            } else {
                format!("duplicate rid {name} (first at line {first_line})")
            };
            self.error(n, message).section = Some(name.to_string());
        }
        self.sections.push(RawSection {
            name: name.to_string(),
            line: n,
            entries: Vec::new(),
        });
        self.duplicate.push(first.is_some());
        let idx = self.sections.len() - 1;
        self.first_of.entry(name.to_string()).or_insert(idx);
        self.current = Some(idx);
    }

    fn entry(&mut self, n: usize, written: &str, value: &str) {
        let Some(idx) = self.current else {
            if self.lost {
                if let Some(message) = key_problem(written) {
                    self.error(n, message).key = (!written.is_empty()).then(|| excerpt(written));
                }
                return;
            }
            self.error(
                n,
                "key before any section header: put it under [DEFAULT] or a [rid]",
            )
            .key = Some(excerpt(written));
            return;
        };
        if let Some(message) = key_problem(written) {
            self.error(n, message).key = (!written.is_empty()).then(|| excerpt(written));
            return;
        }
        let (base, scope) = match written.split_once('@') {
            Some((base, scope)) => (base.to_ascii_lowercase(), Some(scope.to_string())),
            None => (written.to_ascii_lowercase(), None),
        };
        if let Some(&first_line) = self.keys.get(&(base.clone(), scope.clone())) {
            self.error(n, format!("duplicate key (first at line {first_line})"))
                .key = Some(excerpt(written));
            return;
        }
        self.keys.insert((base.clone(), scope.clone()), n);
        self.sections[idx].entries.push(RawEntry {
            key: base,
            scope,
            value: value.to_string(),
            line: n,
        });
    }
}

/// Echoes file text in a message, cut to a readable length.
fn excerpt(text: &str) -> String {
    const MAX: usize = 48;
    match text.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text.to_string(),
    }
}

/// Checks `base[@scope]` syntax; returns the message for the first problem.
fn key_problem(written: &str) -> Option<String> {
    if written.is_empty() {
        return Some("empty key before '='".to_string());
    }
    if written.contains(':') {
        return Some("':' is not a separator, use '='".to_string());
    }
    let (base, scope) = match written.split_once('@') {
        Some((base, scope)) => (base, Some(scope)),
        None => (written, None),
    };
    if base.is_empty() || !base.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Some(format!(
            "invalid key '{}': keywords use letters, digits and '_'",
            excerpt(base)
        ));
    }
    match scope {
        Some("") => Some("empty scope after '@'".to_string()),
        Some(scope)
            if !scope
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')) =>
        {
            Some(format!(
                "invalid scope '{}': scopes are node names or nodes, drpnodes, encapnodes",
                excerpt(scope)
            ))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> (RawConfig, Vec<String>) {
        let (cfg, diags) = parse(Path::new("t.env"), text);
        (cfg, diags.iter().map(|d| d.to_string()).collect())
    }

    #[test]
    fn reads_sections_keys_and_scopes() {
        let (cfg, diags) = read("# c\n[ip#1]\nIPNAME@deb1 = a = b\n; c\n\n[DEFAULT]\nnodes = n1\n");
        assert!(diags.is_empty(), "{diags:?}");
        assert_eq!(cfg.sections[0].name, "DEFAULT");
        let ip = &cfg.sections[1];
        assert_eq!((ip.name.as_str(), ip.line), ("ip#1", 2));
        let e = &ip.entries[0];
        assert_eq!(e.key, "ipname");
        assert_eq!(e.scope.as_deref(), Some("deb1"));
        assert_eq!(e.value, "a = b");
        assert_eq!(e.line, 3);
    }

    #[test]
    fn handles_bom_and_crlf() {
        let (cfg, diags) = read("\u{feff}[DEFAULT]\r\nnodes = n1\r\n");
        assert!(diags.is_empty(), "{diags:?}");
        assert_eq!(cfg.sections[0].entries[0].value, "n1");
    }

    #[test]
    fn reports_every_syntax_error_with_its_line() {
        let (_, diags) = read(concat!(
            "k = v\n",          // 1 before any section
            "[DEFAULT\n",       // 2
            "[DEFAULT]\n",      // 3
            "bare words\n",     // 4
            "  indented = x\n", // 5
            "key: value\n",     // 6
            "a:b = c\n",        // 7
            "bad-key = x\n",    // 8
            "k@ = x\n",         // 9
            "k@a/b = x\n",      // 10
            "k = 1\n",          // 11
            "K = 2\n",          // 12
            "[DEFAULT]\n",      // 13
            "[ip #1]\n",        // 14
            "[]\n",             // 15
            "[x] y\n",          // 16
        ));
        let lines: Vec<&str> = diags
            .iter()
            .map(|d| d.split(": ").next().unwrap_or(""))
            .collect();
        assert_eq!(
            lines,
            [
                "t.env:1", "t.env:2", "t.env:4", "t.env:5", "t.env:6", "t.env:7", "t.env:8",
                "t.env:9", "t.env:10", "t.env:12", "t.env:13", "t.env:14", "t.env:15", "t.env:16"
            ]
        );
        assert!(diags[2].contains("every line is `key = value`"));
        assert!(diags[3].contains("indented continuation"));
        assert!(diags[4].contains("':' is not a separator"));
        assert!(diags[5].contains("':' is not a separator"));
        assert!(diags[9].contains("[DEFAULT] K: duplicate key (first at line 11)"));
        assert!(diags[10].contains("duplicate section [DEFAULT]"));
    }

    #[test]
    fn nul_bytes_are_errors_on_their_line() {
        let (cfg, diags) = read("[DEFAULT]\n# x\0\nnodes = n\0\n");
        assert_eq!(
            diags,
            [
                "t.env:2: NUL byte in the line: a config is a text file",
                "t.env:3: NUL byte in the line: a config is a text file"
            ]
        );
        assert_eq!(cfg.sections[0].entries.len(), 1);
    }

    #[test]
    fn indented_comments_are_fine() {
        let (_, diags) = read("[DEFAULT]\n   # note\n\t; note\n");
        assert!(diags.is_empty(), "{diags:?}");
    }
}

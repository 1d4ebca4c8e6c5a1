//! Diagnostics: every config problem names its file, line, section and key, so an operator can
//! fix it without guessing.

use std::fmt;
use std::path::{Path, PathBuf};

/// How bad a diagnostic is: errors refuse the config, warnings are reported and tolerated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// The config is refused.
    Error,
    /// The config is usable, but probably not what the author meant.
    Warning,
}

/// One problem found in a service config, located precisely enough to be fixed from the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// The config file, as it was given to the loader.
    pub file: PathBuf,
    /// 1-based line number; 0 when the problem concerns the whole file.
    pub line: usize,
    /// The section (`DEFAULT` or a rid) the problem is in, if any.
    pub section: Option<String>,
    /// The key the problem is about, as written (with its `@scope`), if any.
    pub key: Option<String>,
    /// What is wrong, and when possible how to fix it.
    pub message: String,
}

impl Diagnostic {
    /// Builds an error at `file:line` with no section or key; chain `in_section`/`for_key`.
    pub fn error(file: &Path, line: usize, message: impl Into<String>) -> Self {
        Self::new(Severity::Error, file, line, message)
    }

    /// Builds a warning at `file:line` with no section or key; chain `in_section`/`for_key`.
    pub fn warning(file: &Path, line: usize, message: impl Into<String>) -> Self {
        Self::new(Severity::Warning, file, line, message)
    }

    fn new(severity: Severity, file: &Path, line: usize, message: impl Into<String>) -> Self {
        Self {
            severity,
            file: file.to_path_buf(),
            line,
            section: None,
            key: None,
            message: message.into(),
        }
    }

    /// Attaches the section the problem is in.
    #[must_use]
    pub fn in_section(mut self, section: impl Into<String>) -> Self {
        self.section = Some(section.into());
        self
    }

    /// Attaches the key the problem is about.
    #[must_use]
    pub fn for_key(mut self, key: impl Into<String>) -> Self {
        self.key = Some(key.into());
        self
    }

    /// True for errors: callers decide the exit code with it.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    /// One line; sections, keys and messages quote the file's text, so control characters in
    /// it are stripped (a diagnostic never drives the operator's terminal).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut text = format!("{}:{}: ", self.file.display(), self.line);
        if let Some(section) = &self.section {
            text.push_str(&format!("[{section}] "));
        }
        if let Some(key) = &self.key {
            text.push_str(&format!("{key}: "));
        }
        text.push_str(&self.message);
        f.write_str(&crate::text::clean_line(&text))
    }
}

/// A refused config: every error found (not only the first), then the warnings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// Errors first, then warnings, each group in line order.
    pub diagnostics: Vec<Diagnostic>,
}

impl ConfigError {
    /// Builds the error from diagnostics in any order, sorting errors before warnings.
    pub fn new(mut diagnostics: Vec<Diagnostic>) -> Self {
        sort_diagnostics(&mut diagnostics);
        Self { diagnostics }
    }
}

/// Orders diagnostics errors first, then by line; stable so equal lines keep discovery order.
pub(crate) fn sort_diagnostics(diagnostics: &mut [Diagnostic]) {
    diagnostics.sort_by_key(|d| (d.severity, d.line));
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.diagnostics.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            let prefix = if d.is_error() { "error" } else { "warning" };
            write!(f, "{prefix}: {d}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_omits_missing_parts() {
        let d = Diagnostic::error(Path::new("a.env"), 3, "boom");
        assert_eq!(d.to_string(), "a.env:3: boom");
        let d = d.in_section("ip#1").for_key("ipname@deb1");
        assert_eq!(d.to_string(), "a.env:3: [ip#1] ipname@deb1: boom");
        let d = Diagnostic::warning(Path::new("a.env"), 4, "hm").for_key("k");
        assert_eq!(d.to_string(), "a.env:4: k: hm");
    }

    #[test]
    fn display_strips_control_characters_from_the_file_text() {
        let d = Diagnostic::error(Path::new("a\x1b[2J.env"), 3, "unknown type 'x\x1b]0;T\x07'")
            .in_section("fs#1\x07")
            .for_key("ty\tpe");
        assert_eq!(d.to_string(), "a.env:3: [fs#1] ty pe: unknown type 'x'");
    }

    #[test]
    fn config_error_lists_errors_before_warnings() {
        let e = ConfigError::new(vec![
            Diagnostic::warning(Path::new("a"), 1, "w"),
            Diagnostic::error(Path::new("a"), 9, "e9"),
            Diagnostic::error(Path::new("a"), 2, "e2"),
        ]);
        assert_eq!(
            e.to_string(),
            "error: a:2: e2\nerror: a:9: e9\nwarning: a:1: w"
        );
    }
}

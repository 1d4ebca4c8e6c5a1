//! Values of a declared form, checked before the day they are used: whole seconds within
//! bounds (`arp_probe_window`: keywords marked `seconds_max`), and values split into words like
//! a shell command line (`start`, `stop`, `check`, `drp_app_check`, `run_args`, ...: the
//! keywords marked `shell_split`), whose quotes must close: an unclosed quote would otherwise
//! surface as a failed stop on the day of a switch.

use super::diagnostic::Diagnostic;
use super::ini::DEFAULT_SECTION;
use super::keywords::Catalogue;
use super::service::ServiceConfig;

/// Reports every shell-split value of the config whose quotes do not close.
pub(crate) fn check(cfg: &ServiceConfig, cat: &Catalogue, out: &mut Vec<Diagnostic>) {
    for section in &cfg.raw.sections {
        let kind = if section.name == DEFAULT_SECTION {
            DEFAULT_SECTION
        } else {
            section.name.split('#').next().unwrap_or_default()
        };
        for entry in &section.entries {
            let spec = cat.find(kind, &entry.key);
            if let Some(max) = spec.and_then(|s| s.seconds_max) {
                if !entry.value.trim().parse::<u64>().is_ok_and(|n| n <= max) {
                    out.push(
                        Diagnostic::error(
                            &cfg.raw.path,
                            entry.line,
                            format!(
                                "'{}' is not a number of seconds from 0 to {max}",
                                entry.value
                            ),
                        )
                        .in_section(section.name.clone())
                        .for_key(entry.written_key()),
                    );
                }
            }
            let split = spec.is_some_and(|s| s.shell_split);
            if let (true, Err(e)) = (split, shell_words::split(&entry.value)) {
                out.push(
                    Diagnostic::error(
                        &cfg.raw.path,
                        entry.line,
                        format!(
                            "{e}: the value is split into words like a shell command line, \
                             so every ' and \" must be closed"
                        ),
                    )
                    .in_section(section.name.clone())
                    .for_key(entry.written_key()),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::config::ServiceConfig;

    fn errors(text: &str) -> Vec<String> {
        match ServiceConfig::parse("svc", Path::new("s.env"), text, crate::drivers::catalogue()) {
            Ok(_) => Vec::new(),
            Err(e) => e.diagnostics.iter().map(ToString::to_string).collect(),
        }
    }

    #[test]
    fn unclosed_quotes_in_command_values_are_errors() {
        let text =
            "[DEFAULT]\nnodes = n1\n[app#1]\nstart@n1 = sh -c \"echo\ncheck = sh -c 'a\"b'\n";
        assert_eq!(
            errors(text),
            [
                "s.env:4: [app#1] start@n1: missing closing quote: the value is split into \
              words like a shell command line, so every ' and \" must be closed"
            ]
        );
        // Other keywords keep their quotes verbatim.
        assert!(errors("[DEFAULT]\nnodes = n1\ncomment = it's\n").is_empty());
    }
}

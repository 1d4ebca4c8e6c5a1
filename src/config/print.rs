//! `print config --node N`: the config as one node sees it, every value resolved and annotated
//! with the scope that won, so an operator can check the DRP node's view before a switch.

use std::fmt::Write as _;

use super::ini::{RawSection, DEFAULT_SECTION};
use super::keywords::Catalogue;
use super::scope::Scope;
use super::service::ServiceConfig;

/// Comments start at least this far right of the keys, at most at `MAX_COLUMN`.
const GAP: usize = 4;
const MAX_COLUMN: usize = 64;

struct Line {
    text: String,
    comment: Option<String>,
}

impl ServiceConfig {
    /// Renders every section with its keywords resolved for `node` (see the module doc); `cat`
    /// says which DEFAULT keywords each kind reads.
    pub fn print_config(&self, node: &str, cat: &Catalogue) -> String {
        let mut out = String::new();
        for (i, section) in self.raw.sections.iter().enumerate() {
            if i > 0 {
                out.push('\n');
            }
            let _ = writeln!(out, "[{}]", section.name);
            render(&mut out, &self.section_lines(section, node, cat));
        }
        out
    }

    fn section_lines(&self, section: &RawSection, node: &str, cat: &Catalogue) -> Vec<Line> {
        let mut keys: Vec<&str> = Vec::new();
        for e in &section.entries {
            if !keys.contains(&e.key.as_str()) {
                keys.push(&e.key);
            }
        }
        let mut lines: Vec<Line> = keys
            .iter()
            .map(|key| match self.get(&section.name, key, node) {
                Some(r) => Line {
                    text: format!("{key} = {}", r.value).trim_end().to_string(),
                    comment: if r.section == section.name {
                        (r.scope != Scope::Plain).then(|| r.scope.to_string())
                    } else {
                        Some(from_default(&r.scope))
                    },
                },
                None => Line {
                    text: (*key).to_string(),
                    comment: Some(format!("no value for {node}")),
                },
            })
            .collect();
        if section.name != DEFAULT_SECTION {
            let kind = section.name.split('#').next().unwrap_or_default();
            for key in cat.default_keywords_read_by(kind) {
                if keys.contains(key) {
                    continue;
                }
                if let Some(r) = self.get(&section.name, key, node) {
                    lines.push(Line {
                        text: format!("{key} = {}", r.value).trim_end().to_string(),
                        comment: Some(from_default(&r.scope)),
                    });
                }
            }
        }
        lines
    }
}

fn from_default(scope: &Scope) -> String {
    match scope {
        Scope::Plain => format!("from [{DEFAULT_SECTION}]"),
        other => format!("from [{DEFAULT_SECTION}] {other}"),
    }
}

fn render(out: &mut String, lines: &[Line]) {
    let widest = lines
        .iter()
        .map(|l| l.text.chars().count())
        .max()
        .unwrap_or(0);
    let column = (widest + GAP).min(MAX_COLUMN);
    for line in lines {
        match &line.comment {
            None => {
                let _ = writeln!(out, "{}", line.text);
            }
            Some(comment) => {
                let width = line.text.chars().count();
                let pad = column.saturating_sub(width).max(GAP);
                let _ = writeln!(out, "{}{:pad$}# {comment}", line.text, "");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    #[test]
    fn pins_the_shape() {
        let text = "\
[DEFAULT]
nodes = deb1
drpnodes = deb2
docker_data_dir = /data
docker_daemon_args@nodes = --ip 1
docker_daemon_args@drpnodes = --ip 2

[container#1]
type = docker
run_image = img

[ip#1]
ipdev = eth0
ipname@deb1 = prod.example
ipname@deb2 = drp.example
";
        let loaded = ServiceConfig::parse(
            "svc",
            Path::new("svc.env"),
            text,
            crate::drivers::catalogue(),
        )
        .expect("valid");
        let expected = "\
[DEFAULT]
nodes = deb1
drpnodes = deb2
docker_data_dir = /data
docker_daemon_args = --ip 2    # @drpnodes

[container#1]
type = docker
run_image = img
docker_data_dir = /data        # from [DEFAULT]
docker_daemon_args = --ip 2    # from [DEFAULT] @drpnodes

[ip#1]
ipdev = eth0
ipname = drp.example    # @deb2
";
        assert_eq!(
            loaded
                .config
                .print_config("deb2", crate::drivers::catalogue()),
            expected
        );
        let stranger = loaded
            .config
            .print_config("deb3", crate::drivers::catalogue());
        assert!(
            stranger.contains("\nipname          # no value for deb3\n"),
            "{stranger}"
        );
        assert!(!stranger.contains("docker_daemon_args = "), "{stranger}");
    }
}

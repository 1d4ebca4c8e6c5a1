//! The `:` line as shells have it: tab completes the command, then its argument (a node of the
//! selected service, a service, a theme), and up/down walk the lines typed before. Pure: the
//! candidates come from the state the caller passes.

use super::commands::COMMANDS;

/// What a completion can draw from the state.
pub struct Candidates<'a> {
    /// The selected service's nodes, production first.
    pub nodes: Vec<&'a str>,
    /// Every service shown.
    pub services: Vec<&'a str>,
    /// The built-in theme names.
    pub themes: Vec<&'a str>,
    /// Leave out the commands that act on a node (read-only consoles).
    pub read_only: bool,
}

/// The line completed as far as the candidates agree, and the candidates when more than one
/// remain (to show the operator); `None` when nothing matches.
pub fn complete(line: &str, c: &Candidates) -> Option<(String, Vec<String>)> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let new_word = line.is_empty() || line.ends_with(' ');
    let (done, partial): (&[&str], &str) = match (words.split_last(), new_word) {
        (Some((last, before)), false) => (before, last),
        _ => (&words[..], ""),
    };
    let pool: Vec<&str> = match done {
        [] => COMMANDS
            .iter()
            .filter(|cmd| !(cmd.acts && c.read_only))
            .flat_map(|cmd| cmd.names.iter().copied())
            .collect(),
        [cmd] => match *cmd {
            "start" | "stop" | "syncupdate" | "syncfullsync" | "syncdrp" => c.nodes.clone(),
            "svc" => c.services.clone(),
            "theme" => c.themes.clone(),
            _ => Vec::new(),
        },
        _ => Vec::new(),
    };
    let found: Vec<&str> = pool
        .into_iter()
        .filter(|w| w.starts_with(partial))
        .collect();
    let first = found.first()?;
    let prefix = done.iter().map(|w| format!("{w} ")).collect::<String>();
    if found.len() == 1 {
        return Some((format!("{prefix}{first} "), Vec::new()));
    }
    let common = found.iter().fold(first.to_string(), |acc, w| {
        acc.chars()
            .zip(w.chars())
            .take_while(|(a, b)| a == b)
            .map(|(a, _)| a)
            .collect()
    });
    Some((
        format!("{prefix}{common}"),
        found.iter().map(|s| s.to_string()).collect(),
    ))
}

/// The lines typed on the `:` line, oldest first, and where up/down has walked to.
#[derive(Debug, Clone, Default)]
pub struct History {
    /// The entered lines (no empty one, no repeat of the previous one).
    pub lines: Vec<String>,
    /// How far back up has walked (0: the line being typed).
    back: usize,
}

/// How many lines the history keeps.
const KEPT: usize = 100;

impl History {
    /// Remembers an entered line and starts the next walk from the newest.
    pub fn push(&mut self, line: &str) {
        let line = line.trim();
        self.back = 0;
        if line.is_empty() || self.lines.last().is_some_and(|l| l == line) {
            return;
        }
        if self.lines.len() == KEPT {
            self.lines.remove(0);
        }
        self.lines.push(line.to_string());
    }

    /// A new `:` line starts its walk from the newest entry.
    pub fn restart(&mut self) {
        self.back = 0;
    }

    /// The previous line (`older`) or the next one; `None` past the newest: an empty line.
    pub fn walk(&mut self, older: bool) -> Option<String> {
        self.back = if older {
            (self.back + 1).min(self.lines.len())
        } else {
            self.back.saturating_sub(1)
        };
        self.back
            .checked_sub(1)
            .and_then(|i| self.lines.len().checked_sub(1 + i))
            .map(|i| self.lines[i].clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cands() -> Candidates<'static> {
        Candidates {
            nodes: vec!["deb1", "deb2"],
            services: vec!["busybox", "billing"],
            themes: vec!["default", "light", "high-contrast"],
            read_only: false,
        }
    }

    #[test]
    fn tab_completes_commands_nodes_services_and_themes() {
        let c = cands();
        assert_eq!(complete("syncu", &c), Some(("syncupdate ".into(), vec![])));
        assert_eq!(complete("start d", &c).unwrap().0, "start deb");
        assert_eq!(complete("start deb2", &c).unwrap().0, "start deb2 ");
        assert_eq!(complete("svc bu", &c).unwrap().0, "svc busybox ");
        assert_eq!(complete("theme hi", &c).unwrap().0, "theme high-contrast ");
        let (line, shown) = complete("sync", &c).unwrap();
        assert_eq!(line, "sync");
        assert_eq!(
            shown,
            vec!["syncupdate", "syncfullsync", "syncdrp", "syncnodes"]
        );
        assert_eq!(complete("nosuch", &c), None);
        let ro = Candidates {
            read_only: true,
            ..cands()
        };
        assert_eq!(complete("sta", &ro), None, "read-only: no acting command");
    }

    #[test]
    fn up_and_down_walk_the_history() {
        let mut h = History::default();
        for l in ["start deb1", "theme light", "theme light", ""] {
            h.push(l);
        }
        assert_eq!(h.lines, vec!["start deb1", "theme light"]);
        assert_eq!(h.walk(true).as_deref(), Some("theme light"));
        assert_eq!(h.walk(true).as_deref(), Some("start deb1"));
        assert_eq!(
            h.walk(true).as_deref(),
            Some("start deb1"),
            "stops at the oldest"
        );
        assert_eq!(h.walk(false).as_deref(), Some("theme light"));
        assert_eq!(h.walk(false), None, "past the newest: an empty line");
    }
}

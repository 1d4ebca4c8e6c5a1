//! The `:` commands as one table: each row carries its names, its arguments, its help text and
//! how its words become an [`Action`]. The parser and the `?` overlay both read this table, so a
//! command cannot exist without its help, nor be listed without working.

use super::action::Action;

/// One `:` command.
pub struct Command {
    /// The names it answers to; the help shows them all.
    pub names: &'static [&'static str],
    /// Its arguments as the help shows them (`[NODE]`, `NAME`), empty when it takes none.
    pub args: &'static str,
    /// What it does, as the help shows it.
    pub help: &'static str,
    /// Whether it changes a node (left out of the help of read-only consoles).
    pub acts: bool,
    /// How its argument words become an action.
    pub action: fn(&[&str]) -> Action,
}

impl Command {
    /// The usage line shown in the help: `start [NODE]`, `q, quit`.
    pub fn usage(&self) -> String {
        let names = self.names.join(", ");
        if self.args.is_empty() {
            names
        } else {
            format!("{names} {}", self.args)
        }
    }
}

fn first(args: &[&str]) -> Option<String> {
    args.first().map(|s| s.to_string())
}

/// Every `:` command, in the order the help lists them.
pub const COMMANDS: &[Command] = &[
    Command {
        names: &["start"],
        args: "[NODE]",
        help: "start the service (default: production node)",
        acts: true,
        action: |a| Action::Ask {
            verb: "start",
            node: first(a),
        },
    },
    Command {
        names: &["stop"],
        args: "[NODE]",
        help: "stop the service (default: where it runs)",
        acts: true,
        action: |a| Action::Ask {
            verb: "stop",
            node: first(a),
        },
    },
    Command {
        names: &["cutaccess"],
        args: "[NODE]",
        help: "cut user access (the drp_cut_access hook) before a stop",
        acts: true,
        action: |a| Action::Ask {
            verb: "cutaccess",
            node: first(a),
        },
    },
    Command {
        names: &["stopapp"],
        args: "[NODE]",
        help: "stop only the application (data stays mounted for a last sync)",
        acts: true,
        action: |a| Action::Ask {
            verb: "stopapp",
            node: first(a),
        },
    },
    Command {
        names: &["syncupdate"],
        args: "[NODE]",
        help: "incremental sync --force",
        acts: true,
        action: |a| Action::Ask {
            verb: "syncupdate",
            node: first(a),
        },
    },
    Command {
        names: &["syncfullsync"],
        args: "[NODE]",
        help: "full sync --force",
        acts: true,
        action: |a| Action::Ask {
            verb: "syncfullsync",
            node: first(a),
        },
    },
    Command {
        names: &["syncdrp"],
        args: "[NODE]",
        help: "config push + sync + postsync to DRP --force",
        acts: true,
        action: |a| Action::Ask {
            verb: "syncdrp",
            node: first(a),
        },
    },
    Command {
        names: &["syncnodes"],
        args: "[NODE]",
        help: "push the configuration to the other nodes",
        acts: true,
        action: |a| Action::Ask {
            verb: "syncnodes",
            node: first(a),
        },
    },
    Command {
        names: &["rehearse"],
        args: "",
        help: "the DRP test runbook of the selected service",
        acts: true,
        action: |_| Action::Runbook("rehearsal"),
    },
    Command {
        names: &["test"],
        args: "[keep]",
        help: "DRP test without downtime (a clone in a bubble)",
        acts: true,
        action: |a| {
            if first(a).as_deref() == Some("keep") {
                Action::Runbook("test-keep")
            } else {
                Action::Runbook("test")
            }
        },
    },
    Command {
        names: &["disaster"],
        args: "",
        help: "the real-disaster runbook (production lost)",
        acts: true,
        action: |_| Action::Runbook("disaster"),
    },
    Command {
        names: &["failback"],
        args: "",
        help: "back from the DRP node to production",
        acts: true,
        action: |_| Action::Runbook("failback"),
    },
    Command {
        names: &["takeover"],
        args: "",
        help: "take over the run a dead seat left (type the name)",
        acts: true,
        action: |_| Action::Takeover,
    },
    Command {
        names: &["svc"],
        args: "NAME",
        help: "select a service by its name",
        acts: false,
        action: |a| match first(a) {
            Some(name) => Action::Select(name),
            None => Action::Notice {
                text: "usage: svc NAME".into(),
                error: true,
            },
        },
    },
    Command {
        names: &["filter"],
        args: "RID",
        help: "show only this resource's log lines",
        acts: false,
        action: |a| Action::Filter(a.join(" ")),
    },
    Command {
        names: &["save"],
        args: "[FILE]",
        help: "save the log (default: ./drpilot-log-DATE.txt)",
        acts: false,
        action: |a| Action::Save(first(a)),
    },
    Command {
        names: &["theme"],
        args: "NAME",
        help: "default light high-contrast monochrome colorblind",
        acts: false,
        action: |a| match first(a) {
            Some(name) => Action::Theme(name),
            None => Action::Notice {
                text: "usage: theme NAME".into(),
                error: true,
            },
        },
    },
    Command {
        names: &["help"],
        args: "",
        help: "this help",
        acts: false,
        action: |_| Action::Help,
    },
    Command {
        names: &["q", "quit"],
        args: "",
        help: "quit",
        acts: false,
        action: |_| Action::Quit,
    },
];

/// The action of a typed command line; `None` for an empty line. An unknown command becomes a
/// notice naming it.
pub fn parse(line: &str) -> Option<Action> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let (&name, args) = words.split_first()?;
    Some(match COMMANDS.iter().find(|c| c.names.contains(&name)) {
        Some(c) => (c.action)(args),
        None => Action::Notice {
            text: format!("unknown command '{name}' (? lists them)"),
            error: true,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn help_and_quit_are_commands_of_the_one_table() {
        assert_eq!(parse("help"), Some(Action::Help));
        assert_eq!(parse("quit"), Some(Action::Quit));
        assert_eq!(parse("q"), Some(Action::Quit));
        for name in ["help", "quit", "q"] {
            assert!(
                COMMANDS.iter().any(|c| c.names.contains(&name)),
                "{name} is not listed"
            );
        }
    }

    #[test]
    fn every_listed_command_parses_to_an_action() {
        for c in COMMANDS {
            for name in c.names {
                let line = match c.args {
                    "" => name.to_string(),
                    _ => format!("{name} x"),
                };
                let action = parse(&line);
                assert!(
                    !matches!(action, None | Some(Action::Notice { .. })),
                    "{line}: {action:?}"
                );
            }
        }
    }

    #[test]
    fn the_parser_keeps_the_arguments_and_names_an_unknown_command() {
        assert_eq!(
            parse("  start   deb2 "),
            Some(Action::Ask {
                verb: "start",
                node: Some("deb2".into())
            })
        );
        assert_eq!(
            parse("filter sync#1"),
            Some(Action::Filter("sync#1".into()))
        );
        assert_eq!(parse(""), None);
        assert_eq!(
            parse("theme"),
            Some(Action::Notice {
                text: "usage: theme NAME".into(),
                error: true
            })
        );
        assert_eq!(
            parse("frobnicate now"),
            Some(Action::Notice {
                text: "unknown command 'frobnicate' (? lists them)".into(),
                error: true
            })
        );
    }
}

//! What a failed preflight found, each problem with the action that fixes it, so the operator
//! (and the console, which offers to run it behind a gate) knows what to do next.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A node verb that fixes a preflight problem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fix {
    /// The verb, as the console's `:` command and the agent name it (`syncnodes`, `start`).
    pub verb: String,
    /// The node to run it on.
    pub node: String,
}

impl fmt::Display for Fix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, ":{} {}", self.verb, self.node)
    }
}

/// One reason the preflight refused the run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    /// What is wrong, in the operator's words.
    pub what: String,
    /// The action that fixes it, when there is one.
    pub fix: Option<Fix>,
}

impl Problem {
    /// A problem with no action that fixes it from here.
    pub fn new(what: String) -> Self {
        Self { what, fix: None }
    }

    /// A problem that `verb` on `node` fixes.
    pub fn fixed_by(what: String, verb: &str, node: &str) -> Self {
        Self {
            what,
            fix: Some(Fix {
                verb: verb.to_string(),
                node: node.to_string(),
            }),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.fix {
            Some(fix) => write!(f, "{}: {fix}", self.what),
            None => f.write_str(&self.what),
        }
    }
}

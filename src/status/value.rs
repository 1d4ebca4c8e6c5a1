//! The one status value type shared by drivers, the agent, the console and the renderers.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// State of a resource, a group or a whole service, as OpenSVC names it.
///
/// The two `StdbyUpWith*` variants are internal merge results: they remember that a standby
/// resource was merged with a normal one, and only ever print as `up` / `stdby up`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    /// Running here.
    Up,
    /// Not running here.
    Down,
    /// Partially running, or something needs attention.
    Warn,
    /// Not relevant on this node (disabled resource, no sync destination, ...).
    NotApplicable,
    /// Not evaluated yet: the identity of [`Status::merge`].
    Undef,
    /// A standby (`always_on`) resource that is up, as it should be.
    StdbyUp,
    /// A standby (`always_on`) resource that is down.
    StdbyDown,
    /// Internal: standby resources up merged with normal resources up; displayed `up`.
    StdbyUpWithUp,
    /// Internal: standby resources up merged with normal resources down; displayed `stdby up`.
    StdbyUpWithDown,
}

impl Status {
    /// Every value, in the design table's order (then `Undef`); handy for exhaustive tests.
    pub const ALL: [Status; 9] = [
        Status::Up,
        Status::Down,
        Status::Warn,
        Status::NotApplicable,
        Status::StdbyUp,
        Status::StdbyDown,
        Status::StdbyUpWithUp,
        Status::StdbyUpWithDown,
        Status::Undef,
    ];

    /// The word printed for this status; the internal values print as what they mean.
    pub fn word(self) -> &'static str {
        match self {
            Status::Up | Status::StdbyUpWithUp => "up",
            Status::Down => "down",
            Status::Warn => "warn",
            Status::NotApplicable => "n/a",
            Status::Undef => "undef",
            Status::StdbyUp | Status::StdbyUpWithDown => "stdby up",
            Status::StdbyDown => "stdby down",
        }
    }

    /// Parses a displayed word back; the internal values have no word of their own.
    pub fn from_word(s: &str) -> Option<Status> {
        match s {
            "up" => Some(Status::Up),
            "down" => Some(Status::Down),
            "warn" => Some(Status::Warn),
            "n/a" => Some(Status::NotApplicable),
            "undef" => Some(Status::Undef),
            "stdby up" => Some(Status::StdbyUp),
            "stdby down" => Some(Status::StdbyDown),
            _ => None,
        }
    }

    /// True when the service actually runs here (`up`, or standby-up merged with up).
    pub fn is_up_like(self) -> bool {
        matches!(self, Status::Up | Status::StdbyUpWithUp)
    }

    /// True when the service runs here at least in part (`up` or `warn`): what the split-brain
    /// guard, `allupservices` and the runbook must treat as running.
    pub fn is_active(self) -> bool {
        self.is_up_like() || self == Status::Warn
    }

    /// Folds the internal values into the ones they display as, so that a value survives a
    /// trip through its word (JSON, peer transport) unchanged.
    pub fn displayed(self) -> Status {
        match self {
            Status::StdbyUpWithUp => Status::Up,
            Status::StdbyUpWithDown => Status::StdbyUp,
            other => other,
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.word())
    }
}

impl Serialize for Status {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.word())
    }
}

impl<'de> Deserialize<'de> for Status {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let word = String::deserialize(deserializer)?;
        Status::from_word(&word)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown status word {word:?}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_round_trip_for_public_values() {
        for s in Status::ALL {
            assert_eq!(Status::from_word(s.word()), Some(s.displayed()));
            assert_eq!(s.to_string(), s.word());
        }
        assert_eq!(Status::from_word("UP"), None);
        assert_eq!(Status::from_word(""), None);
    }

    #[test]
    fn internal_values_display_as_what_they_mean() {
        assert_eq!(Status::StdbyUpWithUp.word(), "up");
        assert_eq!(Status::StdbyUpWithDown.word(), "stdby up");
        assert!(Status::StdbyUpWithUp.is_up_like());
        assert!(Status::Up.is_up_like());
        assert!(!Status::StdbyUp.is_up_like());
        assert!(!Status::StdbyUpWithDown.is_up_like());
    }

    #[test]
    fn serde_uses_the_word() {
        let json = serde_json::to_string(&Status::StdbyDown).unwrap();
        assert_eq!(json, "\"stdby down\"");
        let back: Status = serde_json::from_str(&json).unwrap();
        assert_eq!(back, Status::StdbyDown);
        assert!(serde_json::from_str::<Status>("\"sideways\"").is_err());
    }
}

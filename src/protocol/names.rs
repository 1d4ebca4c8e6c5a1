//! The names a peer sends on a `drpilot peer ...` command line (service, resource id, node,
//! sync id, snapshot uuid and name, config hash, time), each parsed once here into a newtype.
//! They end up in file names and command lines on the receiving node, so a value that could
//! climb out of a directory (`/`, `..`), pass for an option (leading `-`) or hide in a log
//! (control characters) never gets past clap. The config reader uses the same rules.

use std::fmt;
use std::str::FromStr;

/// Resource kinds a rid may start with (`<kind>#<id>`): part of the rid's grammar, which the
/// peer protocol checks too, so the list lives here; the driver registry covers each kind.
pub const RESOURCE_KINDS: &[&str] = &["ip", "fs", "vg", "container", "sync", "app"];

use chrono::{DateTime, SecondsFormat, Utc};

/// The longest name accepted: a file name on every Linux filesystem drpilot writes to.
const MAX_LEN: usize = 255;

/// Why a value was refused: what it was meant to be, the value, and the rule it broke.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidName {
    what: &'static str,
    value: String,
    rule: &'static str,
}

impl fmt::Display for InvalidName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid {} '{}': {}",
            self.what,
            self.value.escape_debug(),
            self.rule
        )
    }
}

impl std::error::Error for InvalidName {}

fn refuse(what: &'static str, value: &str, rule: &'static str) -> InvalidName {
    InvalidName {
        what,
        value: value.to_string(),
        rule,
    }
}

/// Letters, digits and the characters of `extra`; not empty, not too long, and not starting
/// with `-` or `.` (no option, no hidden or relative name such as `..`).
fn is_word(s: &str, extra: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_LEN
        && !s.starts_with(['-', '.'])
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || extra.contains(c))
}

/// Whether `name` is a valid service name: `[A-Za-z0-9._-]+`, not starting with `-` or `.`.
/// Service names become file and directory names on every node.
pub fn is_valid_service_name(name: &str) -> bool {
    is_word(name, "._-")
}

/// Whether `s` is a safe single path component made of letters, digits and `._+-` (plus `#` when
/// `hash` is allowed: resource ids), not starting with `.` or `-`. Btrfs subvolume and snapshot
/// names, sync ids.
pub fn is_plain_name(s: &str, hash: bool) -> bool {
    is_word(s, if hash { "._+-#" } else { "._+-" })
}

/// Whether `id` is a valid resource id suffix (after `#`): letters, digits and `_`.
pub fn is_rid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_LEN
        && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Implements `Display`, `Deref<Target = str>`, `AsRef<str>` and `FromStr` for a string newtype
/// whose `FromStr` is `$check`.
macro_rules! string_newtype {
    ($ty:ident, $what:literal, $rule:literal, $check:expr) => {
        impl FromStr for $ty {
            type Err = InvalidName;
            fn from_str(s: &str) -> Result<Self, InvalidName> {
                let check: fn(&str) -> bool = $check;
                if check(s) {
                    Ok(Self(s.to_string()))
                } else {
                    Err(refuse($what, s, $rule))
                }
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl std::ops::Deref for $ty {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl AsRef<str> for $ty {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

/// A service name (`--svc`): it names `/etc/drpilot/<svc>.env` and the state directory.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ServiceName(String);
string_newtype!(
    ServiceName,
    "service name",
    "use letters, digits, '.', '_' and '-', not first '.' or '-'",
    is_valid_service_name
);

/// A node name (`--from`): it names per-peer record files.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NodeName(String);
string_newtype!(
    NodeName,
    "node name",
    "use letters, digits, '.', '_' and '-', not first '.' or '-'",
    |s| is_word(s, "._-")
);

/// A resource id (`--rid`), `KIND#ID` as a config section names it: it names state files.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Rid(String);
string_newtype!(
    Rid,
    "resource id",
    "a resource id is KIND#ID, KIND one of ip, fs, vg, container, sync, app and ID letters, \
     digits and '_' (sync#1)",
    |s| s
        .split_once('#')
        .is_some_and(|(kind, id)| RESOURCE_KINDS.contains(&kind) && is_rid_id(id))
);

impl Rid {
    /// The kind before `#` (`sync`).
    pub fn kind(&self) -> &str {
        self.0.split_once('#').map_or("", |(kind, _)| kind)
    }
}

/// A sync id (`--id` of dir and btrfs syncs): recorded in state files, part of snapshot names.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SyncId(String);
string_newtype!(
    SyncId,
    "sync id",
    "use letters, digits, '.', '_', '+' and '-', not first '.' or '-'",
    |s| is_plain_name(s, false)
);

/// An LVM uuid (`--id` and `--base` of dds syncs: the snapshot sent, the one a delta needs).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LvmUuid(String);
string_newtype!(
    LvmUuid,
    "snap uuid",
    "an LVM uuid: letters, digits and dashes, not first '-'",
    |s| is_word(s, "-")
);

/// A btrfs snapshot name (`--snap`), `SUBVOL@ID`: the name a send stream creates.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SnapName(String);
string_newtype!(
    SnapName,
    "snapshot name",
    "a snapshot is SUBVOL@ID, both letters, digits, '.', '_', '+' and '-', not first '.' or '-'",
    |s| s
        .split_once('@')
        .is_some_and(|(sv, id)| is_plain_name(sv, false) && is_plain_name(id, false))
);

impl SnapName {
    /// The sync id after `@`.
    pub fn id(&self) -> &str {
        self.0.split_once('@').map_or("", |(_, id)| id)
    }
}

/// A SHA-256 a peer verb carries (`--hash` of `config-receive`, `--sha256` of `rsync-receive`):
/// 64 lowercase hex digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Sha256(String);

/// The SHA-256 of a config (`--hash` of `config-receive`).
pub type ConfigHash = Sha256;

impl Sha256 {
    /// The hex form of a finished digest (32 bytes).
    pub fn of_digest(bytes: &[u8]) -> Self {
        Self(bytes.iter().map(|b| format!("{b:02x}")).collect())
    }
}

string_newtype!(
    Sha256,
    "SHA-256",
    "a SHA-256 in 64 lowercase hex digits",
    |s| s.len() == 64
        && s.chars()
            .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
);

/// A runbook run's id (`--run`), `SVC-YYYYMMDDTHHMMSSZ-XXXX`: it names the run's journal on
/// every node, so it is a plain file name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RunId(String);
string_newtype!(
    RunId,
    "run id",
    "a run id is SERVICE-YYYYMMDDTHHMMSSZ-XXXX: letters, digits, '.', '_' and '-'",
    |s| is_word(s, "._-") && s.contains('-')
);

impl RunId {
    /// The service the run is of: what precedes the id's two last dash-separated fields.
    pub fn service(&self) -> Option<&str> {
        let mut parts = self.0.rsplitn(3, '-');
        let (_, _, svc) = (parts.next()?, parts.next()?, parts.next()?);
        is_valid_service_name(svc).then_some(svc)
    }
}

/// A seat's token (`--seat`): tells two processes of one user on one host apart.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SeatId(String);
string_newtype!(
    SeatId,
    "seat",
    "use letters, digits, '.', '_', ':' and '-', not first '.' or '-'",
    |s| is_word(s, "._:-")
);

/// A person's or a machine's name as a seat reports it (`--user`, `--host`): shown to other
/// operators, so printable, short, and never an option.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Label(String);
string_newtype!(
    Label,
    "name",
    "at most 64 printable characters, not first '-'",
    |s| !s.is_empty()
        && s.chars().count() <= 64
        && !s.starts_with('-')
        && s.chars().all(|c| !c.is_control())
);

/// When a sender took its image (`--when`), RFC 3339.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Timestamp(pub DateTime<Utc>);

impl FromStr for Timestamp {
    type Err = InvalidName;
    fn from_str(s: &str) -> Result<Self, InvalidName> {
        DateTime::parse_from_rfc3339(s)
            .map(|t| Self(t.with_timezone(&Utc)))
            .map_err(|_| refuse("time", s, "use RFC 3339, 2026-01-01T00:00:00Z"))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.to_rfc3339_opts(SecondsFormat::AutoSi, true))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every value a peer could use to climb out of a directory, pass for an option or hide in
    /// a log.
    const HOSTILE: &[&str] = &[
        "",
        ".",
        "..",
        "../../../../x",
        "a/b",
        "/abs",
        "-rf",
        "--dst",
        ".hidden",
        "a\nb",
        "a\u{1b}[2Jb",
        "a b",
        "a\0b",
    ];

    fn round_trip<T: FromStr + fmt::Display>(good: &[&str]) {
        for g in good {
            match g.parse::<T>() {
                Ok(v) => assert_eq!(v.to_string(), *g),
                Err(_) => panic!("refused '{g}'"),
            }
        }
    }

    fn refused<T: FromStr<Err = InvalidName> + fmt::Debug>(bad: &[&str], what: &str) {
        for b in HOSTILE.iter().chain(bad) {
            let err = b.parse::<T>().expect_err(b);
            assert!(
                err.to_string().starts_with(&format!("invalid {what} '")),
                "{err}"
            );
        }
    }

    #[test]
    fn service_name_round_trips_and_refuses() {
        round_trip::<ServiceName>(&["busybox", "busybox.opensvc.com", "a_b-c"]);
        refused::<ServiceName>(&["a+b", "a#b", "a@b"], "service name");
        assert_eq!(
            "../x".parse::<ServiceName>().unwrap_err().to_string(),
            "invalid service name '../x': use letters, digits, '.', '_' and '-', not first '.' or '-'"
        );
    }

    #[test]
    fn node_name_round_trips_and_refuses() {
        round_trip::<NodeName>(&["deb1", "deb2.opensvc.com", "node_3-a"]);
        refused::<NodeName>(&["a#b", "a:b"], "node name");
    }

    #[test]
    fn rid_round_trips_and_refuses() {
        round_trip::<Rid>(&["sync#1", "sync#i0", "fs#data_2", "app#1"]);
        refused::<Rid>(
            &[
                "sync",
                "sync#",
                "#1",
                "nope#1",
                "sync#1/..",
                "sync#a-b",
                "SYNC#1",
                "sync#1#2",
            ],
            "resource id",
        );
        assert_eq!(
            "sync#1".parse::<Rid>().map(|r| r.kind().to_string()),
            Ok("sync".into())
        );
    }

    #[test]
    fn sync_id_round_trips_and_refuses() {
        round_trip::<SyncId>(&["0123456789abcdef", "cut1", "20260101T000000Z+1", "a.b_c"]);
        refused::<SyncId>(&["a#b", "a@b"], "sync id");
    }

    #[test]
    fn lvm_uuid_round_trips_and_refuses() {
        round_trip::<LvmUuid>(&["abcDEF-1234-xyz", "next-uuid"]);
        refused::<LvmUuid>(&["a_b", "a.b", "a+b"], "snap uuid");
    }

    #[test]
    fn snap_name_round_trips_and_refuses() {
        round_trip::<SnapName>(&["root@0123abcd", "app.data@cut1"]);
        refused::<SnapName>(
            &[
                "root",
                "root@",
                "@1",
                "root@a/b",
                "../root@1",
                "root@..",
                "a@b@c",
            ],
            "snapshot name",
        );
        assert_eq!(
            "root@cut1".parse::<SnapName>().map(|s| s.id().to_string()),
            Ok("cut1".into())
        );
    }

    #[test]
    fn config_hash_round_trips_and_refuses() {
        let h = crate::drivers::sync_config::hash_bytes(b"[DEFAULT]\n");
        round_trip::<ConfigHash>(&[h.as_str()]);
        refused::<ConfigHash>(
            &[&h[1..], &h.to_uppercase(), &format!("{}g", &h[1..])],
            "SHA-256",
        );
    }

    #[test]
    fn timestamp_round_trips_and_refuses() {
        round_trip::<Timestamp>(&["2026-01-01T00:00:00Z", "2026-01-01T00:00:00.250Z"]);
        let t: Timestamp = "2026-01-01T02:00:00+02:00".parse().unwrap();
        assert_eq!(t.to_string(), "2026-01-01T00:00:00Z");
        refused::<Timestamp>(&["2026-01-01", "yesterday", "2026-13-01T00:00:00Z"], "time");
    }

    #[test]
    fn plain_names_and_service_names_refuse_leading_dashes() {
        assert!(is_plain_name("sync#1", true));
        assert!(!is_plain_name("sync#1", false));
        assert!(!is_plain_name("-x", false));
        assert!(!is_valid_service_name("-x"));
        assert!(is_rid_id("i0") && !is_rid_id("") && !is_rid_id("a-b"));
    }
}

//! What btrfs says about subvolumes, parsed: `btrfs subvolume list -u -q -R -c` (every
//! subvolume of a volume with its uuids) and `btrfs subvolume show` (one subvolume, with its
//! read-only flag). Pure text parsing, tested on real outputs of btrfs-progs 6.

use color_eyre::eyre::{eyre, Result};
use serde::{Deserialize, Serialize};

/// One subvolume as the list shows it. Uuids are `None` where btrfs prints `-`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subvol {
    /// Subvolume id.
    pub id: u64,
    /// Generation at creation on this volume: orders subvolumes by creation here.
    pub cgen: u64,
    /// Its own uuid.
    pub uuid: String,
    /// The uuid of the subvolume it is a snapshot of.
    pub parent_uuid: Option<String>,
    /// The uuid of the subvolume it was received from (set by `btrfs receive`).
    pub received_uuid: Option<String>,
    /// Path relative to the top level (`.drpilot-snap/root@ab12`).
    pub path: String,
}

impl Subvol {
    /// The last component of its path.
    pub fn name(&self) -> &str {
        self.path.rsplit('/').next().unwrap_or(&self.path)
    }

    /// The order of creation on this volume.
    pub fn age_key(&self) -> (u64, u64) {
        (self.cgen, self.id)
    }
}

fn uuid_field(v: &str) -> Option<String> {
    (v != "-" && !v.is_empty()).then(|| v.to_string())
}

/// Parses one line of `btrfs subvolume list -u -q -R -c`:
/// `ID 257 gen 7 cgen 7 top level 5 parent_uuid X received_uuid - uuid Y path .drpilot-snap/root@a`.
fn parse_list_line(line: &str) -> Result<Subvol> {
    let bad = |what: &str| eyre!("unexpected btrfs subvolume list line ({what}): '{line}'");
    let (head, path) = line.split_once(" path ").ok_or_else(|| bad("no path"))?;
    let words: Vec<&str> = head.split_whitespace().collect();
    let get = |key: &str| -> Option<&str> {
        let at = words.iter().position(|w| *w == key)?;
        words.get(at + 1).copied()
    };
    let num = |v: Option<&str>, what: &str| -> Result<u64> {
        v.and_then(|s| s.parse().ok()).ok_or_else(|| bad(what))
    };
    Ok(Subvol {
        id: num(get("ID"), "ID")?,
        cgen: num(get("cgen"), "cgen")?,
        uuid: get("uuid")
            .and_then(uuid_field)
            .ok_or_else(|| bad("uuid"))?,
        parent_uuid: get("parent_uuid").and_then(uuid_field),
        received_uuid: get("received_uuid").and_then(uuid_field),
        path: path.to_string(),
    })
}

/// Parses the whole output of `btrfs subvolume list -u -q -R -c`.
pub fn parse_list(text: &str) -> Result<Vec<Subvol>> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(parse_list_line)
        .collect()
}

/// One subvolume as `btrfs subvolume show` describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shown {
    /// Its name.
    pub name: String,
    /// Its uuid.
    pub uuid: String,
    /// The subvolume it is a snapshot of.
    pub parent_uuid: Option<String>,
    /// The subvolume it was received from.
    pub received_uuid: Option<String>,
    /// The `readonly` flag.
    pub readonly: bool,
}

/// Parses the output of `btrfs subvolume show PATH`.
pub fn parse_show(text: &str) -> Result<Shown> {
    let mut name = None;
    let mut uuid = None;
    let mut parent_uuid = None;
    let mut received_uuid = None;
    let mut readonly = None;
    for line in text.lines() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        match key.trim() {
            "Name" => name = Some(value.to_string()),
            "UUID" => uuid = uuid_field(value),
            "Parent UUID" => parent_uuid = uuid_field(value),
            "Received UUID" => received_uuid = uuid_field(value),
            "Flags" => readonly = Some(value.split_whitespace().any(|f| f == "readonly")),
            _ => {}
        }
    }
    let missing = |what: &str| eyre!("btrfs subvolume show printed no {what}");
    Ok(Shown {
        name: name.ok_or_else(|| missing("Name"))?,
        uuid: uuid.ok_or_else(|| missing("UUID"))?,
        parent_uuid,
        received_uuid,
        readonly: readonly.ok_or_else(|| missing("Flags"))?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIST: &str = "\
ID 256 gen 8 cgen 7 top level 5 parent_uuid -                                    received_uuid -                                    uuid 3558ebdd-6e4b-3f4d-944e-7eff31515e23 path root
ID 258 gen 9 cgen 8 top level 5 parent_uuid 3558ebdd-6e4b-3f4d-944e-7eff31515e23 received_uuid -                                    uuid 25018df8-18a0-e14e-ba21-debbaf3ed701 path .drpilot-snap/root@cc
ID 259 gen 10 cgen 9 top level 5 parent_uuid 25018df8-18a0-e14e-ba21-debbaf3ed701 received_uuid 091ece5b-d943-f249-b73d-977a620452b2 uuid 7c661860-e8e7-8c48-bd7d-08955c9ab846 path .drpilot-snap/.incoming/my dir@x
";

    #[test]
    fn parses_the_subvolume_list() {
        let l = parse_list(LIST).unwrap();
        assert_eq!(l.len(), 3);
        assert_eq!(l[0].id, 256);
        assert_eq!(l[0].cgen, 7);
        assert_eq!(l[0].parent_uuid, None);
        assert_eq!(l[0].received_uuid, None);
        assert_eq!(l[0].path, "root");
        assert_eq!(
            l[1].parent_uuid.as_deref(),
            Some("3558ebdd-6e4b-3f4d-944e-7eff31515e23")
        );
        assert_eq!(l[1].name(), "root@cc");
        assert_eq!(
            l[2].received_uuid.as_deref(),
            Some("091ece5b-d943-f249-b73d-977a620452b2")
        );
        assert_eq!(l[2].uuid, "7c661860-e8e7-8c48-bd7d-08955c9ab846");
        assert_eq!(l[2].path, ".drpilot-snap/.incoming/my dir@x");
        assert!(l[1].age_key() < l[2].age_key());
    }

    #[test]
    fn a_garbled_list_line_is_an_error_naming_it() {
        let e = parse_list("ID x gen 1 path a\n").unwrap_err();
        assert!(e.to_string().contains("ID x"), "{e}");
        assert!(parse_list("ID 5 gen 1 cgen 1\n").is_err());
    }

    #[test]
    fn parses_subvolume_show() {
        let text = ".drpilot-snap/root@aa
\tName: \t\t\troot@aa
\tUUID: \t\t\t2583c898-fe81-f047-a007-8d9a86d0a2f0
\tParent UUID: \t\t49c76880-6032-0841-8128-de8477959c69
\tReceived UUID: \t\t0737b9d4-4061-f74b-9018-4694815db60c
\tCreation time: \t\t2026-11-24 19:41:51 +0000
\tSubvolume ID: \t\t257
\tFlags: \t\t\treadonly
\tSnapshot(s):
";
        let s = parse_show(text).unwrap();
        assert_eq!(s.name, "root@aa");
        assert_eq!(s.uuid, "2583c898-fe81-f047-a007-8d9a86d0a2f0");
        assert_eq!(
            s.received_uuid.as_deref(),
            Some("0737b9d4-4061-f74b-9018-4694815db60c")
        );
        assert!(s.readonly);
        let rw = parse_show(
            &text
                .replace("readonly", "-")
                .replace("0737b9d4-4061-f74b-9018-4694815db60c", "-"),
        )
        .unwrap();
        assert!(!rw.readonly);
        assert_eq!(rw.received_uuid, None);
        assert!(parse_show("nothing here").is_err());
    }
}

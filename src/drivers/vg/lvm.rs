//! Reading LVM for the `vg` driver: `lvm vgs` and `lvm lvs` asked for machine-readable columns,
//! and their output parsed into the group's tags and logical volumes.

use std::process::Command;
use std::time::Duration;

use color_eyre::eyre::{bail, Result};

use crate::transport::run_child;

/// The single LVM binary; every LVM command is one of its sub-commands.
pub const LVM: &str = "lvm";

/// How long a query may take (LVM scans every block device).
const QUERY_TIMEOUT: Duration = Duration::from_secs(60);

/// Column separator asked of LVM: a character no VG, LV or tag name may hold.
const SEP: &str = "|";

/// A logical volume of the group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogicalVolume {
    /// `lvbusyboxdata`.
    pub name: String,
    /// `/dev/vglocaldeb1/lvbusyboxdata`.
    pub path: String,
    /// Its device is mapped (active, suspended, or an invalidated snapshot still mapped).
    pub active: bool,
}

/// What LVM says of a volume group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// Host tags and any other tags, without the `@` the command line takes.
    pub tags: Vec<String>,
    /// Its logical volumes, snapshots included, sorted by name.
    pub volumes: Vec<LogicalVolume>,
}

impl Group {
    /// Whether the group carries the tag `tag`.
    pub fn tagged(&self, tag: &str) -> bool {
        self.tags.iter().any(|t| t == tag)
    }

    /// The volumes whose device is mapped.
    pub fn active(&self) -> impl Iterator<Item = &LogicalVolume> {
        self.volumes.iter().filter(|v| v.active)
    }
}

/// Outcome of looking a group up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// LVM does not know the group.
    Missing,
    /// The group and what it holds.
    Found(Group),
}

/// `lvm vgs` asking for the group's tags.
pub fn vgs_argv(vg: &str) -> Vec<String> {
    [
        LVM,
        "vgs",
        "--noheadings",
        "--separator",
        SEP,
        "-o",
        "vg_name,vg_tags",
        vg,
    ]
    .map(String::from)
    .to_vec()
}

/// `lvm lvs` asking for every logical volume of the group with its attributes and path.
pub fn lvs_argv(vg: &str) -> Vec<String> {
    [
        LVM,
        "lvs",
        "--noheadings",
        "--separator",
        SEP,
        "-o",
        "lv_name,lv_attr,lv_path",
        vg,
    ]
    .map(String::from)
    .to_vec()
}

/// The tags of `vg` from `lvm vgs` output (`  vglocaldeb1|deb1.opensvc.com,other`).
pub fn parse_vgs(text: &str, vg: &str) -> Result<Vec<String>> {
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let (name, tags) = line.split_once(SEP).unwrap_or((line, ""));
        if name.trim() != vg {
            continue;
        }
        return Ok(tags
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_string)
            .collect());
    }
    bail!("lvm vgs printed no row for volume group {vg}: {text:?}")
}

/// The logical volumes from `lvm lvs` output (`  lvdata|-wi-a-----|/dev/vg/lvdata`), sorted by
/// name. The fifth attribute character is the state: `a` active, `s` suspended, `I`/`S` an
/// invalidated snapshot (still mapped), `-` inactive.
pub fn parse_lvs(text: &str) -> Result<Vec<LogicalVolume>> {
    let mut out = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let cols: Vec<&str> = line.split(SEP).map(str::trim).collect();
        let [name, attr, path] = cols[..] else {
            bail!("unexpected lvm lvs row {line:?} (wanted name|attr|path)");
        };
        let Some(state) = attr.chars().nth(4) else {
            bail!("unexpected lv_attr {attr:?} for {name} in lvm lvs output");
        };
        out.push(LogicalVolume {
            name: name.to_string(),
            path: path.to_string(),
            active: matches!(state, 'a' | 's' | 'I' | 'S'),
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// Whether an `lvm vgs` failure means the group does not exist (rather than, say, a lock).
pub fn says_missing(stderr: &str) -> bool {
    stderr.contains("not found")
}

fn run(argv: &[String]) -> Result<crate::transport::CallOutput> {
    let mut cmd = Command::new(&argv[0]);
    cmd.args(&argv[1..]);
    run_child(cmd, None, Some(QUERY_TIMEOUT))
}

/// Looks the group up: its tags and logical volumes.
pub fn lookup(vg: &str) -> Result<Lookup> {
    let out = run(&vgs_argv(vg))?;
    if !out.success {
        if says_missing(&out.stderr) {
            return Ok(Lookup::Missing);
        }
        bail!("lvm vgs {vg} failed: {}", out.failure_reason());
    }
    let tags = parse_vgs(&out.stdout_text(), vg)?;
    let out = run(&lvs_argv(vg))?;
    if !out.success {
        bail!("lvm lvs {vg} failed: {}", out.failure_reason());
    }
    let volumes = parse_lvs(&out.stdout_text())?;
    Ok(Lookup::Found(Group { tags, volumes }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vgs_row_gives_the_tags_without_padding() {
        let text = "  vglocaldeb1|deb1.opensvc.com,backup\n";
        assert_eq!(
            parse_vgs(text, "vglocaldeb1").unwrap(),
            vec!["deb1.opensvc.com", "backup"]
        );
    }

    #[test]
    fn vgs_row_without_tags_is_an_empty_list() {
        assert!(parse_vgs("  vglocaldeb2|\n", "vglocaldeb2")
            .unwrap()
            .is_empty());
        assert!(parse_vgs("  vglocaldeb2\n", "vglocaldeb2")
            .unwrap()
            .is_empty());
    }

    #[test]
    fn vgs_without_the_group_is_an_error() {
        let e = parse_vgs("  other|x\n", "vglocaldeb1").unwrap_err();
        assert!(e
            .to_string()
            .contains("no row for volume group vglocaldeb1"));
    }

    #[test]
    fn lvs_rows_give_state_and_path_sorted_by_name() {
        let text = "  lvbusyboxroot|owi-aos---|/dev/vglocaldeb1/lvbusyboxroot\n\
                    \x20 lvbusyboxdata_osvc_snap1|swi-a-s---|/dev/vglocaldeb1/lvbusyboxdata_osvc_snap1\n\
                    \x20 lvbusyboxdata|owi-a-----|/dev/vglocaldeb1/lvbusyboxdata\n\
                    \x20 lvspare|-wi-------|/dev/vglocaldeb1/lvspare\n\
                    \x20 lvold_snap|swi-I-s---|/dev/vglocaldeb1/lvold_snap\n";
        let lvs = parse_lvs(text).unwrap();
        let names: Vec<&str> = lvs.iter().map(|l| l.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "lvbusyboxdata",
                "lvbusyboxdata_osvc_snap1",
                "lvbusyboxroot",
                "lvold_snap",
                "lvspare"
            ]
        );
        let active: Vec<bool> = lvs.iter().map(|l| l.active).collect();
        assert_eq!(active, [true, true, true, true, false]);
        assert_eq!(lvs[0].path, "/dev/vglocaldeb1/lvbusyboxdata");
    }

    #[test]
    fn lvs_of_an_empty_group_is_empty() {
        assert!(parse_lvs("\n").unwrap().is_empty());
    }

    #[test]
    fn lvs_odd_rows_are_reported() {
        assert!(parse_lvs("  lv|-wi-a-----\n").is_err());
        assert!(parse_lvs("  lv|-wi|/dev/vg/lv\n").is_err());
    }

    #[test]
    fn missing_group_is_told_from_other_failures() {
        assert!(says_missing(
            "  Volume group \"vgx\" not found\n  Cannot process volume group vgx\n"
        ));
        assert!(!says_missing("  Reading VG vgx: lock timeout\n"));
    }

    #[test]
    fn group_helpers() {
        let g = Group {
            tags: vec!["deb1.opensvc.com".into()],
            volumes: parse_lvs("  a|-wi-a-----|/dev/vg/a\n  b|-wi-------|/dev/vg/b\n").unwrap(),
        };
        assert!(g.tagged("deb1.opensvc.com"));
        assert!(!g.tagged("deb2.opensvc.com"));
        assert_eq!(
            g.active().map(|v| v.name.as_str()).collect::<Vec<_>>(),
            ["a"]
        );
    }

    #[test]
    fn queries_use_lvm_subcommands_with_a_separator() {
        assert_eq!(vgs_argv("vg0")[..2], ["lvm", "vgs"]);
        assert_eq!(lvs_argv("vg0").last().map(String::as_str), Some("vg0"));
        assert!(lvs_argv("vg0")
            .iter()
            .any(|a| a == "lv_name,lv_attr,lv_path"));
    }
}

//! The LVM side of a dds sync: snapshot names, device-mapper names, and the `lvm` command lines
//! (one binary, sub-commands), so the driver's commands can be read in one place and checked by a
//! real-LVM harness.

use std::process::Command;
use std::time::Duration;

use color_eyre::eyre::{bail, eyre, Result};

use crate::drivers::Ctx;
use crate::transport::run_child;

/// The one LVM binary the driver runs.
pub const LVM: &str = "lvm";
/// How long one lvm command may take (the seed's lvremove took 16 s).
pub const LVM_TIMEOUT: Duration = Duration::from_secs(300);
/// Fields read by `lvs`.
pub const LVS_FIELDS: &str = "lv_uuid,lv_size,vg_name,lv_name";
/// The smallest snapshot created, in MiB.
pub const MIN_SNAP_MIB: u64 = 4;

/// One logical volume as `lvs` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LvInfo {
    /// LVM's uuid, `Zd3fOM-Oxfy-XMPk-XhGP-ayYq-3ZJN-kVQGQU`.
    pub uuid: String,
    /// Size in bytes.
    pub size: u64,
    /// Its volume group.
    pub vg: String,
    /// Its name in the group.
    pub lv: String,
}

impl LvInfo {
    /// `/dev/VG/LV`.
    pub fn path(&self) -> String {
        lv_path(&self.vg, &self.lv)
    }
}

/// The names of the two snapshots of origin `lv`, as the seed: `<lv>_osvc_snap1`, `_snap2`.
pub fn snap_names(lv: &str) -> (String, String) {
    (format!("{lv}_osvc_snap1"), format!("{lv}_osvc_snap2"))
}

/// `/dev/VG/LV`.
pub fn lv_path(vg: &str, lv: &str) -> String {
    format!("/dev/{vg}/{lv}")
}

/// A name as device-mapper writes it inside `VG-LV`: every dash doubled.
pub fn dm_escape(name: &str) -> String {
    name.replace('-', "--")
}

/// The device-mapper name of a logical volume, `VG-LV` with dashes inside names doubled
/// (`a-b`/`c` → `a--b-c`), plus `-LAYER` for a hidden layer (`cow`, `real`).
pub fn dm_name(vg: &str, lv: &str, layer: Option<&str>) -> String {
    let mut n = format!("{}-{}", dm_escape(vg), dm_escape(lv));
    if let Some(l) = layer {
        n.push('-');
        n.push_str(l);
    }
    n
}

/// The copy-on-write device of snapshot `snap` of group `vg`: `/dev/mapper/VG-SNAP-cow`.
pub fn cow_device(vg: &str, snap: &str) -> String {
    format!("/dev/mapper/{}", dm_name(vg, snap, Some("cow")))
}

/// Parses `lvs --noheadings -o lv_uuid,lv_size,vg_name,lv_name --units b` output.
pub fn parse_lvs(text: &str) -> Result<Vec<LvInfo>> {
    let mut out = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let f: Vec<&str> = line.split_whitespace().collect();
        let [uuid, size, vg, lv] = f[..] else {
            bail!(
                "unexpected lvs line '{}' (expected uuid, size, vg, lv)",
                line.trim()
            );
        };
        let digits = size.trim_end_matches(['B', 'b']);
        let size: u64 = digits
            .parse()
            .map_err(|_| eyre!("lvs line '{}': bad size '{size}'", line.trim()))?;
        out.push(LvInfo {
            uuid: uuid.to_string(),
            size,
            vg: vg.to_string(),
            lv: lv.to_string(),
        });
    }
    Ok(out)
}

/// `lvm lvs --noheadings -o lv_uuid,lv_size,vg_name,lv_name --units b WHAT`.
pub fn lvs_argv(what: &str) -> Vec<String> {
    [
        LVM,
        "lvs",
        "--noheadings",
        "-o",
        LVS_FIELDS,
        "--units",
        "b",
        what,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// `lvm lvcreate -s -n NAME -L SIZE /dev/VG/LV`.
pub fn lvcreate_snapshot_argv(origin: &LvInfo, name: &str, size: &str) -> Vec<String> {
    [
        LVM,
        "lvcreate",
        "-s",
        "-n",
        name,
        "-L",
        size,
        &origin.path(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// `lvm lvremove -f /dev/VG/NAME`.
pub fn lvremove_argv(vg: &str, name: &str) -> Vec<String> {
    [LVM, "lvremove", "-f", &lv_path(vg, name)]
        .iter()
        .map(|s| s.to_string())
        .collect()
}

/// `lvm lvrename VG FROM TO`.
pub fn lvrename_argv(vg: &str, from: &str, to: &str) -> Vec<String> {
    [LVM, "lvrename", vg, from, to]
        .iter()
        .map(|s| s.to_string())
        .collect()
}

/// The default snapshot size: 10% of the origin (the seed's rule), rounded up to a MiB and at
/// least 4 MiB; `lvcreate` rounds it up to whole extents.
pub fn default_snap_size(origin_bytes: u64) -> String {
    let mib = (origin_bytes / 10).div_ceil(1 << 20).max(MIN_SNAP_MIB);
    format!("{mib}M")
}

/// Checks a `snap_size` value before it becomes an `lvcreate -L` argument: a number with an
/// optional fraction and an LVM unit (`102M`, `1.5G`, `512m`).
pub fn check_snap_size(text: &str) -> Result<String> {
    let t = text.trim();
    let (num, unit) = t.split_at(t.trim_end_matches(|c: char| c.is_ascii_alphabetic()).len());
    let num_ok = !num.is_empty()
        && num.chars().all(|c| c.is_ascii_digit() || c == '.')
        && num.matches('.').count() <= 1
        && !num.starts_with('.')
        && !num.ends_with('.');
    let unit_ok = unit.is_empty() || (unit.len() == 1 && "kKmMgGtTpPeEsSbB".contains(unit));
    if !num_ok || !unit_ok {
        bail!("snap_size '{t}' is not a size (use 100M, 1.5G, 512m: a number and an LVM unit)");
    }
    Ok(t.to_string())
}

/// Runs an `lvm` command that only looks: not logged; a failure carries lvm's own message.
pub fn query(ctx: &Ctx, rid: &str, argv: &[String]) -> Result<String> {
    let Some((program, args)) = argv.split_first() else {
        bail!("{rid}: empty command");
    };
    let mut cmd = Command::new(program);
    cmd.args(args);
    let out = run_child(cmd, None, Some(LVM_TIMEOUT)).map_err(|e| {
        eyre!(
            "{rid} on {}: cannot run {program} ({e:#}): is LVM (lvm2) installed?",
            ctx.env.nodename
        )
    })?;
    if !out.success {
        bail!(
            "{rid} on {}: {} failed: {}",
            ctx.env.nodename,
            shell_words::join(argv),
            out.failure_reason()
        );
    }
    Ok(out.stdout_text())
}

/// Runs an `lvm` command that changes something, logged the seed's way (the command before,
/// its output after); a failure names the whole command and lvm's own message.
pub fn run(ctx: &Ctx, rid: &str, argv: &[String]) -> Result<()> {
    let Some((program, args)) = argv.split_first() else {
        bail!("{rid}: empty command");
    };
    let node = &ctx.env.nodename;
    ctx.log.cmd(rid, argv);
    let mut cmd = Command::new(program);
    cmd.args(args);
    let out = run_child(cmd, None, Some(LVM_TIMEOUT)).map_err(|e| {
        eyre!("{rid} on {node}: cannot run {program} ({e:#}): is LVM (lvm2) installed?")
    })?;
    let mut text = out.stdout_text();
    text.push_str(&out.stderr);
    ctx.log.output(rid, &text);
    if !out.success {
        bail!(
            "{rid} on {node}: {} failed: {}",
            shell_words::join(argv),
            out.failure_reason()
        );
    }
    Ok(())
}

/// The logical volume at `path` (a `/dev/mapper/VG-LV` or `/dev/VG/LV` path): `lvs` on it.
pub fn lv_of_path(ctx: &Ctx, rid: &str, path: &str) -> Result<LvInfo> {
    let text = query(ctx, rid, &lvs_argv(path))?;
    let mut lvs = parse_lvs(&text)?;
    match lvs.len() {
        1 => Ok(lvs.remove(0)),
        0 => bail!(
            "{rid} on {}: {path} is not a logical volume",
            ctx.env.nodename
        ),
        n => bail!(
            "{rid} on {}: lvs lists {n} volumes for {path}",
            ctx.env.nodename
        ),
    }
}

/// The logical volumes of group `vg`.
pub fn lvs_of_vg(ctx: &Ctx, rid: &str, vg: &str) -> Result<Vec<LvInfo>> {
    parse_lvs(&query(ctx, rid, &lvs_argv(vg))?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dm_names_double_dashes_inside_names() {
        assert_eq!(
            dm_name("vglocaldeb1", "lvbusyboxroot_osvc_snap1", Some("cow")),
            "vglocaldeb1-lvbusyboxroot_osvc_snap1-cow"
        );
        assert_eq!(dm_name("a-b", "c", None), "a--b-c");
        assert_eq!(dm_name("vg", "lv-x-y", Some("cow")), "vg-lv--x--y-cow");
        assert_eq!(
            cow_device("my-vg", "data-1_osvc_snap1"),
            "/dev/mapper/my--vg-data--1_osvc_snap1-cow"
        );
        assert_eq!(dm_escape("--"), "----");
    }

    #[test]
    fn snapshot_names_follow_the_seed() {
        assert_eq!(
            snap_names("lvbusyboxdata"),
            (
                "lvbusyboxdata_osvc_snap1".to_string(),
                "lvbusyboxdata_osvc_snap2".to_string()
            )
        );
    }

    #[test]
    fn lvs_output_is_parsed() {
        let text = "  Zd3fOM-Oxfy-XMPk-XhGP-ayYq-3ZJN-kVQGQU 1073741824B vglocaldeb1 lvbusyboxdata\n\
                    \n  5QCucL-11s3-lafC-eE8x-Ice1-wgOz-etLDua 109051904B vglocaldeb1 lvbusyboxdata_osvc_snap1\n";
        let lvs = parse_lvs(text).unwrap();
        assert_eq!(lvs.len(), 2);
        assert_eq!(lvs[0].size, 1 << 30);
        assert_eq!(lvs[0].path(), "/dev/vglocaldeb1/lvbusyboxdata");
        assert_eq!(lvs[1].uuid, "5QCucL-11s3-lafC-eE8x-Ice1-wgOz-etLDua");
        assert!(parse_lvs("  uuid 12B vg\n").is_err());
        assert!(parse_lvs("  uuid twelve vg lv\n").is_err());
    }

    #[test]
    fn command_lines_are_the_documented_ones() {
        let o = LvInfo {
            uuid: "u".into(),
            size: 1 << 30,
            vg: "vglocaldeb1".into(),
            lv: "lvbusyboxdata".into(),
        };
        assert_eq!(
            lvcreate_snapshot_argv(&o, "lvbusyboxdata_osvc_snap1", "103M").join(" "),
            "lvm lvcreate -s -n lvbusyboxdata_osvc_snap1 -L 103M /dev/vglocaldeb1/lvbusyboxdata"
        );
        assert_eq!(
            lvremove_argv("vglocaldeb1", "lvbusyboxdata_osvc_snap1").join(" "),
            "lvm lvremove -f /dev/vglocaldeb1/lvbusyboxdata_osvc_snap1"
        );
        assert_eq!(
            lvrename_argv("vglocaldeb1", "a_osvc_snap2", "a_osvc_snap1").join(" "),
            "lvm lvrename vglocaldeb1 a_osvc_snap2 a_osvc_snap1"
        );
        assert_eq!(
            lvs_argv("/dev/mapper/vg-lv").join(" "),
            "lvm lvs --noheadings -o lv_uuid,lv_size,vg_name,lv_name --units b /dev/mapper/vg-lv"
        );
    }

    #[test]
    fn snapshot_sizes_are_sane() {
        assert_eq!(default_snap_size(1 << 30), "103M");
        assert_eq!(default_snap_size(8 << 20), "4M");
        assert_eq!(default_snap_size(0), "4M");
        assert_eq!(check_snap_size(" 102.0M ").unwrap(), "102.0M");
        assert_eq!(check_snap_size("2g").unwrap(), "2g");
        assert_eq!(check_snap_size("4096").unwrap(), "4096");
        for bad in [
            "",
            "M",
            "1.2.3M",
            "10MB",
            "-5M",
            "5M; rm",
            ".5M",
            "10%ORIGIN",
        ] {
            assert!(check_snap_size(bad).is_err(), "{bad} accepted");
        }
    }
}

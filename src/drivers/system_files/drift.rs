//! The drift check: on a DRP node, the ids production's service uses (its files' owners and its
//! processes' users, from the copy `sync#i1` made) are looked up by name in production's passwd
//! and group (copied too), then in this node's own. A name with another id here, or no such name
//! here, is a drift: the service's replicated files, which keep production's numbers, would
//! belong to someone else (or to no one) once started here.

use std::collections::BTreeMap;
use std::path::Path;

use color_eyre::eyre::{Result, WrapErr};

use super::{cache_dir, RID};
use crate::paths::NodeEnv;
use crate::protocol::drift::{
    DriftReport, IdCheck, IdKind, OwnerUse, ServiceOwners, Verdict, OWNERS_FILE,
};

/// One id database (passwd or group): names by id and ids by name.
#[derive(Debug, Default, Clone)]
pub struct IdTable {
    by_id: BTreeMap<u32, String>,
    by_name: BTreeMap<String, u32>,
}

impl IdTable {
    /// Reads passwd or group text: `name:x:ID:...`, comments and bad lines skipped.
    pub fn parse(text: &str) -> Self {
        let mut t = Self::default();
        for line in text.lines() {
            if line.trim_start().starts_with('#') {
                continue;
            }
            let mut f = line.split(':');
            let (Some(name), Some(_), Some(id)) = (f.next(), f.next(), f.next()) else {
                continue;
            };
            let Ok(id) = id.trim().parse::<u32>() else {
                continue;
            };
            if name.is_empty() {
                continue;
            }
            t.by_id.entry(id).or_insert_with(|| name.to_string());
            t.by_name.entry(name.to_string()).or_insert(id);
        }
        t
    }

    /// The name of `id`.
    pub fn name(&self, id: u32) -> Option<&str> {
        self.by_id.get(&id).map(String::as_str)
    }

    /// The id of `name`.
    pub fn id(&self, name: &str) -> Option<u32> {
        self.by_name.get(name).copied()
    }
}

/// The users and groups of one node.
#[derive(Debug, Default, Clone)]
pub struct Ids {
    /// From passwd.
    pub users: IdTable,
    /// From group.
    pub groups: IdTable,
}

impl Ids {
    /// Reads `etc/passwd` and `etc/group` under `root`; a missing file is an empty table.
    pub fn read(root: &Path) -> Self {
        let read = |f: &str| std::fs::read_to_string(root.join(f)).unwrap_or_default();
        Self {
            users: IdTable::parse(&read("etc/passwd")),
            groups: IdTable::parse(&read("etc/group")),
        }
    }
}

/// The command that gives `name` production's id on `node`.
fn fix(kind: IdKind, name: &str, prod_id: u32, verdict: &Verdict, node: &str) -> Option<String> {
    let (change, add, flag) = match kind {
        IdKind::User => ("usermod", "useradd", "-u"),
        IdKind::Group => ("groupmod", "groupadd", "-g"),
    };
    match verdict {
        Verdict::Differs { here } => Some(format!(
            "on {node}: {change} {flag} {prod_id} {name} (then chown the files it owns there, \
             still {here}: find / -xdev -{} {here})",
            kind.id_word()
        )),
        Verdict::Missing => Some(format!("on {node}: {add} {flag} {prod_id} {name}")),
        Verdict::Same | Verdict::Unnamed => None,
    }
}

fn check_ids(
    kind: IdKind,
    uses: &[OwnerUse],
    prod: &IdTable,
    here: &IdTable,
    node: &str,
) -> Vec<IdCheck> {
    uses.iter()
        .map(|u| {
            let name = prod.name(u.id).unwrap_or_default().to_string();
            let verdict = if name.is_empty() {
                Verdict::Unnamed
            } else {
                match here.id(&name) {
                    Some(id) if id == u.id => Verdict::Same,
                    Some(id) => Verdict::Differs { here: id },
                    None => Verdict::Missing,
                }
            };
            IdCheck {
                kind,
                fix: fix(kind, &name, u.id, &verdict, node),
                holder_here: here.name(u.id).map(String::from),
                name,
                prod_id: u.id,
                verdict,
                files: u.files,
                examples: u.examples.clone(),
                processes: u.processes.clone(),
            }
        })
        .collect()
}

/// Compares production's owners (named by production's ids) with this node's ids.
pub fn compare(owners: &ServiceOwners, prod: &Ids, here: &Ids, node: &str) -> Vec<IdCheck> {
    let mut v = check_ids(IdKind::User, &owners.users, &prod.users, &here.users, node);
    v.extend(check_ids(
        IdKind::Group,
        &owners.groups,
        &prod.groups,
        &here.groups,
        node,
    ));
    v
}

/// The drift report of `svc` on this node against production node `prod`, from the copy of
/// `prod`'s system files held here.
pub fn report(env: &NodeEnv, svc: &str, prod: &str) -> Result<DriftReport> {
    let cache = env.path(cache_dir(svc, prod));
    let copied_at = super::super::sync_state::read_state(env, svc, RID)
        .ok()
        .flatten()
        .map(|s| s.when.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
    let mut r = DriftReport {
        svc: svc.to_string(),
        node: env.nodename.clone(),
        prod: prod.to_string(),
        copied_at,
        not_checked: None,
        truncated: false,
        checks: Vec::new(),
    };
    let owners_path = cache.join(OWNERS_FILE);
    let text = match std::fs::read_to_string(&owners_path) {
        Ok(t) => t,
        Err(_) => {
            r.not_checked = Some(format!(
                "no copy of {prod}'s system files here yet ({} missing): sync#i1 sends them from \
                 {prod} (syncupdate or syncdrp there) when one of its listed files exists there",
                owners_path.display()
            ));
            return Ok(r);
        }
    };
    let owners: ServiceOwners = serde_json::from_str(&text)
        .wrap_err_with(|| format!("reading {}", owners_path.display()))?;
    r.truncated = owners.truncated;
    r.checks = compare(
        &owners,
        &Ids::read(&cache),
        &Ids::read(&env.path("/")),
        &env.nodename,
    );
    Ok(r)
}

/// The report as the operator reads it: each drift with its files and fix, then what matched.
pub fn render(r: &DriftReport) -> String {
    let mut out = format!(
        "user and group ids of {} on {}, against {}",
        r.svc, r.node, r.prod
    );
    match &r.copied_at {
        Some(at) => out.push_str(&format!(" (its system files copied at {at})\n")),
        None => out.push('\n'),
    }
    if let Some(why) = &r.not_checked {
        out.push_str(&format!("? not checked: {why}\n"));
        return out;
    }
    for c in r.checks.iter().filter(|c| c.is_drift()) {
        let what = c.kind.word();
        let holder = match &c.holder_here {
            Some(h) => format!("{} owns {} there", h, c.prod_id),
            None => format!("no {what} has {} there", c.prod_id),
        };
        out.push_str(&format!(
            "✗ drift  {what} {}: {} on {}, {}; {holder}\n",
            c.name,
            c.prod_id,
            r.prod,
            c.here_on(&r.node)
        ));
        if let Some(files) = c.files_sentence() {
            out.push_str(&format!("         {files}\n"));
        }
        if !c.processes.is_empty() {
            out.push_str(&format!(
                "         runs {} on {}\n",
                c.processes.join(", "),
                r.prod
            ));
        }
        if let Some(f) = &c.fix {
            out.push_str(&format!("         fix {f}\n"));
        }
    }
    for c in r.checks.iter().filter(|c| !c.is_drift()) {
        let what = c.kind.word();
        match c.verdict {
            Verdict::Unnamed => out.push_str(&format!(
                "- n/a    {what} id {}: no name on {}, the files keep the number\n",
                c.prod_id, r.prod
            )),
            _ => out.push_str(&format!(
                "✓ same   {what} {}: {} on both\n",
                c.name, c.prod_id
            )),
        }
    }
    if r.truncated {
        out.push_str(&format!(
            "(the scan of the service's files stopped after {} entries: counts are lower bounds)\n",
            super::owners::MAX_ENTRIES
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owners(uid: u32, gid: u32) -> ServiceOwners {
        ServiceOwners {
            node: "deb1".into(),
            users: vec![OwnerUse {
                id: uid,
                files: 2,
                examples: vec!["/opt/app/a".into(), "/opt/app/b".into()],
                processes: vec!["app".into()],
            }],
            groups: vec![OwnerUse {
                id: gid,
                files: 2,
                ..OwnerUse::default()
            }],
            ..ServiceOwners::default()
        }
    }

    fn ids(passwd: &str, group: &str) -> Ids {
        Ids {
            users: IdTable::parse(passwd),
            groups: IdTable::parse(group),
        }
    }

    #[test]
    fn equal_ids_pass_and_a_moved_uid_is_a_drift_with_its_files_and_fix() {
        let prod = ids(
            "root:x:0:0::/:/bin/sh\napp:x:1500:1500::/:/bin/sh\n",
            "app:x:1500:\n",
        );
        let same = compare(&owners(1500, 1500), &prod, &prod, "deb2");
        assert!(same.iter().all(|c| c.verdict == Verdict::Same), "{same:?}");
        let here = ids(
            "app:x:1501:1500::/:/bin/sh\nbob:x:1500:1500::/:/bin/sh\n",
            "app:x:1500:\n",
        );
        let got = compare(&owners(1500, 1500), &prod, &here, "deb2");
        let user = &got[0];
        assert_eq!(user.verdict, Verdict::Differs { here: 1501 });
        assert_eq!(user.holder_here.as_deref(), Some("bob"));
        assert_eq!(user.examples, ["/opt/app/a", "/opt/app/b"]);
        assert!(user
            .fix
            .as_deref()
            .is_some_and(|f| f.contains("usermod -u 1500 app")));
        assert_eq!(got[1].verdict, Verdict::Same);
    }

    #[test]
    fn a_name_missing_here_is_a_drift_and_an_unnamed_id_is_not() {
        let prod = ids("app:x:1500:1500::/:/bin/sh\n", "");
        let got = compare(&owners(1500, 42), &prod, &Ids::default(), "deb2");
        assert_eq!(got[0].verdict, Verdict::Missing);
        assert!(got[0]
            .fix
            .as_deref()
            .is_some_and(|f| f.contains("useradd -u 1500 app")));
        assert_eq!(got[1].verdict, Verdict::Unnamed);
        assert!(!got[1].is_drift());
    }

    #[test]
    fn bad_lines_and_comments_are_skipped() {
        let t = IdTable::parse("# c\n\nbroken\nx:y:notanumber\nok:x:7:7\n");
        assert_eq!(t.id("ok"), Some(7));
        assert_eq!(t.name(7), Some("ok"));
        assert_eq!(t.id("x"), None);
    }
}

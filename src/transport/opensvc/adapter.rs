//! The drpilot command lines a seat sends (`transport::client`), answered by an OpenSVC v2
//! node: each is run as the agent's own command and its output read back into what drpilot's
//! agent would have printed, so the console, the runbooks and the split-brain guard work with
//! such a node unchanged. What the agent cannot do fails with a sentence saying so.

use color_eyre::eyre::Result;

use super::{v2_log, v2_status};
use crate::protocol::verb::{Action, Group};
use crate::protocol::watch::ServiceNodes;
use crate::transport::CallOutput;

/// Runs the agent's command (its argv after `bin`).
pub type Runner<'a> = &'a dyn Fn(&[String]) -> Result<CallOutput>;

/// The flags of a `drpilot svc` command line the adapter reads.
#[derive(Debug, Default)]
struct Flags {
    json: bool,
    force: bool,
    rids: Vec<String>,
    /// `--target NODE`: a sync's destination, which the agent cannot be told.
    target: Option<String>,
}

/// Splits `svc SVC WORDS… FLAGS…` into the verb's words and the flags.
fn split(rest: &[String]) -> (Vec<String>, Flags) {
    let mut words = Vec::new();
    let mut flags = Flags::default();
    let mut it = rest.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--format" => flags.json = it.next().is_some_and(|f| f == "json"),
            "--force" => flags.force = true,
            "--rid" => flags.rids.extend(it.next().cloned()),
            "--target" => flags.target = it.next().cloned(),
            // Flags with a value the agent has no use for here.
            "--waitlock" | "--declared-lost" => {
                it.next();
            }
            "--node" if words.first().is_some_and(|w: &String| w == "print") => {
                words.push(a.clone());
                words.extend(it.next().cloned());
            }
            w if w.starts_with("--") => {}
            w => words.push(w.to_string()),
        }
    }
    (words, flags)
}

fn refused(node: &str, what: &str) -> CallOutput {
    CallOutput::refusal(format!(
        "{what} is not available on {node}, an OpenSVC v2 node"
    ))
}

/// The agent's answer `like`, with drpilot's output instead of its own.
fn answered(stdout: String, like: &CallOutput) -> CallOutput {
    CallOutput {
        stdout: stdout.into_bytes(),
        ..like.clone()
    }
}

/// The agent's verb for one of drpilot's.
fn v2_verb(action: &Action) -> Option<String> {
    let group = |g: &Group| match g {
        Group::Disk => "disk".to_string(),
        other => other.suffix().to_string(),
    };
    Some(match action {
        Action::Start(None) => "start".into(),
        Action::Stop(None) => "stop".into(),
        Action::Start(Some(g)) => format!("start{}", group(g)),
        Action::Stop(Some(g)) => format!("stop{}", group(g)),
        Action::StartStandby => "startstandby".into(),
        Action::StopStandby => "stopstandby".into(),
        Action::SyncFull => "syncfullsync".into(),
        Action::SyncUpdate => "syncupdate".into(),
        Action::SyncDrp => "syncdrp".into(),
        Action::SyncNodes => "syncnodes".into(),
        _ => return None,
    })
}

/// Answers drpilot's `args` on `node` through the agent's commands.
pub fn call(node: &str, run: Runner, args: &[String]) -> Result<CallOutput> {
    let words: Vec<&str> = args.iter().map(String::as_str).collect();
    match words.as_slice() {
        ["agent", "services"] => services(run),
        ["svc", svc, ..] => svc_call(node, run, svc, &args[2..]),
        _ => Ok(refused(node, &format!("`drpilot {}`", args.join(" ")))),
    }
}

fn svc_call(node: &str, run: Runner, svc: &str, rest: &[String]) -> Result<CallOutput> {
    let (words, flags) = split(rest);
    let refs: Vec<&str> = words.iter().map(String::as_str).collect();
    let Some(action) = Action::parse(&refs) else {
        return Ok(refused(node, &format!("`{}`", words.join(" "))));
    };
    if action == Action::PrintStatus {
        let argv: Vec<String> = [svc, "print", "status", "-r", "--format", "json"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let out = run(&argv)?;
        if !out.success {
            // A service the agent does not know is "no config here" (exit 3), as drpilot says.
            let text = out.stderr.to_ascii_lowercase();
            let unknown = text.contains("does not exist") || text.contains("not found");
            return Ok(CallOutput {
                code: if unknown { Some(3) } else { out.code },
                ..out
            });
        }
        return Ok(match v2_status::map(&out.stdout_text(), svc, node) {
            Ok(st) if flags.json => answered(crate::status::render_json(&st), &out),
            Ok(st) => answered(crate::status::render_text(&st, &|_, w| w.to_string()), &out),
            Err(e) => {
                CallOutput::refusal(format!("{node} answered a status drpilot cannot read: {e}"))
            }
        });
    }
    let Some(verb) = v2_verb(&action) else {
        return Ok(refused(node, &format!("`{}`", action.verb())));
    };
    if let Some(t) = &flags.target {
        return Ok(refused(
            node,
            &format!("a sync to a chosen node (--target {t})"),
        ));
    }
    // Fail closed: drpilot's split-brain guard runs in drpilot's agent, not through this one;
    // a start goes on only when the operator says the other nodes were checked (--force).
    let starts = matches!(action, Action::Start(_));
    if starts && !flags.force {
        return Ok(CallOutput::refusal(format!(
            "refusing to start {svc} on {node}, an OpenSVC v2 node, without --force: drpilot's \
             split-brain guard does not run through its agent yet; make sure {svc} runs on no \
             other node, then start it with --force"
        )));
    }
    let mut argv = vec![svc.to_string(), verb, "--local".to_string()];
    for rid in &flags.rids {
        argv.extend(["--rid".to_string(), rid.clone()]);
    }
    // drpilot's --force on a start is the guard's override (said above), not the agent's.
    if flags.force && !starts {
        argv.push("--force".to_string());
    }
    let out = run(&argv)?;
    if !flags.json {
        return Ok(out);
    }
    let ts = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let mut lines = String::new();
    for rec in v2_log::parse(&out.stdout_text(), svc, &ts) {
        if let Ok(l) = serde_json::to_string(&rec) {
            lines.push_str(&l);
            lines.push('\n');
        }
    }
    Ok(answered(lines, &out))
}

/// `agent services`: the agent's services (`om svc ls`) with their nodes and DRP nodes
/// (`om SVC get --kw nodes --eval`).
fn services(run: Runner) -> Result<CallOutput> {
    let ls = run(&["svc".to_string(), "ls".to_string()])?;
    if !ls.success {
        return Ok(ls);
    }
    let mut list = Vec::new();
    for name in ls.stdout_text().split_whitespace() {
        let get = |kw: &str| -> Result<Vec<String>> {
            let out = run(&[
                name.to_string(),
                "get".into(),
                "--kw".into(),
                kw.into(),
                "--eval".into(),
            ])?;
            Ok(out
                .stdout_text()
                .split([' ', ',', '\n'])
                .filter(|w| !w.trim().is_empty())
                .map(|w| w.trim().to_string())
                .collect())
        };
        list.push(ServiceNodes {
            name: name.to_string(),
            nodes: get("nodes")?,
            drpnodes: get("drpnodes")?,
        });
    }
    let text = serde_json::to_string(&list).unwrap_or_else(|_| "[]".into());
    Ok(answered(text, &ls))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn flags_are_read_and_verbs_translated() {
        let (words, f) = split(&s(&[
            "start", "--format", "json", "--rid", "app#1", "--force",
        ]));
        assert_eq!(words, s(&["start"]));
        assert!(f.json && f.force);
        assert_eq!(f.rids, s(&["app#1"]));
        assert_eq!(
            v2_verb(&Action::Start(Some(Group::Disk))).as_deref(),
            Some("startdisk")
        );
        assert_eq!(
            v2_verb(&Action::Stop(Some(Group::App))).as_deref(),
            Some("stopapp")
        );
        assert_eq!(v2_verb(&Action::AppCheck), None);
    }
}

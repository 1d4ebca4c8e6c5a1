//! The drpilot command lines a seat sends (`transport::client`), answered by an OpenSVC node
//! (v2 or v3): each is run as the agent's own command (`dialect.rs`) and its output read back
//! into what drpilot's agent would have printed, so the console, the runbooks and the
//! split-brain guard work with such a node unchanged. What the agent cannot do fails with a
//! sentence saying so.

use color_eyre::eyre::Result;

use super::dialect::Dialect;
use crate::protocol::verb::{cut_access_action, restore_access_action, Action};
use crate::protocol::watch::ServiceNodes;
use crate::transport::{CallOutput, NodeOptions};

/// Runs the agent's command (its argv after `bin`).
pub type Runner<'a> = &'a dyn Fn(&[String]) -> Result<CallOutput>;

/// An OpenSVC node as the adapter reaches it: its name, its options in the node map (which
/// agent, how to cut access and check the application) and the way to run its agent.
pub struct Agent<'a> {
    /// The node's name.
    pub node: &'a str,
    /// Its `[options.NODE]`.
    pub opts: &'a NodeOptions,
    /// Runs its agent's command.
    pub run: Runner<'a>,
    /// Runs another program on the node (`argv[0]`): the replica's `last_sync` files are read
    /// with `find`.
    pub program: Runner<'a>,
    /// Poked after an action, so the node's poll reads the change at once.
    pub wake: &'a super::wake::Wake,
}

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

fn refused(agent: &Agent, what: &str) -> CallOutput {
    CallOutput::refusal(format!(
        "{what} is not available on {}, an {} node",
        agent.node,
        agent.opts.flavor().agent_name()
    ))
}

/// The agent's answer `like`, with drpilot's output instead of its own.
fn answered(stdout: String, like: &CallOutput) -> CallOutput {
    CallOutput {
        stdout: stdout.into_bytes(),
        ..like.clone()
    }
}

impl Agent<'_> {
    fn dialect(&self) -> Dialect {
        Dialect::of(self.opts.flavor()).unwrap_or(Dialect::V2)
    }
}

/// Answers drpilot's `args` on the agent's node through the agent's commands.
pub fn call(agent: &Agent, args: &[String]) -> Result<CallOutput> {
    let words: Vec<&str> = args.iter().map(String::as_str).collect();
    match words.as_slice() {
        ["agent", "services"] => services(agent),
        ["svc", svc, ..] => svc_call(agent, svc, &args[2..]),
        _ => Ok(refused(agent, &format!("`drpilot {}`", args.join(" ")))),
    }
}

/// drpilot's `action` in the agent's terms, with its resources: cutting and restoring access
/// through the node map's `cut_access` verb, the application check through its `app_check`
/// task; what the agent cannot be asked, in words.
fn translate(
    agent: &Agent,
    action: &Action,
    rids: &[String],
) -> Result<(Action, Vec<String>), String> {
    match action {
        Action::CutAccess | Action::RestoreAccess => {
            let Some(verb) = &agent.opts.cut_access else {
                return Err(
                    "cutting or restoring user access (no cut_access in the node map)".into(),
                );
            };
            let mapped = if *action == Action::CutAccess {
                cut_access_action(verb)
            } else {
                restore_access_action(verb)
            };
            mapped
                .map(|a| (a, rids.to_vec()))
                .ok_or_else(|| format!("cut_access = \"{verb}\""))
        }
        Action::AppCheck => match &agent.opts.app_check {
            Some(task) => Ok((Action::AppCheck, vec![task.clone()])),
            None => Err("the application check (no app_check in the node map)".into()),
        },
        other => Ok((other.clone(), rids.to_vec())),
    }
}

/// The service's status, as drpilot's agent prints it (text, or JSON with `json`).
fn status(agent: &Agent, svc: &str, json: bool) -> Result<CallOutput> {
    let node = agent.node;
    let out = (agent.run)(&agent.dialect().status(svc))?;
    if !out.success {
        // A service the agent does not know is "no config here" (exit 3), as drpilot says.
        let text = out.stderr.to_ascii_lowercase();
        let unknown = text.contains("does not exist") || text.contains("not found");
        return Ok(CallOutput {
            code: if unknown { Some(3) } else { out.code },
            ..out
        });
    }
    Ok(
        match agent.dialect().read_status(&out.stdout_text(), svc, node) {
            Ok(mut st) => {
                // The replica's age, from the agent's files (its status does not say it).
                let rids: Vec<String> = st
                    .resources
                    .iter()
                    .filter(|r| crate::status::group_of(&r.rid) == "sync")
                    .map(|r| r.rid.clone())
                    .collect();
                if !rids.is_empty() {
                    st.syncs = super::replica::ages(agent, svc, &rids).unwrap_or_default();
                }
                if json {
                    answered(crate::status::render_json(&st), &out)
                } else {
                    answered(crate::status::render_text(&st, &|_, w| w.to_string()), &out)
                }
            }
            Err(e) => {
                CallOutput::refusal(format!("{node} answered a status drpilot cannot read: {e}"))
            }
        },
    )
}

fn svc_call(agent: &Agent, svc: &str, rest: &[String]) -> Result<CallOutput> {
    let node = agent.node;
    let (words, flags) = split(rest);
    let refs: Vec<&str> = words.iter().map(String::as_str).collect();
    let Some(action) = Action::parse(&refs) else {
        return Ok(refused(agent, &format!("`{}`", words.join(" "))));
    };
    if action == Action::PrintStatus {
        return status(agent, svc, flags.json);
    }
    let (action, rids) = match translate(agent, &action, &flags.rids) {
        Ok(t) => t,
        Err(what) => return Ok(refused(agent, &what)),
    };
    if let Some(t) = &flags.target {
        return Ok(refused(
            agent,
            &format!("a sync to a chosen node (--target {t})"),
        ));
    }
    // Fail closed: the agent has no split-brain guard; a start goes on only when the caller
    // says the other nodes were checked (--force: the seat's guard ran, docs/safety.md).
    let starts = matches!(action, Action::Start(_));
    if starts && !flags.force {
        return Ok(CallOutput::refusal(format!(
            "refusing to start {svc} on {node}, an {} node, without --force: its agent has no \
             split-brain guard; make sure {svc} runs on no other node, then start it with --force",
            agent.opts.flavor().agent_name()
        )));
    }
    // drpilot's --force on a start is the guard's override (said above), not the agent's.
    let Some(argv) = agent
        .dialect()
        .action(svc, &action, &rids, flags.force && !starts)
    else {
        return Ok(refused(agent, &format!("`{}`", action.verb())));
    };
    let out = (agent.run)(&argv);
    agent.wake.poke();
    let out = out?;
    // The agent's log as drpilot's agent prints its own: JSON records, or the text columns.
    let now = chrono::Utc::now();
    let ts = now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let time = now
        .with_timezone(&chrono::Local)
        .format("%H:%M:%S")
        .to_string();
    let mut lines = String::new();
    for rec in agent.dialect().read_log(&out, svc, &ts) {
        let line = if flags.json {
            serde_json::to_string(&rec).unwrap_or_default()
        } else {
            crate::protocol::log::text_columns(&time, rec.level, &rec.svc, &rec.rid, &rec.msg)
        };
        lines.push_str(&line);
        lines.push('\n');
    }
    Ok(CallOutput {
        stdout: lines.into_bytes(),
        // v3 writes its log on stderr: it is in the lines now.
        stderr: if agent.dialect() == super::dialect::Dialect::V3 {
            String::new()
        } else {
            out.stderr.clone()
        },
        ..out
    })
}

/// `agent services`: the agent's services with their nodes and DRP nodes.
fn services(agent: &Agent) -> Result<CallOutput> {
    let d = agent.dialect();
    let ls = (agent.run)(&d.list_services())?;
    if !ls.success {
        return Ok(ls);
    }
    let names = match d.read_services(&ls.stdout_text()) {
        Ok(n) => n,
        Err(e) => return Ok(CallOutput::refusal(format!("{}: {e}", agent.node))),
    };
    let mut list = Vec::new();
    for name in names {
        let get = |kw: &str| -> Result<Result<Vec<String>, String>> {
            let out = (agent.run)(&d.keyword(&name, kw))?;
            Ok(if out.success {
                d.read_nodes(&out.stdout_text())
            } else {
                Err(out.failure_reason())
            })
        };
        let (nodes, drpnodes) = match (get("nodes")?, get("drpnodes")?) {
            (Ok(n), Ok(d)) => (n, d),
            (Err(e), _) | (_, Err(e)) => {
                return Ok(CallOutput::refusal(format!(
                    "{}: the nodes of {name}: {e}",
                    agent.node
                )))
            }
        };
        list.push(ServiceNodes {
            name,
            nodes,
            drpnodes,
        });
    }
    let text = serde_json::to_string(&list).unwrap_or_else(|_| "[]".into());
    Ok(answered(text, &ls))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::verb::Group;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn flags_are_read() {
        let (words, f) = split(&s(&[
            "start", "--format", "json", "--rid", "app#1", "--force",
        ]));
        assert_eq!(words, s(&["start"]));
        assert!(f.json && f.force);
        assert_eq!(f.rids, s(&["app#1"]));
    }

    #[test]
    fn access_and_the_application_check_go_through_what_the_node_map_configures() {
        let no_run = |_: &[String]| -> Result<CallOutput> { unreachable!() };
        let bare = NodeOptions {
            flavor: Some(crate::transport::Flavor::Opensvc2),
            ..NodeOptions::default()
        };
        let wake = crate::transport::opensvc::wake::Wake::default();
        let agent = Agent {
            node: "deb1",
            opts: &bare,
            run: &no_run,
            program: &no_run,
            wake: &wake,
        };
        let why = translate(&agent, &Action::CutAccess, &[]).unwrap_err();
        assert!(why.contains("no cut_access"), "{why}");
        assert!(translate(&agent, &Action::AppCheck, &[]).is_err());
        let configured = NodeOptions {
            cut_access: Some("stopapp".into()),
            app_check: Some("task#check".into()),
            ..bare.clone()
        };
        let agent = Agent {
            opts: &configured,
            ..agent
        };
        let (a, _) = translate(&agent, &Action::CutAccess, &[]).unwrap();
        assert_eq!(a, Action::Stop(Some(Group::App)));
        // Restoring access is a start: it goes through the start's guard like any other.
        let (a, _) = translate(&agent, &Action::RestoreAccess, &[]).unwrap();
        assert_eq!(a, Action::Start(Some(Group::App)));
        let (a, rids) = translate(&agent, &Action::AppCheck, &[]).unwrap();
        assert_eq!((a, rids), (Action::AppCheck, s(&["task#check"])));
    }
}

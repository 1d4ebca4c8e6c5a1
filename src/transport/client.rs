//! The one place that writes a `drpilot …` command line for another process: the console, the
//! runbook and the agent's calls to its peers all ask here, so a verb or a flag is spelt once.
//! A transport then runs these arguments on a node (`local:` as a child, ssh through its session).

use std::sync::OnceLock;

use crate::action_log::{local_host, local_user, ACTOR_ENV};
use crate::protocol::log::Actor;
use crate::protocol::peer::PeerVerb;
use crate::protocol::verb::{Action, SvcFlags};

/// Who this process asks for, when it said (the console, a runbook).
static ACTOR: OnceLock<Actor> = OnceLock::new();

/// Says, once per process, where its actions come from (`console`, `runbook`) and, for a
/// console, its session: every node records them with the user and the host in its action log.
pub fn set_origin(origin: &str, session: Option<String>) {
    let _ = ACTOR.set(Actor {
        user: local_user(),
        host: local_host(),
        origin: origin.to_string(),
        session,
    });
}

/// The session this process said it is (a console skips its own streamed lines).
pub fn session() -> Option<&'static str> {
    ACTOR.get().and_then(|a| a.session.as_deref())
}

/// The variable a node's drpilot reads to know who asks: this process's origin when it said, or
/// the one it was itself given (an agent asking its peer passes its caller on).
pub fn actor_env() -> Option<(&'static str, String)> {
    match ACTOR.get() {
        Some(a) => serde_json::to_string(a).ok().map(|j| (ACTOR_ENV, j)),
        None => std::env::var(ACTOR_ENV).ok().map(|j| (ACTOR_ENV, j)),
    }
}

/// The remote command that runs `drpilot ARGS` as `node` through ssh: the node's `bin`, behind
/// `env DRPILOT_ROOT=… DRPILOT_NODENAME=…` when the node lives under a root directory, and
/// `DRPILOT_ACTOR=…` when this process says who asks.
pub fn remote(node: &str, bin: &str, root: Option<&str>, args: &[String]) -> Vec<String> {
    let mut argv = Vec::with_capacity(args.len() + 5);
    let mut vars = Vec::new();
    if let Some(root) = root {
        vars.push(format!("DRPILOT_ROOT={root}"));
        vars.push(format!("DRPILOT_NODENAME={node}"));
    }
    if let Some((k, v)) = actor_env() {
        vars.push(format!("{k}={v}"));
    }
    if !vars.is_empty() {
        argv.push("env".to_string());
        argv.extend(vars);
    }
    argv.push(bin.to_string());
    argv.extend(args.iter().cloned());
    argv
}

/// `drpilot svc SVC VERB FLAGS`.
pub fn svc(svc: &str, action: &Action, flags: &SvcFlags) -> Vec<String> {
    let mut v = vec!["svc".to_string(), svc.to_string()];
    v.extend(action.to_args());
    v.extend(flags.to_args());
    v
}

/// `drpilot svc SVC docker ARGS...`: docker against the service's private daemon.
pub fn svc_docker(svc: &str, docker_args: &[&str]) -> Vec<String> {
    let mut v = vec!["svc".to_string(), svc.to_string(), "docker".to_string()];
    v.extend(docker_args.iter().map(|s| s.to_string()));
    v
}

/// `drpilot agent run VERB ARGS`: a run's lease and journal on a node.
pub fn agent_run(verb: &crate::protocol::run::RunVerb) -> Vec<String> {
    let mut v = vec!["agent".to_string(), "run".to_string()];
    v.extend(verb.to_args());
    v
}

/// `drpilot agent services`: a node's services with their node lists, as JSON.
pub fn agent_services() -> Vec<String> {
    vec!["agent".to_string(), "services".to_string()]
}

/// `drpilot agent watch [SVC...]`: the watch stream of a node.
pub fn agent_watch(services: &[String]) -> Vec<String> {
    let mut v = vec!["agent".to_string(), "watch".to_string()];
    v.extend(services.iter().cloned());
    v
}

/// `drpilot peer VERB ARGS`: what a node asks a peer (a sync's receiving half, a config push).
pub fn peer(verb: &PeerVerb) -> Vec<String> {
    let mut v = vec!["peer".to_string()];
    v.extend(verb.to_args());
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[test]
    fn every_svc_line_is_one_the_cli_reads_back() {
        let flags = SvcFlags {
            force: true,
            waitlock: Some(30),
            json: true,
            target: Some("deb1".into()),
            declared_lost: vec!["deb1".into()],
            rids: vec!["sync#1".into(), "fs#2".into()],
        };
        for action in Action::all() {
            for flags in [SvcFlags::default(), flags.clone()] {
                let mut argv = vec!["drpilot".to_string()];
                argv.extend(svc("busybox", &action, &flags));
                let parsed = crate::cli::Cli::try_parse_from(&argv)
                    .unwrap_or_else(|e| panic!("{argv:?}: {e}"));
                assert_eq!(
                    crate::cli::svc_invocation(parsed),
                    Some((action.clone(), flags.clone())),
                    "{argv:?}"
                );
            }
        }
    }

    #[test]
    fn every_peer_line_is_one_the_receiver_reads_back() {
        for verb in crate::protocol::peer::tests::every_verb() {
            let mut argv = vec!["drpilot".to_string()];
            argv.extend(peer(&verb));
            let parsed =
                crate::cli::Cli::try_parse_from(&argv).unwrap_or_else(|e| panic!("{argv:?}: {e}"));
            assert_eq!(crate::cli::peer_invocation(parsed), Some(verb), "{argv:?}");
        }
    }

    #[test]
    fn agent_lines_parse() {
        for args in [agent_services(), agent_watch(&["busybox".to_string()])] {
            let mut argv = vec!["drpilot".to_string()];
            argv.extend(args);
            crate::cli::Cli::try_parse_from(&argv).unwrap_or_else(|e| panic!("{argv:?}: {e}"));
        }
    }
}

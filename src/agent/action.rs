//! What the agent needs to know about its verbs beyond their words: the stop verbs a
//! `drp_cut_access` hook may name, and the start order of the resource groups.

pub use crate::protocol::verb::{Action, Group};
use crate::status::group_of;

/// The stop verbs a `drp_cut_access` hook may name.
pub fn cut_access_action(verb: &str) -> Option<Action> {
    Some(match verb {
        "stop" => Action::Stop(None),
        "stopapp" => Action::Stop(Some(Group::App)),
        "stopip" => Action::Stop(Some(Group::Ip)),
        "stopcontainer" => Action::Stop(Some(Group::Container)),
        _ => return None,
    })
}

/// The start verb that undoes a `drp_cut_access` hook's stop verb (`stopapp` → `startapp`).
pub fn restore_access_action(verb: &str) -> Option<Action> {
    Some(match cut_access_action(verb)? {
        Action::Stop(group) => Action::Start(group),
        _ => return None,
    })
}

/// Start order of the groups, the OpenSVC tutorial's: ip, disk (vg), fs, container, app; stop
/// runs it backwards.
pub fn start_rank(rid: &str) -> usize {
    match group_of(rid) {
        "ip" => 0,
        "disk" => 1,
        "fs" => 2,
        "container" => 3,
        "app" => 4,
        _ => 5,
    }
}

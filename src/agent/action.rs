//! What the agent needs to know about its verbs beyond their words: the start order of the
//! resource groups (the verbs a `drp_cut_access` hook may name are `protocol::verb`'s: an
//! OpenSVC node's `cut_access` names the same ones).

pub use crate::protocol::verb::{cut_access_action, restore_access_action, Action, Group};
use crate::status::group_of;

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

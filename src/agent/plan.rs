//! The order of a start or a stop as a tree: steps in sequence, and lanes side by side where the
//! config declares it (`config::parallel`). Pure: `plan_run.rs` executes it. Without a
//! declaration the plan is the OpenSVC tutorial's sequence (ip, disk, fs, container, app), and
//! a stop is its mirror image.

use std::collections::{BTreeMap, BTreeSet};

use crate::config::parallel::{Declared, PARALLEL_GROUPS, START_GROUPS};
use crate::status::group_of;

/// One resource as the planner needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// Its rid.
    pub rid: String,
    /// Its `subset` keyword on this node.
    pub subset: Option<String>,
    /// Whether part of its start may run earlier (`Resource::has_prepare`).
    pub has_prepare: bool,
}

/// One thing to do; numbers index the items the plan was built from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Make the replicas the live data (before the first filesystem).
    Replicas,
    /// The early part of a resource's start (a private dockerd once its data root is mounted);
    /// on stop, undoing it.
    Prepare(usize),
    /// A resource's start (or stop).
    Resource(usize),
}

/// A start or stop order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// One step.
    Step(Step),
    /// Children one after the other.
    Seq(Vec<Plan>),
    /// Lanes side by side; `why` names the declaration that allows it.
    Par {
        /// The config line behind it (`[DEFAULT] parallel_groups`).
        why: String,
        /// The lanes.
        lanes: Vec<Plan>,
    },
}

fn rank(group: &str) -> usize {
    START_GROUPS
        .iter()
        .position(|g| *g == group)
        .unwrap_or(START_GROUPS.len())
}

impl Plan {
    /// Builds the start plan of `items` (already in start order). `replicas`: a `Replicas`
    /// step goes before the first filesystem (or later group).
    pub fn start(items: &[Item], declared: &Declared, replicas: bool) -> Plan {
        let mut by_group: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        for (i, it) in items.iter().enumerate() {
            by_group.entry(rank(group_of(&it.rid))).or_default().push(i);
        }
        let group_plan = |r: usize| -> Vec<Plan> {
            let Some(members) = by_group.get(&r) else {
                return Vec::new();
            };
            let group = START_GROUPS.get(r).copied().unwrap_or("other");
            group_steps(items, members, group, declared)
        };
        let laned: BTreeSet<usize> = declared.lanes.iter().flatten().map(|g| rank(g)).collect();
        let mut top = Vec::new();
        let mut lanes_done = false;
        let mut fs_lane: Option<(usize, usize)> = None; // (index in top, lane)
        for r in by_group.keys().copied().collect::<Vec<_>>() {
            if !laned.contains(&r) {
                top.extend(group_plan(r));
                continue;
            }
            if lanes_done {
                continue;
            }
            lanes_done = true;
            let mut lanes = Vec::new();
            for lane in &declared.lanes {
                let steps: Vec<Plan> = lane.iter().flat_map(|g| group_plan(rank(g))).collect();
                if steps.is_empty() {
                    continue;
                }
                if lane.iter().any(|g| g == "fs") {
                    fs_lane = Some((top.len(), lanes.len()));
                }
                lanes.push(Plan::Seq(steps));
            }
            match lanes.len() {
                0 => {}
                1 => top.extend(lanes),
                _ => top.push(Plan::Par {
                    why: format!(
                        "[DEFAULT] {PARALLEL_GROUPS} = {}",
                        declared
                            .lanes
                            .iter()
                            .map(|l| l.join(" "))
                            .collect::<Vec<_>>()
                            .join(" | ")
                    ),
                    lanes,
                }),
            }
        }
        // A resource's early part joins the lane that mounts the filesystems, when its own
        // group waits for the lanes: the private dockerd starts once its data root is there.
        if let Some((at, lane)) = fs_lane {
            let early: Vec<Plan> = items
                .iter()
                .enumerate()
                .filter(|(_, it)| it.has_prepare && !laned.contains(&rank(group_of(&it.rid))))
                .filter(|(_, it)| rank(group_of(&it.rid)) > rank("fs"))
                .map(|(i, _)| Plan::Step(Step::Prepare(i)))
                .collect();
            if let Some(Plan::Par { lanes, .. }) = top.get_mut(at) {
                if let Some(Plan::Seq(steps)) = lanes.get_mut(lane) {
                    steps.extend(early);
                }
            }
        }
        let mut plan = Plan::Seq(top);
        if replicas {
            let first_fs = items
                .iter()
                .position(|it| rank(group_of(&it.rid)) >= rank("fs"));
            if let Some(i) = first_fs {
                plan.insert_before(i, Plan::Step(Step::Replicas));
            }
        }
        plan
    }

    /// Whether item `i` has a step in this plan.
    fn holds(&self, i: usize) -> bool {
        match self {
            Plan::Step(Step::Resource(x) | Step::Prepare(x)) => *x == i,
            Plan::Step(Step::Replicas) => false,
            Plan::Seq(v) => v.iter().any(|p| p.holds(i)),
            Plan::Par { lanes, .. } => lanes.iter().any(|p| p.holds(i)),
        }
    }

    /// Puts `step` right before item `i`'s first step (before its lanes when `i` stands alone
    /// in a lane).
    fn insert_before(&mut self, i: usize, step: Plan) {
        let Plan::Seq(children) = self else {
            return;
        };
        let Some(at) = children.iter().position(|c| c.holds(i)) else {
            return;
        };
        match &mut children[at] {
            Plan::Seq(_) => children[at].insert_before(i, step),
            Plan::Par { lanes, .. } => match lanes.iter_mut().find(|l| l.holds(i)) {
                Some(lane @ Plan::Seq(_)) => lane.insert_before(i, step),
                _ => children.insert(at, step),
            },
            Plan::Step(_) => children.insert(at, step),
        }
    }

    /// The stop plan: the mirror image (lanes stay side by side, each backwards), without the
    /// replica step.
    pub fn reversed(self) -> Plan {
        match self {
            Plan::Seq(v) => Plan::Seq(
                v.into_iter()
                    .rev()
                    .filter(|p| *p != Plan::Step(Step::Replicas))
                    .map(Plan::reversed)
                    .collect(),
            ),
            Plan::Par { why, lanes } => Plan::Par {
                why,
                lanes: lanes.into_iter().map(Plan::reversed).collect(),
            },
            step => step,
        }
    }

    /// The items whose start is split in two (a `Prepare` step exists for them).
    pub fn prepared(&self) -> BTreeSet<usize> {
        let mut out = BTreeSet::new();
        self.visit(&mut |s| {
            if let Step::Prepare(i) = s {
                out.insert(i);
            }
        });
        out
    }

    fn visit(&self, f: &mut dyn FnMut(Step)) {
        match self {
            Plan::Step(s) => f(*s),
            Plan::Seq(v) => v.iter().for_each(|p| p.visit(f)),
            Plan::Par { lanes, .. } => lanes.iter().for_each(|p| p.visit(f)),
        }
    }

    /// The plan in one line, for the log: `ip#1 | fs#1 fs#2 container#1:prepare`.
    pub fn describe(&self, items: &[Item]) -> String {
        match self {
            Plan::Step(Step::Replicas) => "replicas".to_string(),
            Plan::Step(Step::Prepare(i)) => format!("{}:prepare", items[*i].rid),
            Plan::Step(Step::Resource(i)) => items[*i].rid.clone(),
            Plan::Seq(v) => v
                .iter()
                .map(|p| match p {
                    Plan::Par { .. } => format!("({})", p.describe(items)),
                    _ => p.describe(items),
                })
                .collect::<Vec<_>>()
                .join(" "),
            Plan::Par { lanes, .. } => lanes
                .iter()
                .map(|l| l.describe(items))
                .collect::<Vec<_>>()
                .join(" | "),
        }
    }
}

/// A group's steps: resources without a subset first, then each subset by name, side by side
/// when its section says `parallel = true`.
fn group_steps(items: &[Item], members: &[usize], group: &str, declared: &Declared) -> Vec<Plan> {
    let mut out: Vec<Plan> = members
        .iter()
        .filter(|i| items[**i].subset.is_none())
        .map(|i| Plan::Step(Step::Resource(*i)))
        .collect();
    let mut subsets: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for i in members {
        if let Some(s) = &items[*i].subset {
            subsets.entry(s.as_str()).or_default().push(*i);
        }
    }
    for (name, m) in subsets {
        let steps: Vec<Plan> = m.iter().map(|i| Plan::Step(Step::Resource(*i))).collect();
        if steps.len() > 1 && declared.subset_is_parallel(group, name) {
            out.push(Plan::Par {
                why: format!("[subset#{group}:{name}] parallel = true"),
                lanes: steps,
            });
        } else {
            out.extend(steps);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(rid: &str) -> Item {
        Item {
            rid: rid.into(),
            subset: None,
            has_prepare: rid.starts_with("container"),
        }
    }

    fn seed_items() -> Vec<Item> {
        ["ip#1", "vg#1", "fs#1", "fs#2", "container#1"]
            .iter()
            .map(|r| item(r))
            .collect()
    }

    #[test]
    fn without_a_declaration_the_plan_is_the_tutorial_sequence() {
        let items = seed_items();
        let plan = Plan::start(&items, &Declared::default(), true);
        assert_eq!(
            plan.describe(&items),
            "ip#1 vg#1 replicas fs#1 fs#2 container#1"
        );
        assert!(plan.prepared().is_empty());
        assert_eq!(
            plan.reversed().describe(&items),
            "container#1 fs#2 fs#1 vg#1 ip#1"
        );
    }

    #[test]
    fn declared_lanes_run_the_address_beside_the_storage_and_the_daemon_joins_the_fs_lane() {
        let items = seed_items();
        let declared = Declared {
            lanes: vec![vec!["ip".into()], vec!["disk".into(), "fs".into()]],
            ..Declared::default()
        };
        let plan = Plan::start(&items, &declared, true);
        assert_eq!(
            plan.describe(&items),
            "(ip#1 | vg#1 replicas fs#1 fs#2 container#1:prepare) container#1"
        );
        assert_eq!(plan.prepared(), BTreeSet::from([4]));
        assert_eq!(
            plan.reversed().describe(&items),
            "container#1 (ip#1 | container#1:prepare fs#2 fs#1 vg#1)"
        );
    }

    #[test]
    fn a_parallel_subset_runs_after_the_group_s_other_resources() {
        let mut items: Vec<Item> = ["app#1", "app#2", "app#3", "app#4"]
            .iter()
            .map(|r| item(r))
            .collect();
        items[2].subset = Some("workers".into());
        items[3].subset = Some("workers".into());
        let mut declared = Declared::default();
        assert_eq!(
            Plan::start(&items, &declared, false).describe(&items),
            "app#1 app#2 app#3 app#4"
        );
        declared
            .parallel_subsets
            .insert(("app".into(), "workers".into()));
        let plan = Plan::start(&items, &declared, false);
        assert_eq!(plan.describe(&items), "app#1 app#2 (app#3 | app#4)");
        assert!(
            matches!(&plan, Plan::Seq(v) if matches!(&v[2], Plan::Par { why, .. } if why == "[subset#app:workers] parallel = true"))
        );
    }

    #[test]
    fn a_group_start_with_one_lane_left_is_a_plain_sequence() {
        let items = vec![item("fs#1"), item("fs#2")];
        let declared = Declared {
            lanes: vec![vec!["ip".into()], vec!["fs".into()]],
            ..Declared::default()
        };
        let plan = Plan::start(&items, &declared, false);
        assert_eq!(plan.describe(&items), "fs#1 fs#2");
    }
}

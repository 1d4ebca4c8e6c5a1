//! A run's state on the service's nodes rather than on one seat: the lease that makes it the
//! only run of its service across every seat ([`lease`]), its journal copied on every
//! reachable node ([`mirror`]), and the comparison of the copies that finds an altered one
//! ([`reconcile`]). [`RunOnNodes`] is what the engine journals through.

pub mod call;
pub mod lease;
pub mod mirror;
pub mod reconcile;

use color_eyre::eyre::{bail, Result};

use super::engine::RunSink;
use super::plan::Step;
use crate::protocol::journal::Record;
use lease::Keeper;
use mirror::Mirror;

/// The engine's sink for a run held on the nodes: each record goes to the nodes before the
/// seat writes it, the lease follows the step, and no node is changed unless it holds both the
/// run's lease and its journal.
pub struct RunOnNodes<'k, 'p> {
    keeper: &'k Keeper<'p>,
    mirror: Mirror<'p>,
}

impl<'k, 'p> RunOnNodes<'k, 'p> {
    /// The sink of the run whose lease `keeper` holds and whose journal `mirror` copies.
    pub fn new(keeper: &'k Keeper<'p>, mirror: Mirror<'p>) -> Self {
        Self { keeper, mirror }
    }
}

impl RunSink for RunOnNodes<'_, '_> {
    fn recorded(&mut self, record: &Record) -> Result<()> {
        self.keeper.still_held()?;
        self.mirror.push(record)
    }

    fn at_step(&mut self, step: Step, index: u32, total: u32) -> Result<()> {
        self.keeper.at_step(step.name(), index, total)
    }

    fn may_act_on(&mut self, node: &str) -> Result<()> {
        self.keeper.held_on(node)?;
        if !self.mirror.complete_on(node)? {
            bail!("{node} did not take the run's journal, so nothing is done there");
        }
        Ok(())
    }
}

/// A run's journal on this seat compared with the copies its service's nodes hold (`report
/// --verify`): each line says what was compared and whether it holds. A seat copy altered,
/// or lacking records the nodes hold, fails; a node that did not answer is said, not failed.
pub fn compare_with_nodes(
    pool: &crate::transport::Pool,
    run: &crate::protocol::names::RunId,
    local: &[Record],
) -> Result<Vec<(bool, String)>> {
    let svc = run
        .service()
        .ok_or_else(|| color_eyre::eyre::eyre!("run id {run} names no service"))?;
    let svc_name: crate::protocol::names::ServiceName =
        svc.parse().map_err(|e| color_eyre::eyre::eyre!("{e}"))?;
    let nodes = super::nodes::service_nodes(pool, svc)?;
    let mut lines = Vec::new();
    let mut journals = Vec::new();
    for node in nodes.nodes.iter().chain(&nodes.drpnodes) {
        match mirror::read(pool, node, &svc_name, run) {
            Some(j) => journals.push((node.clone(), j)),
            None => lines.push((
                true,
                format!("{node}: no copy of the run's journal (unreachable, or never given it)"),
            )),
        }
    }
    let mut copies: Vec<reconcile::Copy<'_>> = journals
        .iter()
        .map(|(n, j)| reconcile::Copy::node(n, j))
        .collect();
    copies.push(reconcile::Copy {
        place: "this seat".into(),
        records: local,
        heads: &[],
    });
    let (_, found) = reconcile::reconcile(&copies);
    for f in &found {
        let fails = match f {
            reconcile::Finding::Altered(_) => true,
            reconcile::Finding::Behind(s) => s.starts_with("the copy on this seat"),
        };
        lines.push((!fails, f.to_string()));
    }
    if found.is_empty() {
        for (node, j) in &journals {
            lines.push((
                true,
                format!(
                    "{node}: its copy and the {} chain heads it stored match this seat's",
                    j.heads.len()
                ),
            ));
        }
    }
    Ok(lines)
}

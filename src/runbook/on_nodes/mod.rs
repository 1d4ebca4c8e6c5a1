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

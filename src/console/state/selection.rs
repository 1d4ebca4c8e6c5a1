//! Which service is selected and which pane has the keyboard.

use super::nodes::SvcEntry;

/// Which pane has the keyboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    /// The service list.
    Services,
    /// The two trees.
    Trees,
    /// The runbook pane, while a run is shown: it scrolls and closes once the run is over.
    Runbook,
    /// The log pane.
    Log,
}

/// The selected service and the focused pane.
#[derive(Debug, Clone)]
pub struct Selection {
    /// Index of the selected service in the sorted list.
    pub selected: usize,
    /// Focused pane.
    pub focus: Focus,
    /// Which tree has the focus when the trees do: 0 production, 1 DRP.
    pub tree_side: usize,
    /// The row marked in the focused tree (enter opens its detail).
    pub tree_row: usize,
}

impl Default for Selection {
    fn default() -> Self {
        Self {
            selected: 0,
            focus: Focus::Services,
            tree_side: 0,
            tree_row: 0,
        }
    }
}

impl Selection {
    /// Moves the focus to the next pane (`forward`) or the previous one, round the panes on
    /// the screen: services, the production tree, the DRP tree, the runbook pane (only while
    /// `runbook_shown`), the log.
    pub fn cycle_focus(&mut self, forward: bool, runbook_shown: bool) {
        let order: Vec<(Focus, usize)> = [
            (Focus::Services, 0),
            (Focus::Trees, 0),
            (Focus::Trees, 1),
            (Focus::Runbook, 0),
            (Focus::Log, 0),
        ]
        .into_iter()
        .filter(|(f, _)| runbook_shown || *f != Focus::Runbook)
        .collect();
        let now = (
            self.focus,
            if self.focus == Focus::Trees {
                self.tree_side
            } else {
                0
            },
        );
        let i = order.iter().position(|f| *f == now).unwrap_or(0);
        let step = if forward { 1 } else { order.len() - 1 };
        (self.focus, self.tree_side) = order[(i + step) % order.len()];
        self.tree_row = 0;
    }

    /// Selects the previous service.
    pub fn up(&mut self) {
        self.selected = self.selected.saturating_sub(1);
    }

    /// Selects the next service, if there is one.
    pub fn down(&mut self, count: usize) {
        if self.selected + 1 < count {
            self.selected += 1;
        }
    }

    /// Keeps the service named `name` selected after the list changed under it.
    pub fn keep(&mut self, name: &str, services: &[SvcEntry]) {
        self.selected = services.iter().position(|s| s.name == name).unwrap_or(0);
    }
}

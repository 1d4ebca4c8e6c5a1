//! Which service is selected and which pane has the keyboard.

use super::nodes::SvcEntry;

/// Which pane has the keyboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    /// The service list.
    Services,
    /// The two trees.
    Trees,
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
}

impl Default for Selection {
    fn default() -> Self {
        Self {
            selected: 0,
            focus: Focus::Services,
        }
    }
}

impl Selection {
    /// Moves the focus to the next pane (`forward`) or the previous one, round the three.
    pub fn cycle_focus(&mut self, forward: bool) {
        let order = [Focus::Services, Focus::Trees, Focus::Log];
        let i = order.iter().position(|f| *f == self.focus).unwrap_or(0);
        let step = if forward { 1 } else { order.len() - 1 };
        self.focus = order[(i + step) % order.len()];
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

//! Readable names for what the audit log refers to by id: who acted (an
//! employee) and what was acted on (an employee, a widget, a channel). The
//! names are looked up when the log is read, never written into entries, so
//! the hash chain of stored entries stays exactly as it was; a renamed
//! employee shows under today's name.

use crate::error::AppResult;
use ostrog_domain::audit::AuditEntry;
use ostrog_store::{ChannelStore, EmployeeFilter, EmployeeStore, WidgetStore};
use std::collections::HashMap;
use std::sync::Arc;

/// Where the names come from.
pub struct AuditLabels {
    employees: Arc<dyn EmployeeStore>,
    widgets: Arc<dyn WidgetStore>,
    channels: Arc<dyn ChannelStore>,
}

/// Ids (as the log stores them) and their names.
pub type Labels = HashMap<String, String>;

impl AuditLabels {
    pub fn new(
        employees: Arc<dyn EmployeeStore>,
        widgets: Arc<dyn WidgetStore>,
        channels: Arc<dyn ChannelStore>,
    ) -> Self {
        Self { employees, widgets, channels }
    }

    /// Names for the actors and targets of `entries` that have one. Deleted
    /// employees keep their name (a tombstone); removed widgets and
    /// disconnected channels have none, and show by id. Visitors
    /// (`visitor:<id>` in the personal-data trail) are not named here: their
    /// names are personal data, sealed under their own key.
    pub async fn of(&self, entries: &[AuditEntry]) -> AppResult<Labels> {
        let mut labels = Labels::new();
        if entries.is_empty() {
            return Ok(labels);
        }
        for e in self.employees.list_employees(&EmployeeFilter::default()).await? {
            labels.insert(e.id.to_string(), e.name);
        }
        for w in self.widgets.list_widgets().await? {
            labels.insert(w.id.to_string(), w.settings.name);
        }
        for c in self.channels.list_channels().await? {
            labels.insert(c.id.to_string(), c.name);
        }
        let wanted: std::collections::HashSet<&str> =
            entries.iter().flat_map(|e| [e.event.actor.as_deref(), e.event.target.as_deref()]).flatten().collect();
        labels.retain(|id, _| wanted.contains(id.as_str()));
        Ok(labels)
    }
}

//! Who is there to take chats: the operators connected to this node (the
//! hub) and to the others (their rows in `nodes`, read fresh), each once.
//! An operator with tabs on two nodes is one operator.

use crate::app::App;
use crate::cluster::{FRESH, wall_ms};
use crate::error::AppResult;
use crate::realtime::event::Event;
use crate::realtime::hub::Present;
use ostrog_domain::ids::EmployeeId;
use ostrog_domain::routing::Presence;

impl App {
    /// Connected operators who take chats and chose `online`, on any node,
    /// each once (the leader's routing asks; it reads the others fresh).
    pub async fn online_operators(&self) -> AppResult<Vec<EmployeeId>> {
        let mut ids = self.realtime.hub.online_operators();
        if self.cluster.clustered {
            let remote = self.read_remote().await?;
            ids.extend(remote.iter().filter(|p| p.takes_chats && p.status == Presence::Online).map(|p| p.employee));
            ids.sort();
            ids.dedup();
        }
        Ok(ids)
    }

    /// Everyone connected with a status, here and on the other nodes; a
    /// status chosen here wins over what another node last wrote.
    pub fn presences(&self) -> Vec<(EmployeeId, Presence)> {
        let mut list = self.realtime.hub.presences();
        for p in self.cluster.remote() {
            if !list.iter().any(|(id, _)| *id == p.employee) {
                list.push((p.employee, p.status));
            }
        }
        list
    }

    /// An operator's tab connected here: if they have a tab on another
    /// node, the status chosen there is this tab's too.
    pub fn operator_arrived(&self, employee: EmployeeId) {
        if let Some(p) = self.elsewhere(employee) {
            self.realtime.hub.apply(Event::Presence { employee, status: p.status });
        }
    }

    /// An operator's last tab here closed: while they are still connected
    /// to another node, they are not offline after all.
    pub fn operator_left(&self, employee: EmployeeId) {
        match self.elsewhere(employee) {
            Some(p) => self.realtime.hub.apply(Event::Presence { employee, status: p.status }),
            None => tracing::debug!("an operator went offline"),
        }
    }

    fn elsewhere(&self, employee: EmployeeId) -> Option<Present> {
        self.cluster.remote().into_iter().find(|p| p.employee == employee)
    }

    /// The employees on the other live nodes, also kept for `presences`.
    /// Whoever was there and is gone from every node (left, or their node
    /// died) is shown offline to the employees here.
    pub async fn read_remote(&self) -> AppResult<Vec<Present>> {
        let rows = self.store.nodes(wall_ms() - FRESH.as_millis() as i64).await?;
        let remote: Vec<Present> = rows
            .into_iter()
            .filter(|n| n.id != self.cluster.node)
            .flat_map(|n| serde_json::from_str::<Vec<Present>>(&n.presence).unwrap_or_default())
            .collect();
        let before = self.cluster.replace_remote(remote.clone());
        let hub = &self.realtime.hub;
        for gone in before.iter().filter(|p| !remote.iter().any(|r| r.employee == p.employee)) {
            if !hub.is_connected(gone.employee) {
                hub.apply(Event::Presence { employee: gone.employee, status: Presence::Offline });
            }
        }
        Ok(remote)
    }
}

//! Who is there to take chats: the operators connected to this node (the
//! hub) and to the others (their rows in `nodes`, read fresh), each once.
//! An operator with tabs on two nodes is one operator.

use crate::cluster::{Cluster, FRESH, wall_ms};
use crate::error::AppResult;
use crate::realtime::Signals;
use crate::realtime::event::Event;
use crate::realtime::hub::{ConnId, Hub, Present};
use ostrog_domain::ids::EmployeeId;
use ostrog_domain::routing::Presence as Status;
use ostrog_store::{ClusterStore, NodeRecord};
use std::sync::Arc;

pub struct Presence {
    nodes: Arc<dyn ClusterStore>,
    hub: Arc<Hub>,
    signals: Arc<Signals>,
    cluster: Arc<Cluster>,
}

impl Presence {
    pub fn new(nodes: Arc<dyn ClusterStore>, hub: Arc<Hub>, signals: Arc<Signals>, cluster: Arc<Cluster>) -> Self {
        Self { nodes, hub, signals, cluster }
    }

    /// Connected operators who take chats and chose `online`, on any node,
    /// each once (the leader's routing asks; it reads the others fresh).
    pub async fn online_operators(&self) -> AppResult<Vec<EmployeeId>> {
        let mut ids = self.hub.online_operators();
        if self.cluster.clustered {
            let remote = self.read_remote().await?;
            ids.extend(remote.iter().filter(|p| p.takes_chats && p.status == Status::Online).map(|p| p.employee));
            ids.sort();
            ids.dedup();
        }
        Ok(ids)
    }

    /// Everyone connected with a status, here and on the other nodes; a
    /// status chosen here wins over what another node last wrote.
    pub fn presences(&self) -> Vec<(EmployeeId, Status)> {
        let mut list = self.hub.presences();
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
            self.hub.apply(Event::Presence { employee, status: p.status });
        }
    }

    /// An operator's last tab here closed: while they are still connected
    /// to another node, they are not offline after all.
    pub fn operator_left(&self, employee: EmployeeId) {
        match self.elsewhere(employee) {
            Some(p) => self.hub.apply(Event::Presence { employee, status: p.status }),
            None => tracing::debug!("an operator went offline"),
        }
    }

    /// An operator chose a status; coming online may let routing give them
    /// conversations at once.
    pub fn choose(&self, employee: EmployeeId, status: Status) {
        self.hub.note_auto_away(employee, false);
        self.hub.set_presence(employee, status);
        if status == Status::Online {
            self.signals.route();
        }
    }

    /// The page of an operator's connection was hidden or shown at `now`.
    /// Shown again after being set away for hidden pages: online again.
    pub fn page_hidden(&self, conn: ConnId, employee: EmployeeId, hidden: bool, now: i64) {
        self.hub.set_hidden(conn, hidden.then_some(now));
        if !hidden && self.hub.note_auto_away(employee, false) && self.hub.presence_of(employee) == Status::Away {
            self.choose(employee, Status::Online);
        }
    }

    /// Operators whose pages here have all been hidden for `after_ms` are
    /// away: routing gives them nothing more until they come back.
    pub fn away_when_hidden(&self, now: i64, after_ms: i64) {
        for employee in self.hub.hidden_before(now - after_ms) {
            tracing::debug!("an operator's pages stayed hidden; away");
            self.hub.note_auto_away(employee, true);
            self.hub.set_presence(employee, Status::Away);
        }
    }

    /// An operator left a conversation unattended: away until they say
    /// they are back, so that routing does not hand it straight back.
    pub fn set_away(&self, employee: EmployeeId) {
        self.hub.note_auto_away(employee, false);
        self.hub.set_presence(employee, Status::Away);
    }

    fn elsewhere(&self, employee: EmployeeId) -> Option<Present> {
        self.cluster.remote().into_iter().find(|p| p.employee == employee)
    }

    /// Writes who is connected here into this node's row, for the others.
    pub async fn publish_here(&self) -> AppResult<()> {
        let present = self.hub.present();
        let row = NodeRecord {
            id: self.cluster.node.clone(),
            presence: serde_json::to_string(&present).unwrap_or_else(|_| "[]".into()),
            started_at: self.cluster.started_at,
            seen_at: wall_ms(),
        };
        Ok(self.nodes.put_node(&row).await?)
    }

    /// The employees on the other live nodes, also kept for `presences`.
    /// Whoever was there and is gone from every node (left, or their node
    /// died) is shown offline to the employees here.
    pub async fn read_remote(&self) -> AppResult<Vec<Present>> {
        let rows = self.nodes.nodes(wall_ms() - FRESH.as_millis() as i64).await?;
        let remote: Vec<Present> = rows
            .into_iter()
            .filter(|n| n.id != self.cluster.node)
            .flat_map(|n| serde_json::from_str::<Vec<Present>>(&n.presence).unwrap_or_default())
            .collect();
        let before = self.cluster.replace_remote(remote.clone());
        for gone in before.iter().filter(|p| !remote.iter().any(|r| r.employee == p.employee)) {
            if !self.hub.is_connected(gone.employee) {
                self.hub.apply(Event::Presence { employee: gone.employee, status: Status::Offline });
            }
        }
        Ok(remote)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::services::testing::Harness;
    use ostrog_domain::role::Role;
    use std::time::Duration;

    #[tokio::test]
    async fn only_connected_operators_who_take_chats_and_chose_online_are_routed_to() {
        let t = Harness::new().await;
        let chat = t.chat().await;
        let operator = t.caller(Role::Operator).await;
        assert!(chat.presence.online_operators().await.unwrap().is_empty());

        let _here = chat.online(&operator);
        // Choosing `online` wakes routing at once.
        tokio::time::timeout(Duration::from_secs(1), chat.signals.routing.notified()).await.unwrap();
        assert_eq!(chat.presence.online_operators().await.unwrap(), [operator.employee.id]);

        chat.presence.choose(operator.employee.id, Status::Away);
        assert!(chat.presence.online_operators().await.unwrap().is_empty(), "away takes nothing");
        assert!(chat.presence.presences().contains(&(operator.employee.id, Status::Away)));
    }

    #[tokio::test]
    async fn an_operator_whose_pages_stay_hidden_is_away_until_a_page_is_shown() {
        let t = Harness::new().await;
        let chat = t.chat().await;
        let operator = t.caller(Role::Operator).await;
        let id = operator.employee.id;
        let (conn, _outbox) = chat.hub.connect(crate::realtime::hub::Who::Employee {
            id,
            session: operator.session.id,
            sees_all: false,
            takes_chats: true,
            alerted: false,
        });
        chat.presence.page_hidden(conn, id, true, 1_000);
        chat.presence.away_when_hidden(60_000, 120_000);
        assert_eq!(chat.presence.online_operators().await.unwrap(), [id], "not hidden long enough");
        chat.presence.away_when_hidden(121_000, 120_000);
        assert!(chat.presence.online_operators().await.unwrap().is_empty(), "away");
        assert_eq!(chat.hub.presence_of(id), Status::Away);

        chat.presence.page_hidden(conn, id, false, 122_000);
        assert_eq!(chat.hub.presence_of(id), Status::Online, "back with the page");

        // Away by choice stays away when a page is shown.
        chat.presence.choose(id, Status::Away);
        chat.presence.page_hidden(conn, id, true, 130_000);
        chat.presence.page_hidden(conn, id, false, 131_000);
        assert_eq!(chat.hub.presence_of(id), Status::Away);
    }

    #[tokio::test]
    async fn colleagues_present_are_the_active_ones_by_name() {
        let t = Harness::new().await;
        let chat = t.chat().await;
        let (a, b) = (t.caller(Role::Operator).await, t.caller(Role::SeniorOperator).await);
        let (_a, _b) = (chat.online(&a), chat.online(&b));
        let names: Vec<String> =
            chat.conversations.colleagues_present().await.unwrap().into_iter().map(|(_, name, _)| name).collect();
        assert_eq!(names, ["Operator", "SeniorOperator"]);

        t.store.set_status(b.employee.id, ostrog_domain::employee::EmployeeStatus::Blocked, 1).await.unwrap();
        let left = chat.conversations.colleagues_present().await.unwrap();
        assert_eq!(left.iter().map(|(id, ..)| *id).collect::<Vec<_>>(), [a.employee.id]);
    }
}

//! Conversations from the employees' side: what they may see, posting,
//! taking from the queue, transfer, closing, history and search. Every
//! operation goes through `visible`, the one row-level check, so an
//! operator with only `conversations.own` meets the same wall everywhere.

use crate::error::{AppError, AppResult};
use crate::keys::Ledger;
use crate::realtime::Signals;
use crate::realtime::hub::Hub;
use crate::realtime::writer::{Reply, Writer};
use crate::services::auditor::Auditor;
use crate::services::caller::Caller;
use crate::services::presence::Presence;
use ostrog_domain::access::{Actor, effective};
use ostrog_domain::audit::{Action, Outcome};
use ostrog_domain::clock::Clock;
use ostrog_domain::conversation::{self, Command, State, takes_chats, visible_to};
use ostrog_domain::employee::EmployeeStatus;
use ostrog_domain::ids::{ConversationId, EmployeeId, MessageId};
use ostrog_domain::message::{Author, Body, Event, validate_text};
use ostrog_domain::permission::Permission;
use ostrog_store::{
    Appended, Change, ConversationFilter, ConversationRecord, ConversationStore, EmployeeStore, MessageRecord,
    NewMessage, RoutingStore, TeamStore,
};
use std::sync::Arc;
use uuid::Uuid;

mod queue;

/// Largest page of a list or of history.
pub const MAX_PAGE: u32 = 200;

pub struct Conversations {
    conversations: Arc<dyn ConversationStore>,
    employees: Arc<dyn EmployeeStore>,
    routing: Arc<dyn RoutingStore>,
    teams: Arc<dyn TeamStore>,
    ledger: Arc<Ledger>,
    writer: Writer,
    hub: Arc<Hub>,
    signals: Arc<Signals>,
    presence: Arc<Presence>,
    auditor: Arc<Auditor>,
    clock: Arc<dyn Clock>,
}

/// What `Conversations` is built from.
pub struct Parts {
    pub conversations: Arc<dyn ConversationStore>,
    pub employees: Arc<dyn EmployeeStore>,
    pub routing: Arc<dyn RoutingStore>,
    pub teams: Arc<dyn TeamStore>,
    pub ledger: Arc<Ledger>,
    pub writer: Writer,
    pub hub: Arc<Hub>,
    pub signals: Arc<Signals>,
    pub presence: Arc<Presence>,
    pub auditor: Arc<Auditor>,
    pub clock: Arc<dyn Clock>,
}

impl Conversations {
    pub fn new(p: Parts) -> Self {
        let Parts { conversations, employees, routing, teams, ledger, writer, hub, signals, presence, auditor, clock } =
            p;
        Self { conversations, employees, routing, teams, ledger, writer, hub, signals, presence, auditor, clock }
    }

    fn now(&self) -> i64 {
        self.clock.now()
    }

    /// The conversation as stored, whoever asks (the visitor's side, the
    /// channels); employees go through `visible`.
    pub async fn get(&self, id: ConversationId) -> AppResult<Option<ConversationRecord>> {
        Ok(self.conversations.conversation(id).await?)
    }

    /// Connected colleagues with their names and status, for choosing whom
    /// to transfer to; those who left in the meantime are left out.
    pub async fn colleagues_present(&self) -> AppResult<Vec<(EmployeeId, String, ostrog_domain::routing::Presence)>> {
        let mut list = Vec::new();
        for (id, status) in self.presence.presences() {
            if let Some(e) = self.employees.employee(id).await?
                && e.employee.status == EmployeeStatus::Active
            {
                list.push((id, e.employee.name, status));
            }
        }
        list.sort_by(|a, b| a.1.cmp(&b.1));
        Ok(list)
    }

    /// The conversation, if `actor` may see it; `NotFound` otherwise, so
    /// that nobody learns of conversations they may not see.
    pub async fn visible(&self, actor: &Actor, id: ConversationId) -> AppResult<ConversationRecord> {
        let c = self.conversations.conversation(id).await?.ok_or(AppError::NotFound)?;
        if visible_to(actor, c.operator) { Ok(c) } else { Err(AppError::NotFound) }
    }

    /// Watching a conversation live, beyond one's own: `conversations.all`
    /// only; others get `NotFound`, as for any conversation they may not see.
    pub async fn watch(&self, actor: &Actor, id: ConversationId) -> AppResult<ConversationRecord> {
        if !actor.holds(Permission::ConversationsAll) {
            return Err(AppError::NotFound);
        }
        self.visible(actor, id).await
    }

    pub async fn list_conversations(
        &self,
        actor: &Actor,
        mut filter: ConversationFilter,
    ) -> AppResult<Vec<ConversationRecord>> {
        if !actor.holds(Permission::ConversationsAll) {
            filter.operator = Some(actor.id);
        }
        filter.limit = filter.limit.clamp(1, MAX_PAGE);
        Ok(self.conversations.list_conversations(&filter).await?)
    }

    /// A page of the transcript; the read is recorded in the personal-data
    /// access trail.
    pub async fn history(
        &self,
        caller: &crate::services::caller::Caller,
        id: ConversationId,
        after: i64,
        before: Option<i64>,
        limit: u32,
    ) -> AppResult<Vec<MessageRecord>> {
        let c = self.visible(&caller.actor, id).await?;
        if c.state == State::Assigned(caller.actor.id) {
            // Its operator opened it: routing leaves it with them.
            self.routing.note_attended(id, caller.actor.id, self.now()).await?;
        }
        let page = self.ledger.messages(id, after, before, limit.clamp(1, MAX_PAGE)).await?;
        if let (Some(first), Some(last)) = (page.first(), page.last()) {
            let details = serde_json::json!({"conversation": id, "from_seq": first.seq, "to_seq": last.seq});
            self.auditor.record_access(&caller.ctx(), c.visitor_id, Action::TranscriptRead, details).await?;
        }
        Ok(page)
    }

    /// Posts an employee's text or internal note. The outcome goes to
    /// `reply`; resending the same `client_id` stores nothing new.
    pub async fn employee_send(
        &self,
        actor: &Actor,
        id: ConversationId,
        client_id: Uuid,
        text: String,
        note: bool,
        reply: Reply,
    ) -> AppResult<()> {
        validate_text(&text)?;
        let c = self.visible(actor, id).await?;
        if c.state == State::Closed && !note {
            return Err(AppError::Conflict(crate::error::ErrorCode::ConversationClosed));
        }
        if c.state == State::Assigned(actor.id) {
            self.routing.note_attended(id, actor.id, self.now()).await?;
        }
        let author = Author::Employee(actor.id);
        let body = if note { Body::Note(text) } else { Body::Text(text) };
        let message = NewMessage {
            id: MessageId::random(),
            conversation_id: id,
            client_key: Some(author.client_key(client_id)),
            author,
            body,
            at: self.now(),
        };
        self.writer.submit(message, reply).await
    }

    /// A holder of `conversations.all` takes a queued conversation; one
    /// that routing or a colleague assigned meanwhile is refused, never
    /// taken over by a click on a stale screen.
    pub async fn take(&self, caller: &Caller, id: ConversationId) -> AppResult<ConversationRecord> {
        let actor = &caller.actor;
        let c = self.visible(actor, id).await?;
        let to = conversation::next(c.state, Command::Assign(actor.id))?;
        self.change(&c, to, Event::Assigned { operator: actor.id }, None).await?;
        self.taken(actor, id).await
    }

    /// A holder of `conversations.all` takes over a conversation from
    /// `from`, its operator (audited; `from` learns of it live, as of any
    /// change of their conversation). Refused when it is no longer with
    /// `from`: the caller decided on what their screen showed.
    pub async fn take_over(
        &self,
        caller: &Caller,
        id: ConversationId,
        from: EmployeeId,
    ) -> AppResult<ConversationRecord> {
        let actor = &caller.actor;
        let c = self.visible(actor, id).await?;
        if c.state != State::Assigned(from) {
            return Err(ostrog_domain::DomainError::Invalid("from").into());
        }
        let to = conversation::next(c.state, Command::TakeOver(actor.id))?;
        self.change(&c, to, Event::TakenOver { from, by: actor.id }, None).await?;
        let details = serde_json::json!({"conversation": id, "from": from});
        let target = Some(format!("conversation:{id}"));
        self.auditor.audit(&caller.ctx(), Action::ConversationTakenOver, target, Outcome::Success, details).await?;
        self.taken(actor, id).await
    }

    /// Whoever takes a conversation has it in front of them.
    async fn taken(&self, actor: &Actor, id: ConversationId) -> AppResult<ConversationRecord> {
        self.routing.note_attended(id, actor.id, self.now()).await?;
        self.visible(actor, id).await
    }

    pub async fn transfer(
        &self,
        actor: &Actor,
        id: ConversationId,
        to: EmployeeId,
        note: String,
    ) -> AppResult<ConversationRecord> {
        if note.chars().count() > 1000 {
            return Err(ostrog_domain::DomainError::Invalid("note").into());
        }
        let c = self.visible(actor, id).await?;
        self.may_take_chats(to).await?;
        let State::Assigned(from) = c.state else {
            return Err(ostrog_domain::DomainError::Invalid("conversation_state").into());
        };
        let next = conversation::next(c.state, Command::Transfer { to })?;
        self.change(&c, next, Event::Transferred { from, to, note }, None).await?;
        self.conversations.conversation(id).await?.ok_or(AppError::NotFound)
    }

    /// Hands a conversation to `to` (a bulk action of the list): a transfer
    /// when someone has it, an assignment when it waits in the queue.
    pub async fn assign(&self, actor: &Actor, id: ConversationId, to: EmployeeId) -> AppResult<ConversationRecord> {
        let c = self.visible(actor, id).await?;
        if matches!(c.state, State::Assigned(_)) {
            return self.transfer(actor, id, to, String::new()).await;
        }
        self.may_take_chats(to).await?;
        let next = conversation::next(c.state, Command::Assign(to))?;
        self.change(&c, next, Event::Assigned { operator: to }, None).await?;
        self.conversations.conversation(id).await?.ok_or(AppError::NotFound)
    }

    /// Refused unless `to` is active and takes chats.
    async fn may_take_chats(&self, to: EmployeeId) -> AppResult<()> {
        let target = self.employees.employee(to).await?.ok_or(AppError::NotFound)?.employee;
        if target.status != EmployeeStatus::Active
            || !takes_chats(&effective(target.role, &self.employees.overrides(target.id).await?))
        {
            return Err(AppError::Conflict(crate::error::ErrorCode::TransferTargetUnavailable));
        }
        Ok(())
    }

    pub async fn close(&self, actor: &Actor, id: ConversationId) -> AppResult<ConversationRecord> {
        let c = self.visible(actor, id).await?;
        let to = conversation::next(c.state, Command::Close)?;
        self.change(&c, to, Event::Closed { by: Some(actor.id) }, None).await?;
        self.conversations.conversation(id).await?.ok_or(AppError::NotFound)
    }

    /// Applies a state change with its event, then tells everyone concerned
    /// and wakes routing when the queue or anyone's load changed.
    /// `Conflict("conversation_changed")` when someone else changed it first.
    pub(crate) async fn change(
        &self,
        c: &ConversationRecord,
        to: State,
        event: Event,
        client_key: Option<String>,
    ) -> AppResult<Appended> {
        let done = self.apply(vec![(c.clone(), to, event, client_key)]).await?;
        done.into_iter().next().flatten().ok_or(AppError::Conflict(crate::error::ErrorCode::ConversationChanged))
    }

    /// Several changes in one transaction (routing assigns a whole page at
    /// once: one commit instead of one per conversation); `None` for those
    /// someone else changed first.
    async fn apply(
        &self,
        changes: Vec<(ConversationRecord, State, Event, Option<String>)>,
    ) -> AppResult<Vec<Option<Appended>>> {
        let now = self.now();
        let batch: Vec<Change> = changes
            .iter()
            .map(|(c, to, event, client_key)| Change {
                id: c.id,
                from: c.state,
                to: *to,
                event: NewMessage {
                    id: MessageId::random(),
                    conversation_id: c.id,
                    client_key: client_key.clone(),
                    author: Author::System,
                    body: Body::Event(event.clone()),
                    at: now,
                },
            })
            .collect();
        let done = self.ledger.change_conversations(batch).await?;
        for ((c, ..), outcome) in changes.iter().zip(&done) {
            if let Some(Appended::Stored { message, state, operator }) = outcome {
                self.announce(c, message, *state, *operator).await?;
            }
        }
        Ok(done)
    }

    async fn announce(
        &self,
        c: &ConversationRecord,
        message: &MessageRecord,
        state: State,
        operator: Option<EmployeeId>,
    ) -> AppResult<()> {
        let hub = &self.hub;
        // Noted before anyone hears of it, so that opening it at once counts.
        if let State::Assigned(op) = state
            && c.state.operator() != Some(op)
        {
            self.routing.note_assigned(c.id, op, message.at).await?;
        }
        hub.publish_message(message, operator);
        if c.state != state {
            hub.publish_change(c.id, state, operator, message.seq, c.operator);
        }
        // A new operator gets what was said before they joined, on
        // whichever node they are connected to.
        if let State::Assigned(op) = state
            && c.state.operator() != Some(op)
        {
            if hub.is_connected(op) {
                self.send_history(op, c.id, message.seq).await?;
            }
            hub.tell_others(crate::realtime::event::Event::History { employee: op, c: c.id, upto: message.seq });
        }
        if matches!(state, State::Queued | State::Closed) || c.state.operator() != state.operator() {
            self.signals.route();
        }
        Ok(())
    }

    /// The last page of the conversation up to `upto`, to the employee.
    pub(crate) async fn send_history(&self, employee: EmployeeId, id: ConversationId, upto: i64) -> AppResult<()> {
        let hub = &self.hub;
        let earlier = self.ledger.messages(id, 0, Some(upto + 1), MAX_PAGE).await?;
        let view = crate::realtime::frames::View::Employee(&hub.masked());
        hub.send_to_employee(employee, crate::realtime::frames::messages(id, &earlier, view));
        Ok(())
    }

    /// A visitor wrote into a closed conversation: back into the queue.
    pub async fn reopen(&self, id: ConversationId) -> AppResult<()> {
        let Some(c) = self.conversations.conversation(id).await? else { return Ok(()) };
        if c.state != State::Closed {
            return Ok(());
        }
        match self.change(&c, State::Queued, Event::Reopened, None).await {
            Ok(_) | Err(AppError::Conflict(crate::error::ErrorCode::ConversationChanged)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Returns to the queue the assignments their operators neither opened
    /// nor answered within `after_seconds`, with an event saying so, and
    /// sets those operators away so that routing does not hand the
    /// conversations straight back (leader only, like routing).
    pub async fn requeue_unattended(&self, after_seconds: u32) -> AppResult<()> {
        let before = self.now() - i64::from(after_seconds) * 1000;
        for u in self.routing.unattended(before, MAX_PAGE).await? {
            let current = self.conversations.conversation(u.conversation).await?;
            if let Some(c) = current.filter(|c| c.state == State::Assigned(u.operator)) {
                let event = Event::Requeued { from: u.operator, seconds: after_seconds };
                let to = conversation::next(c.state, Command::Requeue)?;
                match self.change(&c, to, event, None).await {
                    Ok(_) => {
                        tracing::info!(seconds = after_seconds, "an unattended assignment returned to the queue");
                        self.presence.set_away(u.operator);
                    }
                    Err(AppError::Conflict(crate::error::ErrorCode::ConversationChanged)) => {}
                    Err(e) => return Err(e),
                }
            }
            self.routing.forget_assignment(&u).await?;
        }
        Ok(())
    }

    /// How many conversations wait in the queue (counted up to 10 000), for /metrics.
    pub async fn queued_conversations(&self) -> AppResult<usize> {
        let filter = ConversationFilter { state: Some("queued"), limit: 10_000, ..Default::default() };
        Ok(self.conversations.list_conversations(&filter).await?.len())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::services::testing::Harness;
    use ostrog_domain::role::Role;
    use ostrog_store::{AuditFilter, Trail};

    #[tokio::test]
    async fn a_queued_conversation_is_taken_once_and_a_closed_one_cannot_be_taken() {
        let t = Harness::new().await;
        let chat = t.chat().await;
        let (first, second) = (t.caller(Role::OperatorSupervisor).await, t.caller(Role::OperatorSupervisor).await);
        let c = chat.queued().await;
        assert_eq!(c.state, State::Queued);

        let taken = chat.conversations.take(&first, c.id).await.unwrap();
        assert_eq!(taken.state, State::Assigned(first.employee.id));
        assert!(chat.conversations.take(&second, c.id).await.is_err(), "assigned: a take never takes it over");
        let stale = chat.conversations.take_over(&second, c.id, second.employee.id).await;
        assert!(stale.is_err(), "not with the operator the caller saw");
        let over = chat.conversations.take_over(&second, c.id, first.employee.id).await.unwrap();
        assert_eq!(over.state, State::Assigned(second.employee.id), "taken over");
        assert!(chat.conversations.take_over(&second, c.id, first.employee.id).await.is_err(), "already theirs");

        let closed = chat.conversations.close(&first.actor, c.id).await.unwrap();
        assert_eq!(closed.state, State::Closed);
        assert!(chat.conversations.take(&second, c.id).await.is_err(), "closed");
        let reply = Reply::Ack { conn: 0, client_id: Uuid::new_v4() };
        let refused = chat.conversations.employee_send(&first.actor, c.id, Uuid::new_v4(), "hi".into(), false, reply);
        assert!(matches!(refused.await, Err(AppError::Conflict(crate::error::ErrorCode::ConversationClosed))));
    }

    #[tokio::test]
    async fn an_operator_without_conversations_all_meets_not_found_for_what_is_not_theirs() {
        let t = Harness::new().await;
        let chat = t.chat().await;
        let operator = t.caller(Role::Operator).await;
        let c = chat.queued().await;

        assert!(matches!(chat.conversations.visible(&operator.actor, c.id).await, Err(AppError::NotFound)));
        assert!(matches!(chat.conversations.take(&operator, c.id).await, Err(AppError::NotFound)));
        assert!(matches!(chat.conversations.watch(&operator.actor, c.id).await, Err(AppError::NotFound)));
        let listed = chat.conversations.list_conversations(&operator.actor, ConversationFilter::default()).await;
        assert!(listed.unwrap().is_empty(), "the list is narrowed to their own");
        let history = chat.conversations.history(&operator, c.id, 0, None, 10).await;
        assert!(matches!(history, Err(AppError::NotFound)));

        // Once routed to them, it is theirs; watching stays for `conversations.all`.
        let _present = chat.online(&operator);
        chat.conversations.route_queue().await.unwrap();
        assert_eq!(
            chat.conversations.visible(&operator.actor, c.id).await.unwrap().state,
            State::Assigned(operator.employee.id)
        );
        assert!(matches!(chat.conversations.watch(&operator.actor, c.id).await, Err(AppError::NotFound)));
    }

    #[tokio::test]
    async fn reading_a_transcript_is_recorded_in_the_access_trail() {
        let t = Harness::new().await;
        let chat = t.chat().await;
        let supervisor = t.caller(Role::OperatorSupervisor).await;
        let c = chat.queued().await;
        let page = chat.conversations.history(&supervisor, c.id, 0, None, 10).await.unwrap();
        assert_eq!(page.len(), 1, "the queued event");

        let filter = AuditFilter { trail: Trail::PersonalDataAccess, ..Default::default() };
        let trail = t.store.audit_entries(&filter, 0, 10).await.unwrap();
        assert_eq!(trail.len(), 1);
        assert_eq!(trail[0].event.action, "transcript.read");
        assert_eq!(trail[0].event.target, Some(format!("visitor:{}", c.visitor_id)));
        assert_eq!(trail[0].event.actor, Some(supervisor.employee.id.to_string()));
    }

    #[tokio::test]
    async fn routing_waits_for_an_online_operator_and_reopening_queues_again() {
        let t = Harness::new().await;
        let chat = t.chat().await;
        let operator = t.caller(Role::Operator).await;
        let c = chat.queued().await;
        chat.conversations.route_queue().await.unwrap();
        assert_eq!(chat.conversations.get(c.id).await.unwrap().unwrap().state, State::Queued, "nobody online");

        let _present = chat.online(&operator);
        chat.conversations.route_queue().await.unwrap();
        assert_eq!(chat.conversations.get(c.id).await.unwrap().unwrap().state, State::Assigned(operator.employee.id));

        chat.conversations.close(&operator.actor, c.id).await.unwrap();
        chat.conversations.reopen(c.id).await.unwrap();
        assert_eq!(chat.conversations.get(c.id).await.unwrap().unwrap().state, State::Queued);
        assert_eq!(chat.conversations.queued_conversations().await.unwrap(), 1);
    }

    #[tokio::test]
    async fn a_transfer_goes_only_to_an_active_colleague_who_takes_chats() {
        let t = Harness::new().await;
        let chat = t.chat().await;
        let (from, to) = (t.caller(Role::OperatorSupervisor).await, t.caller(Role::Operator).await);
        let c = chat.queued().await;
        chat.conversations.take(&from, c.id).await.unwrap();

        let long = "x".repeat(1001);
        assert!(chat.conversations.transfer(&from.actor, c.id, to.employee.id, long).await.is_err());
        t.store.set_status(to.employee.id, EmployeeStatus::Blocked, START_PLUS).await.unwrap();
        let refused = chat.conversations.transfer(&from.actor, c.id, to.employee.id, String::new()).await;
        assert!(matches!(refused, Err(AppError::Conflict(crate::error::ErrorCode::TransferTargetUnavailable))));

        let other = t.caller(Role::Operator).await;
        let moved = chat.conversations.transfer(&from.actor, c.id, other.employee.id, "VIP".into()).await.unwrap();
        assert_eq!(moved.state, State::Assigned(other.employee.id));
    }

    #[tokio::test]
    async fn taking_over_an_assigned_conversation_is_audited_with_an_event() {
        let t = Harness::new().await;
        let chat = t.chat().await;
        let (operator, supervisor) = (t.caller(Role::Operator).await, t.caller(Role::OperatorSupervisor).await);
        let c = chat.queued().await;
        let _present = chat.online(&operator);
        chat.conversations.route_queue().await.unwrap();
        let taken = chat.conversations.take_over(&supervisor, c.id, operator.employee.id).await.unwrap();
        assert_eq!(taken.state, State::Assigned(supervisor.employee.id));
        assert!(matches!(chat.conversations.visible(&operator.actor, c.id).await, Err(AppError::NotFound)));

        let page = chat.conversations.history(&supervisor, c.id, 0, None, 10).await.unwrap();
        let from = operator.employee.id;
        let by = supervisor.employee.id;
        assert!(page.iter().any(|m| m.body == Body::Event(Event::TakenOver { from, by })));
        let log = t.store.audit_entries(&Default::default(), 0, 50).await.unwrap();
        let entry = log.iter().find(|e| e.event.action == "conversation.taken_over").unwrap();
        assert_eq!(entry.event.target, Some(format!("conversation:{}", c.id)));
        assert_eq!(entry.event.actor, Some(supervisor.employee.id.to_string()));
    }

    #[tokio::test]
    async fn an_assignment_left_unopened_returns_to_the_queue_and_its_operator_is_away() {
        let t = Harness::new().await;
        let chat = t.chat().await;
        let (absent, present) = (t.caller(Role::Operator).await, t.caller(Role::Operator).await);
        let (unopened, opened) = (chat.queued().await, chat.queued().await);
        let _absent = chat.online(&absent);
        chat.conversations.route_queue().await.unwrap();
        let conversations = &chat.conversations;
        let state = |id| async move { conversations.get(id).await.unwrap().unwrap().state };
        assert_eq!(state(unopened.id).await, State::Assigned(absent.employee.id));
        assert_eq!(state(opened.id).await, State::Assigned(absent.employee.id));
        chat.conversations.history(&absent, opened.id, 0, None, 10).await.unwrap();

        t.clock.advance(59_000);
        chat.conversations.requeue_unattended(60).await.unwrap();
        assert_eq!(state(unopened.id).await, State::Assigned(absent.employee.id), "not yet");
        t.clock.advance(1_000);
        chat.conversations.requeue_unattended(60).await.unwrap();
        assert_eq!(state(unopened.id).await, State::Queued);
        assert_eq!(state(opened.id).await, State::Assigned(absent.employee.id), "opened: stays");
        assert_eq!(chat.hub.presence_of(absent.employee.id), ostrog_domain::routing::Presence::Away);
        let page = chat.conversations.history(&present, unopened.id, 0, None, 10).await;
        assert!(page.is_err(), "an operator sees only their own");
        let supervisor = t.caller(Role::OperatorSupervisor).await;
        let page = chat.conversations.history(&supervisor, unopened.id, 0, None, 10).await.unwrap();
        let from = absent.employee.id;
        assert!(page.iter().any(|m| m.body == Body::Event(Event::Requeued { from, seconds: 60 })));

        // The next operator gets it, and nothing is left to requeue.
        let _present = chat.online(&present);
        chat.conversations.route_queue().await.unwrap();
        assert_eq!(state(unopened.id).await, State::Assigned(present.employee.id));
        t.clock.advance(1_000);
        chat.conversations.requeue_unattended(60).await.unwrap();
        assert_eq!(state(unopened.id).await, State::Assigned(present.employee.id), "a new minute for them");
    }

    const START_PLUS: i64 = crate::services::testing::START + 1;
}

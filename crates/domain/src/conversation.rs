//! Conversations and their life cycle: new → queued → assigned → closed,
//! reopened when the client writes again. Also the row-level rule of who
//! may see a conversation, shared by every edge (REST, WebSocket, search)
//! so that they cannot drift apart.

use crate::access::Actor;
use crate::error::DomainError;
use crate::ids::EmployeeId;
use crate::permission::Permission;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "state", content = "operator")]
pub enum State {
    New,
    Queued,
    Assigned(EmployeeId),
    Closed,
}

/// What may happen to a conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// Put in the queue for routing (a new conversation's first message).
    Enqueue,
    /// Routing or an operator taking it from the queue.
    Assign(EmployeeId),
    /// Hand over from the current operator to another.
    Transfer {
        to: EmployeeId,
    },
    /// A holder of `conversations.all` takes it from whoever has it.
    TakeOver(EmployeeId),
    /// Nobody opened or answered it in time: back to the queue.
    Requeue,
    Close,
    /// The client wrote: a closed conversation reopens into the queue.
    ClientMessage,
}

/// The state after `command`, or why it cannot happen.
pub fn next(state: State, command: Command) -> Result<State, DomainError> {
    use Command as C;
    use State as S;
    match (state, command) {
        (S::New, C::Enqueue | C::ClientMessage) => Ok(S::Queued),
        (S::New | S::Queued, C::Assign(op)) => Ok(S::Assigned(op)),
        (S::Assigned(from), C::Transfer { to } | C::TakeOver(to)) if from != to => Ok(S::Assigned(to)),
        (S::Assigned(_), C::Requeue) => Ok(S::Queued),
        (S::New | S::Queued | S::Assigned(_), C::Close) => Ok(S::Closed),
        (S::Closed, C::ClientMessage) => Ok(S::Queued),
        (s @ (S::Queued | S::Assigned(_)), C::ClientMessage | C::Enqueue) => Ok(s),
        _ => Err(DomainError::Invalid("conversation_state")),
    }
}

impl State {
    pub fn name(self) -> &'static str {
        match self {
            State::New => "new",
            State::Queued => "queued",
            State::Assigned(_) => "assigned",
            State::Closed => "closed",
        }
    }

    /// The state stored as a name and the conversation's operator.
    pub fn parse(name: &str, operator: Option<EmployeeId>) -> Option<State> {
        match (name, operator) {
            ("new", _) => Some(State::New),
            ("queued", _) => Some(State::Queued),
            ("assigned", Some(op)) => Some(State::Assigned(op)),
            ("closed", _) => Some(State::Closed),
            _ => None,
        }
    }

    pub fn operator(self) -> Option<EmployeeId> {
        match self {
            State::Assigned(op) => Some(op),
            _ => None,
        }
    }
}

/// Whether someone holding `held` works with conversations at all, so that
/// routing may assign to them and conversations may be transferred to them.
pub fn takes_chats(held: &crate::permission::PermissionSet) -> bool {
    held.contains(&Permission::ConversationsOwn) || held.contains(&Permission::ConversationsAll)
}

/// May `actor` see (and act on) a conversation whose operator (current, or
/// last before closing) is `operator`? `conversations.all` sees every one;
/// `conversations.own` only the actor's own, including those they closed.
pub fn visible_to(actor: &Actor, operator: Option<EmployeeId>) -> bool {
    actor.holds(Permission::ConversationsAll)
        || (actor.holds(Permission::ConversationsOwn) && operator == Some(actor.id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::effective;
    use crate::role::Role;

    #[test]
    fn the_life_cycle() {
        let (a, b) = (EmployeeId::random(), EmployeeId::random());
        let mut s = State::New;
        for (cmd, expected) in [
            (Command::Enqueue, State::Queued),
            (Command::Assign(a), State::Assigned(a)),
            (Command::Transfer { to: b }, State::Assigned(b)),
            (Command::ClientMessage, State::Assigned(b)),
            (Command::Close, State::Closed),
            (Command::ClientMessage, State::Queued),
        ] {
            s = next(s, cmd).unwrap_or(State::New);
            assert_eq!(s, expected, "after {cmd:?}");
        }
    }

    #[test]
    fn impossible_moves_are_refused() {
        let a = EmployeeId::random();
        assert!(next(State::Closed, Command::Assign(a)).is_err());
        assert!(next(State::Queued, Command::Transfer { to: a }).is_err());
        assert!(next(State::Assigned(a), Command::Transfer { to: a }).is_err());
        assert!(next(State::Closed, Command::Close).is_err());
    }

    #[test]
    fn a_stuck_conversation_is_taken_over_or_requeued() {
        let (a, b) = (EmployeeId::random(), EmployeeId::random());
        assert_eq!(next(State::Assigned(a), Command::TakeOver(b)), Ok(State::Assigned(b)));
        assert!(next(State::Assigned(a), Command::TakeOver(a)).is_err(), "already theirs");
        assert!(next(State::Closed, Command::TakeOver(b)).is_err());
        assert_eq!(next(State::Assigned(a), Command::Requeue), Ok(State::Queued));
        assert!(next(State::Queued, Command::Requeue).is_err());
        assert!(next(State::Closed, Command::Requeue).is_err());
    }

    #[test]
    fn an_operator_sees_only_what_is_assigned_to_them() {
        let me = EmployeeId::random();
        let op = Actor { id: me, role: Role::Operator, permissions: effective(Role::Operator, &[]) };
        assert!(visible_to(&op, Some(me)));
        assert!(!visible_to(&op, Some(EmployeeId::random())));
        assert!(!visible_to(&op, None), "the queue");
        let senior = Actor { id: me, role: Role::SeniorOperator, permissions: effective(Role::SeniorOperator, &[]) };
        assert!(!visible_to(&senior, None), "a Senior Operator's scope is an Operator's");
        let supervisor = Role::OperatorSupervisor;
        let supervisor = Actor { id: me, role: supervisor, permissions: effective(supervisor, &[]) };
        assert!(visible_to(&supervisor, None));
        let nobody = Actor { id: me, role: Role::Operator, permissions: Default::default() };
        assert!(!visible_to(&nobody, Some(me)));
    }

    #[test]
    fn states_round_trip_by_name() {
        let op = EmployeeId::random();
        for s in [State::New, State::Queued, State::Assigned(op), State::Closed] {
            assert_eq!(State::parse(s.name(), Some(op)), Some(s));
        }
        assert_eq!(State::parse("assigned", None), None);
    }
}

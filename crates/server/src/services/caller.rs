//! Who is making a request: a signed-in employee with the permissions in
//! effect now (resolved on every request by `Sessions::caller`).

use crate::services::auditor::Ctx;
use ostrog_domain::access::Actor;
use ostrog_domain::employee::Employee;
use ostrog_domain::ids::SessionId;
use ostrog_store::SessionRecord;
use std::net::IpAddr;

/// A signed-in employee making a request.
#[derive(Debug, Clone)]
pub struct Caller {
    pub employee: Employee,
    pub actor: Actor,
    pub session: SessionRecord,
    pub ip: Option<IpAddr>,
}

impl Caller {
    pub fn ctx(&self) -> Ctx {
        Ctx { actor: Some(self.employee.id), ip: self.ip, user_agent: self.session.user_agent.clone() }
    }
    pub fn session_id(&self) -> SessionId {
        self.session.id
    }
}

/// Whether a request is the person's doing: only that keeps a session from
/// idling out (ASVS 7.3.1). A page's own background checks and transport
/// keep-alives are not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activity {
    Person,
    Background,
}

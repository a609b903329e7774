//! Stored strings back into domain types. A value that does not parse means
//! the database holds something this version never wrote: `Corrupt`.

use ostrog_domain::access::Effect;
use ostrog_domain::audit::Outcome;
use ostrog_domain::conversation::State;
use ostrog_domain::employee::EmployeeStatus;
use ostrog_domain::ids::{EmployeeId, SessionId};
use ostrog_domain::message::Author;
use ostrog_domain::permission::Permission;
use ostrog_domain::role::Role;
use ostrog_domain::session::Stage;
use ostrog_domain::widget::WidgetSettings;
use ostrog_store::{LinkKind, StoreError};

fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::Corrupt(format!("unknown {what} {value:?}"))
}

pub(crate) fn employee_id(s: &str) -> Result<EmployeeId, StoreError> {
    EmployeeId::parse(s).ok_or_else(|| corrupt("employee id", s))
}

pub(crate) fn session_id(s: &str) -> Result<SessionId, StoreError> {
    SessionId::parse(s).ok_or_else(|| corrupt("session id", s))
}

pub(crate) fn role(s: &str) -> Result<Role, StoreError> {
    Role::parse(s).ok_or_else(|| corrupt("role", s))
}

pub(crate) fn status(s: &str) -> Result<EmployeeStatus, StoreError> {
    EmployeeStatus::parse(s).ok_or_else(|| corrupt("employee status", s))
}

pub(crate) fn stage(s: &str) -> Result<Stage, StoreError> {
    Stage::parse(s).ok_or_else(|| corrupt("session stage", s))
}

pub(crate) fn permission(s: &str) -> Result<Permission, StoreError> {
    Permission::parse(s).ok_or_else(|| corrupt("permission", s))
}

pub(crate) fn outcome(s: &str) -> Result<Outcome, StoreError> {
    Outcome::parse(s).ok_or_else(|| corrupt("audit outcome", s))
}

pub(crate) fn effect_name(e: Effect) -> &'static str {
    match e {
        Effect::Grant => "grant",
        Effect::Revoke => "revoke",
    }
}

pub(crate) fn effect(s: &str) -> Result<Effect, StoreError> {
    [Effect::Grant, Effect::Revoke]
        .into_iter()
        .find(|e| effect_name(*e) == s)
        .ok_or_else(|| corrupt("override effect", s))
}

pub(crate) fn link_kind(s: &str) -> Result<LinkKind, StoreError> {
    [LinkKind::Setup, LinkKind::Invitation].into_iter().find(|k| k.name() == s).ok_or_else(|| corrupt("link kind", s))
}

pub(crate) fn json(s: &str) -> Result<serde_json::Value, StoreError> {
    serde_json::from_str(s).map_err(|e| StoreError::Corrupt(format!("stored JSON: {e}")))
}

pub(crate) fn json_text(v: &serde_json::Value) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(|e| StoreError::Corrupt(format!("JSON: {e}")))
}

pub(crate) fn count(n: i64) -> Result<u32, StoreError> {
    u32::try_from(n).map_err(|_| StoreError::Corrupt(format!("count out of range: {n}")))
}

/// The e-mail a deleted employee keeps, so that their address is free again.
pub(crate) fn tombstone_email(id: EmployeeId) -> String {
    format!("deleted:{id}")
}

/// What names are sorted and searched by: lowercase, so that both backends
/// agree, whatever their collation, and non-ASCII letters fold too.
pub(crate) fn name_key(name: &str) -> String {
    name.to_lowercase()
}

/// A `LIKE` pattern matching `query` as a case-insensitive substring; `\` escapes.
pub(crate) fn contains_pattern(query: &str) -> String {
    let mut p = String::with_capacity(query.len() + 2);
    p.push('%');
    for c in query.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

pub(crate) fn uuid(what: &str, s: &str) -> Result<uuid::Uuid, StoreError> {
    uuid::Uuid::parse_str(s).map_err(|_| corrupt(what, s))
}

pub(crate) fn state(name: &str, operator: Option<&str>) -> Result<State, StoreError> {
    let operator = operator.map(employee_id).transpose()?;
    State::parse(name, operator).ok_or_else(|| corrupt("conversation state", name))
}

pub(crate) fn author(kind: &str, id: Option<&str>) -> Result<Author, StoreError> {
    let id = id.map(|s| uuid("author id", s)).transpose()?;
    Author::parse(kind, id).ok_or_else(|| corrupt("author", kind))
}

pub(crate) fn widget_settings(s: &str) -> Result<WidgetSettings, StoreError> {
    serde_json::from_str(s).map_err(|e| StoreError::Corrupt(format!("stored widget settings: {e}")))
}

pub(crate) fn channel_settings(s: &str) -> Result<ostrog_domain::channel::ChannelSettings, StoreError> {
    serde_json::from_str(s).map_err(|e| StoreError::Corrupt(format!("channel settings: {e}")))
}

pub(crate) fn delivery_status(s: &str) -> Result<ostrog_domain::channel::DeliveryStatus, StoreError> {
    ostrog_domain::channel::DeliveryStatus::parse(s).ok_or_else(|| corrupt("delivery status", s))
}

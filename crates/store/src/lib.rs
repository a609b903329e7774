//! The storage interface: one trait per aggregate, speaking domain types.
//! Backends (SQLite, PostgreSQL) live in `ostrog-store-sql`; `conformance`
//! is the one test suite every backend must pass.
//!
//! Secrets arrive here already hashed or encrypted: the store never sees a
//! password, a session token or a TOTP secret in the clear.

mod attempts;
mod audit;
mod channels;
mod cluster;
pub mod conformance;
mod contacts;
mod conversations;
mod employees;
mod files;
mod keys;
mod labels;
mod legacy;
mod links;
mod messages;
mod quick_replies;
mod records;
mod routing;
mod search;
mod sessions;
mod settings;
mod subjects;
mod teams;
mod visitors;
mod widgets;

pub use attempts::*;
pub use audit::*;
pub use channels::*;
pub use cluster::*;
pub use contacts::*;
pub use conversations::*;
pub use employees::*;
pub use files::*;
pub use keys::*;
pub use labels::*;
pub use legacy::*;
pub use links::*;
pub use messages::*;
pub use quick_replies::*;
pub use records::*;
pub use routing::*;
pub use search::*;
pub use sessions::*;
pub use settings::*;
pub use subjects::*;
pub use teams::*;
pub use visitors::*;
pub use widgets::*;

use async_trait::async_trait;

/// Every storage trait, for code that calls a store through a generic or
/// concrete type rather than `dyn Store` (whose supertraits' methods need
/// no import): `use ostrog_store::prelude::*;`.
pub mod prelude {
    pub use crate::{
        AttemptStore, AuditStore, ChannelStore, ClusterStore, ContactStore, ConversationStore, EmployeeStore,
        FileStore, KeyStore, LabelStore, LegacySealStore, LinkStore, MessageStore, QuickReplyStore, RoutingStore,
        SearchStore, SessionStore, SettingsStore, Store, SubjectStore, TeamStore, VisitorStore, WidgetStore,
    };
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    #[error("conflict: {0}")]
    Conflict(&'static str),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("database error: {0}")]
    Database(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Everything a backend provides.
#[async_trait]
pub trait Store:
    EmployeeStore
    + SessionStore
    + LinkStore
    + AttemptStore
    + AuditStore
    + SettingsStore
    + WidgetStore
    + VisitorStore
    + ConversationStore
    + MessageStore
    + SearchStore
    + RoutingStore
    + LegacySealStore
    + FileStore
    + SubjectStore
    + ChannelStore
    + ClusterStore
    + ContactStore
    + QuickReplyStore
    + LabelStore
    + TeamStore
{
    /// Cheap round trip for readiness checks.
    async fn ping(&self) -> StoreResult<()>;
    fn backend(&self) -> &'static str;
    /// Periodic housekeeping of the backend (SQLite: checkpoint the
    /// write-ahead log); the server calls it every second.
    async fn maintain(&self) -> StoreResult<()>;
    /// Rewrites the database so that rows deleted or overwritten in place
    /// leave as little behind as the backend allows (SQLite: `VACUUM` and an
    /// emptied write-ahead log; PostgreSQL: `VACUUM`, which frees dead rows
    /// without promising to overwrite them). Slow on a large database.
    async fn compact(&self) -> StoreResult<()>;
}

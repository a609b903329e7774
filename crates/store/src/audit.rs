//! The hash-chained logs: the security audit log and the personal-data access trail.

use crate::{AuditFilter, StoreResult, Trail};
use async_trait::async_trait;
use ostrog_domain::audit::{AuditEntry, AuditEvent};

#[async_trait]
pub trait AuditStore: Send + Sync {
    /// Appends the event at the end of the trail's chain; appends are
    /// serialised so that concurrent writers never fork the chain.
    async fn append_to(&self, trail: Trail, event: &AuditEvent) -> StoreResult<AuditEntry>;

    async fn append_audit(&self, event: &AuditEvent) -> StoreResult<AuditEntry> {
        self.append_to(Trail::Security, event).await
    }
    /// Entries with `seq > after`, oldest first, at most `limit`, filtered.
    async fn audit_entries(&self, filter: &AuditFilter, after: i64, limit: u32) -> StoreResult<Vec<AuditEntry>>;
}

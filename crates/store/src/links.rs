//! One-time links (set-up, invitations), found by the hash of their token.

use crate::{LinkKind, OneTimeLink, StoreResult};
use async_trait::async_trait;
use ostrog_domain::clock::Millis;
use ostrog_domain::ids::EmployeeId;

#[async_trait]
pub trait LinkStore: Send + Sync {
    async fn create_link(&self, link: &OneTimeLink) -> StoreResult<()>;
    /// The link, if it exists, is of `kind`, is unused and unexpired; without using it.
    async fn find_link(&self, token_hash: &str, kind: LinkKind, now: Millis) -> StoreResult<Option<OneTimeLink>>;
    /// Marks the link used and returns it, if it exists, is of `kind`, is
    /// unused and has not expired at `now`; atomically, so it works once.
    async fn consume_link(&self, token_hash: &str, kind: LinkKind, now: Millis) -> StoreResult<Option<OneTimeLink>>;
    /// Removes every unused link of `kind` for `employee` (a resent or
    /// revoked invitation); how many there were.
    async fn revoke_links(&self, employee: EmployeeId, kind: LinkKind) -> StoreResult<u64>;
}

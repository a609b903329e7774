//! Contacts: the display name and details of each data subject, sealed by
//! the caller under the subject's key, and the blind-index terms of the name
//! (a contact is found by name without the store reading it). Every visitor
//! gets its contact, with the installation's next number, when it is created.

use crate::StoreResult;
use async_trait::async_trait;
use ostrog_domain::clock::Millis;
use ostrog_domain::contact::NameSource;
use ostrog_domain::ids::VisitorId;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactRecord {
    pub visitor_id: VisitorId,
    /// The installation's running number of the contact, for the name
    /// shown while none is known ("Guest 47"); never reused.
    pub number: i64,
    /// The display name, sealed; `None` until one is known.
    pub name: Option<SealedName>,
    /// The phone, e-mail, company and notes, sealed together.
    pub details_sealed: Option<Vec<u8>>,
    /// The page the visitor came from and their browser, sealed together
    /// (widget visitors only).
    pub visit_sealed: Option<Vec<u8>>,
    pub updated_at: Millis,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedName {
    pub sealed: Vec<u8>,
    pub source: NameSource,
}

#[async_trait]
pub trait ContactStore: Send + Sync {
    /// The contact of a visitor not erased.
    async fn contact(&self, visitor: VisitorId) -> StoreResult<Option<ContactRecord>>;
    /// The contacts of these visitors (those erased or unknown left out),
    /// in no particular order: one query for a page of a list.
    async fn contacts(&self, visitors: &[VisitorId]) -> StoreResult<Vec<ContactRecord>>;
    /// Sets the name and replaces the terms it is found by, unless the
    /// stored name came from a source `source` may not replace
    /// (`NameSource::replaces`); false then, or when there is no contact.
    async fn set_contact_name(
        &self,
        visitor: VisitorId,
        name: &SealedName,
        terms: &[Vec<u8>],
        at: Millis,
    ) -> StoreResult<bool>;
    /// Replaces the details; false when there is no contact.
    async fn set_contact_details(&self, visitor: VisitorId, sealed: Option<&[u8]>, at: Millis) -> StoreResult<bool>;
    /// Replaces what the visitor's browser told of their visit; false when
    /// there is no contact.
    async fn set_contact_visit(&self, visitor: VisitorId, sealed: Option<&[u8]>, at: Millis) -> StoreResult<bool>;
    /// Visitors whose name holds every one of these terms, at most `limit`.
    async fn visitors_named(&self, terms: &[Vec<u8>], limit: u32) -> StoreResult<Vec<VisitorId>>;
}

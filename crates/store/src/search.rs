//! The blind-index terms conversations are found by.

use crate::StoreResult;
use async_trait::async_trait;
use ostrog_domain::ids::ConversationId;

/// A blind-index term of a word some text or note of the conversation holds.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Term {
    pub conversation: ConversationId,
    pub term: Vec<u8>,
}

#[async_trait]
pub trait SearchStore: Send + Sync {
    /// Makes the conversations findable by these terms (for
    /// `ConversationFilter::terms`); terms of conversations that no longer
    /// exist (erased meanwhile) are skipped.
    async fn add_terms(&self, terms: &[Term]) -> StoreResult<()>;
}

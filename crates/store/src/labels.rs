//! Labels and the conversations they are set on.

use crate::StoreResult;
use async_trait::async_trait;
use ostrog_domain::clock::Millis;
use ostrog_domain::ids::{ConversationId, LabelId};
use ostrog_domain::label::Colour;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelRecord {
    pub id: LabelId,
    /// Unique, case and spacing aside, among the labels not deleted.
    pub name: String,
    pub colour: Colour,
    pub created_at: Millis,
}

#[async_trait]
pub trait LabelStore: Send + Sync {
    /// `Conflict("label")` when a label of that name exists.
    async fn create_label(&self, l: &LabelRecord) -> StoreResult<()>;
    /// The labels not deleted, by name.
    async fn labels(&self) -> StoreResult<Vec<LabelRecord>>;
    /// Renames and recolours; `NotFound`, or `Conflict("label")` as on creation.
    async fn update_label(&self, l: &LabelRecord) -> StoreResult<()>;
    /// Takes the label off every conversation too.
    async fn delete_label(&self, id: LabelId, at: Millis) -> StoreResult<()>;
    /// Replaces the labels of a conversation, in one transaction; `NotFound`
    /// (and nothing changed) when the conversation or any label is unknown
    /// or deleted.
    async fn set_conversation_labels(&self, id: ConversationId, labels: &[LabelId], at: Millis) -> StoreResult<()>;
    /// The labels of these conversations, as pairs.
    async fn labels_of(&self, conversations: &[ConversationId]) -> StoreResult<Vec<(ConversationId, LabelId)>>;
    /// How many conversations that started in `[from, to)` carry each label.
    async fn label_counts(&self, from: Millis, to: Millis) -> StoreResult<Vec<(LabelId, i64)>>;
}

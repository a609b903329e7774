//! The rows of stored, scanned files (their bytes live in the data folder).

use crate::StoreResult;
use async_trait::async_trait;
use ostrog_domain::clock::Millis;
use ostrog_domain::ids::{ConversationId, FileId};
use ostrog_domain::message::Author;

/// A stored, scanned file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRecord {
    pub id: FileId,
    pub conversation_id: ConversationId,
    pub uploader: Author,
    pub name: String,
    pub content_type: String,
    pub size: u64,
    pub sha256: String,
    /// The file's key, sealed by the key of the conversation's visitor.
    pub sealed_key: Vec<u8>,
    pub created_at: Millis,
}

#[async_trait]
pub trait FileStore: Send + Sync {
    async fn create_file(&self, f: &FileRecord) -> StoreResult<()>;
    async fn file(&self, id: FileId) -> StoreResult<Option<FileRecord>>;
    async fn files_of(&self, conversation: ConversationId) -> StoreResult<Vec<FileRecord>>;
}

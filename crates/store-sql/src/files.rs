//! `FileStore` queries: the rows of stored, scanned files.

use crate::codec;
use crate::conversations::conversation_id;
use ostrog_domain::clock::Millis;
use ostrog_domain::ids::FileId;
use ostrog_store::{FileRecord, StoreError, StoreResult};

/// The statements, `$N` placeholders for both dialects.
pub(crate) mod sql {
    pub(crate) const CREATE_FILE: &str = "INSERT INTO files (id, conversation_id, uploader_kind, uploader_id, name, content_type, \
         size, sha256, sealed_key, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";
    pub(crate) const FILE: &str = "SELECT id, conversation_id, uploader_kind, uploader_id, name, content_type, size, \
         sha256, sealed_key, created_at FROM files WHERE id = $1";
    pub(crate) const FILES_OF: &str = "SELECT id, conversation_id, uploader_kind, uploader_id, name, content_type, \
         size, sha256, sealed_key, created_at FROM files WHERE conversation_id = $1 ORDER BY created_at, id";
}

#[derive(sqlx::FromRow)]
pub(crate) struct FileRow {
    id: String,
    conversation_id: String,
    uploader_kind: String,
    uploader_id: Option<String>,
    name: String,
    content_type: String,
    size: i64,
    sha256: String,
    sealed_key: Vec<u8>,
    created_at: Millis,
}

impl FileRow {
    pub(crate) fn into_record(self) -> StoreResult<FileRecord> {
        Ok(FileRecord {
            id: FileId(codec::uuid("file id", &self.id)?),
            conversation_id: conversation_id(&self.conversation_id)?,
            uploader: codec::author(&self.uploader_kind, self.uploader_id.as_deref())?,
            name: self.name,
            content_type: self.content_type,
            size: u64::try_from(self.size).map_err(|_| StoreError::Corrupt("file size".into()))?,
            sha256: self.sha256,
            sealed_key: self.sealed_key,
            created_at: self.created_at,
        })
    }
}

macro_rules! impl_file_store {
    ($store:ty, $db:ty) => {
        const _: () = {
            use async_trait::async_trait;
            use ostrog_domain::ids::{ConversationId, FileId};
            use ostrog_store::{FileRecord, FileStore, StoreError, StoreResult};
            use $crate::error::db_err;
            use $crate::files::{FileRow, sql};

            #[async_trait]
            impl FileStore for $store {
                async fn create_file(&self, f: &FileRecord) -> StoreResult<()> {
                    sqlx::query(sql::CREATE_FILE)
                        .bind(f.id.to_string())
                        .bind(f.conversation_id.to_string())
                        .bind(f.uploader.kind())
                        .bind(f.uploader.id().map(|id| id.to_string()))
                        .bind(&f.name)
                        .bind(&f.content_type)
                        .bind(i64::try_from(f.size).map_err(|_| StoreError::Corrupt("file size".into()))?)
                        .bind(&f.sha256)
                        .bind(&f.sealed_key)
                        .bind(f.created_at)
                        .execute(&self.pool)
                        .await
                        .map_err(db_err)?;
                    Ok(())
                }

                async fn file(&self, id: FileId) -> StoreResult<Option<FileRecord>> {
                    let row: Option<FileRow> = sqlx::query_as(sql::FILE)
                        .bind(id.to_string())
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(db_err)?;
                    row.map(FileRow::into_record).transpose()
                }

                async fn files_of(&self, conversation: ConversationId) -> StoreResult<Vec<FileRecord>> {
                    let rows: Vec<FileRow> = sqlx::query_as(sql::FILES_OF)
                        .bind(conversation.to_string())
                        .fetch_all(&self.pool)
                        .await
                        .map_err(db_err)?;
                    rows.into_iter().map(FileRow::into_record).collect()
                }
            }
        };
    };
}

pub(crate) use impl_file_store;

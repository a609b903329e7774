//! Receiving and serving files. An upload streams through three places at
//! once — the type check on its first bytes, clamd, and an encrypted file
//! in quarantine — and only a clean verdict moves it into storage and posts
//! it into the conversation. Nothing unscanned is ever stored or served.

use crate::app::{App, Ctx};
use crate::error::{AppError, AppResult};
use crate::files::cipher::{self, Sealer};
use crate::files::scanner::{ScanError, Verdict};
use axum::body::Bytes;
use futures_util::{Stream, StreamExt};
use ostrog_domain::access::Actor;
use ostrog_domain::audit::Outcome;
use ostrog_domain::conversation::visible_to;
use ostrog_domain::file::{Attachment, sanitize_name};
use ostrog_domain::ids::{ConversationId, FileId, MessageId, WidgetId};
use ostrog_domain::message::{Author, Body};
use ostrog_store::{Appended, FileRecord, NewMessage};
use rand::RngCore;
use serde_json::json;
use sha2::{Digest, Sha256};
use std::path::PathBuf;
use tokio::sync::mpsc;

/// Bytes looked at to decide a file's type.
const SNIFF_BYTES: usize = 8 * 1024;

/// An upload on its way in.
pub struct Upload {
    pub conversation: ConversationId,
    pub uploader: Author,
    /// As the uploader named it; kept only as sanitised display text.
    pub name: String,
}

/// A file's plaintext, as a stream, with its record.
pub type Download = (FileRecord, std::pin::Pin<Box<dyn Stream<Item = std::io::Result<Bytes>> + Send>>);

fn io(e: std::io::Error) -> AppError {
    AppError::Internal(format!("file storage: {e}"))
}

impl App {
    fn quarantine_path(&self, id: FileId) -> PathBuf {
        self.data_dir.join("quarantine").join(id.to_string())
    }

    fn stored_path(&self, id: FileId) -> PathBuf {
        self.data_dir.join("files").join(id.to_string())
    }

    /// Receives, checks, scans, stores and posts a file; the stored message.
    pub async fn receive_file<S, E>(&self, up: Upload, body: S, ctx: &Ctx) -> AppResult<Appended>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        let id = FileId::random();
        let quarantine = self.quarantine_path(id);
        let received = self.receive_into_quarantine(&quarantine, body).await;
        let (size, sha256, content_type, key, verdict) = match received {
            Ok(done) => done,
            Err(e) => {
                let _ = tokio::fs::remove_file(&quarantine).await;
                return Err(e);
            }
        };
        let name = sanitize_name(&up.name);
        let details = json!({"conversation": up.conversation, "name": name, "size": size, "sha256": sha256});
        match verdict {
            Ok(Verdict::Clean) => {}

            Ok(Verdict::Infected(signature)) => {
                let _ = tokio::fs::remove_file(&quarantine).await;
                let mut details = details;
                details["signature"] = json!(signature);
                details["uploader"] = json!({"kind": up.uploader.kind(), "id": up.uploader.id()});
                self.audit(ctx, "file.infected", Some(id.to_string()), Outcome::Denied, details).await?;
                tracing::warn!(signature = %signature, "an uploaded file carried malware and was refused");
                return Err(AppError::FileInfected(signature));
            }
            Err(e) => {
                let _ = tokio::fs::remove_file(&quarantine).await;
                tracing::warn!(error = %e, "an upload could not be scanned and was refused");
                return Err(AppError::ScanningUnavailable);
            }
        }
        let content_type = match content_type {
            Ok(t) => t,
            Err(e) => {
                let _ = tokio::fs::remove_file(&quarantine).await;
                return Err(e);
            }
        };
        tokio::fs::rename(&quarantine, self.stored_path(id)).await.map_err(io)?;
        let record = FileRecord {
            id,
            conversation_id: up.conversation,
            uploader: up.uploader,
            name: name.clone(),
            content_type: content_type.clone(),
            size,
            sha256,
            sealed_key: self.vault.seal(&file_key_purpose(id), &key),
            created_at: self.now(),
        };
        self.store.create_file(&record).await?;
        let attachment = Attachment { file_id: id, name, size, content_type };
        let message = NewMessage {
            id: MessageId::random(),
            conversation_id: up.conversation,
            client_key: None,
            author: up.uploader,
            body: Body::File(attachment),
            at: self.now(),
        };
        self.realtime.writer.write(message).await
    }

    /// Streams the body to quarantine (encrypted) and to clamd at once.
    /// Returns size, SHA-256, the type check, the file's key and the
    /// verdict. A wrong type is reported only after the verdict, so that
    /// malware is always recognised and audited as such.
    async fn receive_into_quarantine<S, E>(
        &self,
        path: &std::path::Path,
        mut body: S,
    ) -> AppResult<(u64, String, AppResult<String>, [u8; 32], Result<Verdict, ScanError>)>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        let Some(scanner) = self.scanner.clone() else {
            return Err(AppError::ScanningUnavailable);
        };
        for dir in ["quarantine", "files"] {
            tokio::fs::create_dir_all(self.data_dir.join(dir)).await.map_err(io)?;
        }
        let mut key = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut key);
        let mut sealer = Sealer::new(&key, tokio::fs::File::create(path).await.map_err(io)?);
        let (to_clamd, chunks) = mpsc::channel::<Bytes>(16);
        let scan = tokio::spawn(async move { scanner.scan(chunks).await });
        let (mut size, mut hash, mut head) = (0u64, Sha256::new(), Vec::with_capacity(SNIFF_BYTES));
        let mut content_type: Option<AppResult<String>> = None;
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| {
                tracing::debug!(error = %e, "an upload broke off");
                AppError::Domain(ostrog_domain::DomainError::Invalid("file"))
            })?;
            size += chunk.len() as u64;
            if size > self.files.max_bytes {
                scan.abort();
                return Err(AppError::FileTooLarge(self.files.max_bytes));
            }
            if content_type.is_none() {
                head.extend_from_slice(&chunk[..chunk.len().min(SNIFF_BYTES - head.len().min(SNIFF_BYTES))]);
                if head.len() >= SNIFF_BYTES {
                    content_type = Some(self.allowed_type(&head));
                }
            }
            hash.update(&chunk);
            sealer.push(&chunk).await.map_err(io)?;
            // clamd gone mid-stream: the verdict below says why.
            let _ = to_clamd.send(chunk).await;
        }
        let content_type = content_type.unwrap_or_else(|| self.allowed_type(&head));
        drop(to_clamd);
        sealer.finish().await.map_err(io)?;
        let verdict = scan.await.unwrap_or(Err(ScanError::Unavailable("scan task failed".into())));
        Ok((size, hex::encode(hash.finalize()), content_type, key, verdict))
    }

    /// The type the content says it is, if it is an allowed one.
    fn allowed_type(&self, head: &[u8]) -> AppResult<String> {
        let detected = infer::get(head).map(|t| t.mime_type().to_string());
        match detected {
            Some(t) if self.files.allowed_types.iter().any(|a| a == &t) => Ok(t),
            Some(t) => Err(AppError::FileTypeNotAllowed(t)),
            None => Err(AppError::FileTypeNotAllowed("unknown".into())),
        }
    }

    /// A file for an employee: `Forbidden` unless they may see its conversation.
    pub async fn employee_file(&self, actor: &Actor, id: FileId) -> AppResult<Download> {
        let record = self.store.file(id).await?.ok_or(AppError::NotFound)?;
        let c = self.store.conversation(record.conversation_id).await?.ok_or(AppError::NotFound)?;
        if !visible_to(actor, c.operator) {
            return Err(AppError::Forbidden);
        }
        self.open_file(record).await
    }

    /// A file for a visitor: `Forbidden` unless it is in their conversation.
    pub async fn visitor_file(&self, widget: WidgetId, token: &str, id: FileId) -> AppResult<Download> {
        let c = self.visitor_conversation(widget, token).await?;
        let record = self.store.file(id).await?.ok_or(AppError::NotFound)?;
        if record.conversation_id != c.id {
            return Err(AppError::Forbidden);
        }
        self.open_file(record).await
    }

    async fn open_file(&self, record: FileRecord) -> AppResult<Download> {
        let key = self.vault.open_sealed(&file_key_purpose(record.id), &record.sealed_key)?;
        let key: [u8; 32] = key.as_slice().try_into().map_err(|_| AppError::Internal("file key length".into()))?;
        let stream = cipher::open(&key, &self.stored_path(record.id)).await.map_err(io)?;
        Ok((record, Box::pin(stream)))
    }
}

fn file_key_purpose(id: FileId) -> String {
    format!("file-key:{id}")
}

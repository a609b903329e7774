//! Receiving and serving files. An upload streams through three places at
//! once — the type check on its first bytes, clamd, and an encrypted file
//! in quarantine — and only a clean verdict moves it into storage and posts
//! it into the conversation. Nothing unscanned is ever stored or served.

use crate::app::{App, Ctx};
use crate::error::{AppError, AppResult};
use crate::files::cipher::{self, Part, Sealer};
use crate::files::scanner::{ScanError, Verdict};
use crate::files::thumbnail;
use crate::realtime::frames;
use crate::services::caller::Caller;
use axum::body::Bytes;
use futures_util::{Stream, StreamExt, TryStreamExt};
use ostrog_domain::archive::{self, Reading};
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
    /// Makes the file's message happen once (a messenger's repeated update).
    pub client_key: Option<String>,
}

/// What receiving an upload into quarantine found.
struct Quarantined {
    size: u64,
    sha256: String,
    /// The type check, reported after the verdict.
    content_type: AppResult<String>,
    key: [u8; 32],
    verdict: Result<Verdict, ScanError>,
    archive: Reading,
}

/// A file's plaintext, as a stream.
pub type FileStream = std::pin::Pin<Box<dyn Stream<Item = std::io::Result<Bytes>> + Send>>;
/// A file (or its thumbnail) with its record.
pub type Download = (FileRecord, FileStream);

fn io(e: std::io::Error) -> AppError {
    AppError::Internal(format!("file storage: {e}"))
}

impl App {
    fn quarantine_path(&self, id: FileId) -> PathBuf {
        self.data_dir.join("quarantine").join(id.to_string())
    }

    pub(crate) fn stored_path(&self, id: FileId, part: Part) -> PathBuf {
        let name = match part {
            Part::Original => id.to_string(),
            Part::Thumbnail => format!("{id}.thumb"),
        };
        self.data_dir.join("files").join(name)
    }

    /// Receives, checks, scans, stores and posts a file; the stored message.
    pub async fn receive_file<S, E>(&self, up: Upload, body: S, ctx: &Ctx) -> AppResult<Appended>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        let id = FileId::random();
        // Whatever happens — an error, a timeout, the client going away and
        // this future being dropped — nothing half-received stays on disk.
        let mut leftovers = Leftovers(vec![
            self.quarantine_path(id),
            self.stored_path(id, Part::Original),
            self.stored_path(id, Part::Thumbnail),
        ]);
        let Quarantined { size, sha256, content_type, key, verdict, archive } =
            self.receive_into_quarantine(&self.quarantine_path(id), body).await?;
        let name = sanitize_name(&up.name);
        match verdict {
            Ok(Verdict::Clean) => {}
            Ok(Verdict::Infected(signature)) => {
                let mut details = json!({
                    "conversation": up.conversation, "size": size, "sha256": sha256,
                    "signature": signature, "file_id": id,
                    "uploader": {"kind": up.uploader.kind(), "id": up.uploader.id()},
                });
                // A file's name may be personal data: it is kept out of the
                // audit log, and only shown to whoever is alerted now.
                self.audit(ctx, "file.infected", Some(id.to_string()), Outcome::Denied, details.clone()).await?;
                details["name"] = json!(name);
                self.realtime.hub.publish_alert(frames::alert("file.infected", &details));
                tracing::warn!(signature = %signature, "an uploaded file carried malware and was refused");
                return Err(AppError::FileInfected(signature));
            }
            Err(e) => {
                tracing::warn!(error = %e, "an upload could not be scanned and was refused");
                return Err(AppError::ScanningUnavailable);
            }
        }
        self.refuse_bombs(ctx, &up, id, size, archive).await?;
        let content_type = content_type?;
        tokio::fs::rename(self.quarantine_path(id), self.stored_path(id, Part::Original)).await.map_err(io)?;
        let thumbnail = thumbnail::applies_to(&content_type) && self.make_thumbnail(id, &key).await;
        let subject = self.ledger.key_of(up.conversation, true).await?;
        let record = FileRecord {
            id,
            conversation_id: up.conversation,
            uploader: up.uploader,
            // A name says much ("Ivanov_passport.pdf"): sealed like the rest.
            name: format!("{SEALED_NAME}{}", hex::encode(subject.seal(&file_name_purpose(id), name.as_bytes()))),
            content_type: content_type.clone(),
            size,
            sha256,
            sealed_key: subject.seal(&file_key_purpose(id), &key),
            created_at: self.now(),
        };
        self.store.create_file(&record).await?;
        leftovers.0.clear();
        let attachment = Attachment { file_id: id, name, size, content_type, thumbnail };
        let message = NewMessage {
            id: MessageId::random(),
            conversation_id: up.conversation,
            client_key: up.client_key,
            author: up.uploader,
            body: Body::File(attachment),
            at: self.now(),
        };
        self.realtime.writer.write(message).await
    }

    /// An archive that unpacks to far more than it weighs is refused and
    /// audited (clamd trims such entries and calls them clean), as is one
    /// whose directory is too large to read.
    async fn refuse_bombs(&self, ctx: &Ctx, up: &Upload, id: FileId, size: u64, archive: Reading) -> AppResult<()> {
        let unpacked = match archive {
            Reading::Archive(c) if archive::is_bomb(size, c.unpacked) => Some(c.unpacked),
            Reading::TooManyEntries => None,
            _ => return Ok(()),
        };
        let details = json!({
            "conversation": up.conversation, "size": size, "unpacked": unpacked, "file_id": id,
            "reason": if unpacked.is_some() { "unpacks_too_far" } else { "too_many_entries" },
            "uploader": {"kind": up.uploader.kind(), "id": up.uploader.id()},
        });
        self.audit(ctx, "file.refused", Some(id.to_string()), Outcome::Denied, details).await?;
        tracing::warn!(size, unpacked, "an uploaded archive unpacks too far and was refused");
        Err(AppError::ArchiveTooLarge(archive::MAX_UNPACKED))
    }

    /// Streams the body to quarantine (encrypted) and to clamd at once,
    /// keeping its start (for the type) and its end (for an archive's
    /// directory). A wrong type is reported only after the verdict, so that
    /// malware is always recognised and audited as such.
    async fn receive_into_quarantine<S, E>(&self, path: &std::path::Path, mut body: S) -> AppResult<Quarantined>
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
        let file = tokio::fs::File::create(path).await.map_err(io)?.into_std().await;
        // clamd, and hashing with encryption, each get a task of their own
        // fed with the same chunks, so that they overlap instead of adding up.
        let (to_clamd, chunks) = mpsc::channel::<Bytes>(16);
        let scan = tokio::spawn(async move { scanner.scan(chunks).await });
        let (to_keeper, kept) = mpsc::channel::<Bytes>(16);
        let keeper = tokio::task::spawn_blocking(move || keep(key, file, kept));
        let (mut size, mut head, mut tail) = (0u64, Vec::with_capacity(SNIFF_BYTES), Vec::new());
        let mut content_type: Option<AppResult<String>> = None;
        while let Some(chunk) = body.next().await {
            let chunk = match chunk {
                Ok(c) if size + c.len() as u64 <= self.files.max_bytes => Ok(c),
                Ok(_) => Err(AppError::FileTooLarge(self.files.max_bytes)),
                Err(e) => {
                    tracing::debug!(error = %e, "an upload broke off");
                    Err(AppError::Domain(ostrog_domain::DomainError::Invalid("file")))
                }
            }
            // Returning drops the senders: the keeper stops at once, and the
            // caller removes what it wrote.
            .inspect_err(|_| scan.abort())?;
            size += chunk.len() as u64;
            if content_type.is_none() {
                head.extend_from_slice(&chunk[..chunk.len().min(SNIFF_BYTES - head.len())]);
                if head.len() >= SNIFF_BYTES {
                    content_type = Some(self.allowed_type(&head));
                }
            }
            tail.extend_from_slice(&chunk[chunk.len().saturating_sub(archive::TAIL_BYTES)..]);
            if tail.len() > 2 * archive::TAIL_BYTES {
                tail.drain(..tail.len() - archive::TAIL_BYTES);
            }
            // clamd gone mid-stream: the verdict below says why.
            let _ = to_clamd.send(chunk.clone()).await;
            if to_keeper.send(chunk).await.is_err() {
                break; // the keeper failed; its error is reported below
            }
        }
        let content_type = content_type.unwrap_or_else(|| self.allowed_type(&head));
        drop((to_clamd, to_keeper));
        let sha256 = keeper.await.map_err(|e| AppError::Internal(format!("file keeper: {e}")))?.map_err(io)?;
        let verdict = scan.await.unwrap_or(Err(ScanError::Unavailable("scan task failed".into())));
        let archive = archive::read(&head, &tail, size);
        Ok(Quarantined { size, sha256, content_type, key, verdict, archive })
    }

    /// Makes the thumbnail of a stored (so scanned and clean) image; whether
    /// there is one. A picture that cannot be decoded simply has none.
    async fn make_thumbnail(&self, id: FileId, key: &[u8; 32]) -> bool {
        let original = match cipher::open(key, Part::Original, &self.stored_path(id, Part::Original)).await {
            Ok(stream) => stream.try_collect::<Vec<Bytes>>().await.map(|chunks| chunks.concat()),
            Err(e) => Err(e),
        };
        let (key, path) = (*key, self.stored_path(id, Part::Thumbnail));
        let made = tokio::task::spawn_blocking(move || -> Result<(), String> {
            let jpeg = thumbnail::make(&original.map_err(|e| e.to_string())?).map_err(|e| e.to_string())?;
            let mut sealer =
                Sealer::new(&key, Part::Thumbnail, std::fs::File::create(&path).map_err(|e| e.to_string())?);
            sealer.push(&jpeg).and_then(|()| sealer.finish()).map_err(|e| e.to_string())
        })
        .await;
        match made {
            Ok(Ok(())) => true,
            Ok(Err(e)) => {
                tracing::info!(error = %e, "no thumbnail for an uploaded image");
                false
            }
            Err(e) => {
                tracing::warn!(error = %e, "the thumbnail task failed");
                false
            }
        }
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

    /// A file for an employee: `Forbidden` unless they may see its
    /// conversation. The read is recorded in the personal-data access trail.
    pub async fn employee_file(&self, caller: &Caller, id: FileId, part: Part) -> AppResult<Download> {
        let record = self.store.file(id).await?.ok_or(AppError::NotFound)?;
        let c = self.store.conversation(record.conversation_id).await?.ok_or(AppError::NotFound)?;
        if !visible_to(&caller.actor, c.operator) {
            return Err(AppError::Forbidden);
        }
        let details = json!({"conversation": c.id, "file_id": id, "thumbnail": part == Part::Thumbnail});
        self.record_access(&caller.ctx(), c.visitor_id, "file.read", details).await?;
        self.open_file(record, part).await
    }

    /// A file for a visitor: `Forbidden` unless it is in their conversation.
    pub async fn visitor_file(&self, widget: WidgetId, token: &str, id: FileId, part: Part) -> AppResult<Download> {
        let c = self.visitor_conversation(widget, token).await?;
        let record = self.store.file(id).await?.ok_or(AppError::NotFound)?;
        if record.conversation_id != c.id {
            return Err(AppError::Forbidden);
        }
        self.open_file(record, part).await
    }

    /// The file's bytes, decrypted as they stream, and its record with the name opened.
    pub(crate) async fn open_file(&self, mut record: FileRecord, part: Part) -> AppResult<Download> {
        let subject = self.ledger.key_of(record.conversation_id, false).await?;
        // Names stored before they were sealed have no prefix.
        if let Some(hexed) = record.name.strip_prefix(SEALED_NAME) {
            let sealed = hex::decode(hexed).map_err(|_| AppError::Internal("a sealed file name".into()))?;
            let name = subject.open(&file_name_purpose(record.id), &sealed)?;
            record.name = String::from_utf8_lossy(&name).into_owned();
        }
        let purpose = file_key_purpose(record.id);
        // Keys of files stored before subjects had keys were sealed as installation secrets.
        let key = match subject.open(&purpose, &record.sealed_key) {
            Ok(key) => key,
            Err(_) => self.vault.open_sealed(&purpose, &record.sealed_key)?,
        };
        let key: [u8; 32] = key.as_slice().try_into().map_err(|_| AppError::Internal("file key length".into()))?;
        let stream = match cipher::open(&key, part, &self.stored_path(record.id, part)).await {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && part == Part::Thumbnail => {
                return Err(AppError::NotFound);
            }
            opened => opened.map_err(io)?,
        };
        Ok((record, Box::pin(stream)))
    }
}

/// Files an upload may have written, removed unless it was stored in full.
struct Leftovers(Vec<PathBuf>);

impl Drop for Leftovers {
    fn drop(&mut self) {
        for path in &self.0 {
            // Quick, and must also happen when the future is dropped.
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Hashes and encrypts what arrives on `chunks` into `file`; the SHA-256.
/// Runs on a blocking thread: CPU work and file writes, no awaits.
fn keep(key: [u8; 32], file: std::fs::File, mut chunks: mpsc::Receiver<Bytes>) -> std::io::Result<String> {
    let (mut sealer, mut hash) = (Sealer::new(&key, Part::Original, file), Sha256::new());
    while let Some(chunk) = chunks.blocking_recv() {
        hash.update(&chunk);
        sealer.push(&chunk)?;
    }
    sealer.finish()?;
    Ok(hex::encode(hash.finalize()))
}

/// What a sealed file name starts with (hex of the sealed bytes follows).
const SEALED_NAME: &str = "sealed:";

fn file_name_purpose(id: FileId) -> String {
    format!("file-name:{id}")
}

fn file_key_purpose(id: FileId) -> String {
    format!("file-key:{id}")
}

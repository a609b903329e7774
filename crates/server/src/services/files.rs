//! Receiving and serving files. An upload streams through three places at
//! once — the type check on its first bytes, clamd, and an encrypted file
//! in quarantine — and only a clean verdict moves it into storage and posts
//! it into the conversation. Nothing unscanned is ever stored or served.

use crate::config::FilesConfig;
use crate::error::{AppError, AppResult};
use crate::files::cipher::{self, Part, Sealer};
use crate::files::scanner::{Detection, ScanError, Scanner, Verdict};
use crate::files::self_test::Health;
use crate::files::thumbnail;
use crate::keys::purpose::Purpose;
use crate::keys::{Ledger, Vault};
use crate::realtime::frames;
use crate::realtime::hub::Hub;
use crate::realtime::writer::Writer;
use crate::services::auditor::{Auditor, Ctx};
use crate::services::caller::Caller;
use crate::services::visitors::Visitors;
use axum::body::Bytes;
use futures_util::{Stream, StreamExt, TryStreamExt};
use ostrog_domain::archive;
use ostrog_domain::audit::Action;
use ostrog_domain::audit::Outcome;
use ostrog_domain::clock::Clock;
use ostrog_domain::conversation::visible_to;
use ostrog_domain::file::{Attachment, sanitize_name};
use ostrog_domain::ids::{ConversationId, FileId, MessageId, WidgetId};
use ostrog_domain::message::{Author, Body};
use ostrog_store::{Appended, ConversationStore, FileRecord, FileStore, NewMessage};
use rand::RngCore;
use serde_json::json;
use sha2::{Digest, Sha256};
use std::path::PathBuf;
use std::sync::Arc;
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
    check: Check,
}

/// What decided whether an upload may in.
enum Check {
    Scanned(Result<Verdict, ScanError>),
    /// An archive refused by Ostrog's own reading, before clamd saw it.
    Refused(archive::Refusal),
}

/// A file's plaintext, as a stream.
pub type FileStream = std::pin::Pin<Box<dyn Stream<Item = std::io::Result<Bytes>> + Send>>;
/// A file (or its thumbnail) with its record.
pub type Download = (FileRecord, FileStream);

fn io(e: std::io::Error) -> AppError {
    AppError::Internal(format!("file storage: {e}"))
}

pub struct Files {
    files: Arc<dyn FileStore>,
    conversations: Arc<dyn ConversationStore>,
    ledger: Arc<Ledger>,
    vault: Arc<Vault>,
    writer: Writer,
    hub: Arc<Hub>,
    auditor: Arc<Auditor>,
    clock: Arc<dyn Clock>,
    visitors: Arc<Visitors>,
    scanner: Option<Scanner>,
    /// Sizes, types and time an upload may take (`files`).
    limits: FilesConfig,
    /// What an uploaded archive may hold (files and scanner settings).
    archive_limits: archive::Limits,
    /// Where files are kept: `<data_dir>/files` and `<data_dir>/quarantine`.
    data_dir: PathBuf,
}

/// What `Files` is built from.
pub struct Parts {
    pub files: Arc<dyn FileStore>,
    pub conversations: Arc<dyn ConversationStore>,
    pub ledger: Arc<Ledger>,
    pub vault: Arc<Vault>,
    pub writer: Writer,
    pub hub: Arc<Hub>,
    pub auditor: Arc<Auditor>,
    pub clock: Arc<dyn Clock>,
    pub visitors: Arc<Visitors>,
    pub scanner: Option<Scanner>,
    pub limits: FilesConfig,
    pub archive_limits: archive::Limits,
    pub data_dir: PathBuf,
}

impl Files {
    pub fn new(p: Parts) -> Self {
        Self {
            files: p.files,
            conversations: p.conversations,
            ledger: p.ledger,
            vault: p.vault,
            writer: p.writer,
            hub: p.hub,
            auditor: p.auditor,
            clock: p.clock,
            visitors: p.visitors,
            scanner: p.scanner,
            limits: p.limits,
            archive_limits: p.archive_limits,
            data_dir: p.data_dir,
        }
    }

    fn now(&self) -> i64 {
        self.clock.now()
    }

    /// The virus scanner; `None` when scanning is off (and uploads refused).
    pub fn scanner(&self) -> Option<&Scanner> {
        self.scanner.as_ref()
    }

    /// Sizes, types and time an upload may take.
    pub fn limits(&self) -> &FilesConfig {
        &self.limits
    }

    /// A stored file by id.
    pub async fn get(&self, id: FileId) -> AppResult<Option<FileRecord>> {
        Ok(self.files.file(id).await?)
    }

    fn quarantine_path(&self, id: FileId) -> PathBuf {
        self.data_dir.join("quarantine").join(id.to_string())
    }

    pub(crate) fn stored_path(&self, id: FileId, part: Part) -> PathBuf {
        crate::files::stored_path(&self.data_dir, id, part)
    }

    /// A conversation's files as uploaded: each record with its name
    /// opened, and its bytes decrypted (for a subject's export).
    pub async fn originals_of(&self, conversation: ConversationId) -> AppResult<Vec<(FileRecord, Vec<u8>)>> {
        let mut files = vec![];
        for f in self.files.files_of(conversation).await? {
            let (f, mut stream) = self.open_file(f, Part::Original).await?;
            let mut bytes = vec![];
            while let Some(chunk) = stream.next().await {
                bytes.extend_from_slice(&chunk.map_err(|e| AppError::Internal(e.to_string()))?);
            }
            files.push((f, bytes));
        }
        Ok(files)
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
        let Quarantined { size, sha256, content_type, key, check } =
            self.receive_into_quarantine(&self.quarantine_path(id), body).await?;
        let name = sanitize_name(&up.name);
        let file = Received { conversation: up.conversation, uploader: up.uploader, id, size };
        match check {
            Check::Refused(refusal) => return Err(self.refuse(ctx, file, (&refusal).into()).await),
            Check::Scanned(Ok(Verdict::Clean)) => {}
            Check::Scanned(Ok(Verdict::Infected(detection))) => {
                return Err(match limit_reason(&detection.signature) {
                    Some(reason) => self.refuse(ctx, file, reason).await,
                    None => self.infected(ctx, file, &sha256, &name, detection).await,
                });
            }
            Check::Scanned(Err(e)) => {
                tracing::warn!(error = %e, "an upload could not be scanned and was refused");
                return Err(AppError::ScanningUnavailable);
            }
        }
        let content_type = content_type?;
        let name = ostrog_domain::file::name_for_type(&name, &content_type);
        tokio::fs::rename(self.quarantine_path(id), self.stored_path(id, Part::Original)).await.map_err(io)?;
        let thumbnail = thumbnail::applies_to(&content_type) && self.make_thumbnail(id, &key).await;
        let subject = self.ledger.key_of(up.conversation, true).await?;
        let record = FileRecord {
            id,
            conversation_id: up.conversation,
            uploader: up.uploader,
            // A name says much ("Ivanov_passport.pdf"): sealed like the rest.
            name: format!("{SEALED_NAME}{}", hex::encode(subject.seal(&Purpose::FileName(id), name.as_bytes()))),
            content_type: content_type.clone(),
            size,
            sha256,
            sealed_key: subject.seal(&Purpose::FileKey(id), &key),
            created_at: self.now(),
        };
        self.files.create_file(&record).await?;
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
        self.writer.write(message).await
    }

    /// Audits malware stopped and alerts whoever watches (holders of
    /// `settings.manage`) at once.
    async fn infected(&self, ctx: &Ctx, r: Received, sha256: &str, name: &str, found: Detection) -> AppError {
        let Detection { engine, signature } = found;
        let mut details = json!({
            "conversation": r.conversation, "size": r.size, "sha256": sha256,
            "signature": signature, "engine": engine, "file_id": r.id,
            "uploader": {"kind": r.uploader.kind(), "id": r.uploader.id()},
        });
        // A file's name may be personal data: it is kept out of the audit
        // log, and only shown to whoever is alerted now.
        if let Err(e) = self
            .auditor
            .audit(ctx, Action::FileInfected, Some(r.id.to_string()), Outcome::Denied, details.clone())
            .await
        {
            return e;
        }
        details["name"] = json!(name);
        self.hub.publish_alert(frames::alert("file.infected", &details));
        tracing::warn!(signature = %signature, engine = %engine, "an uploaded file carried malware and was refused");
        AppError::FileInfected(signature)
    }

    /// Audits a file refused for what it is (not malware) and says why.
    async fn refuse(&self, ctx: &Ctx, r: Received, reason: crate::error::ErrorCode) -> AppError {
        let details = json!({
            "conversation": r.conversation, "size": r.size, "file_id": r.id, "reason": reason,
            "uploader": {"kind": r.uploader.kind(), "id": r.uploader.id()},
        });
        if let Err(e) =
            self.auditor.audit(ctx, Action::FileRefused, Some(r.id.to_string()), Outcome::Denied, details).await
        {
            return e;
        }
        tracing::info!(
            reason = reason.as_str(),
            size = r.size,
            "an upload that could not be checked whole was refused"
        );
        match reason {
            crate::error::ErrorCode::ArchiveTooLarge => AppError::ArchiveTooLarge(self.archive_limits.total_bytes),
            reason => AppError::FileRefused(reason),
        }
    }

    /// Streams the body to quarantine (encrypted), keeping its start for
    /// the type check. Any other file streams to clamd at once, so that the
    /// scan overlaps the upload; an archive is held whole instead and read
    /// by Ostrog first (clamd would trim or skip what it cannot read whole),
    /// so a refused archive never reaches clamd. A wrong type is reported
    /// only after the verdict, so that malware is always recognised and
    /// audited as such.
    async fn receive_into_quarantine<S, E>(&self, path: &std::path::Path, mut body: S) -> AppResult<Quarantined>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        let Some(scanner) = self.scanner.clone() else {
            return Err(AppError::ScanningUnavailable);
        };
        let refusal = match scanner.ready_for_uploads().await {
            Health::Passed => None,
            Health::Misconfigured(_) => Some(AppError::ScannerMisconfigured),
            Health::Untested | Health::Unavailable => Some(AppError::ScanningUnavailable),
        };
        if let Some(refusal) = refusal {
            // Read to the end (and forget) first: an answer before the body
            // is read leaves the client's connection broken for what follows.
            let mut read = 0u64;
            while let Some(Ok(chunk)) = body.next().await {
                read += chunk.len() as u64;
                if read > self.limits.max_bytes {
                    break;
                }
            }
            return Err(refusal);
        }
        for dir in ["quarantine", "files"] {
            ostrog_store_sql::private::create_dir(&self.data_dir.join(dir)).map_err(io)?;
        }
        let mut key = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut key);
        let file = private_new_file(path).map_err(io)?;
        // Hashing with encryption gets a task of its own, fed with the same
        // chunks as clamd, so that they overlap instead of adding up.
        let (to_keeper, kept) = mpsc::channel::<Bytes>(16);
        let keeper = tokio::task::spawn_blocking(move || keep(key, file, kept));
        let mut feed = Feed::Undecided(Vec::new());
        let (mut size, mut head) = (0u64, Vec::with_capacity(SNIFF_BYTES));
        let mut content_type: Option<AppResult<String>> = None;
        while let Some(chunk) = body.next().await {
            // Returning drops the senders: the keeper and clamd stop at once,
            // and the caller removes what was written.
            let chunk = match chunk {
                Ok(c) if size + c.len() as u64 <= self.limits.max_bytes => c,
                Ok(_) => return Err(AppError::FileTooLarge(self.limits.max_bytes)),
                Err(e) => {
                    tracing::debug!(error = %e, "an upload broke off");
                    return Err(AppError::Domain(ostrog_domain::DomainError::Invalid("file")));
                }
            };
            size += chunk.len() as u64;
            if content_type.is_none() {
                head.extend_from_slice(&chunk[..chunk.len().min(SNIFF_BYTES - head.len())]);
                if head.len() >= SNIFF_BYTES {
                    content_type = Some(self.allowed_type(&head));
                }
            }
            feed.push(&scanner, &head, chunk.clone()).await;
            if to_keeper.send(chunk).await.is_err() {
                break; // the keeper failed; its error is reported below
            }
        }
        let content_type = content_type.unwrap_or_else(|| self.allowed_type(&head));
        drop(to_keeper);
        let sha256 = keeper.await.map_err(|e| AppError::Internal(format!("file keeper: {e}")))?.map_err(io)?;
        let check = feed.finish(&scanner, &head, self.archive_limits).await;
        Ok(Quarantined { size, sha256, content_type, key, check })
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
            let mut sealer = Sealer::new(&key, Part::Thumbnail, private_new_file(&path).map_err(|e| e.to_string())?);
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
            Some(t) if self.limits.allowed_types.iter().any(|a| a == &t) => Ok(t),
            Some(t) => Err(AppError::FileTypeNotAllowed(t)),
            None => Err(AppError::FileTypeNotAllowed("unknown".into())),
        }
    }

    /// A file for an employee: `Forbidden` unless they may see its
    /// conversation. The read is recorded in the personal-data access trail.
    pub async fn employee_file(&self, caller: &Caller, id: FileId, part: Part) -> AppResult<Download> {
        let record = self.files.file(id).await?.ok_or(AppError::NotFound)?;
        let c = self.conversations.conversation(record.conversation_id).await?.ok_or(AppError::NotFound)?;
        if !visible_to(&caller.actor, c.operator) {
            return Err(AppError::Forbidden);
        }
        let details = json!({"conversation": c.id, "file_id": id, "thumbnail": part == Part::Thumbnail});
        self.auditor.record_access(&caller.ctx(), c.visitor_id, Action::FileRead, details).await?;
        self.open_file(record, part).await
    }

    /// A file for a visitor: `Forbidden` unless it is in their conversation.
    pub async fn visitor_file(&self, widget: WidgetId, token: &str, id: FileId, part: Part) -> AppResult<Download> {
        let c = self.visitors.visitor_conversation(widget, token).await?;
        let record = self.files.file(id).await?.ok_or(AppError::NotFound)?;
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
            let name = subject.open(&Purpose::FileName(record.id), &sealed)?;
            record.name = String::from_utf8_lossy(&name).into_owned();
        }
        let purpose = Purpose::FileKey(record.id);
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

/// A file received and refused, for the audit log.
struct Received {
    conversation: ConversationId,
    uploader: Author,
    id: FileId,
    size: u64,
}

/// clamd's own refusals that are not malware: a limit it reached, an
/// archive it could not open.
fn limit_reason(signature: &str) -> Option<crate::error::ErrorCode> {
    if signature.starts_with("Heuristics.Limits.Exceeded") {
        Some(crate::error::ErrorCode::ScanLimits)
    } else if signature.starts_with("Heuristics.Encrypted") {
        Some(crate::error::ErrorCode::ArchiveEncrypted)
    } else {
        None
    }
}

/// Where an upload's bytes go besides quarantine: decided by its first bytes.
enum Feed {
    /// Fewer bytes than an archive's signature have arrived.
    Undecided(Vec<Bytes>),
    /// Not an archive: streamed to clamd as it arrives.
    Streaming(mpsc::Sender<Bytes>, tokio::task::JoinHandle<Result<Verdict, ScanError>>),
    /// An archive: held whole until Ostrog has read it.
    Holding(Vec<u8>),
}

impl Feed {
    async fn push(&mut self, scanner: &Scanner, head: &[u8], chunk: Bytes) {
        match self {
            Feed::Undecided(pending) => {
                pending.push(chunk);
                if head.len() >= 4 {
                    self.decide(scanner, head).await;
                }
            }
            // clamd gone mid-stream: the verdict says why.
            Feed::Streaming(to_clamd, _) => drop(to_clamd.send(chunk).await),
            Feed::Holding(whole) => whole.extend_from_slice(&chunk),
        }
    }

    async fn decide(&mut self, scanner: &Scanner, head: &[u8]) {
        if !matches!(self, Feed::Undecided(_)) {
            return;
        }
        let Feed::Undecided(pending) = std::mem::replace(self, Feed::Holding(Vec::new())) else {
            return;
        };
        if archive::is_archive(head) {
            *self = Feed::Holding(pending.concat());
            return;
        }
        let (to_clamd, chunks) = mpsc::channel::<Bytes>(16);
        let scanner = scanner.clone();
        let scan = tokio::spawn(async move { scanner.scan(chunks).await });
        for chunk in pending {
            let _ = to_clamd.send(chunk).await;
        }
        *self = Feed::Streaming(to_clamd, scan);
    }

    /// The verdict, once the whole upload has arrived.
    async fn finish(mut self, scanner: &Scanner, head: &[u8], limits: archive::Limits) -> Check {
        self.decide(scanner, head).await;
        match self {
            Feed::Streaming(to_clamd, scan) => {
                drop(to_clamd);
                Check::Scanned(scan.await.unwrap_or(Err(ScanError::Unavailable("scan task failed".into()))))
            }
            Feed::Holding(whole) => {
                let whole = Bytes::from(whole);
                let read = whole.clone();
                match tokio::task::spawn_blocking(move || archive::inspect(&read, &limits)).await {
                    Ok(Ok(_)) => Check::Scanned(scanner.scan_bytes(whole).await),
                    Ok(Err(refusal)) => Check::Refused(refusal),
                    Err(_) => Check::Refused(archive::Refusal::Unreadable),
                }
            }
            Feed::Undecided(_) => Check::Scanned(Err(ScanError::Unavailable("no verdict".into()))),
        }
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

/// A new, empty file only the service can open (an earlier one is emptied).
fn private_new_file(path: &std::path::Path) -> std::io::Result<std::fs::File> {
    let file = ostrog_store_sql::private::create_file(path)?;
    file.set_len(0)?;
    Ok(file)
}

/// What a sealed file name starts with (hex of the sealed bytes follows).
const SEALED_NAME: &str = "sealed:";

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::services::testing::{Harness, START};
    use ostrog_domain::role::Role;
    use ostrog_store::{AuditFilter, Trail};

    fn record(conversation: ConversationId) -> FileRecord {
        FileRecord {
            id: FileId::random(),
            conversation_id: conversation,
            uploader: Author::System,
            name: "a.png".into(),
            content_type: "image/png".into(),
            size: 3,
            sha256: String::new(),
            sealed_key: Vec::new(),
            created_at: START,
        }
    }

    #[tokio::test]
    async fn without_a_scanner_an_upload_is_refused_before_anything_is_kept() {
        let t = Harness::new().await;
        let chat = t.chat().await;
        let c = chat.queued().await;
        let up = Upload {
            conversation: c.id,
            uploader: Author::Visitor(c.visitor_id),
            name: "a.png".into(),
            client_key: None,
        };
        let body = futures_util::stream::iter([Ok::<_, std::io::Error>(Bytes::from_static(b"\x89PNG\r\n\x1a\n"))]);
        let refused = chat.files.receive_file(up, body, &Ctx::default()).await;
        assert!(matches!(refused, Err(AppError::ScanningUnavailable)));
        assert!(t.store.files_of(c.id).await.unwrap().is_empty());
        assert!(!chat.files.data_dir.exists(), "not even quarantine was made");
        assert!(chat.files.scanner().is_none());
    }

    #[tokio::test]
    async fn an_employee_gets_no_file_of_a_conversation_they_may_not_see_and_no_read_is_recorded() {
        let t = Harness::new().await;
        let chat = t.chat().await;
        let operator = t.caller(Role::Operator).await;
        let c = chat.queued().await;
        let file = record(c.id);
        t.store.create_file(&file).await.unwrap();

        let refused = chat.files.employee_file(&operator, file.id, Part::Original).await;
        assert!(matches!(refused, Err(AppError::Forbidden)));
        let unknown = chat.files.employee_file(&operator, FileId::random(), Part::Original).await;
        assert!(matches!(unknown, Err(AppError::NotFound)));
        let filter = AuditFilter { trail: Trail::PersonalDataAccess, ..Default::default() };
        assert!(t.store.audit_entries(&filter, 0, 10).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_visitor_gets_only_the_files_of_their_own_conversation() {
        let t = Harness::new().await;
        let chat = t.chat().await;
        let theirs = chat.queued().await;
        let file = record(theirs.id);
        t.store.create_file(&file).await.unwrap();

        let mut other = chat.visitors.visitor_hello(&chat.widget, None, None).await.unwrap();
        assert!(matches!(
            chat.files.visitor_file(chat.widget.id, &other.token, file.id, Part::Original).await,
            Err(AppError::Conflict(crate::error::ErrorCode::NoConversation))
        ));
        other.conversation = Some(
            chat.visitors
                .open_conversation_of(other.record.id, &ostrog_domain::rule::Start::through("widget"))
                .await
                .unwrap(),
        );
        assert!(matches!(
            chat.files.visitor_file(chat.widget.id, &other.token, file.id, Part::Original).await,
            Err(AppError::Forbidden)
        ));
        assert!(matches!(
            chat.files.visitor_file(chat.widget.id, "nobody", file.id, Part::Original).await,
            Err(AppError::Unauthenticated)
        ));
    }
}

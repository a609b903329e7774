//! Data subjects' requests (152-FZ Art. 14, 20, 21): tracked with their
//! legal deadlines, answered by an export of everything held about the
//! subject or by erasure; and the log of who read whose personal data.

use crate::error::{AppError, AppResult};
use crate::keys::purpose::Purpose;
use crate::keys::{Ledger, Vault};
use crate::realtime::frames::{self, View};
use crate::services::auditor::{Auditor, Ctx};
use crate::services::caller::Caller;
use futures_util::future::BoxFuture;
use ostrog_domain::DomainError;
use ostrog_domain::audit::Action;
use ostrog_domain::audit::Outcome;
use ostrog_domain::clock::Clock;
use ostrog_domain::erasure::Basis;
use ostrog_domain::ids::{ConversationId, VisitorId};
use ostrog_domain::privacy::{RequestKind, RequestStatus};
use ostrog_store::{ConsentRecord, ConversationStore, FileRecord, SubjectRequest, SubjectStore, VisitorStore};
use serde_json::{Value, json};
use std::sync::Arc;

/// Longest note of a request, in characters.
const MAX_NOTE: usize = 500;
/// Messages read per page for an export.
const PAGE: u32 = 200;

/// A conversation's files: each record with its name opened, and its bytes decrypted.
pub type Uploaded = Vec<(FileRecord, Vec<u8>)>;

/// What other areas keep about a subject that an export includes: the
/// consent texts they were shown (consent) and their conversation's files
/// as uploaded (files). Implemented at the composition root, so that this
/// area depends neither on how consent texts are versioned nor on how
/// files are kept.
pub trait Holdings: Send + Sync {
    /// The text of consent `version`, if it is kept.
    fn shown_consent(&self, version: u32) -> BoxFuture<'_, AppResult<Option<String>>>;
    /// The conversation's files: each record with its name opened, and its bytes decrypted.
    fn uploaded_files(&self, conversation: ConversationId) -> BoxFuture<'_, AppResult<Uploaded>>;
    /// The subject's contact (name and details), opened.
    fn contact(&self, visitor: VisitorId) -> BoxFuture<'_, AppResult<Value>>;
}

/// A data subject's requests, and their data gathered for an export.
pub struct Subjects {
    visitors: Arc<dyn VisitorStore>,
    /// Consents and requests.
    subjects: Arc<dyn SubjectStore>,
    conversations: Arc<dyn ConversationStore>,
    vault: Arc<Vault>,
    ledger: Arc<Ledger>,
    auditor: Arc<Auditor>,
    clock: Arc<dyn Clock>,
}

impl Subjects {
    pub fn new(
        visitors: Arc<dyn VisitorStore>,
        subjects: Arc<dyn SubjectStore>,
        conversations: Arc<dyn ConversationStore>,
        vault: Arc<Vault>,
        ledger: Arc<Ledger>,
        auditor: Arc<Auditor>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self { visitors, subjects, conversations, vault, ledger, auditor, clock }
    }

    /// Registers a subject's request; its deadline follows from its kind.
    pub async fn open_request(
        &self,
        caller: &Caller,
        visitor: VisitorId,
        kind: RequestKind,
        note: &str,
    ) -> AppResult<SubjectRequest> {
        let note = clean_note(note)?;
        self.visitors.visitor(visitor).await?.ok_or(AppError::NotFound)?;
        let now = self.clock.now();
        let request = SubjectRequest {
            id: uuid::Uuid::new_v4(),
            visitor_id: visitor,
            kind,
            basis: Basis::SubjectRequest.name().into(),
            status: RequestStatus::Open,
            received_at: now,
            due_at: kind.due(now),
            closed_at: None,
            closed_by: None,
            note,
        };
        self.subjects.create_request(&request).await?;
        let details = json!({"request": request.id, "kind": kind.name(), "due_at": request.due_at});
        self.auditor
            .audit(
                &caller.ctx(),
                Action::PersonalDataRequestOpened,
                Some(visitor.to_string()),
                Outcome::Success,
                details,
            )
            .await?;
        Ok(request)
    }

    pub async fn requests(&self, open_only: bool, limit: u32) -> AppResult<Vec<SubjectRequest>> {
        Ok(self.subjects.requests(None, open_only, limit.clamp(1, 500)).await?)
    }

    /// Closes a request: `Done` once answered, or `Rejected` (for example,
    /// the requester could not prove who they are).
    pub async fn close_request(&self, caller: &Caller, id: uuid::Uuid, status: RequestStatus) -> AppResult<()> {
        let request = self.subjects.request(id).await?.ok_or(AppError::NotFound)?;
        if status == RequestStatus::Open
            || !self.subjects.close_request(id, status, self.clock.now(), Some(caller.employee.id)).await?
        {
            return Err(AppError::Conflict(crate::error::ErrorCode::RequestClosed));
        }
        let details = json!({"request": id, "kind": request.kind.name(), "status": status.name()});
        self.auditor
            .audit(
                &caller.ctx(),
                Action::PersonalDataRequestClosed,
                Some(request.visitor_id.to_string()),
                Outcome::Success,
                details,
            )
            .await
    }

    /// Closes the subject's open requests of `kind` as done (by the
    /// employee, or by the system when `by` is `None`).
    pub async fn fulfil_requests(&self, visitor: VisitorId, kind: RequestKind, ctx: &Ctx) -> AppResult<()> {
        for r in self.subjects.requests(Some(visitor), true, u32::MAX).await? {
            if r.kind == kind {
                self.subjects.close_request(r.id, RequestStatus::Done, self.clock.now(), ctx.actor).await?;
            }
        }
        Ok(())
    }

    /// Everything Ostrog holds about the visitor, as one tar archive:
    /// `subject.json` and `files/<id>` (the files as uploaded). Audited in
    /// both trails; answers the subject's open access requests.
    pub async fn export(&self, caller: &Caller, visitor: VisitorId, holdings: &dyn Holdings) -> AppResult<Vec<u8>> {
        let record = self.visitors.visitor(visitor).await?.ok_or(AppError::NotFound)?;
        let key = self.vault.subject_keys(&[visitor], None).await?.remove(&visitor);
        let open = |purpose: &Purpose, sealed: &[u8]| -> AppResult<String> {
            let key = key.as_ref().ok_or(AppError::NotFound)?;
            Ok(String::from_utf8_lossy(&key.open(purpose, sealed)?).into_owned())
        };
        let external_id =
            record.external.as_ref().map(|e| open(&Purpose::ExternalId(visitor), &e.sealed)).transpose()?;
        let mut consents = vec![];
        for c in self.subjects.consents(visitor).await? {
            let ip = c.ip_sealed.as_deref().map(|s| open(&Purpose::ConsentIp(c.id), s)).transpose()?;
            let text = holdings.shown_consent(c.version).await?;
            consents.push(json!({"version": c.version, "accepted": c.accepted, "at": c.at, "source": c.source,
                "ip": ip, "text": text}));
        }
        let conversation = self.conversations.conversation_of_visitor(visitor).await?;
        let mut archive = tar::Builder::new(Vec::new());
        let (messages, files) = match &conversation {
            Some(c) => (self.transcript(c.id).await?, self.files_into(c.id, holdings, &mut archive).await?),
            None => (vec![], vec![]),
        };
        let subject = json!({
            "format": "ostrog.subject-export/1",
            "exported_at": self.clock.now(),
            "subject": {"visitor_id": visitor, "source": record.source.to_json(), "created_at": record.created_at,
                "external_id": external_id},
            "contact": holdings.contact(visitor).await?,
            "consents": consents,
            "conversation": conversation.as_ref().map(frames::conversation_json),
            "messages": messages,
            "files": files,
            "requests": self.requests_json(visitor).await?,
        });
        let json = serde_json::to_vec_pretty(&subject).map_err(|e| AppError::Internal(e.to_string()))?;
        append(&mut archive, "subject.json", &json, self.clock.now())?;
        let bytes = archive.into_inner().map_err(|e| AppError::Internal(e.to_string()))?;
        let details = json!({"messages": messages.len(), "files": files.len(), "bytes": bytes.len()});
        self.auditor.record_access(&caller.ctx(), visitor, Action::SubjectExported, details.clone()).await?;
        self.auditor
            .audit(&caller.ctx(), Action::PersonalDataExported, Some(visitor.to_string()), Outcome::Success, details)
            .await?;
        self.fulfil_requests(visitor, RequestKind::Access, &caller.ctx()).await?;
        Ok(bytes)
    }

    /// The whole conversation, notes and events included, unmasked.
    async fn transcript(&self, conversation: ConversationId) -> AppResult<Vec<Value>> {
        let (mut messages, mut after) = (vec![], 0);
        loop {
            let page = self.ledger.messages(conversation, after, None, PAGE).await?;
            let Some(last) = page.last() else { return Ok(messages) };
            after = last.seq;
            messages.extend(page.iter().map(|m| frames::message_json(m, View::Visitor)));
        }
    }

    /// Puts the conversation's files into the archive; their descriptions.
    async fn files_into(
        &self,
        conversation: ConversationId,
        holdings: &dyn Holdings,
        archive: &mut tar::Builder<Vec<u8>>,
    ) -> AppResult<Vec<Value>> {
        let mut files = vec![];
        for (f, bytes) in holdings.uploaded_files(conversation).await? {
            let path = format!("files/{}", f.id);
            append(archive, &path, &bytes, self.clock.now())?;
            files.push(json!({"id": f.id, "name": f.name, "content_type": f.content_type, "size": f.size,
                "sha256": f.sha256, "uploaded_at": f.created_at, "path": path}));
        }
        Ok(files)
    }

    async fn requests_json(&self, visitor: VisitorId) -> AppResult<Vec<Value>> {
        let requests = self.subjects.requests(Some(visitor), false, u32::MAX).await?;
        Ok(requests
            .into_iter()
            .map(|r| {
                json!({"kind": r.kind.name(), "status": r.status.name(), "received_at": r.received_at,
                    "due_at": r.due_at, "closed_at": r.closed_at})
            })
            .collect())
    }

    /// The subject's consents, oldest first.
    pub async fn consents(&self, visitor: VisitorId) -> AppResult<Vec<ConsentRecord>> {
        Ok(self.subjects.consents(visitor).await?)
    }
}

fn append(archive: &mut tar::Builder<Vec<u8>>, path: &str, bytes: &[u8], now: i64) -> AppResult<()> {
    let mut header = tar::Header::new_gnu();
    header.set_size(bytes.len() as u64);
    header.set_mode(0o600);
    header.set_mtime(u64::try_from(now / 1000).unwrap_or(0));
    header.set_cksum();
    archive.append_data(&mut header, path, bytes).map_err(|e| AppError::Internal(e.to_string()))
}

pub(crate) fn clean_note(note: &str) -> AppResult<String> {
    let note = note.trim();
    if note.chars().count() > MAX_NOTE || note.chars().any(char::is_control) {
        return Err(DomainError::Invalid("note").into());
    }
    Ok(note.to_string())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::services::testing::{Harness, START};
    use ostrog_domain::conversation::State;
    use ostrog_domain::ids::FileId;
    use ostrog_domain::message::Author;
    use ostrog_domain::role::Role;
    use ostrog_store::{AuditFilter, Trail};
    use std::collections::HashMap;
    use std::io::Read;

    fn subjects(t: &Harness) -> Subjects {
        Subjects::new(
            t.store.clone(),
            t.store.clone(),
            t.store.clone(),
            t.vault.clone(),
            t.ledger(),
            t.auditor(),
            t.clock(),
        )
    }

    /// Consent texts and files as the other areas would hand them over.
    #[derive(Default)]
    struct Kept {
        consents: HashMap<u32, String>,
        files: HashMap<ConversationId, Uploaded>,
    }

    impl Holdings for Kept {
        fn shown_consent(&self, version: u32) -> BoxFuture<'_, AppResult<Option<String>>> {
            Box::pin(async move { Ok(self.consents.get(&version).cloned()) })
        }
        fn uploaded_files(&self, c: ConversationId) -> BoxFuture<'_, AppResult<Uploaded>> {
            Box::pin(async move { Ok(self.files.get(&c).cloned().unwrap_or_default()) })
        }
        fn contact(&self, _: VisitorId) -> BoxFuture<'_, AppResult<Value>> {
            Box::pin(async move { Ok(Value::Null) })
        }
    }

    fn file(c: &ostrog_store::ConversationRecord, name: &str) -> FileRecord {
        FileRecord {
            id: FileId::random(),
            conversation_id: c.id,
            uploader: Author::Visitor(c.visitor_id),
            name: name.into(),
            content_type: "text/plain".into(),
            size: 3,
            sha256: String::new(),
            sealed_key: vec![],
            created_at: START,
        }
    }

    /// The archive's entries by path.
    fn unpack(tar: &[u8]) -> HashMap<String, Vec<u8>> {
        let mut archive = tar::Archive::new(tar);
        let mut out = HashMap::new();
        for entry in archive.entries().unwrap() {
            let mut entry = entry.unwrap();
            let path = entry.path().unwrap().to_string_lossy().into_owned();
            let mut bytes = vec![];
            entry.read_to_end(&mut bytes).unwrap();
            out.insert(path, bytes);
        }
        out
    }

    #[tokio::test]
    async fn an_export_holds_the_subjects_data_and_nothing_of_anyone_elses() {
        let t = Harness::new().await;
        let (subjects, caller) = (subjects(&t), t.caller(Role::Administrator).await);
        let (ada, bob) = (t.subject(START).await, t.subject(START).await);
        let ada_c = t.subject_conversation(ada, State::Queued, None, START).await;
        let bob_c = t.subject_conversation(bob, State::Queued, None, START).await;
        t.subject_says(&ada_c, "hello from Ada").await;
        t.subject_says(&bob_c, "Bob's own words").await;
        let key = t.vault.subject_keys(&[ada], Some(START)).await.unwrap().remove(&ada).unwrap();
        let consent_id = uuid::Uuid::new_v4();
        let consent = ConsentRecord {
            id: consent_id,
            visitor_id: ada,
            version: 1,
            accepted: true,
            at: START,
            source: "widget".into(),
            ip_sealed: Some(key.seal(&Purpose::ConsentIp(consent_id), b"192.0.2.9")),
        };
        t.store.add_consent(&consent).await.unwrap();
        let (ada_file, bob_file) = (file(&ada_c, "ada.txt"), file(&bob_c, "bob.txt"));
        let mut kept = Kept::default();
        kept.consents.insert(1, "We keep what you write for a year.".into());
        kept.files.insert(ada_c.id, vec![(ada_file.clone(), b"ada".to_vec())]);
        kept.files.insert(bob_c.id, vec![(bob_file.clone(), b"bob".to_vec())]);
        let request = subjects.open_request(&caller, ada, RequestKind::Access, "letter 17").await.unwrap();

        let archive = unpack(&subjects.export(&caller, ada, &kept).await.unwrap());
        let mut paths: Vec<&str> = archive.keys().map(String::as_str).collect();
        paths.sort();
        let ada_path = format!("files/{}", ada_file.id);
        assert_eq!(paths, ["files/".to_string() + &ada_file.id.to_string(), "subject.json".into()]);
        assert_eq!(archive[&ada_path], b"ada");
        let json = String::from_utf8(archive["subject.json"].clone()).unwrap();
        for held in ["hello from Ada", "We keep what you write for a year.", "192.0.2.9", "ada.txt"] {
            assert!(json.contains(held), "{held} is in the export");
        }
        let subject: Value = serde_json::from_str(&json).unwrap();
        assert_eq!(subject["subject"]["visitor_id"], json!(ada));
        assert_eq!(subject["messages"].as_array().unwrap().len(), 1);
        assert_eq!(subject["requests"][0]["kind"], "access");
        for foreign in ["Bob's own words", "bob.txt", &bob.to_string(), &bob_c.id.to_string()] {
            assert!(!json.contains(foreign), "nothing of Bob's: {foreign}");
        }

        // Read in both trails, and the access request it answers is done.
        let access = AuditFilter { trail: Trail::PersonalDataAccess, ..Default::default() };
        let access = t.store.audit_entries(&access, 0, 10).await.unwrap();
        assert_eq!(access.len(), 1);
        assert_eq!(access[0].event.action, "subject.exported");
        assert_eq!(access[0].event.target, Some(format!("visitor:{ada}")));
        let security = t.store.audit_entries(&AuditFilter::default(), 0, 10).await.unwrap();
        let actions: Vec<&str> = security.iter().map(|e| e.event.action.as_str()).collect();
        assert_eq!(actions, ["personal_data.request_opened", "personal_data.exported"]);
        let answered = t.store.request(request.id).await.unwrap().unwrap();
        assert_eq!((answered.status, answered.closed_by), (RequestStatus::Done, Some(caller.employee.id)));
    }

    #[tokio::test]
    async fn a_request_gets_its_legal_deadline_and_is_closed_once() {
        let t = Harness::new().await;
        let (subjects, caller) = (subjects(&t), t.caller(Role::Manager).await);
        let ada = t.subject(START).await;
        let unknown = VisitorId::random();
        assert!(matches!(
            subjects.open_request(&caller, unknown, RequestKind::Erasure, "").await,
            Err(AppError::NotFound)
        ));
        assert!(subjects.open_request(&caller, ada, RequestKind::Erasure, "line\nbreak").await.is_err());
        assert!(subjects.open_request(&caller, ada, RequestKind::Erasure, &"x".repeat(501)).await.is_err());

        t.clock.advance(1_000);
        let r = subjects.open_request(&caller, ada, RequestKind::Erasure, "  letter 18 ").await.unwrap();
        assert_eq!((r.received_at, r.due_at), (START + 1_000, RequestKind::Erasure.due(START + 1_000)));
        assert_eq!(r.note, "letter 18");
        assert!(matches!(
            subjects.close_request(&caller, r.id, RequestStatus::Open).await,
            Err(AppError::Conflict(crate::error::ErrorCode::RequestClosed))
        ));
        subjects.close_request(&caller, r.id, RequestStatus::Rejected).await.unwrap();
        assert!(matches!(
            subjects.close_request(&caller, r.id, RequestStatus::Done).await,
            Err(AppError::Conflict(crate::error::ErrorCode::RequestClosed))
        ));
        assert!(subjects.requests(true, 10).await.unwrap().is_empty());
        assert_eq!(subjects.requests(false, 10).await.unwrap()[0].status, RequestStatus::Rejected);
        let security = t.store.audit_entries(&AuditFilter::default(), 0, 10).await.unwrap();
        let actions: Vec<&str> = security.iter().map(|e| e.event.action.as_str()).collect();
        assert_eq!(actions, ["personal_data.request_opened", "personal_data.request_closed"], "refusals leave nothing");
    }
}

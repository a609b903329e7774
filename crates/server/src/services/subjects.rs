//! Data subjects' requests (152-FZ Art. 14, 20, 21): tracked with their
//! legal deadlines, answered by an export of everything held about the
//! subject or by erasure; and the log of who read whose personal data.

use crate::app::App;
use crate::error::{AppError, AppResult};
use crate::files::cipher::Part;
use crate::keys::purpose::Purpose;
use crate::realtime::frames::{self, View};
use crate::services::auditor::Ctx;
use crate::services::caller::Caller;
use futures_util::StreamExt;
use ostrog_domain::DomainError;
use ostrog_domain::audit::Action;
use ostrog_domain::audit::Outcome;
use ostrog_domain::erasure::Basis;
use ostrog_domain::ids::{ConversationId, VisitorId};
use ostrog_domain::privacy::{RequestKind, RequestStatus};
use ostrog_store::SubjectRequest;
use serde_json::{Value, json};

/// Longest note of a request, in characters.
const MAX_NOTE: usize = 500;
/// Messages read per page for an export.
const PAGE: u32 = 200;

impl App {
    /// Registers a subject's request; its deadline follows from its kind.
    pub async fn open_request(
        &self,
        caller: &Caller,
        visitor: VisitorId,
        kind: RequestKind,
        note: &str,
    ) -> AppResult<SubjectRequest> {
        let note = clean_note(note)?;
        self.store.visitor(visitor).await?.ok_or(AppError::NotFound)?;
        let now = self.now();
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
        self.store.create_request(&request).await?;
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

    pub async fn subject_requests(&self, open_only: bool, limit: u32) -> AppResult<Vec<SubjectRequest>> {
        Ok(self.store.requests(None, open_only, limit.clamp(1, 500)).await?)
    }

    /// Closes a request: `Done` once answered, or `Rejected` (for example,
    /// the requester could not prove who they are).
    pub async fn close_request(&self, caller: &Caller, id: uuid::Uuid, status: RequestStatus) -> AppResult<()> {
        let request = self.store.request(id).await?.ok_or(AppError::NotFound)?;
        if status == RequestStatus::Open
            || !self.store.close_request(id, status, self.now(), Some(caller.employee.id)).await?
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
    pub(crate) async fn fulfil_requests(&self, visitor: VisitorId, kind: RequestKind, ctx: &Ctx) -> AppResult<()> {
        for r in self.store.requests(Some(visitor), true, u32::MAX).await? {
            if r.kind == kind {
                self.store.close_request(r.id, RequestStatus::Done, self.now(), ctx.actor).await?;
            }
        }
        Ok(())
    }

    /// Everything Ostrog holds about the visitor, as one tar archive:
    /// `subject.json` and `files/<id>` (the files as uploaded). Audited in
    /// both trails; answers the subject's open access requests.
    pub async fn export_subject(&self, caller: &Caller, visitor: VisitorId) -> AppResult<Vec<u8>> {
        let record = self.store.visitor(visitor).await?.ok_or(AppError::NotFound)?;
        let key = self.vault.subject_keys(&[visitor], None).await?.remove(&visitor);
        let open = |purpose: &Purpose, sealed: &[u8]| -> AppResult<String> {
            let key = key.as_ref().ok_or(AppError::NotFound)?;
            Ok(String::from_utf8_lossy(&key.open(purpose, sealed)?).into_owned())
        };
        let external_id =
            record.external.as_ref().map(|e| open(&Purpose::ExternalId(visitor), &e.sealed)).transpose()?;
        let mut consents = vec![];
        for c in self.store.consents(visitor).await? {
            let ip = c.ip_sealed.as_deref().map(|s| open(&Purpose::ConsentIp(c.id), s)).transpose()?;
            let text = self.consent_text(c.version).await?;
            consents.push(json!({"version": c.version, "accepted": c.accepted, "at": c.at, "source": c.source,
                "ip": ip, "text": text}));
        }
        let conversation = self.store.conversation_of_visitor(visitor).await?;
        let mut archive = tar::Builder::new(Vec::new());
        let (messages, files) = match &conversation {
            Some(c) => (self.transcript(c.id).await?, self.files_into(c.id, &mut archive).await?),
            None => (vec![], vec![]),
        };
        let subject = json!({
            "format": "ostrog.subject-export/1",
            "exported_at": self.now(),
            "subject": {"visitor_id": visitor, "source": record.source.to_json(), "created_at": record.created_at,
                "external_id": external_id},
            "consents": consents,
            "conversation": conversation.as_ref().map(frames::conversation_json),
            "messages": messages,
            "files": files,
            "requests": self.requests_json(visitor).await?,
        });
        let json = serde_json::to_vec_pretty(&subject).map_err(|e| AppError::Internal(e.to_string()))?;
        append(&mut archive, "subject.json", &json, self.now())?;
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
        archive: &mut tar::Builder<Vec<u8>>,
    ) -> AppResult<Vec<Value>> {
        let mut files = vec![];
        for f in self.store.files_of(conversation).await? {
            let (f, mut stream) = self.open_file(f, Part::Original).await?;
            let path = format!("files/{}", f.id);
            let mut bytes = vec![];
            while let Some(chunk) = stream.next().await {
                bytes.extend_from_slice(&chunk.map_err(|e| AppError::Internal(e.to_string()))?);
            }
            append(archive, &path, &bytes, self.now())?;
            files.push(json!({"id": f.id, "name": f.name, "content_type": f.content_type, "size": f.size,
                "sha256": f.sha256, "uploaded_at": f.created_at, "path": path}));
        }
        Ok(files)
    }

    async fn requests_json(&self, visitor: VisitorId) -> AppResult<Vec<Value>> {
        let requests = self.store.requests(Some(visitor), false, u32::MAX).await?;
        Ok(requests
            .into_iter()
            .map(|r| {
                json!({"kind": r.kind.name(), "status": r.status.name(), "received_at": r.received_at,
                    "due_at": r.due_at, "closed_at": r.closed_at})
            })
            .collect())
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

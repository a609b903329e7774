//! Erasing a data subject by destroying their key (152-FZ Art. 21): the
//! key goes first — from that moment every copy of their data, in backups
//! and write-ahead logs included, is unreadable — then their rows and files.
//! Each erasure leaves an act of destruction in the audit log: who, whose
//! data, which categories, when and why, and no personal data.

use crate::error::{AppError, AppResult};
use crate::files::cipher::Part;
use crate::keys::{Ledger, Vault};
use crate::realtime::hub::Hub;
use crate::services::auditor::{Auditor, Ctx};
use crate::services::subjects::Subjects;
use ostrog_domain::audit::Action;
use ostrog_domain::audit::{AuditEntry, Outcome};
use ostrog_domain::clock::Clock;
use ostrog_domain::erasure::{self, Basis};
use ostrog_domain::ids::{FileId, VisitorId};
use ostrog_domain::privacy::RequestKind;
use ostrog_store::{AuditFilter, AuditStore, Trail, VisitorStore};
use serde_json::json;
use std::path::PathBuf;
use std::sync::Arc;

pub const ERASED: Action = Action::PersonalDataErased;

pub struct Erasure {
    visitors: Arc<dyn VisitorStore>,
    /// Where the acts of destruction are read back from.
    trails: Arc<dyn AuditStore>,
    /// Holds the subjects' keys: destroying one is the erasure.
    vault: Arc<Vault>,
    ledger: Arc<Ledger>,
    /// Disconnects the subject here and tells the other nodes to forget them.
    hub: Arc<Hub>,
    /// The data folder, whose `files/` holds the stored files.
    data_dir: PathBuf,
    subjects: Arc<Subjects>,
    auditor: Arc<Auditor>,
    clock: Arc<dyn Clock>,
}

impl Erasure {
    // Each dependency passed by the composition root, named: what an erasure touches.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        visitors: Arc<dyn VisitorStore>,
        trails: Arc<dyn AuditStore>,
        vault: Arc<Vault>,
        ledger: Arc<Ledger>,
        hub: Arc<Hub>,
        data_dir: PathBuf,
        subjects: Arc<Subjects>,
        auditor: Arc<Auditor>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self { visitors, trails, vault, ledger, hub, data_dir, subjects, auditor, clock }
    }

    /// Erases the visitor; `NotFound` when there is no such visitor (or
    /// they were erased already). Returns the act (its audit entry).
    pub async fn erase(&self, ctx: &Ctx, visitor: VisitorId, basis: Basis, note: &str) -> AppResult<AuditEntry> {
        let note = crate::services::subjects::clean_note(note)?;
        let record = self.visitors.visitor(visitor).await?.ok_or(AppError::NotFound)?;
        let consents = self.subjects.consents(visitor).await?.len();
        self.vault.destroy_subject_key(visitor).await?;
        self.hub.disconnect_visitor(visitor);
        let erased = self.visitors.erase_visitor(visitor, self.clock.now()).await?;
        if let Some(c) = erased.conversation {
            self.ledger.forget(c);
        }
        let forget = crate::realtime::event::Event::Forget { visitor, c: erased.conversation };
        self.hub.tell_others(forget);
        self.delete_stored_files(&erased.files).await;
        let categories = [
            (record.external.is_some(), erasure::IDENTIFIERS),
            (erased.messages > 0, erasure::CORRESPONDENCE),
            (!erased.files.is_empty(), erasure::FILES),
            (consents > 0, erasure::CONSENTS),
        ]
        .into_iter()
        .filter_map(|(present, category)| present.then_some(category))
        .collect::<Vec<_>>();
        let details = json!({
            "subject": format!("visitor:{visitor}"),
            "source": record.source.to_json(),
            "basis": basis.name(),
            "note": note,
            "categories": categories,
            "messages": erased.messages,
            "files": erased.files.len(),
            "method": "data key destroyed; records and files deleted",
        });
        self.auditor.record_access(ctx, visitor, Action::SubjectErased, json!({"basis": basis.name()})).await?;
        let act = self
            .auditor
            .record(Trail::Security, ctx, ERASED, Some(visitor.to_string()), Outcome::Success, details)
            .await?;
        self.subjects.fulfil_requests(visitor, RequestKind::Erasure, ctx).await?;
        Ok(act)
    }

    /// Deletes erased files from the data folder, originals and thumbnails.
    async fn delete_stored_files(&self, files: &[FileId]) {
        for file in files {
            for part in [Part::Original, Part::Thumbnail] {
                match tokio::fs::remove_file(crate::files::stored_path(&self.data_dir, *file, part)).await {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                        // Unreadable without the destroyed key anyway.
                        tracing::warn!(error = %e, file = %file, "an erased file could not be deleted");
                    }
                    _ => {}
                }
            }
        }
    }

    /// Acts of destruction, newest first, before audit sequence `before`.
    pub async fn acts(&self, before: i64, limit: u32) -> AppResult<Vec<AuditEntry>> {
        let filter = AuditFilter { action: Some(ERASED.name().into()), newest_first: true, ..Default::default() };
        Ok(self.trails.audit_entries(&filter, before, limit.clamp(1, 500)).await?)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::services::subjects::Subjects;
    use crate::services::testing::{Harness, START};
    use ostrog_domain::conversation::State;
    use ostrog_domain::message::Author;
    use ostrog_domain::role::Role;
    use ostrog_store::{ConsentRecord, FileRecord};
    use std::path::Path;

    fn erasure(t: &Harness, data_dir: &Path) -> (Arc<Subjects>, Erasure) {
        let subjects = Arc::new(Subjects::new(
            t.store.clone(),
            t.store.clone(),
            t.store.clone(),
            t.vault.clone(),
            t.ledger(),
            t.auditor(),
            t.clock(),
        ));
        let hub = crate::realtime::Realtime::new(t.ledger()).hub;
        let erasure = Erasure::new(
            t.store.clone(),
            t.store.clone(),
            t.vault.clone(),
            t.ledger(),
            hub,
            data_dir.to_path_buf(),
            subjects.clone(),
            t.auditor(),
            t.clock(),
        );
        (subjects, erasure)
    }

    /// A stored file of the conversation, its original and thumbnail on disk.
    async fn stored_file(t: &Harness, data_dir: &Path, c: &ostrog_store::ConversationRecord) -> FileId {
        let f = FileRecord {
            id: FileId::random(),
            conversation_id: c.id,
            uploader: Author::Visitor(c.visitor_id),
            name: "scan.png".into(),
            content_type: "image/png".into(),
            size: 3,
            sha256: String::new(),
            sealed_key: vec![],
            created_at: START,
        };
        t.store.create_file(&f).await.unwrap();
        for part in [Part::Original, Part::Thumbnail] {
            std::fs::write(crate::files::stored_path(data_dir, f.id, part), b"png").unwrap();
        }
        f.id
    }

    fn data_dir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("ostrog-erasure-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(dir.join("files")).unwrap();
        dir
    }

    #[tokio::test]
    async fn an_erasure_destroys_the_subjects_key_rows_and_files_and_leaves_an_act() {
        let (t, dir) = (Harness::new().await, data_dir());
        let (subjects, erasure) = erasure(&t, &dir);
        let caller = t.caller(Role::Administrator).await;
        let (ada, bob) = (t.subject(START).await, t.subject(START).await);
        let ada_c = t.subject_conversation(ada, State::Queued, None, START).await;
        let bob_c = t.subject_conversation(bob, State::Queued, None, START).await;
        t.subject_says(&ada_c, "my phone is +7 912 345-67-89").await;
        t.subject_says(&bob_c, "Bob stays").await;
        let (ada_file, bob_file) = (stored_file(&t, &dir, &ada_c).await, stored_file(&t, &dir, &bob_c).await);
        let consent = ConsentRecord {
            id: uuid::Uuid::new_v4(),
            visitor_id: ada,
            version: 1,
            accepted: false,
            at: START,
            source: "widget".into(),
            ip_sealed: None,
        };
        t.store.add_consent(&consent).await.unwrap();
        let request = subjects.open_request(&caller, ada, RequestKind::Erasure, "letter 19").await.unwrap();
        t.clock.advance(60_000);

        let act = erasure.erase(&caller.ctx(), ada, Basis::SubjectRequest, "letter 19").await.unwrap();

        // The key first: nothing of Ada's opens any more, wherever a copy is.
        assert!(t.vault.subject_keys(&[ada], None).await.unwrap().is_empty());
        assert!(t.store.conversation_of_visitor(ada).await.unwrap().is_none());
        assert!(t.store.files_of(ada_c.id).await.unwrap().is_empty());
        for part in [Part::Original, Part::Thumbnail] {
            assert!(!crate::files::stored_path(&dir, ada_file, part).exists(), "Ada's file is deleted");
            assert!(crate::files::stored_path(&dir, bob_file, part).exists(), "Bob's is not");
        }
        let bob_messages = t.ledger().messages(bob_c.id, 0, None, 10).await.unwrap();
        assert_eq!(bob_messages.len(), 1, "Bob's conversation is untouched");

        // The act: who, whose, which categories, when and why; no personal data.
        assert_eq!(act.event.action, "personal_data.erased");
        assert_eq!(act.event.actor, Some(caller.employee.id.to_string()));
        assert_eq!(act.event.at, START + 60_000);
        assert_eq!(act.event.target, Some(ada.to_string()));
        let details = &act.event.details;
        assert_eq!(details["basis"], "subject_request");
        assert_eq!(details["categories"], json!(["correspondence", "files", "consents"]));
        assert_eq!((details["messages"].as_u64(), details["files"].as_u64()), (Some(1), Some(1)));
        assert!(!details.to_string().contains("345-67-89"), "no personal data in the act");
        assert_eq!(erasure.acts(i64::MAX, 10).await.unwrap(), vec![act]);
        let access = AuditFilter { trail: Trail::PersonalDataAccess, ..Default::default() };
        let access = t.store.audit_entries(&access, 0, 10).await.unwrap();
        assert_eq!(access.iter().map(|e| e.event.action.as_str()).collect::<Vec<_>>(), ["subject.erased"]);
        let done = t.store.request(request.id).await.unwrap().unwrap();
        assert_eq!(done.status, ostrog_domain::privacy::RequestStatus::Done, "the request it answers is closed");

        // Once: a second erasure finds nobody and records nothing.
        assert!(matches!(erasure.erase(&caller.ctx(), ada, Basis::SubjectRequest, "").await, Err(AppError::NotFound)));
        assert_eq!(erasure.acts(i64::MAX, 10).await.unwrap().len(), 1);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[tokio::test]
    async fn a_note_with_control_characters_erases_nothing() {
        let (t, dir) = (Harness::new().await, data_dir());
        let (_, erasure) = erasure(&t, &dir);
        let ada = t.subject(START).await;
        t.vault.subject_keys(&[ada], Some(START)).await.unwrap();
        assert!(erasure.erase(&Ctx::default(), ada, Basis::SubjectRequest, "a\u{7}b").await.is_err());
        assert_eq!(t.vault.subject_keys(&[ada], None).await.unwrap().len(), 1, "the key is kept");
        assert!(erasure.acts(i64::MAX, 10).await.unwrap().is_empty());
        let _ = std::fs::remove_dir_all(&dir);
    }
}

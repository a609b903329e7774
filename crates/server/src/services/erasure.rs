//! Erasing a data subject by destroying their key (152-FZ Art. 21): the
//! key goes first — from that moment every copy of their data, in backups
//! and write-ahead logs included, is unreadable — then their rows and files.
//! Each erasure leaves an act of destruction in the audit log: who, whose
//! data, which categories, when and why, and no personal data.

use crate::app::App;
use crate::error::{AppError, AppResult};
use crate::files::cipher::Part;
use crate::services::auditor::Ctx;
use ostrog_domain::audit::Action;
use ostrog_domain::audit::{AuditEntry, Outcome};
use ostrog_domain::erasure::{self, Basis};
use ostrog_domain::ids::VisitorId;
use ostrog_domain::privacy::RequestKind;
use ostrog_store::{AuditFilter, Trail};
use serde_json::json;

pub const ERASED: Action = Action::PersonalDataErased;

impl App {
    /// Erases the visitor; `NotFound` when there is no such visitor (or
    /// they were erased already). Returns the act (its audit entry).
    pub async fn erase_subject(
        &self,
        ctx: &Ctx,
        visitor: VisitorId,
        basis: Basis,
        note: &str,
    ) -> AppResult<AuditEntry> {
        let note = crate::services::subjects::clean_note(note)?;
        let record = self.store.visitor(visitor).await?.ok_or(AppError::NotFound)?;
        let consents = self.store.consents(visitor).await?.len();
        self.vault.destroy_subject_key(visitor).await?;
        self.realtime.hub.disconnect_visitor(visitor);
        let erased = self.store.erase_visitor(visitor, self.now()).await?;
        if let Some(c) = erased.conversation {
            self.ledger.forget(c);
        }
        let forget = crate::realtime::event::Event::Forget { visitor, c: erased.conversation };
        self.realtime.hub.tell_others(forget);
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
        self.fulfil_requests(visitor, RequestKind::Erasure, ctx).await?;
        Ok(act)
    }

    /// Deletes erased files from the data folder, originals and thumbnails.
    async fn delete_stored_files(&self, files: &[ostrog_domain::ids::FileId]) {
        for file in files {
            for part in [Part::Original, Part::Thumbnail] {
                match tokio::fs::remove_file(self.files.stored_path(*file, part)).await {
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
    pub async fn destruction_acts(&self, before: i64, limit: u32) -> AppResult<Vec<AuditEntry>> {
        let filter = AuditFilter { action: Some(ERASED.name().into()), newest_first: true, ..Default::default() };
        Ok(self.store.audit_entries(&filter, before, limit.clamp(1, 500)).await?)
    }
}

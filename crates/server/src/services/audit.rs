//! Reading, exporting and verifying the audit log. Nothing here edits or
//! deletes an entry: the store offers no way to.

use crate::app::App;
use crate::error::AppResult;
use crate::services::auditor::Ctx;
use ostrog_domain::audit::Action;
use ostrog_domain::audit::{AuditEntry, BrokenLink, GENESIS, Outcome, verify};
use ostrog_store::{AuditFilter, Trail};
use serde_json::json;

const PAGE: u32 = 1_000;

impl App {
    pub async fn audit_page(&self, filter: &AuditFilter, after: i64, limit: u32) -> AppResult<Vec<AuditEntry>> {
        Ok(self.store.audit_entries(filter, after, limit.clamp(1, PAGE)).await?)
    }

    /// Walks the whole security audit chain; the first broken link, or the number of entries.
    pub async fn verify_audit(&self) -> AppResult<Result<i64, BrokenLink>> {
        self.verify_trail(Trail::Security).await
    }

    pub async fn verify_trail(&self, trail: Trail) -> AppResult<Result<i64, BrokenLink>> {
        let mut position = (0, GENESIS.to_string());
        let filter = AuditFilter { trail, ..Default::default() };
        loop {
            let page = self.store.audit_entries(&filter, position.0, PAGE).await?;
            if page.is_empty() {
                return Ok(Ok(position.0));
            }
            match verify(position, &page) {
                Ok(next) => position = next,
                Err(broken) => return Ok(Err(broken)),
            }
        }
    }

    /// Writes every entry of the trail as a JSON line, and records in the
    /// security trail that it was exported.
    pub async fn export_audit(&self, ctx: &Ctx, trail: Trail, out: &mut Vec<u8>) -> AppResult<u64> {
        let mut after = 0;
        let mut count = 0;
        let filter = AuditFilter { trail, ..Default::default() };
        loop {
            let page = self.store.audit_entries(&filter, after, PAGE).await?;
            let Some(last) = page.last() else { break };
            after = last.seq;
            for e in &page {
                serde_json::to_writer(&mut *out, e).map_err(|e| crate::error::AppError::Internal(e.to_string()))?;
                out.push(b'\n');
                count += 1;
            }
        }
        let details = json!({"entries": count, "trail": match trail {
            Trail::Security => "security",
            Trail::PersonalDataAccess => "personal_data",
        }});
        self.auditor.audit(ctx, Action::AuditExported, None, Outcome::Success, details).await?;
        Ok(count)
    }
}

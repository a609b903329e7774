//! Reading, exporting and verifying the audit log. Nothing here edits or
//! deletes an entry: the store offers no way to.

use crate::error::{AppError, AppResult};
use crate::services::audit_labels::{AuditLabels, Labels};
use crate::services::auditor::{Auditor, Ctx};
use ostrog_domain::audit::Action;
use ostrog_domain::audit::{AuditEntry, BrokenLink, GENESIS, Outcome, verify};
use ostrog_store::{AuditFilter, AuditStore, Trail};
use serde_json::json;
use std::sync::Arc;

const PAGE: u32 = 1_000;

/// The trails as they are read back: pages, whole-chain checks, exports.
pub struct AuditLog {
    trails: Arc<dyn AuditStore>,
    auditor: Arc<Auditor>,
    /// Names for the ids in a page, looked up as it is read.
    labels: AuditLabels,
}

impl AuditLog {
    pub fn new(trails: Arc<dyn AuditStore>, auditor: Arc<Auditor>, labels: AuditLabels) -> Self {
        Self { trails, auditor, labels }
    }

    pub async fn page(&self, filter: &AuditFilter, after: i64, limit: u32) -> AppResult<Vec<AuditEntry>> {
        Ok(self.trails.audit_entries(filter, after, limit.clamp(1, PAGE)).await?)
    }

    /// A page with the names of whom and what its entries refer to.
    pub async fn page_with_labels(
        &self,
        filter: &AuditFilter,
        after: i64,
        limit: u32,
    ) -> AppResult<(Vec<AuditEntry>, Labels)> {
        let page = self.page(filter, after, limit).await?;
        let labels = self.labels.of(&page).await?;
        Ok((page, labels))
    }

    /// Walks the whole chain of the trail; the first broken link, or the number of entries.
    pub async fn verify(&self, trail: Trail) -> AppResult<Result<i64, BrokenLink>> {
        let mut position = (0, GENESIS.to_string());
        let filter = AuditFilter { trail, ..Default::default() };
        loop {
            let page = self.trails.audit_entries(&filter, position.0, PAGE).await?;
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
    pub async fn export(&self, ctx: &Ctx, trail: Trail, out: &mut Vec<u8>) -> AppResult<u64> {
        let mut after = 0;
        let mut count = 0;
        let filter = AuditFilter { trail, ..Default::default() };
        loop {
            let page = self.trails.audit_entries(&filter, after, PAGE).await?;
            let Some(last) = page.last() else { break };
            after = last.seq;
            for e in &page {
                serde_json::to_writer(&mut *out, e).map_err(|e| AppError::Internal(e.to_string()))?;
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::services::testing::Harness;
    use ostrog_domain::audit::AuditEvent;
    use ostrog_store::{Store, StoreResult};
    use std::future::Future;
    use std::pin::Pin;

    type Boxed<'a, T> = Pin<Box<dyn Future<Output = StoreResult<T>> + Send + 'a>>;

    /// The store as an intruder left it: entry `seq` was edited in place
    /// after it was chained.
    struct Edited {
        store: Arc<dyn Store>,
        seq: i64,
    }

    // `AuditStore` is an `async_trait`; written out, as this crate does not use the macro.
    impl AuditStore for Edited {
        fn append_to<'a, 'b, 'c>(&'a self, trail: Trail, event: &'b AuditEvent) -> Boxed<'c, AuditEntry>
        where
            'a: 'c,
            'b: 'c,
            Self: 'c,
        {
            self.store.append_to(trail, event)
        }

        fn audit_entries<'a, 'b, 'c>(
            &'a self,
            filter: &'b AuditFilter,
            after: i64,
            limit: u32,
        ) -> Boxed<'c, Vec<AuditEntry>>
        where
            'a: 'c,
            'b: 'c,
            Self: 'c,
        {
            Box::pin(async move {
                let mut page = self.store.audit_entries(filter, after, limit).await?;
                for e in page.iter_mut().filter(|e| e.seq == self.seq) {
                    e.event.action = "nothing.happened".into();
                }
                Ok(page)
            })
        }
    }

    fn labels(t: &Harness) -> AuditLabels {
        AuditLabels::new(t.store.clone(), t.store.clone(), t.store.clone())
    }

    async fn three_entries(t: &Harness) {
        let auditor = t.auditor();
        for action in [Action::WidgetCreated, Action::WidgetChanged, Action::WidgetDeleted] {
            auditor.audit(&Ctx::default(), action, None, Outcome::Success, json!({})).await.unwrap();
        }
    }

    #[tokio::test]
    async fn an_untouched_chain_verifies_and_an_edited_entry_is_found() {
        let t = Harness::new().await;
        three_entries(&t).await;
        let log = AuditLog::new(t.store.clone(), t.auditor(), labels(&t));
        assert_eq!(log.verify(Trail::Security).await.unwrap(), Ok(3));
        assert_eq!(log.verify(Trail::PersonalDataAccess).await.unwrap(), Ok(0), "an empty trail is intact");

        let edited = AuditLog::new(Arc::new(Edited { store: t.store.clone(), seq: 2 }), t.auditor(), labels(&t));
        let broken = edited.verify(Trail::Security).await.unwrap().unwrap_err();
        assert_eq!(broken.seq, 2);
    }

    #[tokio::test]
    async fn an_export_holds_every_entry_of_its_trail_and_is_itself_audited() {
        let t = Harness::new().await;
        three_entries(&t).await;
        let log = AuditLog::new(t.store.clone(), t.auditor(), labels(&t));
        let caller = t.caller(ostrog_domain::role::Role::Administrator).await;
        let mut out = vec![];
        assert_eq!(log.export(&caller.ctx(), Trail::Security, &mut out).await.unwrap(), 3);
        let lines: Vec<AuditEntry> =
            String::from_utf8(out).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(lines.iter().map(|e| e.seq).collect::<Vec<_>>(), [1, 2, 3]);

        let latest = AuditFilter { newest_first: true, ..Default::default() };
        let last = log.page(&latest, i64::MAX, 1).await.unwrap();
        assert_eq!(last[0].event.action, "audit.exported");
        assert_eq!(last[0].event.details, json!({"entries": 3, "trail": "security"}));
        assert_eq!(last[0].event.actor, Some(caller.employee.id.to_string()));
        assert_eq!(log.verify(Trail::Security).await.unwrap(), Ok(4), "the export's own entry chains on");
    }
}

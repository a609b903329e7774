//! Consent to the processing of personal data (152-FZ Art. 9): the
//! company's text, versioned; each acceptance and withdrawal stored with
//! the subject, the version, the time, the source and the (sealed) IP.
//! A withdrawal schedules the destruction of the subject's data.

use crate::error::{AppError, AppResult};
use crate::keys::Vault;
use crate::keys::purpose::Purpose;
use crate::realtime::hub::Hub;
use crate::services::auditor::Auditor;
use crate::services::caller::Caller;
use crate::services::visitors::Visitor;
use ostrog_domain::audit::Action;
use ostrog_domain::audit::Outcome;
use ostrog_domain::clock::Clock;
use ostrog_domain::erasure::Basis;
use ostrog_domain::ids::VisitorId;
use ostrog_domain::privacy::{ConsentSettings, DAY, RequestKind, RequestStatus};
use ostrog_store::{ConsentRecord, SettingsStore, SubjectRequest, SubjectStore};
use serde_json::json;
use std::net::IpAddr;
use std::sync::{Arc, RwLock};

const CONSENT_KEY: &str = "personal_data.consent";

/// The settings key holding the text of consent `version`.
fn text_key(version: u32) -> String {
    format!("personal_data.consent.text.{version}")
}

pub struct Consent {
    settings: Arc<dyn SettingsStore>,
    subjects: Arc<dyn SubjectStore>,
    vault: Arc<Vault>,
    hub: Arc<Hub>,
    auditor: Arc<Auditor>,
    clock: Arc<dyn Clock>,
    /// The consent settings, read at start and kept as they change: every
    /// visitor message is checked against them.
    current: RwLock<ConsentSettings>,
}

impl Consent {
    pub fn new(
        settings: Arc<dyn SettingsStore>,
        subjects: Arc<dyn SubjectStore>,
        vault: Arc<Vault>,
        hub: Arc<Hub>,
        auditor: Arc<Auditor>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self { settings, subjects, vault, hub, auditor, clock, current: Default::default() }
    }

    /// The consent settings as stored (`self.current` holds them in memory).
    pub async fn consent_settings(&self) -> AppResult<ConsentSettings> {
        let stored = self.settings.setting(CONSENT_KEY).await?;
        Ok(stored.and_then(|v| serde_json::from_value(v).ok()).unwrap_or_default())
    }

    /// Reads the stored consent settings into memory (at start, and when
    /// another node changed them).
    pub async fn reload_consent(&self) -> AppResult<()> {
        let settings = self.consent_settings().await?;
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = settings;
        Ok(())
    }

    /// The text of an earlier version, as visitors saw it.
    pub async fn consent_text(&self, version: u32) -> AppResult<Option<String>> {
        let stored = self.settings.setting(&text_key(version)).await?;
        Ok(stored.and_then(|v| v.as_str().map(str::to_string)))
    }

    /// Changes the consent settings; a changed text becomes a new version
    /// (kept for good), which visitors accept anew.
    pub async fn set_consent_settings(
        &self,
        caller: &Caller,
        required: bool,
        text: String,
        withdrawal_days: u32,
    ) -> AppResult<ConsentSettings> {
        let current = self.consent_settings().await?;
        let text = text.trim().to_string();
        let version = if text == current.text { current.version } else { current.version + 1 };
        let next = ConsentSettings { required, text, version, withdrawal_days };
        next.validate()?;
        if version != current.version {
            self.settings.put_setting(&text_key(version), &json!(next.text)).await?;
        }
        let value = serde_json::to_value(&next).map_err(|e| AppError::Internal(e.to_string()))?;
        self.settings.put_setting(CONSENT_KEY, &value).await?;
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = next.clone();
        self.hub.tell_others(crate::realtime::event::Event::Consent);
        let details = json!({"required": required, "version": version, "withdrawal_days": withdrawal_days});
        self.auditor
            .audit(&caller.ctx(), Action::SettingsChanged, Some(CONSENT_KEY.into()), Outcome::Success, details)
            .await?;
        Ok(next)
    }

    pub fn current_consent(&self) -> ConsentSettings {
        self.current.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Refuses to take a visitor's message while the settings require a
    /// consent they have not given to the current text.
    pub fn check_consent(&self, visitor: &Visitor) -> AppResult<()> {
        self.consent_given(visitor.consent)
    }

    fn consent_given(&self, accepted: Option<u32>) -> AppResult<()> {
        let settings = self.current.read().unwrap_or_else(|p| p.into_inner());
        if settings.required && accepted != Some(settings.version) {
            return Err(AppError::Conflict(crate::error::ErrorCode::ConsentRequired));
        }
        Ok(())
    }

    /// The version the visitor accepted last, unless they withdrew since.
    pub async fn accepted_consent(&self, visitor: VisitorId) -> AppResult<Option<u32>> {
        Ok(self.subjects.consents(visitor).await?.pop().filter(|c| c.accepted).map(|c| c.version))
    }

    /// `check_consent` for a visitor known only by id (file uploads).
    pub async fn check_consent_of(&self, visitor: VisitorId) -> AppResult<()> {
        if !self.current_consent().required {
            return Ok(());
        }
        let consent = self.accepted_consent(visitor).await?;
        self.consent_given(consent)
    }

    /// Records the visitor accepting or withdrawing consent to `version`
    /// (which must be the current one); a withdrawal schedules erasure.
    pub async fn record_consent(
        &self,
        visitor: &mut Visitor,
        version: u32,
        accepted: bool,
        source: &str,
        ip: Option<IpAddr>,
    ) -> AppResult<ConsentRecord> {
        let settings = self.current_consent();
        if settings.text.is_empty() || version != settings.version {
            return Err(AppError::Conflict(crate::error::ErrorCode::ConsentOutdated));
        }
        let now = self.clock.now();
        let id = uuid::Uuid::new_v4();
        let ip_sealed = match ip {
            Some(ip) => Some(
                self.vault
                    .subject_key(visitor.record.id, now)
                    .await?
                    .seal(&Purpose::ConsentIp(id), ip.to_string().as_bytes()),
            ),
            None => None,
        };
        let record = ConsentRecord {
            id,
            visitor_id: visitor.record.id,
            version,
            accepted,
            at: now,
            source: source.into(),
            ip_sealed,
        };
        self.subjects.add_consent(&record).await?;
        visitor.consent = accepted.then_some(version);
        if accepted {
            // Consent given again: the erasure its withdrawal scheduled is off.
            for r in self.subjects.requests(Some(visitor.record.id), true, u32::MAX).await? {
                if r.kind == RequestKind::Erasure && r.basis == Basis::ConsentWithdrawn.name() {
                    self.subjects.close_request(r.id, RequestStatus::Rejected, now, None).await?;
                }
            }
        } else {
            let request = SubjectRequest {
                id: uuid::Uuid::new_v4(),
                visitor_id: visitor.record.id,
                kind: RequestKind::Erasure,
                basis: Basis::ConsentWithdrawn.name().into(),
                status: RequestStatus::Open,
                received_at: now,
                due_at: now + i64::from(settings.withdrawal_days) * DAY,
                closed_at: None,
                closed_by: None,
                note: format!("consent version {version} withdrawn through {source}"),
            };
            self.subjects.create_request(&request).await?;
        }
        Ok(record)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use crate::error::AppError;
    use crate::services::testing::{Harness, START};
    use ostrog_domain::privacy::{DAY, RequestKind, RequestStatus};
    use ostrog_store::AuditFilter;

    #[tokio::test]
    async fn a_changed_text_is_a_new_version_kept_for_good_and_each_change_is_audited() {
        let t = Harness::new().await;
        let chat = t.chat().await;
        let admin = chat.admin.clone();
        let first = chat.consent.set_consent_settings(&admin, true, " First text ".into(), 30).await.unwrap();
        assert_eq!((first.version, first.text.as_str()), (1, "First text"));
        let same = chat.consent.set_consent_settings(&admin, false, "First text".into(), 10).await.unwrap();
        assert_eq!(same.version, 1, "the same text keeps its version");
        let second = chat.consent.set_consent_settings(&admin, true, "Second text".into(), 30).await.unwrap();
        assert_eq!(second.version, 2);

        assert_eq!(chat.consent.current_consent(), second, "held in memory");
        assert_eq!(chat.consent.consent_text(1).await.unwrap().as_deref(), Some("First text"));
        assert_eq!(chat.consent.consent_settings().await.unwrap(), second, "stored");
        let log = t.store.audit_entries(&AuditFilter::default(), 0, 10).await.unwrap();
        let changes = log.iter().filter(|e| e.event.action == "settings.changed").count();
        assert_eq!(changes, 3);
    }

    #[tokio::test]
    async fn a_withdrawal_schedules_erasure_and_consent_given_again_calls_it_off() {
        let t = Harness::new().await;
        let chat = t.chat().await;
        let admin = chat.admin.clone();
        chat.consent.set_consent_settings(&admin, true, "Text".into(), 30).await.unwrap();
        let mut visitor = chat.visitors.visitor_hello(&chat.widget, None, None).await.unwrap();
        let id = visitor.record.id;

        let outdated = chat.consent.record_consent(&mut visitor, 2, true, "widget", None).await;
        assert!(matches!(outdated, Err(AppError::Conflict(crate::error::ErrorCode::ConsentOutdated))));
        chat.consent.record_consent(&mut visitor, 1, true, "widget", "192.0.2.9".parse().ok()).await.unwrap();
        assert_eq!(visitor.consent, Some(1));
        assert!(chat.consent.check_consent_of(id).await.is_ok());

        t.clock.advance(DAY);
        chat.consent.record_consent(&mut visitor, 1, false, "widget", None).await.unwrap();
        assert_eq!(visitor.consent, None);
        assert!(matches!(
            chat.consent.check_consent_of(id).await,
            Err(AppError::Conflict(crate::error::ErrorCode::ConsentRequired))
        ));
        let open = t.store.requests(Some(id), true, 10).await.unwrap();
        assert_eq!(open.len(), 1);
        assert_eq!(open[0].kind, RequestKind::Erasure);
        assert_eq!(open[0].due_at, START + DAY + 30 * DAY, "within the withdrawal days");

        chat.consent.record_consent(&mut visitor, 1, true, "widget", None).await.unwrap();
        assert!(t.store.requests(Some(id), true, 10).await.unwrap().is_empty());
        let all = t.store.requests(Some(id), false, 10).await.unwrap();
        assert_eq!(all[0].status, RequestStatus::Rejected);
        assert_eq!(t.store.consents(id).await.unwrap().len(), 3);
    }
}

//! An employee's own account: 2FA enrolment, password change, sessions.

use crate::auth::tokens;
use crate::error::{AppError, AppResult};
use crate::keys::Vault;
use crate::keys::purpose::Purpose;
use crate::services::auditor::Auditor;
use crate::services::caller::Caller;
use crate::services::sessions::Sessions;
use crate::services::settings::Settings;
use crate::services::sign_in::{Issued, SignIn};
use ostrog_domain::DomainError;
use ostrog_domain::audit::Action;
use ostrog_domain::audit::Outcome;
use ostrog_domain::clock::{Clock, SECOND};
use ostrog_domain::ids::SessionId;
use ostrog_domain::session::Stage;
use ostrog_domain::totp;
use ostrog_store::{EmployeeRecord, EmployeeStore, SessionRecord};
use rand::RngCore;
use serde_json::json;
use std::sync::Arc;

pub const RECOVERY_CODES: usize = 10;
const ISSUER: &str = "Ostrog";

/// What an authenticator app needs; shown once, at enrolment.
pub struct Enrolment {
    pub otpauth_uri: String,
    pub secret_base32: String,
    pub qr_svg: String,
}

pub struct Account {
    employees: Arc<dyn EmployeeStore>,
    vault: Arc<Vault>,
    auditor: Arc<Auditor>,
    clock: Arc<dyn Clock>,
    sessions: Arc<Sessions>,
    /// Checks the current password, decides stages, hashes new passwords.
    sign_in: Arc<SignIn>,
    settings: Arc<Settings>,
}

impl Account {
    pub fn new(
        employees: Arc<dyn EmployeeStore>,
        vault: Arc<Vault>,
        auditor: Arc<Auditor>,
        clock: Arc<dyn Clock>,
        sessions: Arc<Sessions>,
        sign_in: Arc<SignIn>,
        settings: Arc<Settings>,
    ) -> Self {
        Self { employees, vault, auditor, clock, sessions, sign_in, settings }
    }

    async fn own_record(&self, caller: &Caller) -> AppResult<EmployeeRecord> {
        self.employees.employee(caller.employee.id).await?.ok_or(AppError::Unauthenticated)
    }

    /// Starts (or restarts) enrolment with a fresh secret, kept pending until
    /// confirmed by a first code.
    pub async fn begin_enrolment(&self, caller: &Caller) -> AppResult<Enrolment> {
        let record = self.own_record(caller).await?;
        if record.totp_secret.is_some() {
            return Err(AppError::Conflict(crate::error::ErrorCode::TwoFactorAlreadyEnabled));
        }
        let mut secret = zeroize::Zeroizing::new([0u8; totp::SECRET_BYTES]);
        rand::rngs::OsRng.fill_bytes(secret.as_mut());
        let sealed = self.vault.seal(&Purpose::Totp(record.employee.id), secret.as_ref());
        self.employees.set_pending_totp(record.employee.id, Some(&sealed)).await?;
        let uri = totp::otpauth_uri(secret.as_ref(), ISSUER, &record.employee.email);
        let qr = qrcode::QrCode::new(uri.as_bytes()).map_err(|e| AppError::Internal(e.to_string()))?;
        let qr_svg = qr.render::<qrcode::render::svg::Color<'_>>().min_dimensions(200, 200).build();
        let secret_base32 =
            uri.split(['?', '&']).find_map(|kv| kv.strip_prefix("secret=")).unwrap_or_default().to_string();
        Ok(Enrolment { otpauth_uri: uri, secret_base32, qr_svg })
    }

    /// Confirms enrolment with a first code; returns the recovery codes,
    /// which exist in the clear only in this answer, and the session that
    /// replaces the caller's (a step of authentication, ASVS 7.2.4).
    pub async fn confirm_enrolment(&self, caller: &Caller, code: &str) -> AppResult<(Vec<String>, Issued)> {
        let record = self.own_record(caller).await?;
        let Some(pending) = &record.pending_totp_secret else {
            return Err(AppError::Conflict(crate::error::ErrorCode::NoEnrolmentInProgress));
        };
        let secret = self.vault.open_sealed(&Purpose::Totp(record.employee.id), pending)?;
        let seconds = u64::try_from(self.clock.now() / SECOND).unwrap_or(0);
        let Some(step) = totp::verify(&secret, code, seconds, None) else {
            self.auditor.audit(&caller.ctx(), Action::TwoFactorEnrolment, None, Outcome::Failure, json!({})).await?;
            return Err(AppError::InvalidCredentials);
        };
        let (codes, hashes) = self.new_recovery_codes();
        self.employees.activate_totp(record.employee.id, step, &hashes).await?;
        let record = self.own_record(caller).await?;
        let stage = self.sign_in.stage_for(&record, true).await?;
        let issued = self.sessions.renew(caller, stage).await?;
        self.auditor.audit(&caller.ctx(), Action::TwoFactorEnrolled, None, Outcome::Success, json!({})).await?;
        Ok((codes, issued))
    }

    /// Replaces one's recovery codes (all of them: the old ones stop working).
    pub async fn regenerate_recovery_codes(&self, caller: &Caller) -> AppResult<Vec<String>> {
        let (codes, hashes) = self.new_recovery_codes();
        self.employees.replace_recovery_codes(caller.employee.id, &hashes).await.map_err(|e| match e {
            ostrog_store::StoreError::NotFound => AppError::Conflict(crate::error::ErrorCode::TwoFactorNotEnabled),
            other => other.into(),
        })?;
        self.auditor
            .audit(&caller.ctx(), Action::TwoFactorRecoveryCodesReplaced, None, Outcome::Success, json!({}))
            .await?;
        Ok(codes)
    }

    /// Switching off one's own 2FA, allowed only where policy does not require it.
    pub async fn disable_own_two_factor(&self, caller: &Caller) -> AppResult<()> {
        if self.settings.two_factor_required(caller.employee.role).await? {
            return Err(DomainError::TwoFactorRequired.into());
        }
        self.employees.clear_totp(caller.employee.id).await?;
        self.auditor.audit(&caller.ctx(), Action::TwoFactorDisabled, None, Outcome::Success, json!({})).await
    }

    /// Changes one's own password and ends every other session.
    pub async fn change_password(&self, caller: &Caller, current: &str, new: &str) -> AppResult<Stage> {
        let record = self.sign_in.check_own_password(caller, current, Action::AccountPasswordChanged).await?;
        // The one-time password of an invitation or a reset must die at the
        // forced change, never be chosen again (ASVS 6.4.1); nor may any
        // password be "changed" to itself.
        if bool::from(subtle::ConstantTimeEq::ct_eq(new.as_bytes(), current.as_bytes())) {
            return Err(DomainError::WeakPassword("reused").into());
        }
        self.sign_in.password_policy().check(new, &record.employee.name, &record.employee.email)?;
        let hash = self.sign_in.hasher().hash(new).await?;
        self.employees.set_password(record.employee.id, &hash, false).await?;
        self.sessions.end_others(caller).await?;
        let record = self.own_record(caller).await?;
        let done = caller.session.stage != Stage::SecondFactor;
        let stage = self.sign_in.stage_for(&record, done).await?;
        self.sessions.set_stage(caller.session_id(), stage).await?;
        self.auditor.audit(&caller.ctx(), Action::AccountPasswordChanged, None, Outcome::Success, json!({})).await?;
        Ok(stage)
    }

    /// Changes one's own display name. The e-mail is the sign-in name and
    /// is changed by whoever manages employees.
    pub async fn rename_self(&self, caller: &Caller, name: &str) -> AppResult<()> {
        let name = ostrog_domain::employee::normalize_name(name)?;
        self.employees.update_profile(caller.employee.id, &name, &caller.employee.email).await?;
        self.auditor.audit(&caller.ctx(), Action::AccountRenamed, None, Outcome::Success, json!({})).await
    }

    pub async fn own_sessions(&self, caller: &Caller) -> AppResult<Vec<SessionRecord>> {
        self.sessions.of(caller.employee.id).await
    }

    /// Ends every session of one's own but this one; how many.
    pub async fn end_other_own_sessions(&self, caller: &Caller) -> AppResult<u64> {
        let ended = self.sessions.end_others(caller).await?;
        let details = json!({"sessions": ended});
        self.auditor.audit(&caller.ctx(), Action::SessionOthersRevoked, None, Outcome::Success, details).await?;
        Ok(ended)
    }

    pub async fn revoke_own_session(&self, caller: &Caller, id: SessionId) -> AppResult<()> {
        if !self.sessions.end(caller.employee.id, id).await? {
            return Err(AppError::NotFound);
        }
        self.auditor
            .audit(&caller.ctx(), Action::SessionRevoked, Some(id.to_string()), Outcome::Success, json!({}))
            .await
    }
}

impl Account {
    /// Ten new recovery codes and what is stored for them.
    fn new_recovery_codes(&self) -> (Vec<String>, Vec<String>) {
        let codes: Vec<String> = (0..RECOVERY_CODES).map(|_| tokens::new_recovery_code()).collect();
        let hashes = codes.iter().map(|c| self.sign_in.recovery_code_hash(c)).collect();
        (codes, hashes)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::services::auditor::Ctx;
    use crate::services::caller::Activity;
    use crate::services::testing::{Harness, PASSWORD};
    use ostrog_domain::role::Role;

    #[tokio::test]
    async fn a_new_password_ends_every_other_session_and_may_not_be_the_old_one() {
        let t = Harness::new().await;
        let people = t.people();
        let e = t.employee_with_password(&people, Role::Operator).await;
        let record = t.store.employee(e.id).await.unwrap().unwrap();
        let here = people.sessions.issue(&record, Stage::Full, &Ctx::default()).await.unwrap();
        let elsewhere = people.sessions.issue(&record, Stage::Full, &Ctx::default()).await.unwrap();
        let caller = people.sessions.caller(&here.token, None, Activity::Person).await.unwrap();
        let reused = people.account.change_password(&caller, PASSWORD, PASSWORD).await;
        assert!(matches!(reused, Err(AppError::Domain(DomainError::WeakPassword(_)))));
        let new = "an entirely new passphrase";
        people.account.change_password(&caller, PASSWORD, new).await.unwrap();
        assert!(people.sessions.caller(&elsewhere.token, None, Activity::Person).await.is_err());
        people.sessions.caller(&here.token, None, Activity::Person).await.unwrap();
        assert!(people.sign_in.sign_in(&e.email, PASSWORD, &Ctx::default()).await.is_err());
        people.sign_in.sign_in(&e.email, new, &Ctx::default()).await.unwrap();
    }

    #[tokio::test]
    async fn one_cannot_revoke_another_employees_session() {
        let t = Harness::new().await;
        let people = t.people();
        let (me, other) = (t.caller(Role::Operator).await, t.caller(Role::Operator).await);
        let record = t.store.employee(other.employee.id).await.unwrap().unwrap();
        let theirs = people.sessions.issue(&record, Stage::Full, &Ctx::default()).await.unwrap();
        let id = people.sessions.caller(&theirs.token, None, Activity::Person).await.unwrap().session_id();
        let r = people.account.revoke_own_session(&me, id).await;
        assert!(matches!(r, Err(AppError::NotFound)));
        people.sessions.caller(&theirs.token, None, Activity::Person).await.unwrap();
        assert!(t.audited().await.is_empty());
    }
}

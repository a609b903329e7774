//! Signing in: the password step with brute-force defence, the second
//! factor, re-authentication, and the end of a session.
//!
//! Failures are counted per e-mail address whether or not an account has
//! it, and every refusal says the same thing, so answers never reveal which
//! accounts exist.

use crate::auth::password::Hasher;
use crate::auth::throttle::IpThrottle;
use crate::auth::tokens;
use crate::error::{AppError, AppResult};
use crate::keys::Vault;
use crate::keys::purpose::Purpose;
use crate::services::auditor::{Auditor, Ctx};
use crate::services::caller::Caller;
use crate::services::sessions::Sessions;
use crate::services::settings::Settings;
use ostrog_domain::audit::Action;
use ostrog_domain::audit::Outcome;
use ostrog_domain::clock::{Clock, SECOND};
use ostrog_domain::employee::{EmployeeStatus, normalize_email};
use ostrog_domain::lockout::{Consequence, Gate, LockoutPolicy};
use ostrog_domain::password_policy::PasswordPolicy;
use ostrog_domain::session::{Progress, Stage, next_stage};
use ostrog_domain::totp;
use ostrog_store::{AttemptStore, EmployeeRecord, EmployeeStore};
use serde_json::json;
use std::sync::Arc;

pub use crate::services::sessions::Issued;

const PASSWORD_SCOPE: &str = "password";
const SECOND_FACTOR_SCOPE: &str = "second_factor";

/// A second-factor proof.
pub enum Proof<'a> {
    Code(&'a str),
    RecoveryCode(&'a str),
}

/// What defends passwords, from `[auth]`: the hasher (its cap on hashes
/// running at once is one for the whole process: clones share it), the
/// per-address throttle of failures, and the rules a new password must pass.
pub struct Defences {
    pub hasher: Hasher,
    pub ip_throttle: IpThrottle,
    pub password_policy: PasswordPolicy,
}

impl Defences {
    pub fn new(auth: &crate::config::AuthConfig) -> Self {
        Self {
            hasher: Hasher::new(auth.max_concurrent_hashes),
            ip_throttle: IpThrottle::new(auth.ip_failures_per_15_min),
            password_policy: PasswordPolicy::new(auth.password_min_length),
        }
    }
}

pub struct SignIn {
    employees: Arc<dyn EmployeeStore>,
    attempts: Arc<dyn AttemptStore>,
    vault: Arc<Vault>,
    auditor: Arc<Auditor>,
    clock: Arc<dyn Clock>,
    sessions: Arc<Sessions>,
    /// Whether a role must use 2FA decides the stage a session reaches.
    settings: Arc<Settings>,
    defences: Defences,
}

impl SignIn {
    #[allow(clippy::too_many_arguments)] // each is a dependency, named where `App::new` builds this
    pub fn new(
        employees: Arc<dyn EmployeeStore>,
        attempts: Arc<dyn AttemptStore>,
        vault: Arc<Vault>,
        auditor: Arc<Auditor>,
        clock: Arc<dyn Clock>,
        sessions: Arc<Sessions>,
        settings: Arc<Settings>,
        defences: Defences,
    ) -> Self {
        Self { employees, attempts, vault, auditor, clock, sessions, settings, defences }
    }

    /// The hasher every password goes through (shared: one cap for all).
    pub fn hasher(&self) -> &Hasher {
        &self.defences.hasher
    }

    /// The rules a new password must pass.
    pub fn password_policy(&self) -> &PasswordPolicy {
        &self.defences.password_policy
    }

    pub async fn sign_in(&self, email: &str, password: &str, ctx: &Ctx) -> AppResult<Issued> {
        let now = self.clock.now();
        if let Some(ip) = ctx.ip
            && let Some(until) = self.defences.ip_throttle.blocked_until(ip, now)
        {
            return Err(too_many(until, now));
        }
        let email = normalize_email(email).unwrap_or_else(|_| email.trim().to_lowercase());
        let subject = tokens::hash_token(&email);
        let failures = self.attempts.failures(PASSWORD_SCOPE, &subject).await?;
        let record = self.employees.employee_by_email(&email).await?;
        let target = record.as_ref().map(|r| r.employee.id.to_string());
        let administrator =
            record.as_ref().is_some_and(|r| r.employee.role == ostrog_domain::role::Role::Administrator);
        if let Gate::Closed { until } = LockoutPolicy::PASSWORD.gate(&failures, now) {
            self.auditor.audit(ctx, Action::AuthSignIn, target, Outcome::Denied, json!({"reason": "locked"})).await?;
            return Err(too_many(until, now));
        }
        let hash = record.as_ref().and_then(|r| r.password_hash.as_deref());
        let verified = self.defences.hasher.verify(password, hash).await;
        let active = record.as_ref().is_some_and(|r| r.employee.status == EmployeeStatus::Active);
        let Some(record) = record.filter(|_| verified && active) else {
            let (next, consequence) = LockoutPolicy::PASSWORD.fail(&failures, now);
            self.attempts.set_failures(PASSWORD_SCOPE, &subject, &next).await?;
            if let Some(ip) = ctx.ip {
                self.defences.ip_throttle.record_failure(ip, now);
            }
            crate::metrics::sign_in_failed();
            self.auditor
                .audit(ctx, Action::AuthSignIn, target.clone(), Outcome::Failure, json!({"failures": next.count}))
                .await?;
            self.after_password_failure(ctx, target, consequence, administrator).await?;
            return Err(AppError::InvalidCredentials);
        };
        self.attempts.clear_failures(PASSWORD_SCOPE, &subject).await?;
        let stage = self.stage_for(&record, false).await?;
        let issued = self.sessions.issue(&record, stage, ctx).await?;
        let ctx = Ctx { actor: Some(record.employee.id), ..ctx.clone() };
        self.auditor.audit(&ctx, Action::AuthSignIn, None, Outcome::Success, json!({"stage": stage.name()})).await?;
        Ok(issued)
    }

    /// The Administrator is never disabled (nobody could restore them, and
    /// anyone knowing their e-mail could cause it): past the limit they stay
    /// locked out for the policy's periods instead, and it is audited.
    async fn after_password_failure(
        &self,
        ctx: &Ctx,
        target: Option<String>,
        c: Consequence,
        administrator: bool,
    ) -> AppResult<()> {
        match c {
            Consequence::None => Ok(()),
            Consequence::Locked => {
                self.auditor.audit(ctx, Action::AuthLocked, target, Outcome::Success, json!({})).await
            }
            Consequence::Disabled if administrator => {
                let details = json!({"reason": "failed_sign_ins", "administrator_never_disabled": true});
                self.auditor.audit(ctx, Action::AuthLocked, target, Outcome::Success, details).await
            }
            Consequence::Disabled => {
                if let Some(id) = target.as_deref().and_then(ostrog_domain::ids::EmployeeId::parse) {
                    self.employees.set_status(id, EmployeeStatus::Disabled, self.clock.now()).await?;
                    self.sessions.disconnect(id);
                }
                self.auditor
                    .audit(
                        ctx,
                        Action::EmployeeDisabled,
                        target,
                        Outcome::Success,
                        json!({"reason": "failed_sign_ins"}),
                    )
                    .await
            }
        }
    }

    /// The stage a session of this employee should be in next.
    pub async fn stage_for(&self, record: &EmployeeRecord, second_factor_done: bool) -> AppResult<Stage> {
        let required = self.settings.two_factor_required(record.employee.role).await?;
        Ok(next_stage(Progress {
            second_factor_done,
            has_totp: record.totp_secret.is_some(),
            must_change_password: record.must_change_password,
            totp_required: required,
        }))
    }

    /// The second step of signing in. The session is replaced by a new one
    /// (new token, new CSRF token): a token seen before the second factor —
    /// in a log, a shared screen, a fixated cookie — is worth nothing after
    /// it (ASVS 7.2.4).
    pub async fn second_factor(&self, caller: &Caller, proof: Proof<'_>) -> AppResult<Issued> {
        if caller.session.stage != Stage::SecondFactor {
            return Err(AppError::Conflict(crate::error::ErrorCode::SecondFactorNotExpected));
        }
        let record = self.verify_second_factor(caller, proof).await?;
        let stage = self.stage_for(&record, true).await?;
        let ctx = Ctx { user_agent: caller.session.user_agent.clone(), ..caller.ctx() };
        let issued = self.sessions.issue(&record, stage, &ctx).await?;
        self.sessions.forget(record.employee.id, caller.session_id()).await?;
        Ok(issued)
    }

    /// Checks the signed-in employee's own password (step-up, password
    /// change) under the same lockout and per-address throttle as signing
    /// in: a stolen session must not become an unlimited password oracle.
    pub(crate) async fn check_own_password(
        &self,
        caller: &Caller,
        password: &str,
        action: Action,
    ) -> AppResult<EmployeeRecord> {
        let (ctx, now) = (caller.ctx(), self.clock.now());
        let record = self.employees.employee(caller.employee.id).await?.ok_or(AppError::Unauthenticated)?;
        let subject = tokens::hash_token(&record.employee.email);
        let failures = self.attempts.failures(PASSWORD_SCOPE, &subject).await?;
        if let Gate::Closed { until } = LockoutPolicy::PASSWORD.gate(&failures, now) {
            self.auditor.audit(&ctx, action, None, Outcome::Denied, json!({"reason": "locked"})).await?;
            return Err(too_many(until, now));
        }
        if self.defences.hasher.verify(password, record.password_hash.as_deref()).await {
            self.attempts.clear_failures(PASSWORD_SCOPE, &subject).await?;
            return Ok(record);
        }
        let (next, consequence) = LockoutPolicy::PASSWORD.fail(&failures, now);
        self.attempts.set_failures(PASSWORD_SCOPE, &subject, &next).await?;
        if let Some(ip) = ctx.ip {
            self.defences.ip_throttle.record_failure(ip, now);
        }
        crate::metrics::sign_in_failed();
        self.auditor.audit(&ctx, action, None, Outcome::Failure, json!({"failures": next.count})).await?;
        let administrator = record.employee.role == ostrog_domain::role::Role::Administrator;
        self.after_password_failure(&ctx, Some(record.employee.id.to_string()), consequence, administrator).await?;
        Err(AppError::InvalidCredentials)
    }

    /// Step-up: password and second factor again, for sensitive operations.
    /// The session is replaced, as at every step of authentication.
    pub async fn reauthenticate(&self, caller: &Caller, password: &str, proof: Proof<'_>) -> AppResult<Issued> {
        let record = self.check_own_password(caller, password, Action::AuthReauthenticate).await?;
        if record.totp_secret.is_some() {
            self.verify_second_factor(caller, proof).await?;
        }
        let issued = self.sessions.renew(caller, Stage::Full).await?;
        self.auditor.audit(&caller.ctx(), Action::AuthReauthenticate, None, Outcome::Success, json!({})).await?;
        Ok(issued)
    }

    async fn verify_second_factor(&self, caller: &Caller, proof: Proof<'_>) -> AppResult<EmployeeRecord> {
        let id = caller.employee.id;
        let ctx = caller.ctx();
        let subject = id.to_string();
        let now = self.clock.now();
        let failures = self.attempts.failures(SECOND_FACTOR_SCOPE, &subject).await?;
        if let Gate::Closed { until } = LockoutPolicy::SECOND_FACTOR.gate(&failures, now) {
            self.auditor
                .audit(&ctx, Action::AuthSecondFactor, None, Outcome::Denied, json!({"reason": "locked"}))
                .await?;
            return Err(too_many(until, now));
        }
        let record = self.employees.employee(id).await?.ok_or(AppError::Unauthenticated)?;
        let (ok, method) = match proof {
            Proof::Code(code) => (self.check_totp(&record, code).await?, "totp"),
            Proof::RecoveryCode(code) => {
                let keyed = self.employees.use_recovery_code(id, &self.recovery_code_hash(code), now).await?;
                // Codes issued before they were keyed were stored as SHA-256.
                let ok = keyed
                    || self
                        .employees
                        .use_recovery_code(id, &tokens::hash_token(&tokens::normalize_recovery_code(code)), now)
                        .await?;
                (ok, "recovery_code")
            }
        };
        if !ok {
            let (next, consequence) = LockoutPolicy::SECOND_FACTOR.fail(&failures, now);
            self.attempts.set_failures(SECOND_FACTOR_SCOPE, &subject, &next).await?;
            crate::metrics::sign_in_failed();
            self.auditor
                .audit(&ctx, Action::AuthSecondFactor, None, Outcome::Failure, json!({"method": method}))
                .await?;
            if consequence == Consequence::Locked {
                self.auditor.audit(&ctx, Action::AuthSecondFactorLocked, None, Outcome::Success, json!({})).await?;
            }
            return Err(AppError::InvalidSecondFactor);
        }
        self.attempts.clear_failures(SECOND_FACTOR_SCOPE, &subject).await?;
        self.auditor.audit(&ctx, Action::AuthSecondFactor, None, Outcome::Success, json!({"method": method})).await?;
        Ok(record)
    }

    /// Checks a code against the active secret and spends its step.
    async fn check_totp(&self, record: &EmployeeRecord, code: &str) -> AppResult<bool> {
        let Some(sealed) = &record.totp_secret else { return Ok(false) };
        let secret = self.vault.open_sealed(&Purpose::Totp(record.employee.id), sealed)?;
        let seconds = u64::try_from(self.clock.now() / SECOND).unwrap_or(0);
        match totp::verify(&secret, code, seconds, record.totp_last_step) {
            Some(step) => Ok(self.employees.use_totp_step(record.employee.id, step).await?),
            None => Ok(false),
        }
    }

    /// A recovery code as stored: HMAC under the server's key, not a bare
    /// hash. A code has about 99 bits, under the 112 below which ASVS 6.5.2
    /// wants more than a fast unkeyed hash; a copy of the database alone
    /// cannot test guesses against this.
    pub(crate) fn recovery_code_hash(&self, code: &str) -> String {
        self.vault.blind_index(crate::keys::purpose::Index::RecoveryCode, &tokens::normalize_recovery_code(code))
    }

    /// Forgets the failed password attempts against `email`: a restored
    /// account starts with a clean slate.
    pub async fn forgive_failures(&self, email: &str) -> AppResult<()> {
        Ok(self.attempts.clear_failures(PASSWORD_SCOPE, &tokens::hash_token(email)).await?)
    }

    pub async fn sign_out(&self, caller: &Caller) -> AppResult<()> {
        self.sessions.end(caller.employee.id, caller.session_id()).await?;
        self.auditor.audit(&caller.ctx(), Action::AuthSignOut, None, Outcome::Success, json!({})).await
    }
}

fn too_many(until: i64, now: i64) -> AppError {
    AppError::TooManyAttempts { retry_after_seconds: ((until - now) / SECOND).max(1) }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::services::caller::Activity;
    use crate::services::testing::{Harness, PASSWORD};
    use ostrog_domain::clock::MINUTE;
    use ostrog_domain::lockout::Failures;
    use ostrog_domain::role::Role;

    fn from_ip() -> Ctx {
        Ctx { actor: None, ip: "192.0.2.9".parse().ok(), user_agent: None }
    }

    #[tokio::test]
    async fn wrong_passwords_are_counted_then_delayed_then_locked_by_the_clock() {
        let t = Harness::new().await;
        let people = t.people();
        let e = t.employee_with_password(&people, Role::Operator).await;
        for _ in 0..4 {
            let r = people.sign_in.sign_in(&e.email, "wrong password!", &from_ip()).await;
            assert!(matches!(r, Err(AppError::InvalidCredentials)));
        }
        // The fifth failure makes the next attempt wait a second.
        assert!(people.sign_in.sign_in(&e.email, "wrong password!", &from_ip()).await.is_err());
        let r = people.sign_in.sign_in(&e.email, PASSWORD, &from_ip()).await;
        assert!(matches!(r, Err(AppError::TooManyAttempts { .. })), "refused before the password is looked at");
        for _ in 0..5 {
            t.clock.advance(MINUTE);
            assert!(people.sign_in.sign_in(&e.email, "wrong password!", &from_ip()).await.is_err());
        }
        // Ten in a row lock the step for 15 minutes, even for the right password.
        t.clock.advance(14 * MINUTE);
        let r = people.sign_in.sign_in(&e.email, PASSWORD, &from_ip()).await;
        assert!(matches!(r, Err(AppError::TooManyAttempts { .. })));
        t.clock.advance(MINUTE);
        people.sign_in.sign_in(&e.email, PASSWORD, &from_ip()).await.unwrap();
        let subject = tokens::hash_token(&e.email);
        assert_eq!(t.store.failures(PASSWORD_SCOPE, &subject).await.unwrap().count, 0, "success clears the count");
        let audited = t.audited().await;
        assert!(audited.contains(&"auth.locked".to_string()));
    }

    #[tokio::test]
    async fn the_hundredth_failure_disables_an_employee_but_never_the_administrator() {
        let t = Harness::new().await;
        let people = t.people();
        let operator = t.employee_with_password(&people, Role::Operator).await;
        let admin = t.employee_with_password(&people, Role::Administrator).await;
        for e in [&operator, &admin] {
            let almost = Failures { count: 99, next_attempt_at: 0 };
            t.store.set_failures(PASSWORD_SCOPE, &tokens::hash_token(&e.email), &almost).await.unwrap();
            assert!(people.sign_in.sign_in(&e.email, "wrong password!", &from_ip()).await.is_err());
        }
        let operator_now = t.store.employee(operator.id).await.unwrap().unwrap().employee;
        let admin_now = t.store.employee(admin.id).await.unwrap().unwrap().employee;
        assert_eq!(operator_now.status, EmployeeStatus::Disabled);
        assert_eq!(admin_now.status, EmployeeStatus::Active);
        let log = t.store.audit_entries(&Default::default(), 0, 100).await.unwrap();
        let locked = log.iter().find(|e| e.event.action == "auth.locked").unwrap();
        assert_eq!(locked.event.details["administrator_never_disabled"], true);
        assert_eq!(locked.event.target, Some(admin.id.to_string()));
    }

    #[tokio::test]
    async fn the_stage_after_the_password_follows_the_two_factor_policy() {
        let t = Harness::new().await;
        let people = t.people();
        let e = t.employee_with_password(&people, Role::Operator).await;
        let issued = people.sign_in.sign_in(&e.email, PASSWORD, &from_ip()).await.unwrap();
        assert_eq!(issued.stage, Stage::Enrolment, "2FA is required of every role by default");
        let admin = t.caller(Role::Administrator).await;
        let mut policy = people.settings.two_factor_policy().await.unwrap();
        policy.required.insert(ostrog_domain::role::Role::Operator, false);
        people.settings.set_two_factor_policy(&admin, policy).await.unwrap();
        let issued = people.sign_in.sign_in(&e.email, PASSWORD, &from_ip()).await.unwrap();
        assert_eq!(issued.stage, Stage::Full);
        // A full session has no second factor to give.
        let caller = people.sessions.caller(&issued.token, None, Activity::Person).await.unwrap();
        let r = people.sign_in.second_factor(&caller, Proof::Code("123456")).await;
        assert!(matches!(r, Err(AppError::Conflict(crate::error::ErrorCode::SecondFactorNotExpected))));
    }

    #[tokio::test]
    async fn signing_out_ends_the_session_and_is_audited() {
        let t = Harness::new().await;
        let people = t.people();
        let e = t.employee_with_password(&people, Role::Operator).await;
        let issued = people.sign_in.sign_in(&e.email, PASSWORD, &from_ip()).await.unwrap();
        let caller = people.sessions.caller(&issued.token, None, Activity::Person).await.unwrap();
        people.sign_in.sign_out(&caller).await.unwrap();
        let r = people.sessions.caller(&issued.token, None, Activity::Person).await;
        assert!(matches!(r, Err(AppError::Unauthenticated)));
        assert_eq!(t.audited().await, ["auth.sign_in", "auth.sign_out"]);
    }
}

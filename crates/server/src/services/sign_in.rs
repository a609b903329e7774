//! Signing in: the password step with brute-force defence, the second
//! factor, re-authentication, and issuing sessions.
//!
//! Failures are counted per e-mail address whether or not an account has
//! it, and every refusal says the same thing, so answers never reveal which
//! accounts exist.

use crate::app::App;
use crate::auth::tokens;
use crate::error::{AppError, AppResult};
use crate::keys::purpose::Purpose;
use crate::services::auditor::Ctx;
use crate::services::caller::Caller;
use ostrog_domain::audit::Action;
use ostrog_domain::audit::Outcome;
use ostrog_domain::clock::SECOND;
use ostrog_domain::employee::{EmployeeStatus, normalize_email};
use ostrog_domain::ids::SessionId;
use ostrog_domain::lockout::{Consequence, Gate, LockoutPolicy};
use ostrog_domain::session::{Progress, Stage, next_stage};
use ostrog_domain::totp;
use ostrog_store::{EmployeeRecord, SessionRecord};
use serde_json::json;

const PASSWORD_SCOPE: &str = "password";
const SECOND_FACTOR_SCOPE: &str = "second_factor";

/// What a client receives when a session is issued. The tokens exist only
/// here and in the client; the store keeps their hashes.
#[derive(Debug)]
pub struct Issued {
    pub token: String,
    pub csrf_token: String,
    pub stage: Stage,
}

/// A second-factor proof.
pub enum Proof<'a> {
    Code(&'a str),
    RecoveryCode(&'a str),
}

impl App {
    pub async fn sign_in(&self, email: &str, password: &str, ctx: &Ctx) -> AppResult<Issued> {
        let now = self.now();
        if let Some(ip) = ctx.ip
            && let Some(until) = self.ip_throttle.blocked_until(ip, now)
        {
            return Err(too_many(until, now));
        }
        let email = normalize_email(email).unwrap_or_else(|_| email.trim().to_lowercase());
        let subject = tokens::hash_token(&email);
        let failures = self.store.failures(PASSWORD_SCOPE, &subject).await?;
        let record = self.store.employee_by_email(&email).await?;
        let target = record.as_ref().map(|r| r.employee.id.to_string());
        let administrator =
            record.as_ref().is_some_and(|r| r.employee.role == ostrog_domain::role::Role::Administrator);
        if let Gate::Closed { until } = LockoutPolicy::PASSWORD.gate(&failures, now) {
            self.auditor.audit(ctx, Action::AuthSignIn, target, Outcome::Denied, json!({"reason": "locked"})).await?;
            return Err(too_many(until, now));
        }
        let hash = record.as_ref().and_then(|r| r.password_hash.as_deref());
        let verified = self.hasher.verify(password, hash).await;
        let active = record.as_ref().is_some_and(|r| r.employee.status == EmployeeStatus::Active);
        let Some(record) = record.filter(|_| verified && active) else {
            let (next, consequence) = LockoutPolicy::PASSWORD.fail(&failures, now);
            self.store.set_failures(PASSWORD_SCOPE, &subject, &next).await?;
            if let Some(ip) = ctx.ip {
                self.ip_throttle.record_failure(ip, now);
            }
            crate::metrics::sign_in_failed();
            self.auditor
                .audit(ctx, Action::AuthSignIn, target.clone(), Outcome::Failure, json!({"failures": next.count}))
                .await?;
            self.after_password_failure(ctx, target, consequence, administrator).await?;
            return Err(AppError::InvalidCredentials);
        };
        self.store.clear_failures(PASSWORD_SCOPE, &subject).await?;
        let stage = self.stage_for(&record, false).await?;
        let issued = self.issue_session(&record, stage, ctx).await?;
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
                    self.store.set_status(id, EmployeeStatus::Disabled, self.now()).await?;
                    self.realtime.hub.disconnect_employee(id);
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
        let required = self.two_factor_required(record.employee.role).await?;
        Ok(next_stage(Progress {
            second_factor_done,
            has_totp: record.totp_secret.is_some(),
            must_change_password: record.must_change_password,
            totp_required: required,
        }))
    }

    pub async fn issue_session(&self, record: &EmployeeRecord, stage: Stage, ctx: &Ctx) -> AppResult<Issued> {
        let (token, csrf_token) = (tokens::new_token(), tokens::new_token());
        let now = self.now();
        self.store
            .create_session(&SessionRecord {
                id: SessionId::random(),
                employee_id: record.employee.id,
                token_hash: tokens::hash_token(&token),
                csrf_hash: tokens::hash_token(&csrf_token),
                stage,
                created_at: now,
                last_seen_at: now,
                authenticated_at: now,
                ip: ctx.ip.map(|ip| ip.to_string()),
                user_agent: ctx.user_agent.as_ref().map(|ua| ua.chars().take(200).collect()),
            })
            .await?;
        Ok(Issued { token, csrf_token, stage })
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
        let issued = self.issue_session(&record, stage, &ctx).await?;
        self.store.delete_session(record.employee.id, caller.session_id()).await?;
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
        let (ctx, now) = (caller.ctx(), self.now());
        let record = self.store.employee(caller.employee.id).await?.ok_or(AppError::Unauthenticated)?;
        let subject = tokens::hash_token(&record.employee.email);
        let failures = self.store.failures(PASSWORD_SCOPE, &subject).await?;
        if let Gate::Closed { until } = LockoutPolicy::PASSWORD.gate(&failures, now) {
            self.auditor.audit(&ctx, action, None, Outcome::Denied, json!({"reason": "locked"})).await?;
            return Err(too_many(until, now));
        }
        if self.hasher.verify(password, record.password_hash.as_deref()).await {
            self.store.clear_failures(PASSWORD_SCOPE, &subject).await?;
            return Ok(record);
        }
        let (next, consequence) = LockoutPolicy::PASSWORD.fail(&failures, now);
        self.store.set_failures(PASSWORD_SCOPE, &subject, &next).await?;
        if let Some(ip) = ctx.ip {
            self.ip_throttle.record_failure(ip, now);
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
        let issued = self.renew_session(caller, Stage::Full).await?;
        self.auditor.audit(&caller.ctx(), Action::AuthReauthenticate, None, Outcome::Success, json!({})).await?;
        Ok(issued)
    }

    /// Replaces the caller's session after a step of authentication (ASVS
    /// 7.2.4): a new token and CSRF token, proven now; the old token stops
    /// working, and the open connections move to the new session. The
    /// session's start is kept, so a step never extends its lifetime.
    pub(crate) async fn renew_session(&self, caller: &Caller, stage: Stage) -> AppResult<Issued> {
        let (token, csrf_token) = (tokens::new_token(), tokens::new_token());
        let now = self.now();
        let old = &caller.session;
        let renewed = SessionRecord {
            id: SessionId::random(),
            token_hash: tokens::hash_token(&token),
            csrf_hash: tokens::hash_token(&csrf_token),
            stage,
            last_seen_at: now,
            authenticated_at: now,
            ..old.clone()
        };
        self.store.create_session(&renewed).await?;
        self.realtime.hub.move_session(old.id, renewed.id);
        self.store.delete_session(caller.employee.id, old.id).await?;
        Ok(Issued { token, csrf_token, stage })
    }

    async fn verify_second_factor(&self, caller: &Caller, proof: Proof<'_>) -> AppResult<EmployeeRecord> {
        let id = caller.employee.id;
        let ctx = caller.ctx();
        let subject = id.to_string();
        let now = self.now();
        let failures = self.store.failures(SECOND_FACTOR_SCOPE, &subject).await?;
        if let Gate::Closed { until } = LockoutPolicy::SECOND_FACTOR.gate(&failures, now) {
            self.auditor
                .audit(&ctx, Action::AuthSecondFactor, None, Outcome::Denied, json!({"reason": "locked"}))
                .await?;
            return Err(too_many(until, now));
        }
        let record = self.store.employee(id).await?.ok_or(AppError::Unauthenticated)?;
        let (ok, method) = match proof {
            Proof::Code(code) => (self.check_totp(&record, code).await?, "totp"),
            Proof::RecoveryCode(code) => {
                let keyed = self.store.use_recovery_code(id, &self.recovery_code_hash(code), now).await?;
                // Codes issued before they were keyed were stored as SHA-256.
                let ok = keyed
                    || self
                        .store
                        .use_recovery_code(id, &tokens::hash_token(&tokens::normalize_recovery_code(code)), now)
                        .await?;
                (ok, "recovery_code")
            }
        };
        if !ok {
            let (next, consequence) = LockoutPolicy::SECOND_FACTOR.fail(&failures, now);
            self.store.set_failures(SECOND_FACTOR_SCOPE, &subject, &next).await?;
            crate::metrics::sign_in_failed();
            self.auditor
                .audit(&ctx, Action::AuthSecondFactor, None, Outcome::Failure, json!({"method": method}))
                .await?;
            if consequence == Consequence::Locked {
                self.auditor.audit(&ctx, Action::AuthSecondFactorLocked, None, Outcome::Success, json!({})).await?;
            }
            return Err(AppError::InvalidCredentials);
        }
        self.store.clear_failures(SECOND_FACTOR_SCOPE, &subject).await?;
        self.auditor.audit(&ctx, Action::AuthSecondFactor, None, Outcome::Success, json!({"method": method})).await?;
        Ok(record)
    }

    /// Checks a code against the active secret and spends its step.
    async fn check_totp(&self, record: &EmployeeRecord, code: &str) -> AppResult<bool> {
        let Some(sealed) = &record.totp_secret else { return Ok(false) };
        let secret = self.vault.open_sealed(&Purpose::Totp(record.employee.id), sealed)?;
        let seconds = u64::try_from(self.now() / SECOND).unwrap_or(0);
        match totp::verify(&secret, code, seconds, record.totp_last_step) {
            Some(step) => Ok(self.store.use_totp_step(record.employee.id, step).await?),
            None => Ok(false),
        }
    }

    pub async fn sign_out(&self, caller: &Caller) -> AppResult<()> {
        self.store.delete_session(caller.employee.id, caller.session_id()).await?;
        self.realtime.hub.disconnect_session(caller.session_id());
        self.auditor.audit(&caller.ctx(), Action::AuthSignOut, None, Outcome::Success, json!({})).await
    }
}

fn too_many(until: i64, now: i64) -> AppError {
    AppError::TooManyAttempts { retry_after_seconds: ((until - now) / SECOND).max(1) }
}

//! The Store's queries, written once for both dialects and expanded per
//! backend by `impl_store!`. They use `$N` placeholders (which SQLite reads
//! too) and only types both backends map alike: BIGINT as i64, TEXT as
//! String, BLOB/BYTEA as Vec<u8>, BOOLEAN as bool. Dialect-specific work
//! (pool set-up, how an audit append is serialised, how a write
//! transaction begins) is done by the backend's methods, `begin_write` and
//! `begin_audit` among them.
//!
//! A deleted employee is a tombstone: statements that change an employee
//! skip rows with status `deleted`, so they report `NotFound`.

use crate::codec;
use ostrog_domain::access::Override;
use ostrog_domain::audit::{AuditEntry, AuditEvent};
use ostrog_domain::clock::Millis;
use ostrog_domain::employee::Employee;
use ostrog_domain::lockout::Failures;
use ostrog_store::{EmployeeRecord, OneTimeLink, SessionRecord, StoreResult};

/// The statements, `$N` placeholders for both dialects.
pub(crate) mod sql {
    use ostrog_store::Trail;

    pub(crate) const DELETE_RECOVERY_CODES: &str = "DELETE FROM recovery_codes WHERE employee_id = $1";
    pub(crate) const INSERT_RECOVERY_CODE: &str = "INSERT INTO recovery_codes (employee_id, code_hash) VALUES ($1, $2)";
    pub(crate) const CREATE_EMPLOYEE: &str = "INSERT INTO employees (id, email, name, name_key, role, status, password_hash, \
         must_change_password, created_at, deleted_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";
    pub(crate) const EMPLOYEE: &str = "SELECT id, email, name, role, status, created_at, password_hash, \
         must_change_password, totp_secret, pending_totp_secret, totp_last_step \
         FROM employees WHERE id = $1";
    pub(crate) const EMPLOYEE_BY_EMAIL: &str = "SELECT id, email, name, role, status, created_at, password_hash, \
         must_change_password, totp_secret, pending_totp_secret, totp_last_step \
         FROM employees WHERE email = $1";
    pub(crate) const LIST_EMPLOYEES: &str = "SELECT id, email, name, role, status, created_at FROM employees \
         WHERE ($1 IS NULL OR role = $1) \
         AND ($2 IS NULL OR status = $2) \
         AND ($3 IS NULL OR name_key LIKE $3 ESCAPE '\\' OR email LIKE $3 ESCAPE '\\') \
         ORDER BY name_key, id";
    pub(crate) const COUNT_WITH_ROLE: &str = "SELECT COUNT(*) AS n FROM employees WHERE role = $1";
    pub(crate) const UPDATE_PROFILE: &str = "UPDATE employees SET name = $2, name_key = $3, email = $4 \
         WHERE id = $1 AND status <> 'deleted'";
    pub(crate) const SET_ROLE: &str = "UPDATE employees SET role = $2 WHERE id = $1 AND status <> 'deleted'";
    pub(crate) const TOMBSTONE_EMPLOYEE: &str = "UPDATE employees SET status = $2, email = $3, deleted_at = $4, \
         password_hash = NULL, must_change_password = FALSE, totp_secret = NULL, \
         pending_totp_secret = NULL, totp_last_step = NULL \
         WHERE id = $1 AND status <> 'deleted'";
    pub(crate) const SET_STATUS: &str = "UPDATE employees SET status = $2 WHERE id = $1 AND status <> 'deleted'";
    pub(crate) const SET_PASSWORD: &str = "UPDATE employees SET password_hash = $2, must_change_password = $3 \
         WHERE id = $1 AND status <> 'deleted'";
    pub(crate) const OVERRIDES: &str = "SELECT permission, effect FROM permission_overrides \
         WHERE employee_id = $1 ORDER BY permission";
    pub(crate) const SET_OVERRIDE: &str = "INSERT INTO permission_overrides (employee_id, permission, effect) \
         VALUES ($1, $2, $3) \
         ON CONFLICT (employee_id, permission) DO UPDATE SET effect = excluded.effect";
    pub(crate) const REMOVE_OVERRIDE: &str =
        "DELETE FROM permission_overrides WHERE employee_id = $1 AND permission = $2";
    pub(crate) const SET_PENDING_TOTP: &str =
        "UPDATE employees SET pending_totp_secret = $2 WHERE id = $1 AND status <> 'deleted'";
    pub(crate) const ACTIVATE_TOTP: &str = "UPDATE employees SET totp_secret = pending_totp_secret, pending_totp_secret = NULL, \
         totp_last_step = $2 \
         WHERE id = $1 AND pending_totp_secret IS NOT NULL AND status <> 'deleted'";
    pub(crate) const TOTP_ACTIVE: &str = "SELECT 1 FROM employees WHERE id = $1 AND totp_secret IS NOT NULL";
    pub(crate) const USE_TOTP_STEP: &str = "UPDATE employees SET totp_last_step = $2 \
         WHERE id = $1 AND (totp_last_step IS NULL OR totp_last_step < $2)";
    pub(crate) const USE_RECOVERY_CODE: &str = "UPDATE recovery_codes SET used_at = $3 \
         WHERE employee_id = $1 AND code_hash = $2 AND used_at IS NULL";
    pub(crate) const UNUSED_RECOVERY_CODES: &str =
        "SELECT COUNT(*) AS n FROM recovery_codes WHERE employee_id = $1 AND used_at IS NULL";
    pub(crate) const CLEAR_TOTP: &str = "UPDATE employees SET totp_secret = NULL, pending_totp_secret = NULL \
         WHERE id = $1 AND status <> 'deleted'";
    pub(crate) const CREATE_SESSION: &str = "INSERT INTO sessions (id, employee_id, token_hash, csrf_hash, stage, created_at, \
         last_seen_at, authenticated_at, ip, user_agent) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";
    pub(crate) const SESSION_BY_TOKEN_HASH: &str = "SELECT * FROM sessions WHERE token_hash = $1";
    pub(crate) const TOUCH_SESSION: &str = "UPDATE sessions SET last_seen_at = $2 WHERE id = $1";
    pub(crate) const SET_SESSION_STAGE: &str = "UPDATE sessions SET stage = $2, authenticated_at = $3 WHERE id = $1";
    pub(crate) const SESSIONS_OF: &str = "SELECT * FROM sessions WHERE employee_id = $1 ORDER BY created_at, id";
    pub(crate) const DELETE_SESSION: &str = "DELETE FROM sessions WHERE id = $1 AND employee_id = $2";
    pub(crate) const DELETE_SESSIONS_OF: &str = "DELETE FROM sessions WHERE employee_id = $1";
    pub(crate) const DELETE_EXPIRED_SESSIONS: &str = "DELETE FROM sessions WHERE last_seen_at < $1 OR created_at < $2";
    pub(crate) const CREATE_LINK: &str = "INSERT INTO one_time_links (token_hash, kind, employee_id, expires_at) \
         VALUES ($1, $2, $3, $4)";
    pub(crate) const FIND_LINK: &str = "SELECT token_hash, kind, employee_id, expires_at FROM one_time_links \
         WHERE token_hash = $1 AND kind = $2 AND used_at IS NULL AND expires_at > $3";
    pub(crate) const CONSUME_LINK: &str = "UPDATE one_time_links SET used_at = $3 \
         WHERE token_hash = $1 AND kind = $2 AND used_at IS NULL AND expires_at > $3 \
         RETURNING token_hash, kind, employee_id, expires_at";
    pub(crate) const FAILURES: &str =
        "SELECT count, next_attempt_at FROM sign_in_failures WHERE scope = $1 AND subject = $2";
    pub(crate) const SET_FAILURES: &str = "INSERT INTO sign_in_failures (scope, subject, count, next_attempt_at) \
         VALUES ($1, $2, $3, $4) \
         ON CONFLICT (scope, subject) DO UPDATE \
         SET count = excluded.count, next_attempt_at = excluded.next_attempt_at";
    pub(crate) const CLEAR_FAILURES: &str = "DELETE FROM sign_in_failures WHERE scope = $1 AND subject = $2";
    pub(crate) const SETTING: &str = "SELECT value FROM settings WHERE key = $1";
    pub(crate) const PUT_SETTING: &str = "INSERT INTO settings (key, value) VALUES ($1, $2) \
         ON CONFLICT (key) DO UPDATE SET value = excluded.value";
    pub(crate) const PING: &str = "SELECT 1";
    /// A deleted employee keeps only the tombstone row.
    pub(crate) const DELETE_EMPLOYEE_ROWS: [&str; 4] = [
        DELETE_SESSIONS_OF,
        DELETE_RECOVERY_CODES,
        "DELETE FROM permission_overrides WHERE employee_id = $1",
        "DELETE FROM one_time_links WHERE employee_id = $1",
    ];

    /// The statements of one hash-chained log; only the table differs.
    pub(crate) struct AuditStatements {
        /// The chain's end: `seq` and `hash` of the newest entry.
        pub(crate) last: &'static str,
        pub(crate) insert: &'static str,
        pub(crate) oldest_first: &'static str,
        pub(crate) newest_first: &'static str,
    }

    macro_rules! audit_entries {
        ($table:literal, $direction:literal, $order:literal) => {
            concat!(
                "SELECT * FROM ",
                $table,
                " WHERE seq ",
                $direction,
                " $1 \
                 AND ($2 IS NULL OR actor = $2) \
                 AND ($3 IS NULL OR action = $3) \
                 AND ($4 IS NULL OR target = $4) \
                 AND ($5 IS NULL OR at >= $5) \
                 AND ($6 IS NULL OR at < $6) \
                 ORDER BY seq ",
                $order,
                " LIMIT $7"
            )
        };
    }

    macro_rules! audit_statements {
        ($table:literal) => {
            AuditStatements {
                last: concat!("SELECT seq, hash FROM ", $table, " ORDER BY seq DESC LIMIT 1"),
                insert: concat!(
                    "INSERT INTO ",
                    $table,
                    " (seq, at, actor, ip, action, target, outcome, details, prev_hash, hash) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
                ),
                oldest_first: audit_entries!($table, ">", "ASC"),
                newest_first: audit_entries!($table, "<", "DESC"),
            }
        };
    }

    const SECURITY: AuditStatements = audit_statements!("audit_log");
    const PERSONAL_DATA_ACCESS: AuditStatements = audit_statements!("access_log");

    /// Each trail is a table of its own.
    pub(crate) fn audit(trail: Trail) -> &'static AuditStatements {
        match trail {
            Trail::Security => &SECURITY,
            Trail::PersonalDataAccess => &PERSONAL_DATA_ACCESS,
        }
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct EmployeeRow {
    id: String,
    email: String,
    name: String,
    role: String,
    status: String,
    created_at: Millis,
}

impl EmployeeRow {
    pub(crate) fn into_record(self) -> StoreResult<Employee> {
        Ok(Employee {
            id: codec::employee_id(&self.id)?,
            email: self.email,
            name: self.name,
            role: codec::role(&self.role)?,
            status: codec::status(&self.status)?,
            created_at: self.created_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct EmployeeRecordRow {
    #[sqlx(flatten)]
    employee: EmployeeRow,
    password_hash: Option<String>,
    must_change_password: bool,
    totp_secret: Option<Vec<u8>>,
    pending_totp_secret: Option<Vec<u8>>,
    totp_last_step: Option<i64>,
}

impl EmployeeRecordRow {
    pub(crate) fn into_record(self) -> StoreResult<EmployeeRecord> {
        Ok(EmployeeRecord {
            employee: self.employee.into_record()?,
            password_hash: self.password_hash,
            must_change_password: self.must_change_password,
            totp_secret: self.totp_secret,
            pending_totp_secret: self.pending_totp_secret,
            totp_last_step: self.totp_last_step,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct OverrideRow {
    permission: String,
    effect: String,
}

impl OverrideRow {
    pub(crate) fn into_record(self) -> StoreResult<Override> {
        Ok(Override { permission: codec::permission(&self.permission)?, effect: codec::effect(&self.effect)? })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct SessionRow {
    id: String,
    employee_id: String,
    token_hash: String,
    csrf_hash: String,
    stage: String,
    created_at: Millis,
    last_seen_at: Millis,
    authenticated_at: Millis,
    ip: Option<String>,
    user_agent: Option<String>,
}

impl SessionRow {
    pub(crate) fn into_record(self) -> StoreResult<SessionRecord> {
        Ok(SessionRecord {
            id: codec::session_id(&self.id)?,
            employee_id: codec::employee_id(&self.employee_id)?,
            token_hash: self.token_hash,
            csrf_hash: self.csrf_hash,
            stage: codec::stage(&self.stage)?,
            created_at: self.created_at,
            last_seen_at: self.last_seen_at,
            authenticated_at: self.authenticated_at,
            ip: self.ip,
            user_agent: self.user_agent,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct LinkRow {
    token_hash: String,
    kind: String,
    employee_id: Option<String>,
    expires_at: Millis,
}

impl LinkRow {
    pub(crate) fn into_record(self) -> StoreResult<OneTimeLink> {
        Ok(OneTimeLink {
            token_hash: self.token_hash,
            kind: codec::link_kind(&self.kind)?,
            employee_id: self.employee_id.as_deref().map(codec::employee_id).transpose()?,
            expires_at: self.expires_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct FailuresRow {
    count: i64,
    next_attempt_at: Millis,
}

impl FailuresRow {
    pub(crate) fn into_record(self) -> StoreResult<Failures> {
        Ok(Failures { count: codec::count(self.count)?, next_attempt_at: self.next_attempt_at })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct AuditRow {
    seq: i64,
    at: Millis,
    actor: Option<String>,
    ip: Option<String>,
    action: String,
    target: Option<String>,
    outcome: String,
    details: String,
    prev_hash: String,
    hash: String,
}

impl AuditRow {
    pub(crate) fn into_record(self) -> StoreResult<AuditEntry> {
        Ok(AuditEntry {
            seq: self.seq,
            event: AuditEvent {
                at: self.at,
                actor: self.actor,
                ip: self.ip,
                action: self.action,
                target: self.target,
                outcome: codec::outcome(&self.outcome)?,
                details: codec::json(&self.details)?,
            },
            prev_hash: self.prev_hash,
            hash: self.hash,
        })
    }
}

/// The chain's end of `trail`, as `sql::audit(trail).last` returns it.
pub(crate) type ChainEnd = (i64, String);

/// `NotFound` unless exactly one row changed.
pub(crate) fn one_row(affected: u64) -> StoreResult<()> {
    if affected == 1 { Ok(()) } else { Err(ostrog_store::StoreError::NotFound) }
}

/// Implements `ostrog_store::Store` for `$store`, a struct with a
/// `pool: sqlx::Pool<$db>` field, a `NAME` and the dialect's methods
/// (`begin_write`, `begin_audit`, `maintain_backend`, `compact_backend`).
macro_rules! impl_store {
    ($store:ty, $db:ty) => {
        const _: () = {
            use async_trait::async_trait;
            use ostrog_domain::access::{Effect, Override};
            use ostrog_domain::audit::{self, AuditEntry, AuditEvent};
            use ostrog_domain::clock::Millis;
            use ostrog_domain::employee::{Employee, EmployeeStatus};
            use ostrog_domain::ids::{EmployeeId, SessionId};
            use ostrog_domain::lockout::Failures;
            use ostrog_domain::permission::Permission;
            use ostrog_domain::role::Role;
            use ostrog_domain::session::Stage;
            use ostrog_store::{
                AttemptStore, AuditFilter, AuditStore, EmployeeFilter, EmployeeRecord, EmployeeStore, LinkKind,
                LinkStore, NewEmployee, OneTimeLink, SessionRecord, SessionStore, SettingsStore, Store, StoreError,
                StoreResult, Trail,
            };
            use $crate::codec;
            use $crate::error::db_err;
            use $crate::queries::{
                AuditRow, ChainEnd, EmployeeRecordRow, EmployeeRow, FailuresRow, LinkRow, OverrideRow, SessionRow,
                one_row, sql,
            };

            /// Deletes an employee's recovery codes and stores the new ones.
            async fn put_recovery_codes(
                tx: &mut sqlx::Transaction<'static, $db>,
                id: &str,
                hashes: &[String],
            ) -> StoreResult<()> {
                sqlx::query(sql::DELETE_RECOVERY_CODES).bind(id).execute(&mut **tx).await.map_err(db_err)?;
                for hash in hashes {
                    sqlx::query(sql::INSERT_RECOVERY_CODE)
                        .bind(id)
                        .bind(hash)
                        .execute(&mut **tx)
                        .await
                        .map_err(db_err)?;
                }
                Ok(())
            }

            #[async_trait]
            impl EmployeeStore for $store {
                async fn create_employee(&self, new: &NewEmployee) -> StoreResult<()> {
                    let e = &new.employee;
                    sqlx::query(sql::CREATE_EMPLOYEE)
                        .bind(e.id.to_string())
                        .bind(&e.email)
                        .bind(&e.name)
                        .bind(codec::name_key(&e.name))
                        .bind(e.role.name())
                        .bind(e.status.name())
                        .bind(new.password_hash.as_deref())
                        .bind(new.must_change_password)
                        .bind(e.created_at)
                        .bind((e.status == EmployeeStatus::Deleted).then_some(e.created_at))
                        .execute(&self.pool)
                        .await
                        .map_err(db_err)?;
                    Ok(())
                }

                async fn employee(&self, id: EmployeeId) -> StoreResult<Option<EmployeeRecord>> {
                    let row: Option<EmployeeRecordRow> = sqlx::query_as(sql::EMPLOYEE)
                        .bind(id.to_string())
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(db_err)?;
                    row.map(EmployeeRecordRow::into_record).transpose()
                }

                async fn employee_by_email(&self, email: &str) -> StoreResult<Option<EmployeeRecord>> {
                    let row: Option<EmployeeRecordRow> = sqlx::query_as(sql::EMPLOYEE_BY_EMAIL)
                        .bind(email)
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(db_err)?;
                    row.map(EmployeeRecordRow::into_record).transpose()
                }

                async fn list_employees(&self, filter: &EmployeeFilter) -> StoreResult<Vec<Employee>> {
                    let rows: Vec<EmployeeRow> = sqlx::query_as(sql::LIST_EMPLOYEES)
                        .bind(filter.role.map(Role::name))
                        .bind(filter.status.map(EmployeeStatus::name))
                        .bind(filter.query.as_deref().map(codec::contains_pattern))
                        .fetch_all(&self.pool)
                        .await
                        .map_err(db_err)?;
                    rows.into_iter().map(EmployeeRow::into_record).collect()
                }

                async fn administrator_exists(&self) -> StoreResult<bool> {
                    let n: i64 = sqlx::query_scalar(sql::COUNT_WITH_ROLE)
                        .bind(Role::Administrator.name())
                        .fetch_one(&self.pool)
                        .await
                        .map_err(db_err)?;
                    Ok(n > 0)
                }

                async fn update_profile(&self, id: EmployeeId, name: &str, email: &str) -> StoreResult<()> {
                    let done = sqlx::query(sql::UPDATE_PROFILE)
                        .bind(id.to_string())
                        .bind(name)
                        .bind(codec::name_key(name))
                        .bind(email)
                        .execute(&self.pool)
                        .await
                        .map_err(db_err)?;
                    one_row(done.rows_affected())
                }

                async fn set_role(&self, id: EmployeeId, role: Role) -> StoreResult<()> {
                    let done = sqlx::query(sql::SET_ROLE)
                        .bind(id.to_string())
                        .bind(role.name())
                        .execute(&self.pool)
                        .await
                        .map_err(db_err)?;
                    one_row(done.rows_affected())
                }

                async fn set_status(&self, id: EmployeeId, status: EmployeeStatus, at: Millis) -> StoreResult<()> {
                    let id_text = id.to_string();
                    let mut tx = self.begin_write().await.map_err(db_err)?;
                    let done = if status == EmployeeStatus::Deleted {
                        sqlx::query(sql::TOMBSTONE_EMPLOYEE)
                            .bind(&id_text)
                            .bind(status.name())
                            .bind(codec::tombstone_email(id))
                            .bind(at)
                            .execute(&mut *tx)
                            .await
                            .map_err(db_err)?
                    } else {
                        sqlx::query(sql::SET_STATUS)
                            .bind(&id_text)
                            .bind(status.name())
                            .execute(&mut *tx)
                            .await
                            .map_err(db_err)?
                    };
                    one_row(done.rows_affected())?;
                    let mut cleanup: &[&str] = &[];
                    if status == EmployeeStatus::Deleted {
                        cleanup = &sql::DELETE_EMPLOYEE_ROWS;
                    } else if status != EmployeeStatus::Active {
                        cleanup = &[sql::DELETE_SESSIONS_OF];
                    }
                    for statement in cleanup {
                        sqlx::query(statement).bind(&id_text).execute(&mut *tx).await.map_err(db_err)?;
                    }
                    tx.commit().await.map_err(db_err)
                }

                async fn set_password(&self, id: EmployeeId, hash: &str, must_change: bool) -> StoreResult<()> {
                    let done = sqlx::query(sql::SET_PASSWORD)
                        .bind(id.to_string())
                        .bind(hash)
                        .bind(must_change)
                        .execute(&self.pool)
                        .await
                        .map_err(db_err)?;
                    one_row(done.rows_affected())
                }

                async fn overrides(&self, id: EmployeeId) -> StoreResult<Vec<Override>> {
                    let rows: Vec<OverrideRow> = sqlx::query_as(sql::OVERRIDES)
                        .bind(id.to_string())
                        .fetch_all(&self.pool)
                        .await
                        .map_err(db_err)?;
                    rows.into_iter().map(OverrideRow::into_record).collect()
                }

                async fn set_override(&self, id: EmployeeId, p: Permission, effect: Option<Effect>) -> StoreResult<()> {
                    match effect {
                        Some(effect) => sqlx::query(sql::SET_OVERRIDE)
                            .bind(id.to_string())
                            .bind(p.name())
                            .bind(codec::effect_name(effect)),
                        None => sqlx::query(sql::REMOVE_OVERRIDE).bind(id.to_string()).bind(p.name()),
                    }
                    .execute(&self.pool)
                    .await
                    .map_err(db_err)?;
                    Ok(())
                }

                async fn set_pending_totp(&self, id: EmployeeId, encrypted_secret: Option<&[u8]>) -> StoreResult<()> {
                    let done = sqlx::query(sql::SET_PENDING_TOTP)
                        .bind(id.to_string())
                        .bind(encrypted_secret)
                        .execute(&self.pool)
                        .await
                        .map_err(db_err)?;
                    one_row(done.rows_affected())
                }

                async fn activate_totp(
                    &self,
                    id: EmployeeId,
                    step: i64,
                    recovery_code_hashes: &[String],
                ) -> StoreResult<()> {
                    let id_text = id.to_string();
                    let mut tx = self.begin_write().await.map_err(db_err)?;
                    let done = sqlx::query(sql::ACTIVATE_TOTP)
                        .bind(&id_text)
                        .bind(step)
                        .execute(&mut *tx)
                        .await
                        .map_err(db_err)?;
                    one_row(done.rows_affected())?;
                    put_recovery_codes(&mut tx, &id_text, recovery_code_hashes).await?;
                    tx.commit().await.map_err(db_err)
                }

                async fn replace_recovery_codes(
                    &self,
                    id: EmployeeId,
                    recovery_code_hashes: &[String],
                ) -> StoreResult<()> {
                    let id_text = id.to_string();
                    let mut tx = self.begin_write().await.map_err(db_err)?;
                    let active =
                        sqlx::query(sql::TOTP_ACTIVE).bind(&id_text).fetch_optional(&mut *tx).await.map_err(db_err)?;
                    if active.is_none() {
                        return Err(StoreError::NotFound);
                    }
                    put_recovery_codes(&mut tx, &id_text, recovery_code_hashes).await?;
                    tx.commit().await.map_err(db_err)
                }

                async fn use_totp_step(&self, id: EmployeeId, step: i64) -> StoreResult<bool> {
                    // One statement: two requests with the same code cannot both win.
                    let done = sqlx::query(sql::USE_TOTP_STEP)
                        .bind(id.to_string())
                        .bind(step)
                        .execute(&self.pool)
                        .await
                        .map_err(db_err)?;
                    Ok(done.rows_affected() == 1)
                }

                async fn use_recovery_code(&self, id: EmployeeId, code_hash: &str, at: Millis) -> StoreResult<bool> {
                    let done = sqlx::query(sql::USE_RECOVERY_CODE)
                        .bind(id.to_string())
                        .bind(code_hash)
                        .bind(at)
                        .execute(&self.pool)
                        .await
                        .map_err(db_err)?;
                    Ok(done.rows_affected() == 1)
                }

                async fn unused_recovery_codes(&self, id: EmployeeId) -> StoreResult<u32> {
                    let n: i64 = sqlx::query_scalar(sql::UNUSED_RECOVERY_CODES)
                        .bind(id.to_string())
                        .fetch_one(&self.pool)
                        .await
                        .map_err(db_err)?;
                    codec::count(n)
                }

                async fn clear_totp(&self, id: EmployeeId) -> StoreResult<()> {
                    let id_text = id.to_string();
                    let mut tx = self.begin_write().await.map_err(db_err)?;
                    let done = sqlx::query(sql::CLEAR_TOTP).bind(&id_text).execute(&mut *tx).await.map_err(db_err)?;
                    one_row(done.rows_affected())?;
                    sqlx::query(sql::DELETE_RECOVERY_CODES).bind(&id_text).execute(&mut *tx).await.map_err(db_err)?;
                    tx.commit().await.map_err(db_err)
                }
            }

            #[async_trait]
            impl SessionStore for $store {
                async fn create_session(&self, s: &SessionRecord) -> StoreResult<()> {
                    sqlx::query(sql::CREATE_SESSION)
                        .bind(s.id.to_string())
                        .bind(s.employee_id.to_string())
                        .bind(&s.token_hash)
                        .bind(&s.csrf_hash)
                        .bind(s.stage.name())
                        .bind(s.created_at)
                        .bind(s.last_seen_at)
                        .bind(s.authenticated_at)
                        .bind(s.ip.as_deref())
                        .bind(s.user_agent.as_deref())
                        .execute(&self.pool)
                        .await
                        .map_err(db_err)?;
                    Ok(())
                }

                async fn session_by_token_hash(&self, token_hash: &str) -> StoreResult<Option<SessionRecord>> {
                    let row: Option<SessionRow> = sqlx::query_as(sql::SESSION_BY_TOKEN_HASH)
                        .bind(token_hash)
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(db_err)?;
                    row.map(SessionRow::into_record).transpose()
                }

                async fn touch_session(&self, id: SessionId, at: Millis) -> StoreResult<()> {
                    let done = sqlx::query(sql::TOUCH_SESSION)
                        .bind(id.to_string())
                        .bind(at)
                        .execute(&self.pool)
                        .await
                        .map_err(db_err)?;
                    one_row(done.rows_affected())
                }

                async fn set_session_stage(
                    &self,
                    id: SessionId,
                    stage: Stage,
                    authenticated_at: Millis,
                ) -> StoreResult<()> {
                    let done = sqlx::query(sql::SET_SESSION_STAGE)
                        .bind(id.to_string())
                        .bind(stage.name())
                        .bind(authenticated_at)
                        .execute(&self.pool)
                        .await
                        .map_err(db_err)?;
                    one_row(done.rows_affected())
                }

                async fn sessions_of(&self, employee: EmployeeId) -> StoreResult<Vec<SessionRecord>> {
                    let rows: Vec<SessionRow> = sqlx::query_as(sql::SESSIONS_OF)
                        .bind(employee.to_string())
                        .fetch_all(&self.pool)
                        .await
                        .map_err(db_err)?;
                    rows.into_iter().map(SessionRow::into_record).collect()
                }

                async fn delete_session(&self, employee: EmployeeId, id: SessionId) -> StoreResult<bool> {
                    let done = sqlx::query(sql::DELETE_SESSION)
                        .bind(id.to_string())
                        .bind(employee.to_string())
                        .execute(&self.pool)
                        .await
                        .map_err(db_err)?;
                    Ok(done.rows_affected() == 1)
                }

                async fn delete_sessions_of(&self, employee: EmployeeId) -> StoreResult<u64> {
                    let done = sqlx::query(sql::DELETE_SESSIONS_OF)
                        .bind(employee.to_string())
                        .execute(&self.pool)
                        .await
                        .map_err(db_err)?;
                    Ok(done.rows_affected())
                }

                async fn delete_expired_sessions(
                    &self,
                    idle_before: Millis,
                    created_before: Millis,
                ) -> StoreResult<u64> {
                    let done = sqlx::query(sql::DELETE_EXPIRED_SESSIONS)
                        .bind(idle_before)
                        .bind(created_before)
                        .execute(&self.pool)
                        .await
                        .map_err(db_err)?;
                    Ok(done.rows_affected())
                }
            }

            #[async_trait]
            impl LinkStore for $store {
                async fn create_link(&self, link: &OneTimeLink) -> StoreResult<()> {
                    sqlx::query(sql::CREATE_LINK)
                        .bind(&link.token_hash)
                        .bind(link.kind.name())
                        .bind(link.employee_id.map(|id| id.to_string()))
                        .bind(link.expires_at)
                        .execute(&self.pool)
                        .await
                        .map_err(db_err)?;
                    Ok(())
                }

                async fn find_link(
                    &self,
                    token_hash: &str,
                    kind: LinkKind,
                    now: Millis,
                ) -> StoreResult<Option<OneTimeLink>> {
                    let row: Option<LinkRow> = sqlx::query_as(sql::FIND_LINK)
                        .bind(token_hash)
                        .bind(kind.name())
                        .bind(now)
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(db_err)?;
                    row.map(LinkRow::into_record).transpose()
                }

                async fn consume_link(
                    &self,
                    token_hash: &str,
                    kind: LinkKind,
                    now: Millis,
                ) -> StoreResult<Option<OneTimeLink>> {
                    // One statement: of two concurrent uses, exactly one gets the row.
                    let row: Option<LinkRow> = sqlx::query_as(sql::CONSUME_LINK)
                        .bind(token_hash)
                        .bind(kind.name())
                        .bind(now)
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(db_err)?;
                    row.map(LinkRow::into_record).transpose()
                }
            }

            #[async_trait]
            impl AttemptStore for $store {
                async fn failures(&self, scope: &str, subject: &str) -> StoreResult<Failures> {
                    let row: Option<FailuresRow> = sqlx::query_as(sql::FAILURES)
                        .bind(scope)
                        .bind(subject)
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(db_err)?;
                    row.map_or(Ok(Failures::default()), FailuresRow::into_record)
                }

                async fn set_failures(&self, scope: &str, subject: &str, f: &Failures) -> StoreResult<()> {
                    sqlx::query(sql::SET_FAILURES)
                        .bind(scope)
                        .bind(subject)
                        .bind(i64::from(f.count))
                        .bind(f.next_attempt_at)
                        .execute(&self.pool)
                        .await
                        .map_err(db_err)?;
                    Ok(())
                }

                async fn clear_failures(&self, scope: &str, subject: &str) -> StoreResult<()> {
                    sqlx::query(sql::CLEAR_FAILURES)
                        .bind(scope)
                        .bind(subject)
                        .execute(&self.pool)
                        .await
                        .map_err(db_err)?;
                    Ok(())
                }
            }

            #[async_trait]
            impl AuditStore for $store {
                async fn append_to(&self, trail: Trail, event: &AuditEvent) -> StoreResult<AuditEntry> {
                    let details = codec::json_text(&event.details)?;
                    let statements = sql::audit(trail);
                    let mut tx = self.begin_audit().await.map_err(db_err)?;
                    let last: Option<ChainEnd> =
                        sqlx::query_as(statements.last).fetch_optional(&mut *tx).await.map_err(db_err)?;
                    let (seq, prev_hash) = match last {
                        Some((seq, hash)) => (seq + 1, hash),
                        None => (1, audit::GENESIS.to_string()),
                    };
                    let entry = audit::chain(seq, &prev_hash, event.clone());
                    sqlx::query(statements.insert)
                        .bind(entry.seq)
                        .bind(event.at)
                        .bind(event.actor.as_deref())
                        .bind(event.ip.as_deref())
                        .bind(&event.action)
                        .bind(event.target.as_deref())
                        .bind(event.outcome.name())
                        .bind(details)
                        .bind(&entry.prev_hash)
                        .bind(&entry.hash)
                        .execute(&mut *tx)
                        .await
                        .map_err(db_err)?;
                    tx.commit().await.map_err(db_err)?;
                    Ok(entry)
                }

                async fn audit_entries(
                    &self,
                    filter: &AuditFilter,
                    after: i64,
                    limit: u32,
                ) -> StoreResult<Vec<AuditEntry>> {
                    let statements = sql::audit(filter.trail);
                    let statement = if filter.newest_first { statements.newest_first } else { statements.oldest_first };
                    let rows: Vec<AuditRow> = sqlx::query_as(statement)
                        .bind(after)
                        .bind(filter.actor.as_deref())
                        .bind(filter.action.as_deref())
                        .bind(filter.target.as_deref())
                        .bind(filter.since)
                        .bind(filter.until)
                        .bind(i64::from(limit))
                        .fetch_all(&self.pool)
                        .await
                        .map_err(db_err)?;
                    rows.into_iter().map(AuditRow::into_record).collect()
                }
            }

            #[async_trait]
            impl SettingsStore for $store {
                async fn setting(&self, key: &str) -> StoreResult<Option<serde_json::Value>> {
                    let value: Option<String> =
                        sqlx::query_scalar(sql::SETTING).bind(key).fetch_optional(&self.pool).await.map_err(db_err)?;
                    value.as_deref().map(codec::json).transpose()
                }

                async fn put_setting(&self, key: &str, value: &serde_json::Value) -> StoreResult<()> {
                    sqlx::query(sql::PUT_SETTING)
                        .bind(key)
                        .bind(codec::json_text(value)?)
                        .execute(&self.pool)
                        .await
                        .map_err(db_err)?;
                    Ok(())
                }
            }

            #[async_trait]
            impl Store for $store {
                async fn ping(&self) -> StoreResult<()> {
                    sqlx::query(sql::PING).execute(&self.pool).await.map_err(db_err)?;
                    Ok(())
                }

                fn backend(&self) -> &'static str {
                    Self::NAME
                }

                async fn maintain(&self) -> StoreResult<()> {
                    self.maintain_backend().await.map_err(db_err)
                }

                async fn compact(&self) -> StoreResult<()> {
                    self.compact_backend().await.map_err(db_err)
                }
            }
        };
    };
}

pub(crate) use impl_store;

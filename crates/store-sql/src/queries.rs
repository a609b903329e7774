//! The Store's queries, written once for both dialects and expanded per
//! backend by `impl_store!`. They use `$N` placeholders (which SQLite reads
//! too) and only types both backends map alike: BIGINT as i64, TEXT as
//! String, BLOB/BYTEA as Vec<u8>, BOOLEAN as bool. Dialect-specific work
//! (pool set-up, how an audit append is serialised, how a write
//! transaction begins) is done by the backend's `begin_write` and
//! `begin_audit`.
//!
//! A deleted employee is a tombstone: statements that change an employee
//! skip rows with status `deleted`, so they report `NotFound`.

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
            use sqlx::Row;
            use $crate::codec;
            use $crate::error::db_err;

            type DbRow = <$db as sqlx::Database>::Row;

            /// Deletes an employee's recovery codes and stores the new ones.
            async fn put_recovery_codes(
                tx: &mut sqlx::Transaction<'static, $db>,
                id: &str,
                hashes: &[String],
            ) -> StoreResult<()> {
                sqlx::query("DELETE FROM recovery_codes WHERE employee_id = $1")
                    .bind(id)
                    .execute(&mut **tx)
                    .await
                    .map_err(db_err)?;
                for hash in hashes {
                    sqlx::query("INSERT INTO recovery_codes (employee_id, code_hash) VALUES ($1, $2)")
                        .bind(id)
                        .bind(hash)
                        .execute(&mut **tx)
                        .await
                        .map_err(db_err)?;
                }
                Ok(())
            }

            fn employee_of(row: &DbRow) -> StoreResult<Employee> {
                Ok(Employee {
                    id: codec::employee_id(&row.try_get::<String, _>("id").map_err(db_err)?)?,
                    email: row.try_get("email").map_err(db_err)?,
                    name: row.try_get("name").map_err(db_err)?,
                    role: codec::role(&row.try_get::<String, _>("role").map_err(db_err)?)?,
                    status: codec::status(&row.try_get::<String, _>("status").map_err(db_err)?)?,
                    created_at: row.try_get("created_at").map_err(db_err)?,
                })
            }

            fn employee_record_of(row: &DbRow) -> StoreResult<EmployeeRecord> {
                Ok(EmployeeRecord {
                    employee: employee_of(row)?,
                    password_hash: row.try_get("password_hash").map_err(db_err)?,
                    must_change_password: row.try_get("must_change_password").map_err(db_err)?,
                    totp_secret: row.try_get("totp_secret").map_err(db_err)?,
                    pending_totp_secret: row.try_get("pending_totp_secret").map_err(db_err)?,
                    totp_last_step: row.try_get("totp_last_step").map_err(db_err)?,
                })
            }

            fn session_of(row: &DbRow) -> StoreResult<SessionRecord> {
                Ok(SessionRecord {
                    id: codec::session_id(&row.try_get::<String, _>("id").map_err(db_err)?)?,
                    employee_id: codec::employee_id(&row.try_get::<String, _>("employee_id").map_err(db_err)?)?,
                    token_hash: row.try_get("token_hash").map_err(db_err)?,
                    csrf_hash: row.try_get("csrf_hash").map_err(db_err)?,
                    stage: codec::stage(&row.try_get::<String, _>("stage").map_err(db_err)?)?,
                    created_at: row.try_get("created_at").map_err(db_err)?,
                    last_seen_at: row.try_get("last_seen_at").map_err(db_err)?,
                    authenticated_at: row.try_get("authenticated_at").map_err(db_err)?,
                    ip: row.try_get("ip").map_err(db_err)?,
                    user_agent: row.try_get("user_agent").map_err(db_err)?,
                })
            }

            fn link_of(row: &DbRow) -> StoreResult<OneTimeLink> {
                let employee_id: Option<String> = row.try_get("employee_id").map_err(db_err)?;
                Ok(OneTimeLink {
                    token_hash: row.try_get("token_hash").map_err(db_err)?,
                    kind: codec::link_kind(&row.try_get::<String, _>("kind").map_err(db_err)?)?,
                    employee_id: employee_id.as_deref().map(codec::employee_id).transpose()?,
                    expires_at: row.try_get("expires_at").map_err(db_err)?,
                })
            }

            fn audit_entry_of(row: &DbRow) -> StoreResult<AuditEntry> {
                Ok(AuditEntry {
                    seq: row.try_get("seq").map_err(db_err)?,
                    event: AuditEvent {
                        at: row.try_get("at").map_err(db_err)?,
                        actor: row.try_get("actor").map_err(db_err)?,
                        ip: row.try_get("ip").map_err(db_err)?,
                        action: row.try_get("action").map_err(db_err)?,
                        target: row.try_get("target").map_err(db_err)?,
                        outcome: codec::outcome(&row.try_get::<String, _>("outcome").map_err(db_err)?)?,
                        details: codec::json(&row.try_get::<String, _>("details").map_err(db_err)?)?,
                    },
                    prev_hash: row.try_get("prev_hash").map_err(db_err)?,
                    hash: row.try_get("hash").map_err(db_err)?,
                })
            }

            /// `NotFound` unless exactly one row changed.
            fn one_row(affected: u64) -> StoreResult<()> {
                if affected == 1 { Ok(()) } else { Err(StoreError::NotFound) }
            }

            #[async_trait]
            impl EmployeeStore for $store {
                async fn create_employee(&self, new: &NewEmployee) -> StoreResult<()> {
                    let e = &new.employee;
                    sqlx::query(
                        "INSERT INTO employees (id, email, name, name_key, role, status, password_hash, \
                         must_change_password, created_at, deleted_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                    )
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
                    let row = sqlx::query(
                        "SELECT id, email, name, role, status, created_at, password_hash, \
                         must_change_password, totp_secret, pending_totp_secret, totp_last_step \
                         FROM employees WHERE id = $1",
                    )
                    .bind(id.to_string())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_err)?;
                    row.as_ref().map(employee_record_of).transpose()
                }

                async fn employee_by_email(&self, email: &str) -> StoreResult<Option<EmployeeRecord>> {
                    let row = sqlx::query(
                        "SELECT id, email, name, role, status, created_at, password_hash, \
                         must_change_password, totp_secret, pending_totp_secret, totp_last_step \
                         FROM employees WHERE email = $1",
                    )
                    .bind(email)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_err)?;
                    row.as_ref().map(employee_record_of).transpose()
                }

                async fn list_employees(&self, filter: &EmployeeFilter) -> StoreResult<Vec<Employee>> {
                    let rows = sqlx::query(
                        "SELECT id, email, name, role, status, created_at FROM employees \
                         WHERE ($1 IS NULL OR role = $1) \
                         AND ($2 IS NULL OR status = $2) \
                         AND ($3 IS NULL OR name_key LIKE $3 ESCAPE '\\' OR email LIKE $3 ESCAPE '\\') \
                         ORDER BY name_key, id",
                    )
                    .bind(filter.role.map(Role::name))
                    .bind(filter.status.map(EmployeeStatus::name))
                    .bind(filter.query.as_deref().map(codec::contains_pattern))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_err)?;
                    rows.iter().map(employee_of).collect()
                }

                async fn administrator_exists(&self) -> StoreResult<bool> {
                    let row = sqlx::query("SELECT COUNT(*) AS n FROM employees WHERE role = $1")
                        .bind(Role::Administrator.name())
                        .fetch_one(&self.pool)
                        .await
                        .map_err(db_err)?;
                    Ok(row.try_get::<i64, _>("n").map_err(db_err)? > 0)
                }

                async fn update_profile(&self, id: EmployeeId, name: &str, email: &str) -> StoreResult<()> {
                    let done = sqlx::query(
                        "UPDATE employees SET name = $2, name_key = $3, email = $4 \
                         WHERE id = $1 AND status <> 'deleted'",
                    )
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
                    let done = sqlx::query("UPDATE employees SET role = $2 WHERE id = $1 AND status <> 'deleted'")
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
                        sqlx::query(
                            "UPDATE employees SET status = $2, email = $3, deleted_at = $4, \
                             password_hash = NULL, must_change_password = FALSE, totp_secret = NULL, \
                             pending_totp_secret = NULL, totp_last_step = NULL \
                             WHERE id = $1 AND status <> 'deleted'",
                        )
                        .bind(&id_text)
                        .bind(status.name())
                        .bind(codec::tombstone_email(id))
                        .bind(at)
                        .execute(&mut *tx)
                        .await
                        .map_err(db_err)?
                    } else {
                        sqlx::query("UPDATE employees SET status = $2 WHERE id = $1 AND status <> 'deleted'")
                            .bind(&id_text)
                            .bind(status.name())
                            .execute(&mut *tx)
                            .await
                            .map_err(db_err)?
                    };
                    one_row(done.rows_affected())?;
                    let mut cleanup: &[&str] = &[];
                    if status == EmployeeStatus::Deleted {
                        cleanup = &[
                            "DELETE FROM sessions WHERE employee_id = $1",
                            "DELETE FROM recovery_codes WHERE employee_id = $1",
                            "DELETE FROM permission_overrides WHERE employee_id = $1",
                            "DELETE FROM one_time_links WHERE employee_id = $1",
                        ];
                    } else if status != EmployeeStatus::Active {
                        cleanup = &["DELETE FROM sessions WHERE employee_id = $1"];
                    }
                    for sql in cleanup {
                        sqlx::query(sql).bind(&id_text).execute(&mut *tx).await.map_err(db_err)?;
                    }
                    tx.commit().await.map_err(db_err)
                }

                async fn set_password(&self, id: EmployeeId, hash: &str, must_change: bool) -> StoreResult<()> {
                    let done = sqlx::query(
                        "UPDATE employees SET password_hash = $2, must_change_password = $3 \
                         WHERE id = $1 AND status <> 'deleted'",
                    )
                    .bind(id.to_string())
                    .bind(hash)
                    .bind(must_change)
                    .execute(&self.pool)
                    .await
                    .map_err(db_err)?;
                    one_row(done.rows_affected())
                }

                async fn overrides(&self, id: EmployeeId) -> StoreResult<Vec<Override>> {
                    let rows = sqlx::query(
                        "SELECT permission, effect FROM permission_overrides \
                         WHERE employee_id = $1 ORDER BY permission",
                    )
                    .bind(id.to_string())
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_err)?;
                    rows.iter()
                        .map(|row| {
                            Ok(Override {
                                permission: codec::permission(
                                    &row.try_get::<String, _>("permission").map_err(db_err)?,
                                )?,
                                effect: codec::effect(&row.try_get::<String, _>("effect").map_err(db_err)?)?,
                            })
                        })
                        .collect()
                }

                async fn set_override(&self, id: EmployeeId, p: Permission, effect: Option<Effect>) -> StoreResult<()> {
                    match effect {
                        Some(effect) => sqlx::query(
                            "INSERT INTO permission_overrides (employee_id, permission, effect) \
                             VALUES ($1, $2, $3) \
                             ON CONFLICT (employee_id, permission) DO UPDATE SET effect = excluded.effect",
                        )
                        .bind(id.to_string())
                        .bind(p.name())
                        .bind(codec::effect_name(effect)),
                        None => {
                            sqlx::query("DELETE FROM permission_overrides WHERE employee_id = $1 AND permission = $2")
                                .bind(id.to_string())
                                .bind(p.name())
                        }
                    }
                    .execute(&self.pool)
                    .await
                    .map_err(db_err)?;
                    Ok(())
                }

                async fn set_pending_totp(&self, id: EmployeeId, encrypted_secret: Option<&[u8]>) -> StoreResult<()> {
                    let done = sqlx::query(
                        "UPDATE employees SET pending_totp_secret = $2 WHERE id = $1 AND status <> 'deleted'",
                    )
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
                    let done = sqlx::query(
                        "UPDATE employees SET totp_secret = pending_totp_secret, pending_totp_secret = NULL, \
                         totp_last_step = $2 \
                         WHERE id = $1 AND pending_totp_secret IS NOT NULL AND status <> 'deleted'",
                    )
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
                    let active = sqlx::query("SELECT 1 FROM employees WHERE id = $1 AND totp_secret IS NOT NULL")
                        .bind(&id_text)
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err(db_err)?;
                    if active.is_none() {
                        return Err(StoreError::NotFound);
                    }
                    put_recovery_codes(&mut tx, &id_text, recovery_code_hashes).await?;
                    tx.commit().await.map_err(db_err)
                }

                async fn use_totp_step(&self, id: EmployeeId, step: i64) -> StoreResult<bool> {
                    // One statement: two requests with the same code cannot both win.
                    let done = sqlx::query(
                        "UPDATE employees SET totp_last_step = $2 \
                         WHERE id = $1 AND (totp_last_step IS NULL OR totp_last_step < $2)",
                    )
                    .bind(id.to_string())
                    .bind(step)
                    .execute(&self.pool)
                    .await
                    .map_err(db_err)?;
                    Ok(done.rows_affected() == 1)
                }

                async fn use_recovery_code(&self, id: EmployeeId, code_hash: &str, at: Millis) -> StoreResult<bool> {
                    let done = sqlx::query(
                        "UPDATE recovery_codes SET used_at = $3 \
                         WHERE employee_id = $1 AND code_hash = $2 AND used_at IS NULL",
                    )
                    .bind(id.to_string())
                    .bind(code_hash)
                    .bind(at)
                    .execute(&self.pool)
                    .await
                    .map_err(db_err)?;
                    Ok(done.rows_affected() == 1)
                }

                async fn unused_recovery_codes(&self, id: EmployeeId) -> StoreResult<u32> {
                    let row = sqlx::query(
                        "SELECT COUNT(*) AS n FROM recovery_codes WHERE employee_id = $1 AND used_at IS NULL",
                    )
                    .bind(id.to_string())
                    .fetch_one(&self.pool)
                    .await
                    .map_err(db_err)?;
                    codec::count(row.try_get("n").map_err(db_err)?)
                }

                async fn clear_totp(&self, id: EmployeeId) -> StoreResult<()> {
                    let id_text = id.to_string();
                    let mut tx = self.begin_write().await.map_err(db_err)?;
                    let done = sqlx::query(
                        "UPDATE employees SET totp_secret = NULL, pending_totp_secret = NULL \
                         WHERE id = $1 AND status <> 'deleted'",
                    )
                    .bind(&id_text)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                    one_row(done.rows_affected())?;
                    sqlx::query("DELETE FROM recovery_codes WHERE employee_id = $1")
                        .bind(&id_text)
                        .execute(&mut *tx)
                        .await
                        .map_err(db_err)?;
                    tx.commit().await.map_err(db_err)
                }
            }

            #[async_trait]
            impl SessionStore for $store {
                async fn create_session(&self, s: &SessionRecord) -> StoreResult<()> {
                    sqlx::query(
                        "INSERT INTO sessions (id, employee_id, token_hash, csrf_hash, stage, created_at, \
                         last_seen_at, authenticated_at, ip, user_agent) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                    )
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
                    let row = sqlx::query("SELECT * FROM sessions WHERE token_hash = $1")
                        .bind(token_hash)
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(db_err)?;
                    row.as_ref().map(session_of).transpose()
                }

                async fn touch_session(&self, id: SessionId, at: Millis) -> StoreResult<()> {
                    let done = sqlx::query("UPDATE sessions SET last_seen_at = $2 WHERE id = $1")
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
                    let done = sqlx::query("UPDATE sessions SET stage = $2, authenticated_at = $3 WHERE id = $1")
                        .bind(id.to_string())
                        .bind(stage.name())
                        .bind(authenticated_at)
                        .execute(&self.pool)
                        .await
                        .map_err(db_err)?;
                    one_row(done.rows_affected())
                }

                async fn sessions_of(&self, employee: EmployeeId) -> StoreResult<Vec<SessionRecord>> {
                    let rows = sqlx::query("SELECT * FROM sessions WHERE employee_id = $1 ORDER BY created_at, id")
                        .bind(employee.to_string())
                        .fetch_all(&self.pool)
                        .await
                        .map_err(db_err)?;
                    rows.iter().map(session_of).collect()
                }

                async fn delete_session(&self, employee: EmployeeId, id: SessionId) -> StoreResult<bool> {
                    let done = sqlx::query("DELETE FROM sessions WHERE id = $1 AND employee_id = $2")
                        .bind(id.to_string())
                        .bind(employee.to_string())
                        .execute(&self.pool)
                        .await
                        .map_err(db_err)?;
                    Ok(done.rows_affected() == 1)
                }

                async fn delete_sessions_of(&self, employee: EmployeeId) -> StoreResult<u64> {
                    let done = sqlx::query("DELETE FROM sessions WHERE employee_id = $1")
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
                    let done = sqlx::query("DELETE FROM sessions WHERE last_seen_at < $1 OR created_at < $2")
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
                    sqlx::query(
                        "INSERT INTO one_time_links (token_hash, kind, employee_id, expires_at) \
                         VALUES ($1, $2, $3, $4)",
                    )
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
                    let row = sqlx::query(
                        "SELECT token_hash, kind, employee_id, expires_at FROM one_time_links \
                         WHERE token_hash = $1 AND kind = $2 AND used_at IS NULL AND expires_at > $3",
                    )
                    .bind(token_hash)
                    .bind(kind.name())
                    .bind(now)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_err)?;
                    row.as_ref().map(link_of).transpose()
                }

                async fn consume_link(
                    &self,
                    token_hash: &str,
                    kind: LinkKind,
                    now: Millis,
                ) -> StoreResult<Option<OneTimeLink>> {
                    // One statement: of two concurrent uses, exactly one gets the row.
                    let row = sqlx::query(
                        "UPDATE one_time_links SET used_at = $3 \
                         WHERE token_hash = $1 AND kind = $2 AND used_at IS NULL AND expires_at > $3 \
                         RETURNING token_hash, kind, employee_id, expires_at",
                    )
                    .bind(token_hash)
                    .bind(kind.name())
                    .bind(now)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_err)?;
                    row.as_ref().map(link_of).transpose()
                }
            }

            #[async_trait]
            impl AttemptStore for $store {
                async fn failures(&self, scope: &str, subject: &str) -> StoreResult<Failures> {
                    let row = sqlx::query(
                        "SELECT count, next_attempt_at FROM sign_in_failures WHERE scope = $1 AND subject = $2",
                    )
                    .bind(scope)
                    .bind(subject)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_err)?;
                    match row {
                        None => Ok(Failures::default()),
                        Some(row) => Ok(Failures {
                            count: codec::count(row.try_get("count").map_err(db_err)?)?,
                            next_attempt_at: row.try_get("next_attempt_at").map_err(db_err)?,
                        }),
                    }
                }

                async fn set_failures(&self, scope: &str, subject: &str, f: &Failures) -> StoreResult<()> {
                    sqlx::query(
                        "INSERT INTO sign_in_failures (scope, subject, count, next_attempt_at) \
                         VALUES ($1, $2, $3, $4) \
                         ON CONFLICT (scope, subject) DO UPDATE \
                         SET count = excluded.count, next_attempt_at = excluded.next_attempt_at",
                    )
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
                    sqlx::query("DELETE FROM sign_in_failures WHERE scope = $1 AND subject = $2")
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
                    let table = codec::trail_table(trail);
                    let mut tx = self.begin_audit().await.map_err(db_err)?;
                    let last = sqlx::query(&format!("SELECT seq, hash FROM {table} ORDER BY seq DESC LIMIT 1"))
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err(db_err)?;
                    let (seq, prev_hash) = match last {
                        Some(row) => (
                            row.try_get::<i64, _>("seq").map_err(db_err)? + 1,
                            row.try_get::<String, _>("hash").map_err(db_err)?,
                        ),
                        None => (1, audit::GENESIS.to_string()),
                    };
                    let entry = audit::chain(seq, &prev_hash, event.clone());
                    sqlx::query(&format!(
                        "INSERT INTO {table} (seq, at, actor, ip, action, target, outcome, details, prev_hash, hash) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
                    ))
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
                    let (direction, order) = if filter.newest_first { ("<", "DESC") } else { (">", "ASC") };
                    let table = codec::trail_table(filter.trail);
                    let sql = format!(
                        "SELECT * FROM {table} WHERE seq {direction} $1 \
                         AND ($2 IS NULL OR actor = $2) \
                         AND ($3 IS NULL OR action = $3) \
                         AND ($4 IS NULL OR target = $4) \
                         AND ($5 IS NULL OR at >= $5) \
                         AND ($6 IS NULL OR at < $6) \
                         ORDER BY seq {order} LIMIT $7"
                    );
                    let rows = sqlx::query(&sql)
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
                    rows.iter().map(audit_entry_of).collect()
                }
            }

            #[async_trait]
            impl SettingsStore for $store {
                async fn setting(&self, key: &str) -> StoreResult<Option<serde_json::Value>> {
                    let row = sqlx::query("SELECT value FROM settings WHERE key = $1")
                        .bind(key)
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(db_err)?;
                    match row {
                        None => Ok(None),
                        Some(row) => codec::json(&row.try_get::<String, _>("value").map_err(db_err)?).map(Some),
                    }
                }

                async fn put_setting(&self, key: &str, value: &serde_json::Value) -> StoreResult<()> {
                    sqlx::query(
                        "INSERT INTO settings (key, value) VALUES ($1, $2) \
                         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    )
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
                    sqlx::query("SELECT 1").execute(&self.pool).await.map_err(db_err)?;
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

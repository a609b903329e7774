//! `EmployeeStore` queries, written once for both dialects like
//! `queries.rs`. A deleted employee is a tombstone: statements that change
//! an employee skip rows with status `deleted`, so they report `NotFound`.

use crate::codec;
use ostrog_domain::access::Override;
use ostrog_domain::clock::Millis;
use ostrog_domain::employee::Employee;
use ostrog_store::{EmployeeRecord, StoreResult};

/// The statements, `$N` placeholders for both dialects.
pub(crate) mod sql {
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
    pub(crate) const INVITED_EMPLOYEES: &str =
        "SELECT id FROM employees WHERE password_hash IS NULL AND status <> 'deleted' ORDER BY id";
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
    /// A deleted employee keeps only the tombstone row.
    pub(crate) const DELETE_EMPLOYEE_ROWS: [&str; 4] = [
        crate::sessions::sql::DELETE_SESSIONS_OF,
        DELETE_RECOVERY_CODES,
        "DELETE FROM permission_overrides WHERE employee_id = $1",
        "DELETE FROM one_time_links WHERE employee_id = $1",
    ];
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

macro_rules! impl_employee_store {
    ($store:ty, $db:ty) => {
        const _: () = {
            use async_trait::async_trait;
            use ostrog_domain::access::{Effect, Override};
            use ostrog_domain::clock::Millis;
            use ostrog_domain::employee::{Employee, EmployeeStatus};
            use ostrog_domain::ids::EmployeeId;
            use ostrog_domain::permission::Permission;
            use ostrog_domain::role::Role;
            use ostrog_store::{EmployeeFilter, EmployeeRecord, EmployeeStore, NewEmployee, StoreError, StoreResult};
            use $crate::codec;
            use $crate::employees::{EmployeeRecordRow, EmployeeRow, OverrideRow, sql};
            use $crate::error::{db_err, one_row};

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

                async fn invited_employees(&self) -> StoreResult<Vec<EmployeeId>> {
                    let ids: Vec<String> =
                        sqlx::query_scalar(sql::INVITED_EMPLOYEES).fetch_all(&self.pool).await.map_err(db_err)?;
                    ids.iter().map(|id| codec::employee_id(id)).collect()
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
                        cleanup = &[$crate::sessions::sql::DELETE_SESSIONS_OF];
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
        };
    };
}

pub(crate) use impl_employee_store;

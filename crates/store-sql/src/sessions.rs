//! `SessionStore` queries, written once for both dialects like `queries.rs`.

use crate::codec;
use ostrog_domain::clock::Millis;
use ostrog_store::{SessionRecord, StoreResult};

/// The statements, `$N` placeholders for both dialects.
pub(crate) mod sql {
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

macro_rules! impl_session_store {
    ($store:ty, $db:ty) => {
        const _: () = {
            use async_trait::async_trait;
            use ostrog_domain::clock::Millis;
            use ostrog_domain::ids::{EmployeeId, SessionId};
            use ostrog_domain::session::Stage;
            use ostrog_store::{SessionRecord, SessionStore, StoreResult};
            use $crate::error::{db_err, one_row};
            use $crate::sessions::{SessionRow, sql};

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
        };
    };
}

pub(crate) use impl_session_store;

//! `QuickReplyStore` queries, written once for both dialects like `queries.rs`.

use crate::codec;
use ostrog_domain::clock::Millis;
use ostrog_domain::ids::{EmployeeId, QuickReplyId};
use ostrog_domain::quick_reply::{Bodies, Scope};
use ostrog_store::{QuickReplyRecord, QuickReplyUsage, StoreError, StoreResult};

/// The statements, `$N` placeholders for both dialects.
pub(crate) mod sql {
    pub(crate) const CREATE: &str = "INSERT INTO quick_replies (id, owner, code, title, bodies, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)";
    pub(crate) const ONE: &str = "SELECT id, owner, code, title, bodies, created_at, updated_at \
         FROM quick_replies WHERE id = $1 AND deleted_at IS NULL";
    pub(crate) const FOR_EMPLOYEE: &str = "SELECT id, owner, code, title, bodies, created_at, updated_at \
         FROM quick_replies WHERE owner IN ('', $1) AND deleted_at IS NULL ORDER BY code, owner";
    pub(crate) const UPDATE: &str = "UPDATE quick_replies SET code = $2, title = $3, bodies = $4, updated_at = $5 \
         WHERE id = $1 AND deleted_at IS NULL";
    pub(crate) const DELETE: &str = "UPDATE quick_replies SET deleted_at = $2 WHERE id = $1 AND deleted_at IS NULL";
    pub(crate) const RECORD_USE: &str =
        "INSERT INTO quick_reply_uses (reply_id, employee_id, used_at) VALUES ($1, $2, $3)";
    /// `$4` is the viewer (whose personal replies count), `$5` the one
    /// employee whose uses count, or '' for everyone's.
    pub(crate) const USAGE: &str = "SELECT r.id, r.owner, r.code, r.title, r.deleted_at IS NOT NULL AS deleted, \
         COUNT(*) AS uses FROM quick_reply_uses u JOIN quick_replies r ON r.id = u.reply_id \
         WHERE u.used_at >= $1 AND u.used_at < $2 AND r.owner IN ('', $3) AND ($4 = '' OR u.employee_id = $4) \
         GROUP BY r.id, r.owner, r.code, r.title, r.deleted_at ORDER BY uses DESC, r.code";
}

#[derive(sqlx::FromRow)]
pub(crate) struct ReplyRow {
    id: String,
    owner: String,
    code: String,
    title: String,
    bodies: String,
    created_at: Millis,
    updated_at: Millis,
}

impl ReplyRow {
    pub(crate) fn into_record(self) -> StoreResult<QuickReplyRecord> {
        Ok(QuickReplyRecord {
            id: QuickReplyId(codec::uuid("quick reply id", &self.id)?),
            scope: scope(&self.owner)?,
            bodies: serde_json::from_str(&self.bodies)
                .map_err(|e| StoreError::Corrupt(format!("quick reply bodies: {e}")))?,
            code: self.code,
            title: self.title,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct UsageRow {
    id: String,
    owner: String,
    code: String,
    title: String,
    deleted: bool,
    uses: i64,
}

impl UsageRow {
    pub(crate) fn into_usage(self) -> StoreResult<QuickReplyUsage> {
        Ok(QuickReplyUsage {
            id: QuickReplyId(codec::uuid("quick reply id", &self.id)?),
            scope: scope(&self.owner)?,
            code: self.code,
            title: self.title,
            deleted: self.deleted,
            uses: self.uses,
        })
    }
}

/// How a scope is stored: '' for shared, the employee's id for personal.
pub(crate) fn owner(scope: Scope) -> String {
    match scope {
        Scope::Shared => String::new(),
        Scope::Personal(e) => e.to_string(),
    }
}

fn scope(owner: &str) -> StoreResult<Scope> {
    if owner.is_empty() { Ok(Scope::Shared) } else { Ok(Scope::Personal(codec::employee_id(owner)?)) }
}

pub(crate) fn bodies_json(b: &Bodies) -> StoreResult<String> {
    serde_json::to_string(b).map_err(|e| StoreError::Corrupt(format!("quick reply bodies: {e}")))
}

pub(crate) fn employee_or_everyone(by: Option<EmployeeId>) -> String {
    by.map(|e| e.to_string()).unwrap_or_default()
}

macro_rules! impl_quick_reply_store {
    ($store:ty, $db:ty) => {
        const _: () = {
            use async_trait::async_trait;
            use ostrog_domain::clock::Millis;
            use ostrog_domain::ids::{EmployeeId, QuickReplyId};
            use ostrog_store::{QuickReplyRecord, QuickReplyStore, QuickReplyUsage, StoreResult};
            use $crate::error::{db_err, one_row};
            use $crate::quick_replies::{ReplyRow, UsageRow, bodies_json, employee_or_everyone, owner, sql};

            #[async_trait]
            impl QuickReplyStore for $store {
                async fn create_quick_reply(&self, r: &QuickReplyRecord) -> StoreResult<()> {
                    sqlx::query(sql::CREATE)
                        .bind(r.id.to_string())
                        .bind(owner(r.scope))
                        .bind(&r.code)
                        .bind(&r.title)
                        .bind(bodies_json(&r.bodies)?)
                        .bind(r.created_at)
                        .bind(r.updated_at)
                        .execute(&self.pool)
                        .await
                        .map_err(db_err)?;
                    Ok(())
                }

                async fn quick_reply(&self, id: QuickReplyId) -> StoreResult<Option<QuickReplyRecord>> {
                    let row: Option<ReplyRow> = sqlx::query_as(sql::ONE)
                        .bind(id.to_string())
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(db_err)?;
                    row.map(ReplyRow::into_record).transpose()
                }

                async fn quick_replies_for(&self, employee: EmployeeId) -> StoreResult<Vec<QuickReplyRecord>> {
                    let rows: Vec<ReplyRow> = sqlx::query_as(sql::FOR_EMPLOYEE)
                        .bind(employee.to_string())
                        .fetch_all(&self.pool)
                        .await
                        .map_err(db_err)?;
                    rows.into_iter().map(ReplyRow::into_record).collect()
                }

                async fn update_quick_reply(&self, r: &QuickReplyRecord) -> StoreResult<()> {
                    let done = sqlx::query(sql::UPDATE)
                        .bind(r.id.to_string())
                        .bind(&r.code)
                        .bind(&r.title)
                        .bind(bodies_json(&r.bodies)?)
                        .bind(r.updated_at)
                        .execute(&self.pool)
                        .await
                        .map_err(db_err)?;
                    one_row(done.rows_affected())
                }

                async fn delete_quick_reply(&self, id: QuickReplyId, at: Millis) -> StoreResult<()> {
                    let done = sqlx::query(sql::DELETE)
                        .bind(id.to_string())
                        .bind(at)
                        .execute(&self.pool)
                        .await
                        .map_err(db_err)?;
                    one_row(done.rows_affected())
                }

                async fn record_quick_reply_use(
                    &self,
                    id: QuickReplyId,
                    by: EmployeeId,
                    at: Millis,
                ) -> StoreResult<()> {
                    sqlx::query(sql::RECORD_USE)
                        .bind(id.to_string())
                        .bind(by.to_string())
                        .bind(at)
                        .execute(&self.pool)
                        .await
                        .map_err(db_err)?;
                    Ok(())
                }

                async fn quick_reply_usage(
                    &self,
                    from: Millis,
                    to: Millis,
                    viewer: EmployeeId,
                    by: Option<EmployeeId>,
                ) -> StoreResult<Vec<QuickReplyUsage>> {
                    let rows: Vec<UsageRow> = sqlx::query_as(sql::USAGE)
                        .bind(from)
                        .bind(to)
                        .bind(viewer.to_string())
                        .bind(employee_or_everyone(by))
                        .fetch_all(&self.pool)
                        .await
                        .map_err(db_err)?;
                    rows.into_iter().map(UsageRow::into_usage).collect()
                }
            }
        };
    };
}

pub(crate) use impl_quick_reply_store;

//! `LinkStore` queries (one-time links), written once for both dialects like `queries.rs`.

use crate::codec;
use ostrog_domain::clock::Millis;
use ostrog_store::{OneTimeLink, StoreResult};

/// The statements, `$N` placeholders for both dialects.
pub(crate) mod sql {
    pub(crate) const CREATE_LINK: &str = "INSERT INTO one_time_links (token_hash, kind, employee_id, expires_at) \
         VALUES ($1, $2, $3, $4)";
    pub(crate) const FIND_LINK: &str = "SELECT token_hash, kind, employee_id, expires_at FROM one_time_links \
         WHERE token_hash = $1 AND kind = $2 AND used_at IS NULL AND expires_at > $3";
    pub(crate) const CONSUME_LINK: &str = "UPDATE one_time_links SET used_at = $3 \
         WHERE token_hash = $1 AND kind = $2 AND used_at IS NULL AND expires_at > $3 \
         RETURNING token_hash, kind, employee_id, expires_at";
    pub(crate) const REVOKE_LINKS: &str =
        "DELETE FROM one_time_links WHERE employee_id = $1 AND kind = $2 AND used_at IS NULL";
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

macro_rules! impl_link_store {
    ($store:ty, $db:ty) => {
        const _: () = {
            use async_trait::async_trait;
            use ostrog_domain::clock::Millis;
            use ostrog_store::{LinkKind, LinkStore, OneTimeLink, StoreResult};
            use $crate::error::db_err;
            use $crate::links::{LinkRow, sql};

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

                async fn revoke_links(
                    &self,
                    employee: ostrog_domain::ids::EmployeeId,
                    kind: LinkKind,
                ) -> StoreResult<u64> {
                    let done = sqlx::query(sql::REVOKE_LINKS)
                        .bind(employee.to_string())
                        .bind(kind.name())
                        .execute(&self.pool)
                        .await
                        .map_err(db_err)?;
                    Ok(done.rows_affected())
                }
            }
        };
    };
}

pub(crate) use impl_link_store;

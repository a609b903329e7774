//! `SubjectStore` queries (consents, subject requests, retention), written
//! once for both dialects like `queries.rs`.

macro_rules! impl_subject_store {
    ($store:ty, $db:ty) => {
        const _: () = {
            use async_trait::async_trait;
            use ostrog_domain::clock::Millis;
            use ostrog_domain::ids::{EmployeeId, VisitorId};
            use ostrog_domain::privacy::{RequestKind, RequestStatus};
            use ostrog_store::{ConsentRecord, Due, StoreError, StoreResult, SubjectRequest, SubjectStore};
            use sqlx::Row;
            use $crate::codec;
            use $crate::error::db_err;

            type DbRow = <$db as sqlx::Database>::Row;

            const REQUEST_COLUMNS: &str =
                "id, visitor_id, kind, basis, status, received_at, due_at, closed_at, closed_by, note";

            fn visitor(row: &DbRow) -> StoreResult<VisitorId> {
                Ok(VisitorId(codec::uuid("visitor id", &row.try_get::<String, _>("visitor_id").map_err(db_err)?)?))
            }

            fn consent_of(row: &DbRow) -> StoreResult<ConsentRecord> {
                let version: i64 = row.try_get("version").map_err(db_err)?;
                Ok(ConsentRecord {
                    id: codec::uuid("consent id", &row.try_get::<String, _>("id").map_err(db_err)?)?,
                    visitor_id: visitor(row)?,
                    version: u32::try_from(version).map_err(|_| StoreError::Corrupt("consent version".into()))?,
                    accepted: row.try_get("accepted").map_err(db_err)?,
                    at: row.try_get("at").map_err(db_err)?,
                    source: row.try_get("source").map_err(db_err)?,
                    ip_sealed: row.try_get("ip_sealed").map_err(db_err)?,
                })
            }

            fn request_of(row: &DbRow) -> StoreResult<SubjectRequest> {
                let kind: String = row.try_get("kind").map_err(db_err)?;
                let status: String = row.try_get("status").map_err(db_err)?;
                let closed_by: Option<String> = row.try_get("closed_by").map_err(db_err)?;
                Ok(SubjectRequest {
                    id: codec::uuid("request id", &row.try_get::<String, _>("id").map_err(db_err)?)?,
                    visitor_id: visitor(row)?,
                    kind: RequestKind::parse(&kind)
                        .ok_or_else(|| StoreError::Corrupt(format!("request kind {kind}")))?,
                    basis: row.try_get("basis").map_err(db_err)?,
                    status: RequestStatus::parse(&status)
                        .ok_or_else(|| StoreError::Corrupt(format!("request status {status}")))?,
                    received_at: row.try_get("received_at").map_err(db_err)?,
                    due_at: row.try_get("due_at").map_err(db_err)?,
                    closed_at: row.try_get("closed_at").map_err(db_err)?,
                    closed_by: closed_by.as_deref().map(codec::employee_id).transpose()?,
                    note: row.try_get("note").map_err(db_err)?,
                })
            }

            #[async_trait]
            impl SubjectStore for $store {
                async fn add_consent(&self, c: &ConsentRecord) -> StoreResult<()> {
                    sqlx::query(
                        "INSERT INTO consents (id, visitor_id, version, accepted, at, source, ip_sealed) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    )
                    .bind(c.id.to_string())
                    .bind(c.visitor_id.to_string())
                    .bind(i64::from(c.version))
                    .bind(c.accepted)
                    .bind(c.at)
                    .bind(&c.source)
                    .bind(c.ip_sealed.as_deref())
                    .execute(&self.pool)
                    .await
                    .map_err(db_err)?;
                    Ok(())
                }

                async fn consents(&self, visitor: VisitorId) -> StoreResult<Vec<ConsentRecord>> {
                    let rows = sqlx::query(
                        "SELECT id, visitor_id, version, accepted, at, source, ip_sealed FROM consents \
                         WHERE visitor_id = $1 ORDER BY at, id",
                    )
                    .bind(visitor.to_string())
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_err)?;
                    rows.iter().map(consent_of).collect()
                }

                async fn create_request(&self, r: &SubjectRequest) -> StoreResult<()> {
                    sqlx::query(&format!(
                        "INSERT INTO subject_requests ({REQUEST_COLUMNS}) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
                    ))
                    .bind(r.id.to_string())
                    .bind(r.visitor_id.to_string())
                    .bind(r.kind.name())
                    .bind(&r.basis)
                    .bind(r.status.name())
                    .bind(r.received_at)
                    .bind(r.due_at)
                    .bind(r.closed_at)
                    .bind(r.closed_by.map(|e| e.to_string()))
                    .bind(&r.note)
                    .execute(&self.pool)
                    .await
                    .map_err(db_err)?;
                    Ok(())
                }

                async fn request(&self, id: uuid::Uuid) -> StoreResult<Option<SubjectRequest>> {
                    let row = sqlx::query(&format!("SELECT {REQUEST_COLUMNS} FROM subject_requests WHERE id = $1"))
                        .bind(id.to_string())
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(db_err)?;
                    row.as_ref().map(request_of).transpose()
                }

                async fn requests(
                    &self,
                    visitor: Option<VisitorId>,
                    open_only: bool,
                    limit: u32,
                ) -> StoreResult<Vec<SubjectRequest>> {
                    let rows = sqlx::query(&format!(
                        "SELECT {REQUEST_COLUMNS} FROM subject_requests WHERE ($1 = FALSE OR status = 'open') \
                         AND ($3 IS NULL OR visitor_id = $3) \
                         ORDER BY CASE WHEN status = 'open' THEN 0 ELSE 1 END, \
                         CASE WHEN status = 'open' THEN due_at ELSE -closed_at END, id LIMIT $2"
                    ))
                    .bind(open_only)
                    .bind(i64::from(limit))
                    .bind(visitor.map(|v| v.to_string()))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_err)?;
                    rows.iter().map(request_of).collect()
                }

                async fn close_request(
                    &self,
                    id: uuid::Uuid,
                    status: RequestStatus,
                    at: Millis,
                    by: Option<EmployeeId>,
                ) -> StoreResult<bool> {
                    let done = sqlx::query(
                        "UPDATE subject_requests SET status = $2, closed_at = $3, closed_by = $4 \
                         WHERE id = $1 AND status = 'open'",
                    )
                    .bind(id.to_string())
                    .bind(status.name())
                    .bind(at)
                    .bind(by.map(|e| e.to_string()))
                    .execute(&self.pool)
                    .await
                    .map_err(db_err)?;
                    Ok(done.rows_affected() == 1)
                }

                async fn retention_due(
                    &self,
                    closed_before: Millis,
                    silent_before: Millis,
                    limit: u32,
                ) -> StoreResult<Vec<(VisitorId, Due)>> {
                    let rows = sqlx::query(
                        "SELECT v.id AS visitor_id, c.id AS conversation_id, \
                         COALESCE(c.updated_at, v.created_at) AS since FROM visitors v \
                         LEFT JOIN conversations c ON c.visitor_id = v.id \
                         WHERE v.erased_at IS NULL AND ( \
                           (c.id IS NULL AND v.created_at < $2) \
                           OR (c.state = 'closed' AND c.updated_at < $1)) \
                         ORDER BY since, v.id LIMIT $3",
                    )
                    .bind(closed_before)
                    .bind(silent_before)
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_err)?;
                    rows.iter()
                        .map(|row| {
                            let conversation: Option<String> = row.try_get("conversation_id").map_err(db_err)?;
                            let due = if conversation.is_some() { Due::ConversationClosed } else { Due::Silent };
                            Ok((visitor(row)?, due))
                        })
                        .collect()
                }
            }
        };
    };
}

pub(crate) use impl_subject_store;

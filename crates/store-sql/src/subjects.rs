//! `SubjectStore` queries (consents, subject requests, retention), written
//! once for both dialects like `queries.rs`.

use crate::codec;
use ostrog_domain::clock::Millis;
use ostrog_domain::ids::VisitorId;
use ostrog_domain::privacy::{RequestKind, RequestStatus};
use ostrog_store::{ConsentRecord, Due, StoreError, StoreResult, SubjectRequest};

/// The statements, `$N` placeholders for both dialects.
pub(crate) mod sql {
    pub(crate) const ADD_CONSENT: &str = "INSERT INTO consents (id, visitor_id, version, accepted, at, source, \
         ip_sealed) VALUES ($1, $2, $3, $4, $5, $6, $7)";
    pub(crate) const CONSENTS: &str = "SELECT id, visitor_id, version, accepted, at, source, ip_sealed FROM consents \
         WHERE visitor_id = $1 ORDER BY at, id";
    pub(crate) const CREATE_REQUEST: &str = "INSERT INTO subject_requests (id, visitor_id, kind, basis, status, \
         received_at, due_at, closed_at, closed_by, note) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";
    pub(crate) const REQUEST: &str = "SELECT id, visitor_id, kind, basis, status, received_at, due_at, closed_at, \
         closed_by, note FROM subject_requests WHERE id = $1";
    pub(crate) const REQUESTS: &str = "SELECT id, visitor_id, kind, basis, status, received_at, due_at, closed_at, \
         closed_by, note FROM subject_requests \
         WHERE ($1 = FALSE OR status = 'open') AND ($3 IS NULL OR visitor_id = $3) \
         ORDER BY CASE WHEN status = 'open' THEN 0 ELSE 1 END, CASE WHEN status = 'open' THEN due_at ELSE -closed_at \
         END, id LIMIT $2";
    pub(crate) const CLOSE_REQUEST: &str = "UPDATE subject_requests SET status = $2, closed_at = $3, closed_by = $4 \
         WHERE id = $1 AND status = 'open'";
    pub(crate) const RETENTION_DUE: &str = "SELECT v.id AS visitor_id, c.id AS conversation_id, \
         COALESCE(c.updated_at, v.created_at) AS since FROM visitors v \
         LEFT JOIN conversations c ON c.visitor_id = v.id \
         WHERE v.erased_at IS NULL AND ( \
           (c.id IS NULL AND v.created_at < $2) \
           OR (c.state = 'closed' AND c.updated_at < $1)) \
         ORDER BY since, v.id LIMIT $3";
}

fn visitor(id: &str) -> StoreResult<VisitorId> {
    Ok(VisitorId(codec::uuid("visitor id", id)?))
}

#[derive(sqlx::FromRow)]
pub(crate) struct ConsentRow {
    id: String,
    visitor_id: String,
    version: i64,
    accepted: bool,
    at: Millis,
    source: String,
    ip_sealed: Option<Vec<u8>>,
}

impl ConsentRow {
    pub(crate) fn into_record(self) -> StoreResult<ConsentRecord> {
        Ok(ConsentRecord {
            id: codec::uuid("consent id", &self.id)?,
            visitor_id: visitor(&self.visitor_id)?,
            version: u32::try_from(self.version).map_err(|_| StoreError::Corrupt("consent version".into()))?,
            accepted: self.accepted,
            at: self.at,
            source: self.source,
            ip_sealed: self.ip_sealed,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct RequestRow {
    id: String,
    visitor_id: String,
    kind: String,
    basis: String,
    status: String,
    received_at: Millis,
    due_at: Millis,
    closed_at: Option<Millis>,
    closed_by: Option<String>,
    note: String,
}

impl RequestRow {
    pub(crate) fn into_record(self) -> StoreResult<SubjectRequest> {
        let kind = self.kind;
        let status = self.status;
        Ok(SubjectRequest {
            id: codec::uuid("request id", &self.id)?,
            visitor_id: visitor(&self.visitor_id)?,
            kind: RequestKind::parse(&kind).ok_or_else(|| StoreError::Corrupt(format!("request kind {kind}")))?,
            basis: self.basis,
            status: RequestStatus::parse(&status)
                .ok_or_else(|| StoreError::Corrupt(format!("request status {status}")))?,
            received_at: self.received_at,
            due_at: self.due_at,
            closed_at: self.closed_at,
            closed_by: self.closed_by.as_deref().map(codec::employee_id).transpose()?,
            note: self.note,
        })
    }
}

/// A visitor due for erasure, and why.
#[derive(sqlx::FromRow)]
pub(crate) struct DueRow {
    visitor_id: String,
    conversation_id: Option<String>,
}

impl DueRow {
    pub(crate) fn into_record(self) -> StoreResult<(VisitorId, Due)> {
        let due = if self.conversation_id.is_some() { Due::ConversationClosed } else { Due::Silent };
        Ok((visitor(&self.visitor_id)?, due))
    }
}

macro_rules! impl_subject_store {
    ($store:ty, $db:ty) => {
        const _: () = {
            use async_trait::async_trait;
            use ostrog_domain::clock::Millis;
            use ostrog_domain::ids::{EmployeeId, VisitorId};
            use ostrog_domain::privacy::RequestStatus;
            use ostrog_store::{ConsentRecord, Due, StoreResult, SubjectRequest, SubjectStore};
            use $crate::error::db_err;
            use $crate::subjects::{ConsentRow, DueRow, RequestRow, sql};

            #[async_trait]
            impl SubjectStore for $store {
                async fn add_consent(&self, c: &ConsentRecord) -> StoreResult<()> {
                    sqlx::query(sql::ADD_CONSENT)
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
                    let rows: Vec<ConsentRow> = sqlx::query_as(sql::CONSENTS)
                        .bind(visitor.to_string())
                        .fetch_all(&self.pool)
                        .await
                        .map_err(db_err)?;
                    rows.into_iter().map(ConsentRow::into_record).collect()
                }

                async fn create_request(&self, r: &SubjectRequest) -> StoreResult<()> {
                    sqlx::query(sql::CREATE_REQUEST)
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
                    let row: Option<RequestRow> = sqlx::query_as(sql::REQUEST)
                        .bind(id.to_string())
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(db_err)?;
                    row.map(RequestRow::into_record).transpose()
                }

                async fn requests(
                    &self,
                    visitor: Option<VisitorId>,
                    open_only: bool,
                    limit: u32,
                ) -> StoreResult<Vec<SubjectRequest>> {
                    let rows: Vec<RequestRow> = sqlx::query_as(sql::REQUESTS)
                        .bind(open_only)
                        .bind(i64::from(limit))
                        .bind(visitor.map(|v| v.to_string()))
                        .fetch_all(&self.pool)
                        .await
                        .map_err(db_err)?;
                    rows.into_iter().map(RequestRow::into_record).collect()
                }

                async fn close_request(
                    &self,
                    id: uuid::Uuid,
                    status: RequestStatus,
                    at: Millis,
                    by: Option<EmployeeId>,
                ) -> StoreResult<bool> {
                    let done = sqlx::query(sql::CLOSE_REQUEST)
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
                    let rows: Vec<DueRow> = sqlx::query_as(sql::RETENTION_DUE)
                        .bind(closed_before)
                        .bind(silent_before)
                        .bind(i64::from(limit))
                        .fetch_all(&self.pool)
                        .await
                        .map_err(db_err)?;
                    rows.into_iter().map(DueRow::into_record).collect()
                }
            }
        };
    };
}

pub(crate) use impl_subject_store;

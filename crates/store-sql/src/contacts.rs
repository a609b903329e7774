//! `ContactStore` queries, written once for both dialects like
//! `queries.rs`. A contact is made with its visitor (`create_contact`, called
//! from `create_visitor`'s transaction) and removed with it on erasure.

use crate::codec;
use ostrog_domain::clock::Millis;
use ostrog_domain::contact::NameSource;
use ostrog_domain::ids::VisitorId;
use ostrog_store::{ContactRecord, SealedName, StoreError, StoreResult};

/// The statements, `$N` placeholders for both dialects.
pub(crate) mod sql {
    pub(crate) const NEXT_NUMBER: &str =
        "UPDATE counters SET value = value + 1 WHERE name = 'contacts' RETURNING value";
    pub(crate) const CREATE_CONTACT: &str = "INSERT INTO contacts (visitor_id, number, updated_at) VALUES ($1, $2, $3)";
    pub(crate) const CONTACT: &str = "SELECT visitor_id, number, name_sealed, name_source, details_sealed, \
         visit_sealed, updated_at FROM contacts WHERE visitor_id = $1";
    /// Completed by `QueryBuilder` with the visitors' ids and `)`.
    pub(crate) const CONTACTS: &str = "SELECT visitor_id, number, name_sealed, name_source, details_sealed, \
         visit_sealed, updated_at FROM contacts WHERE visitor_id IN (";
    /// `$5`–`$7`: the sources the new name may replace (repeated to fill).
    pub(crate) const SET_NAME: &str = "UPDATE contacts SET name_sealed = $2, name_source = $3, updated_at = $4 \
         WHERE visitor_id = $1 AND (name_source IS NULL OR name_source IN ($5, $6, $7))";
    pub(crate) const DELETE_TERMS: &str = "DELETE FROM contact_terms WHERE visitor_id = $1";
    pub(crate) const ADD_TERM: &str = "INSERT INTO contact_terms (term, visitor_id) VALUES ($1, $2)";
    pub(crate) const SET_DETAILS: &str =
        "UPDATE contacts SET details_sealed = $2, updated_at = $3 WHERE visitor_id = $1";
    pub(crate) const SET_VISIT: &str = "UPDATE contacts SET visit_sealed = $2, updated_at = $3 WHERE visitor_id = $1";
    /// Completed by `QueryBuilder`: the terms, `NAMED_HAVING`, their
    /// count, `NAMED_LIMIT` and the limit.
    pub(crate) const NAMED: &str = "SELECT visitor_id FROM contact_terms WHERE term IN (";
    pub(crate) const NAMED_HAVING: &str = ") GROUP BY visitor_id HAVING COUNT(*) = ";
    pub(crate) const NAMED_LIMIT: &str = " ORDER BY visitor_id LIMIT ";
    /// What erasing a visitor removes of their contact.
    pub(crate) const ERASE_CONTACT: [&str; 2] =
        ["DELETE FROM contact_terms WHERE visitor_id = $1", "DELETE FROM contacts WHERE visitor_id = $1"];
}

/// The stored sources a name from `source` may replace, three of them
/// (repeated to fill the statement's three places).
pub(crate) fn replaceable(source: NameSource) -> [&'static str; 3] {
    let all = [NameSource::Messenger, NameSource::Identity, NameSource::Operator];
    let names: Vec<&'static str> =
        all.into_iter().filter(|c| source.replaces(Some(*c))).map(NameSource::name).collect();
    let first = names.first().copied().unwrap_or(source.name());
    [0, 1, 2].map(|i| names.get(i).copied().unwrap_or(first))
}

#[derive(sqlx::FromRow)]
pub(crate) struct ContactRow {
    visitor_id: String,
    number: i64,
    name_sealed: Option<Vec<u8>>,
    name_source: Option<String>,
    details_sealed: Option<Vec<u8>>,
    visit_sealed: Option<Vec<u8>>,
    updated_at: Millis,
}

impl ContactRow {
    pub(crate) fn into_record(self) -> StoreResult<ContactRecord> {
        let name = match (self.name_sealed, self.name_source) {
            (Some(sealed), Some(source)) => Some(SealedName {
                sealed,
                source: NameSource::parse(&source)
                    .ok_or_else(|| StoreError::Corrupt(format!("name source {source:?}")))?,
            }),
            (None, None) => None,
            _ => return Err(StoreError::Corrupt("a contact name without its source".into())),
        };
        Ok(ContactRecord {
            visitor_id: VisitorId(codec::uuid("visitor id", &self.visitor_id)?),
            number: self.number,
            name,
            details_sealed: self.details_sealed,
            visit_sealed: self.visit_sealed,
            updated_at: self.updated_at,
        })
    }
}

macro_rules! impl_contact_store {
    ($store:ty, $db:ty) => {
        const _: () = {
            use async_trait::async_trait;
            use ostrog_domain::clock::Millis;
            use ostrog_domain::ids::VisitorId;
            use ostrog_store::{ContactRecord, ContactStore, SealedName, StoreResult};
            use sqlx::QueryBuilder;
            use $crate::contacts::{ContactRow, replaceable, sql};
            use $crate::error::db_err;

            #[async_trait]
            impl ContactStore for $store {
                async fn contact(&self, visitor: VisitorId) -> StoreResult<Option<ContactRecord>> {
                    let row: Option<ContactRow> = sqlx::query_as(sql::CONTACT)
                        .bind(visitor.to_string())
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(db_err)?;
                    row.map(ContactRow::into_record).transpose()
                }

                async fn contacts(&self, visitors: &[VisitorId]) -> StoreResult<Vec<ContactRecord>> {
                    let mut found = Vec::with_capacity(visitors.len());
                    for chunk in visitors.chunks(500) {
                        let mut q = QueryBuilder::<$db>::new(sql::CONTACTS);
                        let mut list = q.separated(", ");
                        for v in chunk {
                            list.push_bind(v.to_string());
                        }
                        q.push(")");
                        let rows: Vec<ContactRow> = q.build_query_as().fetch_all(&self.pool).await.map_err(db_err)?;
                        for row in rows {
                            found.push(row.into_record()?);
                        }
                    }
                    Ok(found)
                }

                async fn set_contact_name(
                    &self,
                    visitor: VisitorId,
                    name: &SealedName,
                    terms: &[Vec<u8>],
                    at: Millis,
                ) -> StoreResult<bool> {
                    let mut tx = self.begin_write().await.map_err(db_err)?;
                    let id = visitor.to_string();
                    let [a, b, c] = replaceable(name.source);
                    let done = sqlx::query(sql::SET_NAME)
                        .bind(&id)
                        .bind(&name.sealed)
                        .bind(name.source.name())
                        .bind(at)
                        .bind(a)
                        .bind(b)
                        .bind(c)
                        .execute(&mut *tx)
                        .await
                        .map_err(db_err)?;
                    if done.rows_affected() != 1 {
                        return Ok(false);
                    }
                    sqlx::query(sql::DELETE_TERMS).bind(&id).execute(&mut *tx).await.map_err(db_err)?;
                    let mut terms: Vec<&Vec<u8>> = terms.iter().collect();
                    terms.sort();
                    terms.dedup();
                    for term in terms {
                        sqlx::query(sql::ADD_TERM).bind(term).bind(&id).execute(&mut *tx).await.map_err(db_err)?;
                    }
                    tx.commit().await.map_err(db_err)?;
                    Ok(true)
                }

                async fn set_contact_details(
                    &self,
                    visitor: VisitorId,
                    sealed: Option<&[u8]>,
                    at: Millis,
                ) -> StoreResult<bool> {
                    let done = sqlx::query(sql::SET_DETAILS)
                        .bind(visitor.to_string())
                        .bind(sealed)
                        .bind(at)
                        .execute(&self.pool)
                        .await
                        .map_err(db_err)?;
                    Ok(done.rows_affected() == 1)
                }

                async fn set_contact_visit(
                    &self,
                    visitor: VisitorId,
                    sealed: Option<&[u8]>,
                    at: Millis,
                ) -> StoreResult<bool> {
                    let done = sqlx::query(sql::SET_VISIT)
                        .bind(visitor.to_string())
                        .bind(sealed)
                        .bind(at)
                        .execute(&self.pool)
                        .await
                        .map_err(db_err)?;
                    Ok(done.rows_affected() == 1)
                }

                async fn visitors_named(&self, terms: &[Vec<u8>], limit: u32) -> StoreResult<Vec<VisitorId>> {
                    let mut terms: Vec<&Vec<u8>> = terms.iter().collect();
                    terms.sort();
                    terms.dedup();
                    if terms.is_empty() {
                        return Ok(Vec::new());
                    }
                    let mut q = QueryBuilder::<$db>::new(sql::NAMED);
                    let mut list = q.separated(", ");
                    for term in &terms {
                        list.push_bind((*term).clone());
                    }
                    q.push(sql::NAMED_HAVING).push_bind(terms.len() as i64);
                    q.push(sql::NAMED_LIMIT).push_bind(i64::from(limit));
                    let ids: Vec<String> = q.build_query_scalar().fetch_all(&self.pool).await.map_err(db_err)?;
                    ids.iter().map(|id| Ok(VisitorId($crate::codec::uuid("visitor id", id)?))).collect()
                }
            }
        };
    };
}

pub(crate) use impl_contact_store;

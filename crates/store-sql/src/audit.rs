//! `AuditStore` queries: the hash-chained security audit log and
//! personal-data access trail, one table each with the same statements.
//! Appends run in the backend's `begin_audit` transaction, which
//! serialises them so that concurrent writers never fork a chain.

use crate::codec;
use ostrog_domain::audit::{AuditEntry, AuditEvent};
use ostrog_domain::clock::Millis;
use ostrog_store::StoreResult;

/// The statements, `$N` placeholders for both dialects.
pub(crate) mod sql {
    use ostrog_store::Trail;

    /// The statements of one hash-chained log; only the table differs.
    pub(crate) struct AuditStatements {
        /// The chain's end: `seq` and `hash` of the newest entry.
        pub(crate) last: &'static str,
        pub(crate) insert: &'static str,
        pub(crate) oldest_first: &'static str,
        pub(crate) newest_first: &'static str,
    }

    /// The security log. The access log's statements are the same but for
    /// the table (a test below holds them together).
    const SECURITY: AuditStatements = AuditStatements {
        last: "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1",
        insert: "INSERT INTO audit_log (seq, at, actor, ip, action, target, outcome, details, prev_hash, hash) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        oldest_first: "SELECT * FROM audit_log WHERE seq > $1 AND ($2 IS NULL OR actor = $2) \
             AND ($3 IS NULL OR action = $3) AND ($4 IS NULL OR target = $4) \
             AND ($5 IS NULL OR at >= $5) AND ($6 IS NULL OR at < $6) ORDER BY seq ASC LIMIT $7",
        newest_first: "SELECT * FROM audit_log WHERE seq < $1 AND ($2 IS NULL OR actor = $2) \
             AND ($3 IS NULL OR action = $3) AND ($4 IS NULL OR target = $4) \
             AND ($5 IS NULL OR at >= $5) AND ($6 IS NULL OR at < $6) ORDER BY seq DESC LIMIT $7",
    };
    const PERSONAL_DATA_ACCESS: AuditStatements = AuditStatements {
        last: "SELECT seq, hash FROM access_log ORDER BY seq DESC LIMIT 1",
        insert: "INSERT INTO access_log (seq, at, actor, ip, action, target, outcome, details, prev_hash, hash) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        oldest_first: "SELECT * FROM access_log WHERE seq > $1 AND ($2 IS NULL OR actor = $2) \
             AND ($3 IS NULL OR action = $3) AND ($4 IS NULL OR target = $4) \
             AND ($5 IS NULL OR at >= $5) AND ($6 IS NULL OR at < $6) ORDER BY seq ASC LIMIT $7",
        newest_first: "SELECT * FROM access_log WHERE seq < $1 AND ($2 IS NULL OR actor = $2) \
             AND ($3 IS NULL OR action = $3) AND ($4 IS NULL OR target = $4) \
             AND ($5 IS NULL OR at >= $5) AND ($6 IS NULL OR at < $6) ORDER BY seq DESC LIMIT $7",
    };

    /// Each trail is a table of its own.
    pub(crate) fn audit(trail: Trail) -> &'static AuditStatements {
        match trail {
            Trail::Security => &SECURITY,
            Trail::PersonalDataAccess => &PERSONAL_DATA_ACCESS,
        }
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

macro_rules! impl_audit_store {
    ($store:ty, $db:ty) => {
        const _: () = {
            use async_trait::async_trait;
            use ostrog_domain::audit::{self, AuditEntry, AuditEvent};
            use ostrog_store::{AuditFilter, AuditStore, StoreResult, Trail};
            use $crate::audit::{AuditRow, ChainEnd, sql};
            use $crate::codec;
            use $crate::error::db_err;

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
        };
    };
}

pub(crate) use impl_audit_store;

#[cfg(test)]
mod tests {
    use super::sql::audit;
    use ostrog_store::Trail;

    #[test]
    fn both_trails_run_the_same_statements_on_their_own_table() {
        let (security, access) = (audit(Trail::Security), audit(Trail::PersonalDataAccess));
        let as_access = |statement: &str| statement.replace("audit_log", "access_log");
        assert_eq!(as_access(security.last), access.last);
        assert_eq!(as_access(security.insert), access.insert);
        assert_eq!(as_access(security.oldest_first), access.oldest_first);
        assert_eq!(as_access(security.newest_first), access.newest_first);
        assert!(!access.insert.contains("audit_log"));
    }
}

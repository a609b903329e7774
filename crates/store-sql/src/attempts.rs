//! `AttemptStore` queries (failed sign-ins), written once for both dialects like `queries.rs`.

use crate::codec;
use ostrog_domain::clock::Millis;
use ostrog_domain::lockout::Failures;
use ostrog_store::StoreResult;

/// The statements, `$N` placeholders for both dialects.
pub(crate) mod sql {
    pub(crate) const FAILURES: &str =
        "SELECT count, next_attempt_at FROM sign_in_failures WHERE scope = $1 AND subject = $2";
    pub(crate) const SET_FAILURES: &str = "INSERT INTO sign_in_failures (scope, subject, count, next_attempt_at) \
         VALUES ($1, $2, $3, $4) \
         ON CONFLICT (scope, subject) DO UPDATE \
         SET count = excluded.count, next_attempt_at = excluded.next_attempt_at";
    pub(crate) const CLEAR_FAILURES: &str = "DELETE FROM sign_in_failures WHERE scope = $1 AND subject = $2";
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

macro_rules! impl_attempt_store {
    ($store:ty, $db:ty) => {
        const _: () = {
            use async_trait::async_trait;
            use ostrog_domain::lockout::Failures;
            use ostrog_store::{AttemptStore, StoreResult};
            use $crate::attempts::{FailuresRow, sql};
            use $crate::error::db_err;

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
        };
    };
}

pub(crate) use impl_attempt_store;

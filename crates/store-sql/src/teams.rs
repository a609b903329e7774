//! `TeamStore` queries, written once for both dialects like `queries.rs`.

use crate::codec;
use crate::conversations::ConversationRow;
use ostrog_domain::clock::Millis;
use ostrog_domain::ids::TeamId;
use ostrog_domain::rule::Priority;
use ostrog_store::{Queued, Route, StoreError, StoreResult};

/// The statements, `$N` placeholders for both dialects.
pub(crate) mod sql {
    pub(crate) const CREATE: &str = "INSERT INTO teams (id, name, name_key, fallback_after_seconds, created_at) \
         VALUES ($1, $2, $3, $4, $5)";
    pub(crate) const LIST: &str = "SELECT id, name, fallback_after_seconds, created_at FROM teams \
         WHERE deleted_at IS NULL ORDER BY name_key, id";
    pub(crate) const MEMBERS: &str = "SELECT m.team_id, m.employee_id FROM team_members m \
         JOIN teams t ON t.id = m.team_id WHERE t.deleted_at IS NULL ORDER BY m.team_id, m.employee_id";
    pub(crate) const UPDATE: &str = "UPDATE teams SET name = $2, name_key = $3, fallback_after_seconds = $4 \
         WHERE id = $1 AND deleted_at IS NULL";
    pub(crate) const DELETE: &str = "UPDATE teams SET deleted_at = $2 WHERE id = $1 AND deleted_at IS NULL";
    pub(crate) const UNSET_MEMBERS: &str = "DELETE FROM team_members WHERE team_id = $1";
    /// Followed by VALUES rows of (team, employee).
    pub(crate) const SET_MEMBERS: &str = "INSERT INTO team_members (team_id, employee_id) ";
    pub(crate) const SET_ROUTE: &str = "UPDATE conversations SET team_id = $2, priority = $3 WHERE id = $1";
    /// Followed by `$1, $2, …` for the ids, and `)`.
    pub(crate) const ROUTES_OF: &str = "SELECT id, team_id, priority FROM conversations \
         WHERE (team_id IS NOT NULL OR priority <> 0) AND id IN (";
    /// Followed by `QUEUED_AFTER` for a next page, then `QUEUED_ORDER`.
    pub(crate) const QUEUED: &str = "SELECT id, visitor_id, channel, state, operator_id, last_seq, created_at, \
         updated_at, team_id, queued_at FROM conversations WHERE state = 'queued' AND priority = ";
    pub(crate) const QUEUED_AFTER: (&str, &str, &str) = (" AND (queued_at > ", " OR (queued_at = ", " AND id > ");
    pub(crate) const QUEUED_ORDER: &str = " ORDER BY queued_at, id LIMIT ";
}

#[derive(sqlx::FromRow)]
pub(crate) struct TeamRow {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) fallback_after_seconds: i64,
    pub(crate) created_at: Millis,
}

#[derive(sqlx::FromRow)]
pub(crate) struct QueuedRow {
    #[sqlx(flatten)]
    conversation: ConversationRow,
    team_id: Option<String>,
    queued_at: Millis,
}

impl QueuedRow {
    pub(crate) fn into_record(self) -> StoreResult<Queued> {
        Ok(Queued {
            conversation: self.conversation.into_record()?,
            team: self.team_id.as_deref().map(team_id).transpose()?,
            queued_at: self.queued_at,
        })
    }
}

pub(crate) fn team_id(s: &str) -> StoreResult<TeamId> {
    Ok(TeamId(codec::uuid("team id", s)?))
}

pub(crate) fn priority_code(p: Priority) -> i64 {
    match p {
        Priority::Normal => 0,
        Priority::High => 1,
    }
}

pub(crate) fn route(id: &str, team: Option<&str>, priority: i64) -> StoreResult<Route> {
    Ok(Route {
        conversation: ostrog_domain::ids::ConversationId(codec::uuid("conversation id", id)?),
        team: team.map(team_id).transpose()?,
        priority: match priority {
            0 => Priority::Normal,
            1 => Priority::High,
            other => return Err(StoreError::Corrupt(format!("priority {other}"))),
        },
    })
}

macro_rules! impl_team_store {
    ($store:ty, $db:ty) => {
        const _: () = {
            use async_trait::async_trait;
            use ostrog_domain::clock::Millis;
            use ostrog_domain::ids::{ConversationId, TeamId};
            use ostrog_domain::label::name_key;
            use ostrog_domain::rule::Priority;
            use ostrog_store::{Queued, Route, StoreResult, TeamRecord, TeamStore};
            use sqlx::QueryBuilder;
            use $crate::error::{db_err, one_row};
            use $crate::teams::{QueuedRow, TeamRow, priority_code, route, sql, team_id};

            impl $store {
                /// Replaces a team's members inside `tx`.
                async fn put_members(tx: &mut sqlx::Transaction<'_, $db>, t: &TeamRecord) -> StoreResult<()> {
                    sqlx::query(sql::UNSET_MEMBERS).bind(t.id.to_string()).execute(&mut **tx).await.map_err(db_err)?;
                    let mut members = t.members.clone();
                    members.sort();
                    members.dedup();
                    for chunk in members.chunks(500) {
                        let mut q = QueryBuilder::<$db>::new(sql::SET_MEMBERS);
                        q.push_values(chunk, |mut b, m| {
                            b.push_bind(t.id.to_string()).push_bind(m.to_string());
                        });
                        q.build().execute(&mut **tx).await.map_err(db_err)?;
                    }
                    Ok(())
                }
            }

            #[async_trait]
            impl TeamStore for $store {
                async fn create_team(&self, t: &TeamRecord) -> StoreResult<()> {
                    let mut tx = self.begin_write().await.map_err(db_err)?;
                    sqlx::query(sql::CREATE)
                        .bind(t.id.to_string())
                        .bind(&t.name)
                        .bind(name_key(&t.name))
                        .bind(i64::from(t.fallback_after_seconds))
                        .bind(t.created_at)
                        .execute(&mut *tx)
                        .await
                        .map_err(db_err)?;
                    Self::put_members(&mut tx, t).await?;
                    tx.commit().await.map_err(db_err)
                }

                async fn teams(&self) -> StoreResult<Vec<TeamRecord>> {
                    let rows: Vec<TeamRow> = sqlx::query_as(sql::LIST).fetch_all(&self.pool).await.map_err(db_err)?;
                    let members: Vec<(String, String)> =
                        sqlx::query_as(sql::MEMBERS).fetch_all(&self.pool).await.map_err(db_err)?;
                    let mut teams = Vec::with_capacity(rows.len());
                    for r in rows {
                        let mut of = Vec::new();
                        for (_, m) in members.iter().filter(|(t, _)| *t == r.id) {
                            of.push($crate::codec::employee_id(m)?);
                        }
                        teams.push(TeamRecord {
                            id: team_id(&r.id)?,
                            name: r.name,
                            fallback_after_seconds: u32::try_from(r.fallback_after_seconds).unwrap_or(u32::MAX),
                            members: of,
                            created_at: r.created_at,
                        });
                    }
                    Ok(teams)
                }

                async fn update_team(&self, t: &TeamRecord) -> StoreResult<()> {
                    let mut tx = self.begin_write().await.map_err(db_err)?;
                    let done = sqlx::query(sql::UPDATE)
                        .bind(t.id.to_string())
                        .bind(&t.name)
                        .bind(name_key(&t.name))
                        .bind(i64::from(t.fallback_after_seconds))
                        .execute(&mut *tx)
                        .await
                        .map_err(db_err)?;
                    one_row(done.rows_affected())?;
                    Self::put_members(&mut tx, t).await?;
                    tx.commit().await.map_err(db_err)
                }

                async fn delete_team(&self, id: TeamId, at: Millis) -> StoreResult<()> {
                    let done = sqlx::query(sql::DELETE)
                        .bind(id.to_string())
                        .bind(at)
                        .execute(&self.pool)
                        .await
                        .map_err(db_err)?;
                    one_row(done.rows_affected())
                }

                async fn set_route(&self, r: &Route) -> StoreResult<()> {
                    let done = sqlx::query(sql::SET_ROUTE)
                        .bind(r.conversation.to_string())
                        .bind(r.team.map(|t| t.to_string()))
                        .bind(priority_code(r.priority))
                        .execute(&self.pool)
                        .await
                        .map_err(db_err)?;
                    one_row(done.rows_affected())
                }

                async fn routes_of(&self, conversations: &[ConversationId]) -> StoreResult<Vec<Route>> {
                    let mut found = Vec::new();
                    for chunk in conversations.chunks(500) {
                        let mut q = QueryBuilder::<$db>::new(sql::ROUTES_OF);
                        let mut list = q.separated(", ");
                        for c in chunk {
                            list.push_bind(c.to_string());
                        }
                        q.push(")");
                        let rows: Vec<(String, Option<String>, i64)> =
                            q.build_query_as().fetch_all(&self.pool).await.map_err(db_err)?;
                        for (c, t, p) in rows {
                            found.push(route(&c, t.as_deref(), p)?);
                        }
                    }
                    Ok(found)
                }

                async fn queued(
                    &self,
                    priority: Priority,
                    after: Option<(Millis, ConversationId)>,
                    limit: u32,
                ) -> StoreResult<Vec<Queued>> {
                    let mut q = QueryBuilder::<$db>::new(sql::QUEUED);
                    q.push_bind(priority_code(priority));
                    if let Some((at, id)) = after {
                        let (beyond, same, beyond_id) = sql::QUEUED_AFTER;
                        q.push(beyond).push_bind(at).push(same).push_bind(at);
                        q.push(beyond_id).push_bind(id.to_string()).push("))");
                    }
                    q.push(sql::QUEUED_ORDER).push_bind(i64::from(limit));
                    let rows: Vec<QueuedRow> = q.build_query_as().fetch_all(&self.pool).await.map_err(db_err)?;
                    rows.into_iter().map(QueuedRow::into_record).collect()
                }
            }
        };
    };
}

pub(crate) use impl_team_store;

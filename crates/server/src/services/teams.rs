//! Teams: defined by holders of `settings.manage` (audited like any
//! setting); routing sends a team's conversations to its members first.

use crate::error::{AppError, AppResult};
use crate::services::auditor::Auditor;
use crate::services::caller::Caller;
use ostrog_domain::DomainError;
use ostrog_domain::audit::{Action, Outcome};
use ostrog_domain::clock::Clock;
use ostrog_domain::ids::{EmployeeId, TeamId};
use ostrog_domain::team::{Draft, MAX_MEMBERS, MAX_TEAMS};
use ostrog_store::{StoreError, TeamRecord, TeamStore};
use serde_json::json;
use std::sync::Arc;

pub struct Teams {
    store: Arc<dyn TeamStore>,
    auditor: Arc<Auditor>,
    clock: Arc<dyn Clock>,
}

impl Teams {
    pub fn new(store: Arc<dyn TeamStore>, auditor: Arc<Auditor>, clock: Arc<dyn Clock>) -> Self {
        Self { store, auditor, clock }
    }

    pub async fn list(&self) -> AppResult<Vec<TeamRecord>> {
        Ok(self.store.teams().await?)
    }

    pub async fn create(&self, caller: &Caller, draft: Draft, members: Vec<EmployeeId>) -> AppResult<TeamRecord> {
        let draft = draft.validated()?;
        if self.store.teams().await?.len() >= MAX_TEAMS {
            return Err(DomainError::Invalid("name").into());
        }
        let team = TeamRecord {
            id: TeamId::random(),
            name: draft.name,
            fallback_after_seconds: draft.fallback_after_seconds,
            members: checked(members)?,
            created_at: self.clock.now(),
        };
        self.store.create_team(&team).await.map_err(refused)?;
        self.audit(caller, Action::TeamCreated, &team).await?;
        Ok(team)
    }

    pub async fn update(
        &self,
        caller: &Caller,
        id: TeamId,
        draft: Draft,
        members: Vec<EmployeeId>,
    ) -> AppResult<TeamRecord> {
        let draft = draft.validated()?;
        let members = checked(members)?;
        let before = self.store.teams().await?.into_iter().find(|t| t.id == id).ok_or(AppError::NotFound)?;
        let team =
            TeamRecord { name: draft.name, fallback_after_seconds: draft.fallback_after_seconds, members, ..before };
        self.store.update_team(&team).await.map_err(refused)?;
        self.audit(caller, Action::TeamChanged, &team).await?;
        Ok(team)
    }

    pub async fn delete(&self, caller: &Caller, id: TeamId) -> AppResult<()> {
        let team = self.store.teams().await?.into_iter().find(|t| t.id == id).ok_or(AppError::NotFound)?;
        self.store.delete_team(id, self.clock.now()).await?;
        self.audit(caller, Action::TeamDeleted, &team).await
    }

    /// The members are in the details: who gets a team's conversations is
    /// what an auditor of the routing asks.
    async fn audit(&self, caller: &Caller, action: Action, team: &TeamRecord) -> AppResult<()> {
        let details = json!({
            "name": team.name, "fallback_after_seconds": team.fallback_after_seconds, "members": team.members,
        });
        self.auditor.audit(&caller.ctx(), action, Some(team.id.to_string()), Outcome::Success, details).await
    }
}

fn checked(mut members: Vec<EmployeeId>) -> AppResult<Vec<EmployeeId>> {
    members.sort();
    members.dedup();
    if members.len() > MAX_MEMBERS {
        return Err(DomainError::Invalid("members").into());
    }
    Ok(members)
}

fn refused(e: StoreError) -> AppError {
    match e {
        StoreError::Conflict("team") => AppError::Conflict(crate::error::ErrorCode::TeamTaken),
        // A member that is not an employee.
        StoreError::NotFound => DomainError::Invalid("members").into(),
        other => other.into(),
    }
}

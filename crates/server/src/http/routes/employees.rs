//! Employees: list, create, edit, block, unblock, delete, role, permissions,
//! 2FA reset.

use crate::http::error::ApiResult;
use crate::http::extract::{ApiJson, ApiPath, ApiQuery};
use crate::http::guard::{AppState, any_of, guarded};
use crate::services::caller::Caller;
use crate::services::employees::{FirstAccess, NewEmployeeRequest};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use ostrog_domain::access::{Effect, PermissionState, Source};
use ostrog_domain::employee::{Employee, EmployeeStatus};
use ostrog_domain::ids::EmployeeId;
use ostrog_domain::permission::Permission::{self, EmployeesManage, EmployeesPermissions, EmployeesView};
use ostrog_domain::role::Role;
use ostrog_store::EmployeeFilter;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

pub fn router(state: &AppState) -> OpenApiRouter<AppState> {
    let view = any_of(&[EmployeesView]);
    let manage = any_of(&[EmployeesManage]);
    let permissions = any_of(&[EmployeesPermissions]).fresh();
    OpenApiRouter::new()
        .routes(guarded(state, view, routes!(list)))
        .routes(guarded(state, manage, routes!(create)))
        .routes(guarded(state, view, routes!(get_one)))
        .routes(guarded(state, manage, routes!(edit)))
        .routes(guarded(state, manage, routes!(delete)))
        .routes(guarded(state, manage, routes!(resend_invitation, revoke_invitation)))
        .routes(guarded(state, manage, routes!(block)))
        .routes(guarded(state, manage, routes!(unblock)))
        .routes(guarded(state, manage, routes!(end_sessions)))
        .routes(guarded(state, manage, routes!(set_chat_limit)))
        .routes(guarded(state, manage.fresh(), routes!(reset_two_factor)))
        .routes(guarded(state, permissions, routes!(set_role)))
        .routes(guarded(state, view, routes!(get_permissions)))
        .routes(guarded(state, permissions, routes!(set_permission)))
}

#[derive(Serialize, ToSchema)]
pub struct EmployeeView {
    id: Uuid,
    email: String,
    name: String,
    /// `administrator`, `manager`, `operator_supervisor`, `senior_operator` or `operator`.
    role: &'static str,
    /// `active`, `blocked`, `disabled` or `deleted`.
    status: &'static str,
    /// Invited and not accepted yet: no password of their own, cannot sign in.
    invited: bool,
    created_at: i64,
}

impl EmployeeView {
    fn invited(mut self, invited: bool) -> Self {
        self.invited = invited;
        self
    }
}

impl From<Employee> for EmployeeView {
    fn from(e: Employee) -> Self {
        Self {
            id: e.id.0,
            email: e.email,
            name: e.name,
            role: e.role.name(),
            status: e.status.name(),
            invited: false,
            created_at: e.created_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct PermissionView {
    permission: &'static str,
    held: bool,
    /// `role`, `granted`, `revoked`, `not_in_role`, or `without_view` (held
    /// by the role or a grant, not in effect while the section's view is not).
    source: &'static str,
}

impl From<PermissionState> for PermissionView {
    fn from(s: PermissionState) -> Self {
        let source = match s.source {
            Source::Role => "role",
            Source::Granted => "granted",
            Source::Revoked => "revoked",
            Source::NotInRole => "not_in_role",
            Source::WithoutView => "without_view",
        };
        Self { permission: s.permission.name(), held: s.held, source }
    }
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    role: Option<String>,
    status: Option<String>,
    /// Part of a name or e-mail.
    q: Option<String>,
}

fn parse<T>(
    raw: Option<&str>,
    f: fn(&str) -> Option<T>,
    field: &'static str,
) -> Result<Option<T>, crate::error::AppError> {
    raw.map(|s| f(s).ok_or(ostrog_domain::DomainError::Invalid(field).into())).transpose()
}

/// Employees, filtered by role, status and text.
#[utoipa::path(get, path = "/api/v1/employees", tag = "employees", params(ListQuery),
    responses((status = 200, body = [EmployeeView])))]
async fn list(State(app): State<AppState>, ApiQuery(q): ApiQuery<ListQuery>) -> ApiResult<Json<Vec<EmployeeView>>> {
    let filter = EmployeeFilter {
        role: parse(q.role.as_deref(), Role::parse, "role")?,
        status: parse(q.status.as_deref(), EmployeeStatus::parse, "status")?,
        query: q.q.filter(|s| !s.trim().is_empty()),
    };
    let list = app.employees.list(&filter).await?;
    let invited = app.employees.invited().await?;
    Ok(Json(
        list.into_iter()
            .map(|e| {
                let i = invited.contains(&e.id);
                EmployeeView::from(e).invited(i)
            })
            .collect(),
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    email: String,
    name: String,
    role: String,
    /// `invitation` (a link valid 24 h) or `initial_password` (changed at first sign-in).
    access: String,
}

#[derive(Serialize, ToSchema)]
struct Created {
    employee: EmployeeView,
    /// Shown once: hand it to the employee.
    invitation_url: Option<String>,
    /// Shown once: the employee must change it at first sign-in.
    initial_password: Option<String>,
}

/// Creates an employee, with an invitation link or a one-time initial password.
#[utoipa::path(post, path = "/api/v1/employees", tag = "employees", request_body = CreateBody,
    responses((status = 201, body = Created), (status = 409), (status = 422)))]
async fn create(
    State(app): State<AppState>,
    caller: Caller,
    ApiJson(b): ApiJson<CreateBody>,
) -> ApiResult<(StatusCode, Json<Created>)> {
    let role = parse(Some(&b.role), Role::parse, "role")?.unwrap_or(Role::Operator);
    let invite = match b.access.as_str() {
        "invitation" => true,
        "initial_password" => false,
        _ => return Err(crate::error::AppError::from(ostrog_domain::DomainError::Invalid("access")).into()),
    };
    let (employee, access) =
        app.employees.create(&caller, NewEmployeeRequest { email: b.email, name: b.name, role, invite }).await?;
    let (invitation_url, initial_password) = match access {
        FirstAccess::InvitationUrl(u) => (Some(u), None),
        FirstAccess::InitialPassword(p) => (None, Some(p)),
    };
    let employee = EmployeeView::from(employee).invited(invitation_url.is_some());
    Ok((StatusCode::CREATED, Json(Created { employee, invitation_url, initial_password })))
}

/// One employee.
#[utoipa::path(get, path = "/api/v1/employees/{id}", tag = "employees", params(("id" = Uuid, Path)),
    responses((status = 200, body = EmployeeView), (status = 404)))]
async fn get_one(State(app): State<AppState>, ApiPath(id): ApiPath<Uuid>) -> ApiResult<Json<EmployeeView>> {
    Ok(Json(app.employees.get(EmployeeId(id)).await?.into()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct EditBody {
    name: Option<String>,
    email: Option<String>,
}

/// Changes an employee's name or e-mail.
#[utoipa::path(patch, path = "/api/v1/employees/{id}", tag = "employees", params(("id" = Uuid, Path)), request_body = EditBody,
    responses((status = 200, body = EmployeeView), (status = 403), (status = 404)))]
async fn edit(
    State(app): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(b): ApiJson<EditBody>,
) -> ApiResult<Json<EmployeeView>> {
    let e = app.employees.edit(&caller, EmployeeId(id), b.name.as_deref(), b.email.as_deref()).await?;
    Ok(Json(e.into()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ChatLimitBody {
    /// Conversations routing may assign at once, 0–100.
    limit: u32,
}

/// Sets how many conversations routing may give the employee at once.
#[utoipa::path(put, path = "/api/v1/employees/{id}/chat-limit", tag = "employees", params(("id" = Uuid, Path)),
    request_body = ChatLimitBody, responses((status = 204), (status = 403), (status = 404)))]
async fn set_chat_limit(
    State(app): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(b): ApiJson<ChatLimitBody>,
) -> ApiResult<StatusCode> {
    app.employees.set_chat_limit(&caller, EmployeeId(id), b.limit).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Deletes an employee: sessions end, credentials and 2FA are destroyed, the name stays as a tombstone.
#[utoipa::path(delete, path = "/api/v1/employees/{id}", tag = "employees", params(("id" = Uuid, Path)),
    responses((status = 204), (status = 403), (status = 404)))]
async fn delete(State(app): State<AppState>, caller: Caller, ApiPath(id): ApiPath<Uuid>) -> ApiResult<StatusCode> {
    app.employees.set_status(&caller, EmployeeId(id), EmployeeStatus::Deleted).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, ToSchema)]
struct Invitation {
    /// The new link, valid 24 h; shown this once.
    invitation_url: String,
}

/// Sends an invitee a new invitation link; the links sent before stop working.
#[utoipa::path(post, path = "/api/v1/employees/{id}/invitation", tag = "employees", params(("id" = Uuid, Path)),
    responses((status = 200, body = Invitation), (status = 403), (status = 404), (status = 409)))]
async fn resend_invitation(
    State(app): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<Invitation>> {
    let invitation_url = app.employees.resend_invitation(&caller, EmployeeId(id)).await?;
    Ok(Json(Invitation { invitation_url }))
}

/// Withdraws an invitation not yet accepted: its links stop working and the invitee is removed.
#[utoipa::path(delete, path = "/api/v1/employees/{id}/invitation", tag = "employees", params(("id" = Uuid, Path)),
    responses((status = 204), (status = 403), (status = 404), (status = 409)))]
async fn revoke_invitation(
    State(app): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<StatusCode> {
    app.employees.revoke_invitation(&caller, EmployeeId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Blocks an employee: every session ends at once.
#[utoipa::path(post, path = "/api/v1/employees/{id}/block", tag = "employees", params(("id" = Uuid, Path)),
    responses((status = 204), (status = 403), (status = 404)))]
async fn block(State(app): State<AppState>, caller: Caller, ApiPath(id): ApiPath<Uuid>) -> ApiResult<StatusCode> {
    app.employees.set_status(&caller, EmployeeId(id), EmployeeStatus::Blocked).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Ends every session of an employee at once, without blocking them
/// (audited as `employee.sessions_ended`).
#[utoipa::path(delete, path = "/api/v1/employees/{id}/sessions", tag = "employees", params(("id" = Uuid, Path)),
    responses((status = 200, body = crate::http::routes::account::Ended), (status = 403), (status = 404)))]
async fn end_sessions(
    State(app): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<crate::http::routes::account::Ended>> {
    Ok(Json(crate::http::routes::account::Ended { ended: app.employees.end_sessions(&caller, EmployeeId(id)).await? }))
}

/// Unblocks an employee, or restores one disabled by failed sign-ins.
#[utoipa::path(post, path = "/api/v1/employees/{id}/unblock", tag = "employees", params(("id" = Uuid, Path)),
    responses((status = 204), (status = 403), (status = 404)))]
async fn unblock(State(app): State<AppState>, caller: Caller, ApiPath(id): ApiPath<Uuid>) -> ApiResult<StatusCode> {
    app.employees.set_status(&caller, EmployeeId(id), EmployeeStatus::Active).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Resets an employee's 2FA: they enrol again at their next sign-in.
#[utoipa::path(post, path = "/api/v1/employees/{id}/two-factor/reset", tag = "employees", params(("id" = Uuid, Path)),
    responses((status = 204), (status = 403), (status = 404)))]
async fn reset_two_factor(
    State(app): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<StatusCode> {
    app.employees.reset_two_factor(&caller, EmployeeId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct RoleBody {
    role: String,
}

/// Changes an employee's role.
#[utoipa::path(put, path = "/api/v1/employees/{id}/role", tag = "employees", params(("id" = Uuid, Path)), request_body = RoleBody,
    responses((status = 204), (status = 403), (status = 404)))]
async fn set_role(
    State(app): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(b): ApiJson<RoleBody>,
) -> ApiResult<StatusCode> {
    let role = parse(Some(&b.role), Role::parse, "role")?.unwrap_or(Role::Operator);
    app.employees.set_role(&caller, EmployeeId(id), role).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// An employee's effective permissions and where each comes from.
#[utoipa::path(get, path = "/api/v1/employees/{id}/permissions", tag = "employees", params(("id" = Uuid, Path)),
    responses((status = 200, body = [PermissionView]), (status = 404)))]
async fn get_permissions(
    State(app): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<Vec<PermissionView>>> {
    let list = app.employees.permissions(EmployeeId(id)).await?;
    Ok(Json(list.into_iter().map(Into::into).collect()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct OverrideBody {
    /// `grant`, `revoke`, or `default` to follow the role again.
    effect: String,
}

/// Grants or revokes one permission for one employee, on top of the role.
#[utoipa::path(put, path = "/api/v1/employees/{id}/permissions/{permission}", tag = "employees",
    params(("id" = Uuid, Path), ("permission" = String, Path)), request_body = OverrideBody,
    responses((status = 200, body = [PermissionView]), (status = 403), (status = 404)))]
async fn set_permission(
    State(app): State<AppState>,
    caller: Caller,
    ApiPath((id, permission)): ApiPath<(Uuid, String)>,
    ApiJson(b): ApiJson<OverrideBody>,
) -> ApiResult<Json<Vec<PermissionView>>> {
    let p = parse(Some(&permission), Permission::parse, "permission")?.ok_or(crate::error::AppError::NotFound)?;
    let effect = match b.effect.as_str() {
        "grant" => Some(Effect::Grant),
        "revoke" => Some(Effect::Revoke),
        "default" => None,
        _ => return Err(crate::error::AppError::from(ostrog_domain::DomainError::Invalid("effect")).into()),
    };
    let list = app.employees.set_permission(&caller, EmployeeId(id), p, effect).await?;
    Ok(Json(list.into_iter().map(Into::into).collect()))
}

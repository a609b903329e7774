//! The contact a conversation is with: reading it (whoever may see the
//! conversation) and editing its name and details (`contacts.edit`).

use crate::http::error::ApiResult;
use crate::http::extract::{ApiJson, ApiPath};
use crate::http::guard::{AppState, any_of, guarded};
use crate::http::routes::bodies::ContactView;
use crate::services::caller::Caller;
use axum::Json;
use axum::extract::State;
use ostrog_domain::contact::Details;
use ostrog_domain::ids::ConversationId;
use ostrog_domain::permission::Permission::{ContactsEdit, ConversationsAll, ConversationsOwn};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

pub fn router(state: &AppState) -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(guarded(state, any_of(&[ConversationsOwn, ConversationsAll]), routes!(get_contact)))
        .routes(guarded(state, any_of(&[ContactsEdit]), routes!(edit_contact)))
}

/// The contact of a conversation the caller may see.
#[utoipa::path(get, path = "/api/v1/conversations/{id}/contact", tag = "contacts",
    responses((status = 200, body = ContactView)))]
async fn get_contact(
    State(app): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<ContactView>> {
    let c = app.contacts.of_conversation(&caller.actor, ConversationId(id)).await?;
    Ok(Json(ContactView::of(c)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ContactEdit {
    /// The display name (up to 200 characters); absent or blank keeps it.
    name: Option<String>,
    /// Up to 200 characters each; absent or blank clears the field.
    phone: Option<String>,
    email: Option<String>,
    company: Option<String>,
    /// Up to 4,000 characters.
    notes: Option<String>,
}

/// Renames the contact of a conversation the caller may see and replaces
/// its details; audited (`contact.edited`, naming the fields changed).
#[utoipa::path(put, path = "/api/v1/conversations/{id}/contact", tag = "contacts", request_body = ContactEdit,
    responses((status = 200, body = ContactView)))]
async fn edit_contact(
    State(app): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(b): ApiJson<ContactEdit>,
) -> ApiResult<Json<ContactView>> {
    let details = Details { phone: b.phone, email: b.email, company: b.company, notes: b.notes };
    let c = app.contacts.edit(&caller, ConversationId(id), b.name, details).await?;
    Ok(Json(ContactView::of(c)))
}

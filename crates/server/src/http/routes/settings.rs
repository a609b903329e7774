//! Security, personal-data, routing and company settings.

use crate::http::error::ApiResult;
use crate::http::extract::ApiJson;
use crate::http::guard::{AppState, any_of, guarded};
use crate::http::routes::bodies;
use crate::services::caller::Caller;
use crate::services::settings::TwoFactorPolicy;
use axum::Json;
use axum::extract::State;
use ostrog_domain::language::Language;
use ostrog_domain::permission::Permission::{SettingsManage, SettingsView};
use ostrog_domain::personal_data::Category;
use ostrog_domain::privacy::{ConsentSettings, RetentionSettings};
use ostrog_domain::role::Role;
use ostrog_domain::routing::RoutingSettings;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router(state: &AppState) -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(guarded(state, any_of(&[SettingsView]), routes!(get_two_factor)))
        .routes(guarded(state, any_of(&[SettingsManage]), routes!(put_two_factor)))
        .routes(guarded(state, any_of(&[SettingsManage]), routes!(put_language)))
        .routes(guarded(state, any_of(&[SettingsView]), routes!(get_personal_data)))
        .routes(guarded(state, any_of(&[SettingsManage]), routes!(put_personal_data)))
        .routes(guarded(state, any_of(&[SettingsView]), routes!(get_consent)))
        .routes(guarded(state, any_of(&[SettingsManage]), routes!(put_consent)))
        .routes(guarded(state, any_of(&[SettingsView]), routes!(get_retention)))
        .routes(guarded(state, any_of(&[SettingsManage]), routes!(put_retention)))
        .routes(guarded(state, any_of(&[SettingsView]), routes!(get_routing)))
        .routes(guarded(state, any_of(&[SettingsManage]), routes!(put_routing)))
        .routes(guarded(state, any_of(&[SettingsView]), routes!(get_company)))
        .routes(guarded(state, any_of(&[SettingsManage]), routes!(put_company)))
}

#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct CompanyBody {
    /// The company's name as its clients know it, up to 100 characters;
    /// quick replies' `{company_name}`.
    name: String,
}

#[utoipa::path(get, path = "/api/v1/settings/company", tag = "settings", responses((status = 200, body = CompanyBody)))]
async fn get_company(State(app): State<AppState>) -> ApiResult<Json<CompanyBody>> {
    Ok(Json(CompanyBody { name: app.settings.company_name().await? }))
}

/// Renames the company; audited.
#[utoipa::path(put, path = "/api/v1/settings/company", tag = "settings", request_body = CompanyBody,
    responses((status = 200, body = CompanyBody)))]
async fn put_company(
    State(app): State<AppState>,
    caller: Caller,
    ApiJson(b): ApiJson<CompanyBody>,
) -> ApiResult<Json<CompanyBody>> {
    Ok(Json(CompanyBody { name: app.settings.set_company_name(&caller, &b.name).await? }))
}

/// When operators count as away and unattended assignments return to the queue.
#[utoipa::path(get, path = "/api/v1/settings/routing", tag = "settings", responses((status = 200, body = bodies::RoutingSettings)))]
async fn get_routing(State(app): State<AppState>) -> ApiResult<Json<RoutingSettings>> {
    Ok(Json(app.settings.routing().await?))
}

/// Changes the routing times (seconds, 5–3600).
#[utoipa::path(put, path = "/api/v1/settings/routing", tag = "settings", request_body = bodies::RoutingSettings,
    responses((status = 200, body = bodies::RoutingSettings)))]
async fn put_routing(
    State(app): State<AppState>,
    caller: Caller,
    ApiJson(b): ApiJson<RoutingSettings>,
) -> ApiResult<Json<RoutingSettings>> {
    Ok(Json(app.settings.set_routing(&caller, b).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ConsentBody {
    /// Visitors may write only after accepting the text.
    required: bool,
    /// The consent text shown in the widget; a changed text is a new version.
    text: String,
    /// Days (1–30) after a withdrawal within which the subject's data is destroyed.
    withdrawal_days: u32,
}

/// The consent text visitors accept, its version and whether it is required.
#[utoipa::path(get, path = "/api/v1/settings/consent", tag = "settings", responses((status = 200, body = bodies::ConsentSettings)))]
async fn get_consent(State(app): State<AppState>) -> ApiResult<Json<ConsentSettings>> {
    Ok(Json(app.consent.consent_settings().await?))
}

/// Changes the consent settings; a new text gets the next version number.
#[utoipa::path(put, path = "/api/v1/settings/consent", tag = "settings", request_body = ConsentBody,
    responses((status = 200, body = bodies::ConsentSettings)))]
async fn put_consent(
    State(app): State<AppState>,
    caller: Caller,
    ApiJson(b): ApiJson<ConsentBody>,
) -> ApiResult<Json<ConsentSettings>> {
    Ok(Json(app.consent.set_consent_settings(&caller, b.required, b.text, b.withdrawal_days).await?))
}

/// Retention periods of personal data.
#[utoipa::path(get, path = "/api/v1/settings/retention", tag = "settings", responses((status = 200, body = bodies::RetentionSettings)))]
async fn get_retention(State(app): State<AppState>) -> ApiResult<Json<RetentionSettings>> {
    Ok(Json(app.retention.settings().await?))
}

/// Changes the retention periods (days, 1–36500).
#[utoipa::path(put, path = "/api/v1/settings/retention", tag = "settings", request_body = Object,
    responses((status = 200, body = bodies::RetentionSettings)))]
async fn put_retention(
    State(app): State<AppState>,
    caller: Caller,
    ApiJson(b): ApiJson<RetentionSettings>,
) -> ApiResult<Json<RetentionSettings>> {
    app.retention.set_settings(&caller, b).await?;
    Ok(Json(app.retention.settings().await?))
}

#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct PersonalDataSettings {
    /// Categories employees see masked: `card`, `passport`, `snils`, `inn`, `phone`, `email`.
    #[schema(value_type = Vec<String>)]
    masked: Vec<Category>,
}

/// Which categories of personal data employees see masked.
#[utoipa::path(get, path = "/api/v1/settings/personal-data", tag = "settings",
    responses((status = 200, body = PersonalDataSettings)))]
async fn get_personal_data(State(app): State<AppState>) -> ApiResult<Json<PersonalDataSettings>> {
    Ok(Json(PersonalDataSettings { masked: app.personal_data.masked_categories().await? }))
}

/// Changes which categories are masked; applies to the next message shown.
#[utoipa::path(put, path = "/api/v1/settings/personal-data", tag = "settings",
    request_body = PersonalDataSettings, responses((status = 200, body = PersonalDataSettings)))]
async fn put_personal_data(
    State(app): State<AppState>,
    caller: Caller,
    ApiJson(b): ApiJson<PersonalDataSettings>,
) -> ApiResult<Json<PersonalDataSettings>> {
    app.personal_data.set_masked_categories(&caller, b.masked).await?;
    Ok(Json(PersonalDataSettings { masked: app.personal_data.masked_categories().await? }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct LanguageBody {
    /// `ru` or `en`: the pages' language for whoever has not chosen one.
    #[schema(value_type = String)]
    language: Language,
}

/// Changes the installation's default language.
#[utoipa::path(put, path = "/api/v1/settings/language", tag = "settings", request_body = LanguageBody,
    responses((status = 204)))]
async fn put_language(
    State(app): State<AppState>,
    caller: Caller,
    ApiJson(b): ApiJson<LanguageBody>,
) -> ApiResult<axum::http::StatusCode> {
    app.settings.set_default_language(&caller, b.language).await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

/// Which roles must use 2FA.
#[utoipa::path(get, path = "/api/v1/settings/two-factor", tag = "settings", responses((status = 200, body = TwoFactorPolicy)))]
async fn get_two_factor(State(app): State<AppState>) -> ApiResult<Json<TwoFactorPolicy>> {
    Ok(Json(app.settings.two_factor_policy().await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct TwoFactorBody {
    /// Role name → required. The Administrator's requirement stays on whatever is sent.
    #[schema(value_type = BTreeMap<String, bool>)]
    required: BTreeMap<Role, bool>,
}

/// Changes which roles must use 2FA.
#[utoipa::path(put, path = "/api/v1/settings/two-factor", tag = "settings", request_body = TwoFactorBody,
    responses((status = 200, body = TwoFactorPolicy)))]
async fn put_two_factor(
    State(app): State<AppState>,
    caller: Caller,
    ApiJson(b): ApiJson<TwoFactorBody>,
) -> ApiResult<Json<TwoFactorPolicy>> {
    Ok(Json(app.settings.set_two_factor_policy(&caller, TwoFactorPolicy { required: b.required }).await?))
}

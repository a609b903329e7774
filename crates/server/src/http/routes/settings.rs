//! Security settings.

use crate::http::error::ApiResult;
use crate::http::extract::ApiJson;
use crate::http::guard::{AppState, any_of, guarded};
use crate::services::caller::Caller;
use crate::services::settings::TwoFactorPolicy;
use axum::Json;
use axum::extract::State;
use ostrog_domain::language::Language;
use ostrog_domain::permission::Permission::{SettingsManage, SettingsView};
use ostrog_domain::personal_data::Category;
use ostrog_domain::role::Role;
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
    Ok(Json(PersonalDataSettings { masked: app.masked_categories().await? }))
}

/// Changes which categories are masked; applies to the next message shown.
#[utoipa::path(put, path = "/api/v1/settings/personal-data", tag = "settings",
    request_body = PersonalDataSettings, responses((status = 200, body = PersonalDataSettings)))]
async fn put_personal_data(
    State(app): State<AppState>,
    caller: Caller,
    ApiJson(b): ApiJson<PersonalDataSettings>,
) -> ApiResult<Json<PersonalDataSettings>> {
    app.set_masked_categories(&caller, b.masked).await?;
    Ok(Json(PersonalDataSettings { masked: app.masked_categories().await? }))
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
    app.set_default_language(&caller, b.language).await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

/// Which roles must use 2FA.
#[utoipa::path(get, path = "/api/v1/settings/two-factor", tag = "settings", responses((status = 200, body = TwoFactorPolicy)))]
async fn get_two_factor(State(app): State<AppState>) -> ApiResult<Json<TwoFactorPolicy>> {
    Ok(Json(app.two_factor_policy().await?))
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
    Ok(Json(app.set_two_factor_policy(&caller, TwoFactorPolicy { required: b.required }).await?))
}

//! Route groups, one file per area of the API.

pub mod account;
pub mod audit;
pub mod bodies;
pub mod bulk;
pub mod channels;
pub mod contact_history;
pub mod contacts;
pub mod conversations;
pub mod employees;
pub mod files;
pub mod hooks;
pub mod labels;
pub mod meta;
pub mod personal_data;
pub mod quick_replies;
pub mod realtime;
pub mod reports;
pub mod satisfaction;
pub mod security_checks;
pub mod settings;
pub mod sign_in;
pub mod teams;
pub mod widgets;

use crate::http::guard::AppState;
use utoipa_axum::router::OpenApiRouter;

pub fn all(state: &AppState) -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(meta::router(state))
        .merge(sign_in::router(state))
        .merge(account::router(state))
        .merge(employees::router(state))
        .merge(audit::router(state))
        .merge(settings::router(state))
        .merge(realtime::router(state))
        .merge(conversations::router(state))
        .merge(contacts::router(state))
        .merge(quick_replies::router(state))
        .merge(labels::router(state))
        .merge(teams::router(state))
        .merge(bulk::router(state))
        .merge(contact_history::router(state))
        .merge(widgets::router(state))
        .merge(reports::router(state))
        .merge(satisfaction::router(state))
        .merge(security_checks::router(state))
        .merge(files::router(state))
        .merge(personal_data::router(state))
        .merge(channels::router(state))
}

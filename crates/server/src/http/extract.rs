//! Extractors whose rejections are our JSON errors: malformed JSON, wrong
//! types, unknown fields, bad path or query parameters and oversized bodies
//! all get a 4xx with a stable code, never axum's plain-text default.

use crate::error::ErrorCode;
use crate::http::error::ApiError;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use std::net::{IpAddr, SocketAddr};

pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(ApiJson(value)),
            Err(rejection) => Err(json_rejection(&rejection)),
        }
    }
}

fn json_rejection(r: &JsonRejection) -> ApiError {
    let status = r.status();
    let (status, code) = match r {
        JsonRejection::JsonDataError(_) => (StatusCode::UNPROCESSABLE_ENTITY, ErrorCode::InvalidBody),
        JsonRejection::JsonSyntaxError(_) => (StatusCode::BAD_REQUEST, ErrorCode::MalformedJson),
        JsonRejection::MissingJsonContentType(_) => {
            (StatusCode::UNSUPPORTED_MEDIA_TYPE, ErrorCode::UnsupportedMediaType)
        }
        _ if status == StatusCode::PAYLOAD_TOO_LARGE => (status, ErrorCode::PayloadTooLarge),
        _ => (StatusCode::BAD_REQUEST, ErrorCode::UnreadableBody),
    };
    // serde's message names the field and the expected type, never internals.
    ApiError::new(status, code, r.body_text())
}

pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state).await.map(|p| ApiPath(p.0)).map_err(
            |r: PathRejection| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, ErrorCode::InvalidPath, r.body_text()),
        )
    }
}

pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state).await.map(|q| ApiQuery(q.0)).map_err(
            |r: QueryRejection| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, ErrorCode::InvalidQuery, r.body_text()),
        )
    }
}

/// The client's address and user agent, for sessions and the audit log.
#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    pub ip: Option<IpAddr>,
    pub user_agent: Option<String>,
}

impl ClientInfo {
    /// The peer's address, or, when the peer is a trusted reverse proxy,
    /// the nearest untrusted address in `X-Forwarded-For` (read from the
    /// right: entries further left are whatever the client claimed).
    pub fn from_parts(parts: &Parts, trusted_proxies: &[IpAddr]) -> Self {
        let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
        let ip = peer.map(|peer| {
            if !trusted_proxies.contains(&peer) {
                return peer;
            }
            parts
                .headers
                .get_all("x-forwarded-for")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .rev()
                .filter_map(|s| s.trim().parse::<IpAddr>().ok())
                .find(|ip| !trusted_proxies.contains(ip))
                .unwrap_or(peer)
        });
        let user_agent = parts
            .headers
            .get(axum::http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|s| s.chars().take(200).collect());
        Self { ip, user_agent }
    }

    pub fn ctx(&self) -> crate::services::auditor::Ctx {
        crate::services::auditor::Ctx { actor: None, ip: self.ip, user_agent: self.user_agent.clone() }
    }
}

impl FromRequestParts<crate::http::guard::AppState> for ClientInfo {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        app: &crate::http::guard::AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(ClientInfo::from_parts(parts, &app.trusted_proxies))
    }
}

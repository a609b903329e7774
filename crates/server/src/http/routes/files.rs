//! Files: upload (multipart, one part named `file`) and download, for
//! employees by their conversation permissions and for visitors by their
//! visitor token (`Authorization: Bearer <visitor token>`).

use crate::error::AppError;
use crate::error::ErrorCode;
use crate::files::cipher::Part;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::ApiPath;
use crate::http::guard::{AppState, any_of, guarded, visitor};
use crate::realtime::objects::{Message, View};
use crate::services::caller::Caller;
use crate::services::files::{Download, FileStream, Upload};
use axum::Json;
use axum::body::Body;
use axum::extract::multipart::{Multipart, MultipartRejection};
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ostrog_domain::ids::{ConversationId, FileId, WidgetId};
use ostrog_domain::message::Author;
use ostrog_domain::permission::Permission::{ConversationsAll, ConversationsOwn};
use std::time::Duration;
use tower_http::timeout::TimeoutLayer;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

pub fn router(state: &AppState) -> OpenApiRouter<AppState> {
    let work = any_of(&[ConversationsOwn, ConversationsAll]);
    OpenApiRouter::new()
        .routes(guarded(state, work, routes!(download)))
        .routes(guarded(state, work, routes!(thumbnail)))
        .routes(guarded(state, visitor(), routes!(visitor_download)))
        .routes(guarded(state, visitor(), routes!(visitor_thumbnail)))
}

/// Uploads, with a body limit of the file limit plus the multipart envelope
/// and a timeout of their own: they take longer than any other request.
pub fn uploads(state: &AppState) -> OpenApiRouter<AppState> {
    let work = any_of(&[ConversationsOwn, ConversationsAll]);
    let limit = usize::try_from(state.files.limits().max_bytes).unwrap_or(usize::MAX).saturating_add(64 * 1024);
    let timeout = Duration::from_secs(state.files.limits().upload_timeout_seconds);
    OpenApiRouter::new()
        .routes(guarded(state, work, routes!(upload)))
        .routes(guarded(state, visitor(), routes!(visitor_upload)))
        .layer(DefaultBodyLimit::max(limit))
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, timeout))
}

/// The `file` part of a multipart body, streamed into the service.
async fn receive(
    app: &AppState,
    mut form: Multipart,
    conversation: ConversationId,
    uploader: Author,
    ctx: crate::services::auditor::Ctx,
) -> ApiResult<Json<Message>> {
    let bad = |m: String| ApiError::new(StatusCode::BAD_REQUEST, ErrorCode::InvalidMultipart, m);
    loop {
        let field = form
            .next_field()
            .await
            .map_err(|e| bad(e.body_text()))?
            .ok_or_else(|| bad("no part named `file`".into()))?;
        if field.name() != Some("file") {
            continue;
        }
        let name = field.file_name().unwrap_or("file").to_string();
        let up = Upload { conversation, uploader, name, client_key: None };
        let stored = app.files.receive_file(up, field, &ctx).await?;
        // A file message carries no text to mask.
        return Ok(Json(Message::of(stored.message(), View::Visitor)));
    }
}

fn multipart(m: Result<Multipart, MultipartRejection>) -> ApiResult<Multipart> {
    m.map_err(|r| ApiError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, ErrorCode::MultipartRequired, r.body_text()))
}

/// Posts a file into a conversation; it is scanned before anyone can open it.
#[utoipa::path(post, path = "/api/v1/conversations/{id}/files", tag = "files",
    responses((status = 200, body = Message), (status = 413), (status = 415), (status = 422, description = "file_infected"),
              (status = 503, description = "scanning_unavailable")))]
async fn upload(
    State(app): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
    form: Result<Multipart, MultipartRejection>,
) -> ApiResult<Json<Message>> {
    let c = app.conversations.visible(&caller.actor, ConversationId(id)).await?;
    let form = multipart(form)?;
    receive(&app, form, c.id, Author::Employee(caller.actor.id), caller.ctx()).await
}

/// Sends a file as an attachment; only to who may see its conversation.
#[utoipa::path(get, path = "/api/v1/files/{id}", tag = "files",
    responses((status = 200, description = "The file, as an attachment", content_type = "application/octet-stream"), (status = 403)))]
async fn download(State(app): State<AppState>, caller: Caller, ApiPath(id): ApiPath<Uuid>) -> ApiResult<Response> {
    Ok(attachment(app.files.employee_file(&caller, FileId(id), Part::Original).await?))
}

/// The server-made JPEG thumbnail of an image (`thumbnail: true` in its message).
#[utoipa::path(get, path = "/api/v1/files/{id}/thumbnail", tag = "files",
    responses((status = 200, content_type = "image/jpeg"), (status = 403), (status = 404)))]
async fn thumbnail(State(app): State<AppState>, caller: Caller, ApiPath(id): ApiPath<Uuid>) -> ApiResult<Response> {
    Ok(picture(app.files.employee_file(&caller, FileId(id), Part::Thumbnail).await?))
}

fn visitor_token(headers: &HeaderMap) -> Result<&str, AppError> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .ok_or(AppError::Unauthenticated)
}

/// A visitor posts a file into their conversation.
#[utoipa::path(post, path = "/api/v1/widget/{id}/files", tag = "widget", responses((status = 200, body = Message)))]
async fn visitor_upload(
    State(app): State<AppState>,
    ApiPath(widget): ApiPath<Uuid>,
    client: crate::http::extract::ClientInfo,
    headers: HeaderMap,
    form: Result<Multipart, MultipartRejection>,
) -> ApiResult<Json<Message>> {
    app.admit(&app.public_limits.visitor_uploads, client.ip)?;
    let c = app.visitors.visitor_conversation(WidgetId(widget), visitor_token(&headers)?).await?;
    app.consent.check_consent_of(c.visitor_id).await?;
    let form = multipart(form)?;
    // A visitor's address and browser are personal data: the audit log
    // names the visitor (by id), not where they came from.
    receive(&app, form, c.id, Author::Visitor(c.visitor_id), crate::services::auditor::Ctx::default()).await
}

/// A visitor downloads a file of their own conversation.
#[utoipa::path(get, path = "/api/v1/widget/{id}/files/{file_id}", tag = "widget",
    responses((status = 200, description = "The file, as an attachment", content_type = "application/octet-stream"), (status = 403)))]
async fn visitor_download(
    State(app): State<AppState>,
    ApiPath((widget, file)): ApiPath<(Uuid, Uuid)>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    Ok(attachment(
        app.files.visitor_file(WidgetId(widget), visitor_token(&headers)?, FileId(file), Part::Original).await?,
    ))
}

/// The thumbnail of an image in the visitor's own conversation.
#[utoipa::path(get, path = "/api/v1/widget/{id}/files/{file_id}/thumbnail", tag = "widget",
    responses((status = 200, content_type = "image/jpeg"), (status = 403), (status = 404)))]
async fn visitor_thumbnail(
    State(app): State<AppState>,
    ApiPath((widget, file)): ApiPath<(Uuid, Uuid)>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    Ok(picture(
        app.files.visitor_file(WidgetId(widget), visitor_token(&headers)?, FileId(file), Part::Thumbnail).await?,
    ))
}

/// Always an attachment, never rendered by the browser, with a CSP that
/// forbids everything should it be opened anyway.
fn attachment((record, stream): Download) -> Response {
    let disposition = format!(
        "attachment; filename=\"file\"; filename*=UTF-8''{}",
        record
            .name
            .bytes()
            .map(|b| if b.is_ascii_alphanumeric() || b"-._".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            })
            .collect::<String>()
    );
    let content_type =
        HeaderValue::from_str(&record.content_type).unwrap_or(HeaderValue::from_static("application/octet-stream"));
    let mut response = served(stream, content_type);
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(record.size));
    response
}

/// A thumbnail is shown in the page: our own JPEG, made after the scan.
fn picture((_, stream): Download) -> Response {
    let mut response = served(stream, HeaderValue::from_static("image/jpeg"));
    response.headers_mut().insert(header::CONTENT_DISPOSITION, HeaderValue::from_static("inline"));
    response
}

/// What every file response carries: no sniffing, a CSP that forbids
/// everything should it be opened as a page, and no copy in a browser cache.
fn served(stream: FileStream, content_type: HeaderValue) -> Response {
    let mut response = Body::from_stream(stream).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, content_type);
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("default-src 'none'; sandbox"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    response
}

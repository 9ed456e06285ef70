//! `POST /api/notifications/send`: an e-mail from a template, to `email`, with the person's name filled in and an
//! optional PDF. The request only records it; the `notifications` subscriber sends it after the commit (see
//! [`crate::notifications`]). The answer is the seed's, with the notification's id to follow it by
//! (`GET /v1/notifications/{id}`).

use axum::{extract::State, http::StatusCode, response::Response};
use base64::{engine::general_purpose::STANDARD, Engine};
use serde_json::json;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::{documents::is_pdf, fields::Fields, write, Allowed, ErrorBody, Refused, Then};
use crate::{
    app::App,
    auth::Principal,
    domain::ids::is_email,
    http::{ingress::Incoming, Shared},
    notifications::{self, Attachment, Recipient, RequestError},
    queries,
};

/// The largest attachment taken, decoded (its base64 makes the body a third larger; the body limit allows it).
pub const MAX_ATTACHMENT_BYTES: usize = 2 * 1024 * 1024;
/// The largest body of this call.
const MAX_BODY_BYTES: usize = 3 * 1024 * 1024;

pub fn routes() -> OpenApiRouter<Shared> {
    OpenApiRouter::new().routes(routes!(send)).layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
}

/// The attachment of a request: both its name and its content, or neither; the content a base64 PDF.
fn attachment(fields: &Fields) -> Result<Option<Attachment>, Refused> {
    let name = fields.text("attachmentFileName", 255)?;
    let content = fields.text("attachmentFileContent", MAX_BODY_BYTES)?;
    let (file_name, content) = match (name, content) {
        (None, None) => return Ok(None),
        (Some(name), Some(content)) => (name, content),
        _ => return Err(Refused::invalid("attachmentFileName and attachmentFileContent go together")),
    };
    let content = STANDARD.decode(content.trim()).map_err(|_| {
        Refused::new(StatusCode::BAD_REQUEST, "invalid_attachment", "attachmentFileContent is not base64")
    })?;
    if content.len() > MAX_ATTACHMENT_BYTES {
        let message = format!("the attachment is larger than {} bytes", MAX_ATTACHMENT_BYTES);
        return Err(Refused::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", message));
    }
    if !is_pdf(&content) || !file_name.to_ascii_lowercase().ends_with(".pdf") {
        let message = "the attachment must be a PDF (a .pdf file that starts with %PDF- and ends with %%EOF)";
        return Err(Refused::new(StatusCode::BAD_REQUEST, "invalid_attachment", message));
    }
    Ok(Some(Attachment { file_name, content }))
}

/// Send an e-mail notification.
#[utoipa::path(post, path = "/api/notifications/send", tag = "footprints",
    request_body(content_type = "application/x-www-form-urlencoded", description = "templateKey, email; firstName, \
        lastName; attachmentFileName with attachmentFileContent (a base64 PDF, at most 2 MiB decoded)"),
    responses(
        (status = 200, description = "{\"status\": \"success\", \"message\": \"Message sent!\", \"notificationId\": …}: \
            recorded; it is sent after the commit"),
        (status = 400, description = "A field is missing or invalid, or the attachment is not a PDF", body = ErrorBody),
        (status = 404, description = "No template with this key", body = ErrorBody),
        (status = 413, description = "The attachment is too large", body = ErrorBody),
    ))]
async fn send(State(app): State<Shared>, incoming: Incoming) -> Response {
    let id = Uuid::now_v7();
    let plan = async move |app: &App, principal: &Principal, fields: Fields| {
        let template_key = fields.required("templateKey", 64)?;
        let email = fields.required("email", 254)?;
        if !is_email(&email) {
            return Err(Refused::invalid("email must be an e-mail address"));
        }
        let recipient =
            Recipient { email, first_name: fields.text("firstName", 100)?, last_name: fields.text("lastName", 100)? };
        let attachment = attachment(&fields)?;
        let target = notifications::prepare(app, &principal.tenant, id, &template_key, &recipient, attachment).await;
        Ok(target
            .map_err(|error| match error {
                RequestError::UnknownTemplate => {
                    Refused::new(StatusCode::NOT_FOUND, "unknown_template", "no template with this templateKey")
                }
                RequestError::Vault(error) => Refused::from(error),
                RequestError::Store(error) => Refused::from(error),
            })?
            .into())
    };
    let render = move |_: &[tally_events::Envelope]| {
        (StatusCode::OK, json!({"status": "success", "message": "Message sent!", "notificationId": id}))
    };
    write(&app, incoming, Allowed::Anyone, plan, render, Then::Notification(id)).await
}

/// The answer to a send, once what was kept for notification `id` is forgotten if the request did not record it
/// (it was refused, or a retry answered as the first time).
pub(super) async fn settled(app: &App, tenant: &str, id: Uuid, written: Response) -> Response {
    if let Ok(None) = queries::notification(&app.db, tenant, id).await {
        if let Err(error) = notifications::forget(app, tenant, id).await {
            tracing::error!(%error, "what was kept for a notification that was not recorded could not be removed");
        }
    }
    written
}

//! `/v1/notification-templates` and `/v1/notifications`: the merchant's e-mail templates (reference data: each
//! change is an event) and the delivery status of the notifications sent with them (`POST
//! /api/notifications/send`).

use axum::{extract::State, http::StatusCode, response::Response, Json};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tally_projections::NotificationView;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::{identifier, staff, write, ApiError, ErrorBody, V1Caller, V1Path, Written};
use crate::{
    app::App,
    auth::Principal,
    commands::Stream,
    domain::notification::{Template, TemplateAggregate},
    http::{ingress::Incoming, Shared},
    queries,
};

/// The longest subject, and the longest body.
const MAX_SUBJECT: usize = 200;
const MAX_BODY: usize = 20_000;

pub fn routes() -> OpenApiRouter<Shared> {
    OpenApiRouter::new().routes(routes!(declare_template, get_template)).routes(routes!(get_notification))
}

/// A template's key.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct TemplatePath {
    /// 1 to 64 letters, digits, `_` or `-` (the `templateKey` of a send).
    #[param(pattern = r"^[A-Za-z0-9_-]{1,64}$")]
    key: String,
}

/// A template's text. `{{firstName}}` and `{{lastName}}` are filled in with the recipient's when it is sent.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateText {
    /// 1 to 200 characters.
    subject: String,
    /// The plain-text body: 1 to 20,000 characters.
    body: String,
}

/// A template as it is now.
#[derive(Debug, Serialize, ToSchema)]
pub struct TemplateBody {
    key: String,
    /// How many times it was declared.
    version: u32,
    subject: String,
    body: String,
    updated_at: DateTime<Utc>,
}

/// Declare a template, or change one (a change records an event; the same text again records nothing).
#[utoipa::path(put, path = "/notification-templates/{key}", tag = "v1", params(TemplatePath),
    request_body = TemplateText, responses(
        (status = 200, description = "Declared (no events when nothing changed)", body = Written),
        (status = 422, description = "A key, subject or body that cannot be used", body = ErrorBody),
    ))]
async fn declare_template(
    State(app): State<Shared>,
    V1Path { 0: TemplatePath { key }, .. }: V1Path<TemplatePath>,
    incoming: Incoming,
) -> Response {
    let plan = async move |_: &App, _: &Principal, text: TemplateText| {
        let key = identifier(&key, "key")?;
        for (value, name, most) in [(&text.subject, "subject", MAX_SUBJECT), (&text.body, "body", MAX_BODY)] {
            if value.trim().is_empty() || value.chars().count() > most {
                return Err(ApiError::invalid(format!("{name} must be 1 to {most} characters, not all blank")));
            }
        }
        Ok(TemplateAggregate::target(key, Template { subject: text.subject, body: text.body }))
    };
    write(&app, incoming, plan, |envelopes| (StatusCode::OK, Written::of(envelopes))).await
}

/// A template.
#[utoipa::path(get, path = "/notification-templates/{key}", tag = "v1", params(TemplatePath), responses(
    (status = 200, description = "The template", body = TemplateBody),
    (status = 404, description = "No such template", body = ErrorBody),
))]
async fn get_template(
    State(app): State<Shared>,
    V1Caller { 0: principal, .. }: V1Caller,
    V1Path { 0: TemplatePath { key }, .. }: V1Path<TemplatePath>,
) -> Result<Json<TemplateBody>, ApiError> {
    let template = queries::template(&app.db, &principal.tenant, &key)
        .await?
        .ok_or_else(|| ApiError::not_found("TemplateNotFound", "no such template"))?;
    Ok(Json(TemplateBody {
        key: template.key,
        version: template.version,
        subject: template.subject,
        body: template.body,
        updated_at: template.updated_at,
    }))
}

/// A notification's path.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct NotificationPath {
    notification_id: Uuid,
}

/// A notification's delivery status.
#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationBody {
    notification_id: Uuid,
    template_key: String,
    /// `queued` (recorded, not sent yet: the mail server may be away), `delivered` (the mail server took it) or
    /// `failed` (refused for good; see `reason`).
    status: &'static str,
    /// How many times it was tried before it was delivered or failed.
    attempts: u32,
    reason: Option<String>,
    requested_at: DateTime<Utc>,
    finished_at: Option<DateTime<Utc>>,
}

/// A notification's delivery status.
#[utoipa::path(get, path = "/notifications/{notification_id}", tag = "v1", params(NotificationPath), responses(
    (status = 200, description = "The notification", body = NotificationBody),
    (status = 403, description = "Role client may not read notifications", body = ErrorBody),
    (status = 404, description = "No such notification", body = ErrorBody),
))]
async fn get_notification(
    State(app): State<Shared>,
    V1Caller { 0: principal, .. }: V1Caller,
    V1Path { 0: NotificationPath { notification_id }, .. }: V1Path<NotificationPath>,
) -> Result<Json<NotificationBody>, ApiError> {
    staff(&principal)?;
    let view = queries::notification(&app.db, &principal.tenant, notification_id).await?;
    let NotificationView { notification_id, template_key, status, attempts, reason, requested_at, finished_at, .. } =
        view.ok_or_else(|| ApiError::not_found("NotificationNotFound", "no such notification"))?;
    let status = status.as_str();
    Ok(Json(NotificationBody { notification_id, template_key, status, attempts, reason, requested_at, finished_at }))
}

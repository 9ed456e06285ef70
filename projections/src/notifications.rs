//! The notification views: each template's current text and version, and each notification's delivery status.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::AnyConnection;
use tally_events::{stream, Event};
use uuid::Uuid;

use crate::{sql::load, Source, SqlView, View};

/// A template: its text now, and how many times it was declared.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NotificationTemplateView {
    pub tenant: String,
    pub key: String,
    pub version: u32,
    pub subject: String,
    pub body: String,
    pub updated_at: DateTime<Utc>,
}

impl View for NotificationTemplateView {
    fn key(source: &Source<'_>, event: &Event) -> Option<Vec<String>> {
        let Event::NotificationTemplateDeclared(_) = event else { return None };
        Some(vec![source.tenant.to_owned(), stream::entity_id(source.stream_id, "template")?.to_owned()])
    }

    fn apply(row: Option<Self>, source: &Source<'_>, event: &Event) -> Option<Self> {
        let Event::NotificationTemplateDeclared(e) = event else { return row };
        Some(NotificationTemplateView {
            tenant: source.tenant.to_owned(),
            key: stream::entity_id(source.stream_id, "template")?.to_owned(),
            version: row.map_or(1, |row| row.version + 1),
            subject: e.subject.clone(),
            body: e.body.clone(),
            updated_at: source.occurred_at,
        })
    }
}

impl SqlView for NotificationTemplateView {
    const TABLE: &'static str = "notification_template_view";
    const COLUMNS: &'static [&'static str] = &["tenant", "template_key", "doc"];
    const KEY_LEN: usize = 2;
    fn columns(&self) -> Vec<Option<String>> {
        vec![Some(self.tenant.clone()), Some(self.key.clone()), Some(self.doc())]
    }
}

/// Where a notification is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotificationStatus {
    Queued,
    Delivered,
    Failed,
}

impl NotificationStatus {
    /// The status's name, as the view stores it.
    pub fn as_str(self) -> &'static str {
        match self {
            NotificationStatus::Queued => "queued",
            NotificationStatus::Delivered => "delivered",
            NotificationStatus::Failed => "failed",
        }
    }
}

/// A notification's delivery status.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NotificationView {
    pub tenant: String,
    pub notification_id: Uuid,
    pub template_key: String,
    pub status: NotificationStatus,
    pub attempts: u32,
    pub reason: Option<String>,
    pub requested_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

impl View for NotificationView {
    fn key(source: &Source<'_>, event: &Event) -> Option<Vec<String>> {
        match event {
            Event::NotificationRequested(_) | Event::NotificationDelivered(_) | Event::NotificationFailed(_) => {
                Some(vec![source.tenant.to_owned(), stream::entity_id(source.stream_id, "notification")?.to_owned()])
            }
            _ => None,
        }
    }

    fn apply(row: Option<Self>, source: &Source<'_>, event: &Event) -> Option<Self> {
        let at = source.occurred_at;
        match (row, event) {
            (None, Event::NotificationRequested(e)) => Some(NotificationView {
                tenant: source.tenant.to_owned(),
                notification_id: stream::entity_id(source.stream_id, "notification")?.parse().ok()?,
                template_key: e.template_key.clone(),
                status: NotificationStatus::Queued,
                attempts: 0,
                reason: None,
                requested_at: at,
                finished_at: None,
            }),
            (Some(row), Event::NotificationDelivered(e)) => Some(NotificationView {
                status: NotificationStatus::Delivered,
                attempts: e.attempts,
                finished_at: Some(at),
                ..row
            }),
            (Some(row), Event::NotificationFailed(e)) => Some(NotificationView {
                status: NotificationStatus::Failed,
                attempts: e.attempts,
                reason: Some(e.reason.clone()),
                finished_at: Some(at),
                ..row
            }),
            (row, _) => row,
        }
    }
}

impl SqlView for NotificationView {
    const TABLE: &'static str = "notification_view";
    const COLUMNS: &'static [&'static str] = &["tenant", "notification_id", "doc"];
    const KEY_LEN: usize = 2;
    fn columns(&self) -> Vec<Option<String>> {
        vec![Some(self.tenant.clone()), Some(self.notification_id.to_string()), Some(self.doc())]
    }
}

/// A template by key.
pub async fn load_template(
    conn: &mut AnyConnection,
    tenant: &str,
    key: &str,
) -> Result<Option<NotificationTemplateView>, sqlx::Error> {
    load(conn, vec![tenant.to_owned(), key.to_owned()]).await
}

/// A notification by id.
pub async fn load_notification(
    conn: &mut AnyConnection,
    tenant: &str,
    notification_id: Uuid,
) -> Result<Option<NotificationView>, sqlx::Error> {
    load(conn, vec![tenant.to_owned(), notification_id.to_string()]).await
}

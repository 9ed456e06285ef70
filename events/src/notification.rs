//! E-mail notifications (family `notifications`). A template (stream `template/{tenant}/{key}`) is reference data:
//! its subject and body, with `{{firstName}}` and `{{lastName}}` filled in when sent. A notification (stream
//! `notification/{tenant}/{notification_id}`) is asked for once, then delivered or failed once, by the
//! `notifications` subscriber after the commit. The recipient is sealed with a key of the notification's own (the
//! notification id is the subject), which is destroyed once the notification is delivered or failed: the person's
//! address is kept no longer than it takes to send to it.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::Sealed;

/// A template was declared, or changed (a new version: the stream's).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct NotificationTemplateDeclared {
    pub subject: String,
    pub body: String,
}

/// A notification was asked for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct NotificationRequested {
    pub template_key: String,
    /// The recipient (`email`, `firstName`, `lastName`) and the attachment's file name, sealed.
    pub recipient: Sealed,
    /// The PDF attached, kept sealed outside the ledger until the notification is sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attachment: Option<AttachmentRef>,
}

/// A notification's attachment: its size and SHA-256 (hex).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AttachmentRef {
    pub size: u64,
    pub sha256: String,
}

/// The mail server took the notification.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct NotificationDelivered {
    /// How many times it was tried.
    pub attempts: u32,
}

/// The notification cannot be delivered: the mail server refused it for good, or its template or recipient is gone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct NotificationFailed {
    pub attempts: u32,
    pub reason: String,
}

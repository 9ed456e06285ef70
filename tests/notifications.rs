//! E-mail notifications (`POST /api/notifications/send`) delivered by the `notifications` subscriber to a real SMTP
//! server (aiosmtpd, from PyPI, started here on loopback), or to the outbox folder of the embedded default.

mod common;

use std::{path::PathBuf, time::Duration};

use base64::{engine::general_purpose::STANDARD, Engine};
use common::mail::{finished, mailing, offer_template, send, MailServer};
use reqwest::StatusCode;
use tally::notifications::SmtpServer;

/// A PDF as writers make them: a comment line of bytes above 127 marks it binary (it is sent base64-encoded).
const PDF: &[u8] = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n";

fn form_with_pdf() -> String {
    let content = STANDARD.encode(PDF).replace('+', "%2B").replace('/', "%2F").replace('=', "%3D");
    format!(
        "templateKey=offer&email=ana%40example.com&firstName=Ana&lastName=Pop&attachmentFileName=offer.pdf\
         &attachmentFileContent={content}"
    )
}

#[tokio::test]
async fn a_notification_is_sent_once_after_the_commit_with_its_pdf_and_then_forgotten() {
    let dir = tempfile::tempdir().unwrap();
    let port = common::free_port();
    let server = MailServer::start(port, &dir.path().join("maildir")).await;
    let url = format!("smtp://127.0.0.1:{port}");
    let app = mailing(SmtpServer { url: Some(&url), ca_file: None }, &dir.path().join("outbox")).await;
    offer_template(&app).await;
    let token = app.app_token("marketer").await;

    let sent = send(&app, &token, &form_with_pdf(), Some("n-1")).await;
    assert_eq!(sent.status, StatusCode::OK, "{:?}", sent.body);
    assert_eq!((sent.body["status"].as_str(), sent.body["message"].as_str()), (Some("success"), Some("Message sent!")));
    let id = sent.body["notificationId"].as_str().unwrap().to_owned();
    let status = finished(&app, &id, Duration::from_secs(15)).await;
    assert_eq!((status["status"].as_str(), status["attempts"].as_u64()), (Some("delivered"), Some(1)), "{status}");

    // The same request again is answered as the first time and sends nothing more.
    let again = send(&app, &token, &form_with_pdf(), Some("n-1")).await;
    assert_eq!(again.body["notificationId"], id.as_str());
    tokio::time::sleep(Duration::from_millis(500)).await;
    let messages = server.messages();
    assert_eq!(messages.len(), 1, "one request, one message");
    let message = &messages[0];
    for expected in
        ["Subject: Your offer, Ana", "Hello Ana Pop, see the PDF.", "ana@example.com", "offer.pdf", "application/pdf"]
    {
        assert!(message.contains(expected), "{expected:?} is not in\n{message}");
    }
    assert!(message.contains(&STANDARD.encode(PDF)), "the PDF is attached, whole:\n{message}");

    // Nothing of the person is kept: the ledger holds the recipient sealed, and the key and the attachment are gone.
    let (payload,): (String,) = sqlx::query_as("SELECT payload FROM events WHERE event_type = 'NotificationRequested'")
        .fetch_one(&app.app.db.read)
        .await
        .unwrap();
    assert!(!payload.contains("@example.com"), "{payload}");
    let (attachments,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM notification_attachments").fetch_one(&app.app.db.read).await.unwrap();
    assert_eq!(attachments, 0);
    let (key,): (Option<String>,) = sqlx::query_as("SELECT key FROM subject_keys WHERE subject_id = $1")
        .bind(&id)
        .fetch_one(&app.app.db.read)
        .await
        .unwrap();
    assert_eq!(key, None, "the notification's key is destroyed once it is sent");
}

#[tokio::test]
async fn bad_requests_are_refused_in_footprints_style_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let app = mailing(SmtpServer::default(), &dir.path().join("outbox")).await;
    offer_template(&app).await;
    let token = app.app_token("marketer").await;
    let before = app.event_count().await;
    let not_pdf = STANDARD.encode(b"GIF89a not a pdf").replace('=', "%3D");
    let cases = [
        ("templateKey=nope&email=ana%40example.com", StatusCode::NOT_FOUND, "unknown_template"),
        ("templateKey=offer&email=not-an-address", StatusCode::BAD_REQUEST, "invalid_request"),
        ("templateKey=offer", StatusCode::BAD_REQUEST, "invalid_request"),
        (
            &format!(
                "templateKey=offer&email=ana%40example.com&attachmentFileName=a.pdf&attachmentFileContent={not_pdf}"
            ),
            StatusCode::BAD_REQUEST,
            "invalid_attachment",
        ),
        (
            "templateKey=offer&email=ana%40example.com&attachmentFileName=a.pdf&attachmentFileContent=%%%",
            StatusCode::BAD_REQUEST,
            "invalid_attachment",
        ),
        (
            "templateKey=offer&email=ana%40example.com&attachmentFileName=a.pdf",
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
    ];
    for (form, status, error) in cases {
        let reply = send(&app, &token, form, None).await;
        assert_eq!((reply.status, reply.body["error"].as_str()), (status, Some(error)), "{form}: {:?}", reply.body);
        assert_eq!(reply.body["status"], "error");
    }
    assert_eq!(app.event_count().await, before, "nothing is recorded");
    let (attachments,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM notification_attachments").fetch_one(&app.app.db.read).await.unwrap();
    assert_eq!(attachments, 0, "nothing is kept");
}

#[tokio::test]
async fn a_notification_waits_while_the_mail_server_is_away() {
    let dir = tempfile::tempdir().unwrap();
    let port = common::free_port();
    let url = format!("smtp://127.0.0.1:{port}");
    let app = mailing(SmtpServer { url: Some(&url), ca_file: None }, &dir.path().join("outbox")).await;
    offer_template(&app).await;
    let token = app.app_token("marketer").await;
    let sent = send(&app, &token, "templateKey=offer&email=bo%40example.com&firstName=Bo", None).await;
    let id = sent.body["notificationId"].as_str().unwrap().to_owned();
    let status = finished(&app, &id, Duration::from_secs(1)).await;
    assert_eq!(status["status"], "queued", "no server, nothing sent, nothing lost");

    let server = MailServer::start(port, &dir.path().join("maildir")).await;
    let status = finished(&app, &id, Duration::from_secs(30)).await;
    assert_eq!(status["status"], "delivered", "{status}");
    assert!(status["attempts"].as_u64().unwrap() > 1, "{status}");
    assert_eq!(server.messages().len(), 1);
}

#[tokio::test]
async fn without_a_mail_server_notifications_are_written_to_the_outbox() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = dir.path().join("outbox");
    let app = mailing(SmtpServer::default(), &outbox).await;
    offer_template(&app).await;
    let token = app.app_token("marketer").await;
    let sent = send(&app, &token, "templateKey=offer&email=cy%40example.com&firstName=Cy&lastName=Ng", None).await;
    let id = sent.body["notificationId"].as_str().unwrap().to_owned();
    assert_eq!(finished(&app, &id, Duration::from_secs(15)).await["status"], "delivered");
    let files: Vec<PathBuf> = std::fs::read_dir(&outbox).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(files.len(), 1, "{files:?}");
    assert_eq!(files[0].extension().and_then(|e| e.to_str()), Some("eml"));
    let message = std::fs::read_to_string(&files[0]).unwrap();
    assert!(message.contains("Hello Cy Ng") && message.contains("cy@example.com"), "{message}");
}

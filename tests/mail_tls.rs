//! Notifications to a mail server that wants STARTTLS and a password, as a provider's submission port does: the
//! server's certificate is checked against the authority Tally is told to trust, the password goes only over TLS,
//! and a refused password or an untrusted certificate sends nothing and fails nothing: the notification waits.

mod common;

use std::{path::Path, time::Duration};

use common::mail::{finished, mailing, offer_template, send, Authority, MailServer, PASSWORD, USER};
use tally::notifications::{MailSettings, SmtpServer};

/// A notification to `ana@example.com`, asked for by a marketer; its id.
async fn notify(app: &common::TestApp) -> String {
    offer_template(app).await;
    let token = app.app_token("marketer").await;
    let sent = send(app, &token, "templateKey=offer&email=ana%40example.com&firstName=Ana", None).await;
    sent.body["notificationId"].as_str().expect("a notification id").to_owned()
}

#[tokio::test]
async fn over_starttls_with_a_password_the_server_is_checked_and_a_refused_sign_in_waits() {
    let dir = tempfile::tempdir().unwrap();
    let authority = Authority::make(dir.path());
    let port = common::free_port();
    let server = MailServer::start_secured(port, &dir.path().join("maildir"), &authority).await;
    let url = |password: &str| format!("smtp://{USER}:{}@127.0.0.1:{port}?tls=required", password.replace(' ', "%20"));
    let outbox = dir.path().join("outbox");

    // Trusting the server's authority, with the right password: delivered.
    let right = url(PASSWORD);
    let app = mailing(SmtpServer { url: Some(&right), ca_file: Some(&authority.cert) }, &outbox).await;
    let id = notify(&app).await;
    let status = finished(&app, &id, Duration::from_secs(15)).await;
    assert_eq!(status["status"], "delivered", "{status}");
    let messages = server.messages();
    assert_eq!(messages.len(), 1);
    assert!(messages[0].contains("Subject: Your offer, Ana"), "{}", messages[0]);

    // The wrong password: the server refuses it (535). The settings are wrong, not the message: it waits.
    let wrong = url("guess");
    let app = mailing(SmtpServer { url: Some(&wrong), ca_file: Some(&authority.cert) }, &outbox).await;
    let id = notify(&app).await;
    let status = finished(&app, &id, Duration::from_secs(3)).await;
    assert_eq!(status["status"], "queued", "{status}");
    assert_eq!(server.messages().len(), 1, "nothing more reached the server");

    // Without the private authority the certificate is not trusted: nothing is sent, and the notification waits.
    let app = mailing(SmtpServer { url: Some(&right), ca_file: None }, &outbox).await;
    let id = notify(&app).await;
    let status = finished(&app, &id, Duration::from_secs(2)).await;
    assert_eq!(status["status"], "queued", "{status}");
    assert_eq!(server.messages().len(), 1, "nothing more reached the server");
}

#[test]
fn a_password_goes_over_tls_only_and_errors_never_repeat_it() {
    let parse = |url: &str, ca_file: Option<&Path>| {
        MailSettings::parse(SmtpServer { url: Some(url), ca_file }, "outbox".into(), "shop@example.com")
    };
    for url in [
        "smtp://tally:hunter2@mail.example.com:25",
        "smtp://tally:hunter2@mail.example.com?tls=opportunistic",
        "pop3://tally:hunter2@mail.example.com",
        "smtp://tally:hunter2@mail.example.com?tls=sometimes",
    ] {
        let error = parse(url, None).expect_err(url);
        assert!(!error.contains("hunter2"), "{url}: {error}");
    }
    assert!(parse("smtp://mail.example.com", Some(Path::new("ca.pem"))).is_err(), "an authority needs TLS");
    let missing = parse("smtps://mail.example.com", Some(Path::new("/nonexistent/ca.pem"))).unwrap_err();
    assert!(missing.contains("/nonexistent/ca.pem"), "{missing}");
    for url in [
        "smtp://relay.internal",
        "smtp://relay.internal:2525?tls=opportunistic",
        "smtp://tally:hunter2@mail.example.com:587?tls=required",
        "smtps://tally:hunter2@mail.example.com",
    ] {
        assert!(parse(url, None).is_ok(), "{url}");
    }
}

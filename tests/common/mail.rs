//! The mail rig: real SMTP servers (aiosmtpd, from PyPI) on loopback, plain or with STARTTLS and a password, a
//! private certificate authority made with openssl, and a Tally whose notifications go to them.

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use reqwest::{Method, StatusCode};
use serde_json::json;
use tally::{
    app,
    notifications::{MailSettings, SmtpServer},
};

use super::{Reply, TestApp};

/// The one user of the secured server.
pub const USER: &str = "tally";
pub const PASSWORD: &str = "s3cret pass";

/// An SMTP server that keeps what it receives in a maildir; stopped when dropped.
pub struct MailServer {
    child: Child,
    maildir: PathBuf,
}

impl MailServer {
    /// Plain SMTP, as a relay on the same network.
    pub async fn start(port: u16, maildir: &Path) -> MailServer {
        let mut command = Command::new("python3");
        command.args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}"), "-c", "aiosmtpd.handlers.Mailbox"]);
        MailServer::spawn(port, maildir, command.arg(maildir)).await
    }

    /// STARTTLS and AUTH required (user [`USER`], password [`PASSWORD`]), with a certificate for 127.0.0.1 signed by
    /// `authority`.
    pub async fn start_secured(port: u16, maildir: &Path, authority: &Authority) -> MailServer {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/smtp/tls_server.py");
        let mut command = Command::new("python3");
        command.arg(script).arg(port.to_string()).args([&authority.server_cert, &authority.server_key]);
        MailServer::spawn(port, maildir, command.arg(maildir).args([USER, PASSWORD])).await
    }

    async fn spawn(port: u16, maildir: &Path, command: &mut Command) -> MailServer {
        let child =
            command.stdout(Stdio::null()).stderr(Stdio::null()).spawn().expect("aiosmtpd runs (pip install aiosmtpd)");
        let deadline = Instant::now() + Duration::from_secs(10);
        while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
            assert!(Instant::now() < deadline, "the SMTP server did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        MailServer { child, maildir: maildir.to_owned() }
    }

    /// The messages received so far.
    pub fn messages(&self) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(self.maildir.join("new")) else { return vec![] };
        entries.map(|entry| std::fs::read_to_string(entry.unwrap().path()).unwrap()).collect()
    }
}

impl Drop for MailServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A private certificate authority (`cert`) and a server certificate for 127.0.0.1 it signed, in `dir`.
pub struct Authority {
    pub cert: PathBuf,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
}

impl Authority {
    pub fn make(dir: &Path) -> Authority {
        let file = |name: &str| dir.join(name);
        let openssl = |args: &str| {
            let status = Command::new("openssl").args(args.split(' ')).current_dir(dir).stderr(Stdio::null()).status();
            assert!(status.expect("openssl runs").success(), "openssl {args}");
        };
        let ec = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
        openssl(&format!("req -x509 {ec} -keyout ca.key -out ca.pem -days 2 -subj /CN=TallyTestCA"));
        let extensions =
            "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n";
        std::fs::write(file("server.ext"), extensions).unwrap();
        openssl(&format!("req {ec} -keyout server.key -out server.csr -subj /CN=127.0.0.1"));
        openssl("x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 -extfile server.ext");
        Authority { cert: file("ca.pem"), server_cert: file("server.pem"), server_key: file("server.key") }
    }
}

/// A running Tally whose notifications go to `server`, or to `outbox` without one.
pub async fn mailing(server: SmtpServer<'_>, outbox: &Path) -> TestApp {
    let mail = MailSettings::parse(server, outbox.to_owned(), "Shop <shop@example.com>").unwrap();
    super::spawn_app_from(app::Settings { mail: Some(mail), ..Default::default() }).await
}

/// Declares template `offer`.
pub async fn offer_template(app: &TestApp) {
    let text =
        json!({"subject": "Your offer, {{firstName}}", "body": "Hello {{firstName}} {{lastName}}, see the PDF."});
    let reply =
        app.send("administrator", Method::PUT, "/v1/notification-templates/offer", Some(text), Some("t1")).await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
}

/// `POST /api/notifications/send` with a form, and an `Idempotency-Key` when given.
pub async fn send(app: &TestApp, token: &str, form: &str, key: Option<&str>) -> Reply {
    let url = format!("{}/api/notifications/send?access_token={token}", app.base);
    let mut request =
        app.http.post(url).header("content-type", "application/x-www-form-urlencoded").body(form.to_owned());
    if let Some(key) = key {
        request = request.header("Idempotency-Key", key);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    Reply { status, body: response.json().await.unwrap_or_default(), headers }
}

/// Waits until notification `id` is no longer queued; returns its status.
pub async fn finished(app: &TestApp, id: &str, within: Duration) -> serde_json::Value {
    let deadline = Instant::now() + within;
    loop {
        let reply = app.get("administrator", &format!("/v1/notifications/{id}")).await;
        assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
        if reply.body["status"] != "queued" || Instant::now() > deadline {
            return reply.body;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

//! E-mail notifications. Asking for one checks the template, seals the recipient (and the attachment's name) with a
//! key of the notification's own and keeps the attachment sealed outside the ledger; the request records only
//! `NotificationRequested`. The `notifications` ledger subscriber sends it after the commit, over SMTP or into an
//! outbox folder of `.eml` files (the embedded default), records `NotificationDelivered` or `NotificationFailed`
//! once, and then destroys the notification's key and attachment: the address is kept no longer than it takes to
//! send to it.
//!
//! A mail server that cannot be reached, or answers "try later" (4xx), fails the page: the runner hands it again
//! after a pause, so nothing is lost while the server is away. A permanent refusal (5xx) fails the notification.

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    sync::Arc,
};

use lettre::{
    message::{header::ContentType, Attachment as MailAttachment, Mailbox, MultiPart, SinglePart},
    transport::smtp::client::{Certificate, Tls, TlsParameters},
    AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tally_events::{stream, AttachmentRef, Envelope, Event, NotificationRequested};
use tally_projections::NotificationStatus;
use url::Url;
use uuid::Uuid;

use crate::{
    app::App,
    commands::{Command, Outcome, Stream, Target},
    domain::notification::{NotificationAggregate, NotificationCommand},
    jobs::system,
    queries,
    store::{attachments, StoreError},
    subscriber::{BoxError, Subscriber, Ticket},
    vault::VaultError,
};

/// Where notifications go.
#[derive(Debug, Clone)]
pub struct MailSettings {
    /// The mail server; without it, messages are written to `outbox`.
    pub smtp: Option<AsyncSmtpTransport<Tokio1Executor>>,
    /// The folder of `.eml` files when there is no mail server (made when missing).
    pub outbox: PathBuf,
    /// The sender of every notification.
    pub from: Mailbox,
}

/// The mail server's address, as the command line takes it.
#[derive(Debug, Clone, Default)]
pub struct SmtpServer<'a> {
    /// `smtp://[user:password@]host[:port][?tls=required|opportunistic]` (STARTTLS when `tls` is given) or
    /// `smtps://[user:password@]host[:port]` (TLS from the start).
    pub url: Option<&'a str>,
    /// A PEM file of the certificate authority to trust for the server (a private one); without it, the web's
    /// public authorities.
    pub ca_file: Option<&'a Path>,
}

impl MailSettings {
    /// Settings from the command line's words: the mail server or none, the outbox folder and the sender.
    pub fn parse(server: SmtpServer, outbox: PathBuf, from: &str) -> Result<MailSettings, String> {
        let smtp = match server.url {
            Some(url) => Some(transport(url, server.ca_file)?),
            None => None,
        };
        let from = from.parse().map_err(|e| format!("the sender {from:?} is not an address: {e}"))?;
        Ok(MailSettings { smtp, outbox, from })
    }
}

/// The transport to the mail server at `url`. A user name and password go over TLS only (`smtps://`, or
/// `?tls=required`), never in the clear. Errors never repeat the URL, which may hold a password.
fn transport(url: &str, ca_file: Option<&Path>) -> Result<AsyncSmtpTransport<Tokio1Executor>, String> {
    let usage = "the mail server is smtp://[user:password@]host[:port][?tls=required|opportunistic] or \
                 smtps://[user:password@]host[:port]";
    let parsed = Url::parse(url).map_err(|e| format!("{usage}: {e}"))?;
    let tls = parsed.query_pairs().find(|(name, _)| name == "tls").map(|(_, value)| value.into_owned());
    let encrypted = match (parsed.scheme(), tls.as_deref()) {
        ("smtps", None) | ("smtp", Some("required")) => true,
        ("smtp", None | Some("opportunistic")) => false,
        _ => return Err(usage.into()),
    };
    if !encrypted && (!parsed.username().is_empty() || parsed.password().is_some()) {
        return Err("a mail server's user name and password go over TLS only: smtps:// or ?tls=required".into());
    }
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(url).map_err(|e| format!("{usage}: {e}"))?;
    if let Some(path) = ca_file {
        let mode: fn(TlsParameters) -> Tls = match (parsed.scheme(), tls.as_deref()) {
            ("smtps", _) => Tls::Wrapper,
            (_, Some("required")) => Tls::Required,
            (_, Some(_)) => Tls::Opportunistic,
            _ => return Err("a certificate authority goes with smtps:// or ?tls=required|opportunistic".into()),
        };
        let host = parsed.host_str().ok_or(usage)?;
        let pem = std::fs::read(path).map_err(|e| format!("the certificate authority {}: {e}", path.display()))?;
        let authority = Certificate::from_pem(&pem).map_err(|e| format!("{}: {e}", path.display()))?;
        let parameters = TlsParameters::builder(host.to_owned())
            .add_root_certificate(authority)
            .build()
            .map_err(|e| format!("{}: {e}", path.display()))?;
        builder = builder.tls(mode(parameters));
    }
    Ok(builder.build())
}

/// Who a notification goes to.
#[derive(Debug, Clone)]
pub struct Recipient {
    pub email: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
}

/// A PDF to attach.
#[derive(Debug, Clone)]
pub struct Attachment {
    pub file_name: String,
    pub content: Vec<u8>,
}

/// Why a notification cannot be asked for.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    #[error("no template with this key")]
    UnknownTemplate,
    #[error(transparent)]
    Vault(#[from] VaultError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Prepares notification `id` (a new one): the template must exist; the recipient is sealed and the attachment
/// stored. Returns the command that records the request. If the command is not recorded (a retried request answered
/// as before), [`forget`] what was prepared.
pub async fn prepare(
    app: &App,
    tenant: &str,
    id: Uuid,
    template_key: &str,
    recipient: &Recipient,
    attachment: Option<Attachment>,
) -> Result<Target, RequestError> {
    queries::template(&app.db, tenant, template_key).await?.ok_or(RequestError::UnknownTemplate)?;
    let sealed_recipient = json!({
        "email": recipient.email,
        "firstName": recipient.first_name,
        "lastName": recipient.last_name,
        "fileName": attachment.as_ref().map(|a| &a.file_name),
    });
    let sealed_recipient = app.vault.seal(&app.db, tenant, id, &sealed_recipient).await?;
    let attached = match attachment {
        Some(attachment) => {
            let sealed = app.vault.seal_bytes(&app.db, tenant, id, &attachment.content).await?;
            attachments::put(&app.db.write, tenant, id, &sealed).await?;
            let size = attachment.content.len() as u64;
            Some(AttachmentRef { size, sha256: crate::store::hex(&Sha256::digest(&attachment.content)) })
        }
        None => None,
    };
    let command = NotificationCommand::Request {
        template_key: template_key.to_owned(),
        recipient: sealed_recipient,
        attachment: attached,
    };
    Ok(NotificationAggregate::target(id, command))
}

/// Forgets what [`prepare`] kept for a notification that was not recorded.
pub async fn forget(app: &App, tenant: &str, id: Uuid) -> Result<(), StoreError> {
    attachments::remove(&app.db.write, tenant, id).await?;
    app.vault.erase(&app.db, tenant, id).await
}

/// Fills a template's text: `{{firstName}}` and `{{lastName}}` (empty when not given).
fn fill(text: &str, recipient: &Value) -> String {
    let part = |name: &str| recipient[name].as_str().unwrap_or_default().to_owned();
    text.replace("{{firstName}}", &part("firstName")).replace("{{lastName}}", &part("lastName"))
}

enum Mailer {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Outbox(AsyncFileTransport<Tokio1Executor>, PathBuf),
}

/// Why a notification was not sent.
enum Failure {
    /// For good: it is recorded as failed.
    Permanent(String),
    /// For now: the page is handed again later.
    Transient(BoxError),
}

impl From<StoreError> for Failure {
    fn from(error: StoreError) -> Failure {
        Failure::Transient(error.into())
    }
}

impl Mailer {
    fn new(settings: &MailSettings) -> Mailer {
        match &settings.smtp {
            Some(transport) => Mailer::Smtp(transport.clone()),
            None => Mailer::Outbox(AsyncFileTransport::new(&settings.outbox), settings.outbox.clone()),
        }
    }

    async fn send(&self, message: Message) -> Result<(), Failure> {
        match self {
            Mailer::Smtp(transport) => transport.send(message).await.map(drop).map_err(|error| {
                if error.is_permanent() && !refuses_sign_in(&error) {
                    Failure::Permanent(error.to_string())
                } else {
                    Failure::Transient(error.into())
                }
            }),
            Mailer::Outbox(transport, folder) => {
                tokio::fs::create_dir_all(folder).await.map_err(|e| Failure::Transient(e.into()))?;
                transport.send(message).await.map(drop).map_err(|e| Failure::Transient(e.into()))
            }
        }
    }
}

/// Whether the server refused Tally's sign-in (530 authentication required, 534 a mechanism too weak, 535 bad
/// credentials, 538 encryption required): Tally's settings are wrong, not the message, so the message waits until
/// they are put right, as for a server that is away, rather than failing for good.
fn refuses_sign_in(error: &lettre::transport::smtp::Error) -> bool {
    error.status().is_some_and(|code| matches!(u16::from(code), 530 | 534 | 535 | 538))
}

/// The `notifications` subscriber.
pub struct Notifications {
    app: Arc<App>,
    mailer: Mailer,
    from: Mailbox,
    /// Tries per notification in this process.
    attempts: HashMap<Uuid, u32>,
}

impl Notifications {
    pub fn new(app: Arc<App>, settings: &MailSettings) -> Notifications {
        Notifications { app, mailer: Mailer::new(settings), from: settings.from.clone(), attempts: HashMap::new() }
    }

    async fn deliver(&mut self, envelope: &Envelope, requested: &NotificationRequested) -> Result<(), BoxError> {
        let tenant = envelope.tenant.as_str();
        let id: Uuid = stream::entity_id(&envelope.stream_id, "notification")
            .and_then(|id| id.parse().ok())
            .ok_or_else(|| format!("a NotificationRequested on the stream {}", envelope.stream_id))?;
        let status = queries::notification(&self.app.db, tenant, id).await?;
        if status.is_some_and(|view| view.status != NotificationStatus::Queued) {
            return Ok(());
        }
        let attempts = self.attempts.entry(id).and_modify(|n| *n += 1).or_insert(1);
        let attempts = *attempts;
        let command = match self.send(tenant, id, requested).await {
            Ok(()) => NotificationCommand::Delivered { attempts },
            Err(Failure::Permanent(reason)) => NotificationCommand::Failed { attempts, reason },
            Err(Failure::Transient(error)) => {
                tracing::warn!(%error, attempts, "a notification could not be sent now; it will be tried again");
                return Err(error);
            }
        };
        let command = Command::new(tenant, system("notifications"), NotificationAggregate::target(id, command));
        match self.app.executor.execute(command.caused_by(envelope)).await? {
            Outcome::Executed { result: Ok(_), .. } => {}
            other => return Err(format!("recording a notification's outcome: {other:?}").into()),
        }
        self.attempts.remove(&id);
        forget(&self.app, tenant, id).await?;
        Ok(())
    }

    async fn send(&self, tenant: &str, id: Uuid, requested: &NotificationRequested) -> Result<(), Failure> {
        let app = &self.app;
        let template = queries::template(&app.db, tenant, &requested.template_key)
            .await?
            .ok_or_else(|| Failure::Permanent("the template is gone".into()))?;
        let opened = app.vault.open_all(&app.db, tenant, &[&requested.recipient]).await?;
        let recipient =
            opened.into_iter().flatten().next().ok_or_else(|| Failure::Permanent("the recipient is gone".into()))?;
        let to: Mailbox = recipient["email"]
            .as_str()
            .unwrap_or_default()
            .parse()
            .map_err(|e| Failure::Permanent(format!("the address is not one: {e}")))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(fill(&template.subject, &recipient))
            .message_id(Some(format!("<{id}@tally>")));
        let text = SinglePart::plain(fill(&template.body, &recipient));
        let message = match &requested.attachment {
            Some(_) => {
                let sealed = attachments::get(&app.db.read, tenant, id)
                    .await?
                    .ok_or_else(|| Failure::Permanent("the attachment is gone".into()))?;
                let content = app
                    .vault
                    .open_bytes(&app.db, tenant, id, &sealed)
                    .await?
                    .ok_or_else(|| Failure::Permanent("the attachment is gone".into()))?;
                let name = recipient["fileName"].as_str().unwrap_or("attachment.pdf").to_owned();
                let pdf = ContentType::parse("application/pdf").expect("a valid content type");
                let parts =
                    MultiPart::mixed().singlepart(text).singlepart(MailAttachment::new(name).body(content, pdf));
                message.multipart(parts)
            }
            None => message.singlepart(text),
        };
        let message = message.map_err(|e| Failure::Permanent(format!("the message cannot be built: {e}")))?;
        self.mailer.send(message).await
    }
}

impl Subscriber for Notifications {
    fn name(&self) -> &str {
        "notifications"
    }

    async fn handle(&mut self, page: &[Envelope]) -> Result<Ticket, BoxError> {
        for envelope in page.iter().filter(|e| e.event_type == "NotificationRequested") {
            if let Event::NotificationRequested(requested) = envelope.event()? {
                self.deliver(envelope, &requested).await?;
            }
        }
        Ok(Ticket::done())
    }
}

//! The `tally` command: `serve` (the default), and the verbs for operators and finance.

use std::time::Duration;

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};
use tally::{
    app::{self, App},
    auth::tokens::TokenSettings,
    jobs,
    kafka::{consume, follow, KafkaSettings},
    notifications::{MailSettings, SmtpServer},
    server::{self, Settings},
    store::{
        merchants::{self, Merchant, CONTACT_FIELDS},
        Db,
    },
    vault::KeyRing,
    vending::{gateway::GatewaySettings, platform::PlatformSettings, Timings, VendingSettings},
};
use tally_events::Role;
use tally_projections::rebuild::Views;

#[derive(Parser)]
#[command(name = "tally", version, about = "Event-sourced ledger for loyalty cards, bonuses and POS dialects")]
struct Cli {
    /// sqlite://path (the embedded default) or postgres://user:pass@host/db.
    #[arg(long, env = "TALLY_DATABASE_URL", default_value = "sqlite://data/tally.db", global = true)]
    database_url: String,
    #[command(flatten)]
    kafka: KafkaArgs,
    #[command(subcommand)]
    command: Option<Verb>,
}

/// Kafka: off unless brokers are given.
#[derive(clap::Args)]
struct KafkaArgs {
    /// Kafka bootstrap servers (host:port,…): `serve` publishes every ledger event to them; `tail` and `replay`
    /// read from them.
    #[arg(long, env = "TALLY_KAFKA_BROKERS", global = true)]
    kafka_brokers: Option<String>,
    /// Prefix of the topic names: <prefix><family>.
    #[arg(long, env = "TALLY_KAFKA_TOPIC_PREFIX", default_value = "tally.", global = true)]
    kafka_topic_prefix: String,
    /// Partitions of the topics the relay creates when they are missing.
    #[arg(long, env = "TALLY_KAFKA_PARTITIONS", default_value_t = 6, global = true)]
    kafka_partitions: i32,
}

impl KafkaArgs {
    fn settings(&self) -> Option<KafkaSettings> {
        self.kafka_brokers.as_ref().map(|brokers| KafkaSettings {
            brokers: brokers.clone(),
            topic_prefix: self.kafka_topic_prefix.clone(),
            partitions: self.kafka_partitions.max(1),
        })
    }

    fn required(&self) -> anyhow::Result<KafkaSettings> {
        self.settings().context("no brokers: give --kafka-brokers or TALLY_KAFKA_BROKERS")
    }
}

#[derive(Subcommand)]
enum Verb {
    /// Serve the HTTP surfaces (the default).
    Serve(ServeArgs),
    /// Apply pending migrations and exit.
    Migrate,
    /// Read models.
    Projections {
        #[command(subcommand)]
        action: ProjectionAction,
    },
    /// Merchants (tenants).
    Merchants {
        #[command(subcommand)]
        action: MerchantAction,
    },
    /// API clients.
    Clients {
        #[command(subcommand)]
        action: ClientAction,
    },
    /// Staff members who sign in to the merchant's applications (Footprints).
    Staff {
        #[command(subcommand)]
        action: tally::admin::StaffAction,
    },
    /// Lead reports.
    Leads {
        #[command(subcommand)]
        action: tally::admin::LeadAction,
    },
    /// Loyalty campaign codes.
    Loyalty {
        #[command(subcommand)]
        action: tally::admin::LoyaltyAction,
    },
    /// Finance reports, replayed from the ledger.
    Report {
        #[command(subcommand)]
        action: ReportAction,
    },
    /// Print the events on Kafka as JSON lines (the published envelopes).
    Tail {
        /// Start at the beginning of the topics instead of with new events.
        #[arg(long)]
        from_beginning: bool,
        /// Only these families (repeatable; default all): cards, contacts, bonuses, promotions.
        #[arg(long = "family")]
        families: Vec<String>,
        /// Stop after this many events.
        #[arg(long)]
        limit: Option<u64>,
    },
    /// Rebuild the read models from Kafka (each event once, by event_id) or from the ledger, in memory, and compare
    /// them with the live projection; exits non-zero when they differ.
    Replay {
        #[arg(long, value_enum)]
        source: ReplaySource,
    },
    /// Burn expired bonus lots now and exit.
    Expire,
    /// Load generator and rebuild benchmark; prints figures.
    Bench(tally::bench::BenchArgs),
    /// A stand-in for the Vending on Track platform (and a payment gateway): serves the platform's API and calls
    /// Tally's vending callbacks, with machines driven through `/sim`.
    VendingSimulator(tally::simulator::SimulatorArgs),
}

/// `serve`'s arguments alone: what `tally` without a verb runs with.
#[derive(Parser)]
struct ServeOnly {
    #[command(flatten)]
    args: ServeArgs,
}

#[derive(clap::Args)]
struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "TALLY_LISTEN", default_value = "127.0.0.1:8080")]
    listen: String,
    /// Log every CashDesk request and response (personal data masked); integration errors are always logged.
    #[arg(long, env = "TALLY_LOG_REQUESTS")]
    log_requests: bool,
    /// Seconds between runs of the bonus expiry job.
    #[arg(long, env = "TALLY_EXPIRY_INTERVAL_SECS", default_value_t = 60)]
    expiry_interval_secs: u64,
    /// Seconds an access token of `/api/token` lives.
    #[arg(long, env = "TALLY_TOKEN_TTL_SECS", default_value_t = 86_400)]
    token_ttl_secs: u64,
    /// Seconds a refresh token lives.
    #[arg(long, env = "TALLY_REFRESH_TOKEN_TTL_SECS", default_value_t = 30 * 86_400)]
    refresh_token_ttl_secs: u64,
    /// The mail server for e-mail notifications: `smtp://host[:port]` (plain, e.g. a relay on this network),
    /// `smtp://user:password@host[:port]?tls=required` (STARTTLS; `tls=opportunistic` when the server may lack it,
    /// without credentials) or `smtps://user:password@host[:port]` (TLS from the start). Without it, notifications
    /// are written as `.eml` files to `--outbox`.
    #[arg(long, env = "TALLY_SMTP_URL")]
    smtp_url: Option<String>,
    /// A PEM file of the certificate authority that signed the mail server's certificate (a private one); without
    /// it, the web's public authorities.
    #[arg(long, env = "TALLY_SMTP_CA_FILE")]
    smtp_ca_file: Option<std::path::PathBuf>,
    /// The folder notifications are written to when there is no mail server.
    #[arg(long, env = "TALLY_OUTBOX", default_value = "data/outbox")]
    outbox: std::path::PathBuf,
    /// The sender of e-mail notifications.
    #[arg(long, env = "TALLY_MAIL_FROM", default_value = "Tally <tally@localhost>")]
    mail_from: String,
    #[command(flatten)]
    vending: VendingArgs,
}

/// Vending on Track: off unless the platform's URL and key are given.
#[derive(clap::Args)]
struct VendingArgs {
    /// The platform's base URL (its inbound API), e.g. http://127.0.0.1:9090 for `tally vending-simulator`.
    #[arg(long, env = "TALLY_VENDING_PLATFORM_URL")]
    vending_platform_url: Option<String>,
    /// The API key Tally sends the platform as X-API-Key.
    #[arg(long, env = "TALLY_VENDING_PLATFORM_KEY", default_value = "")]
    vending_platform_key: String,
    /// The payment gateway's base URL, for reference payment (see `vending::gateway` for its protocol).
    #[arg(long, env = "TALLY_PAYMENT_GATEWAY_URL")]
    payment_gateway_url: Option<String>,
    /// The Authorization header value Tally sends the gateway.
    #[arg(long, env = "TALLY_PAYMENT_GATEWAY_AUTHORIZATION")]
    payment_gateway_authorization: Option<String>,
    /// Seconds after an approval by which the dispense result is expected before the machine is asked about.
    #[arg(long, env = "TALLY_VENDING_RESULT_SECS", default_value_t = 120)]
    vending_result_secs: u64,
    /// Seconds between questions about a machine that was offline or busy.
    #[arg(long, env = "TALLY_VENDING_RECHECK_SECS", default_value_t = 60)]
    vending_recheck_secs: u64,
    /// Seconds an unanswered lock is waited for.
    #[arg(long, env = "TALLY_VENDING_LOCK_ANSWER_SECS", default_value_t = 30)]
    vending_lock_answer_secs: u64,
}

impl VendingArgs {
    fn settings(&self) -> VendingSettings {
        let platform = self
            .vending_platform_url
            .clone()
            .map(|url| PlatformSettings { url, key: self.vending_platform_key.clone() });
        let gateway = self
            .payment_gateway_url
            .clone()
            .map(|url| GatewaySettings { url, authorization: self.payment_gateway_authorization.clone() });
        let timings = Timings {
            lock_answer: Duration::from_secs(self.vending_lock_answer_secs.max(1)),
            result: Duration::from_secs(self.vending_result_secs.max(1)),
            recheck: Duration::from_secs(self.vending_recheck_secs.max(1)),
            ..Timings::default()
        };
        VendingSettings { platform, gateway, timings }
    }
}

#[derive(Subcommand)]
enum ProjectionAction {
    /// Drop the inline read models and replay the ledger into them.
    Rebuild,
    /// Keep the read models of this database (one without a ledger of its own) up to date from Kafka, as a member
    /// of a consumer group; offsets are stored with the read models, in the same transaction.
    Follow {
        /// The Kafka consumer group.
        #[arg(long, default_value = "tally-projections")]
        group: String,
        /// The ledger's database, whose customer keys open the personal data the contact view keeps (read only);
        /// without it, contacts are followed without their personal data.
        #[arg(long, env = "TALLY_KEYS_DATABASE_URL")]
        keys_database_url: Option<String>,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum ReplaySource {
    Kafka,
    Ledger,
}

#[derive(Subcommand)]
enum ReportAction {
    /// A business day's tally per merchant and promotion, replayed from the ledger (not the projection), as CSV.
    Daily {
        /// The business day, YYYY-MM-DD, in each merchant's time zone.
        #[arg(long)]
        date: chrono::NaiveDate,
        /// One merchant only.
        #[arg(long)]
        merchant: Option<String>,
    },
}

#[derive(Subcommand)]
enum MerchantAction {
    /// Create a merchant.
    Create {
        #[arg(long)]
        id: String,
        #[arg(long)]
        name: Option<String>,
        /// IANA time zone of the business day.
        #[arg(long, default_value = "UTC")]
        time_zone: String,
        /// Contact fields required to activate a card (comma-separated: name,mobile_number,email,birth_date,external_id).
        #[arg(long, default_value = "name,mobile_number")]
        required_fields: String,
    },
}

#[derive(Subcommand)]
enum ClientAction {
    /// Create an API client and print its credentials once (the merchant is created when missing).
    Create {
        #[arg(long)]
        merchant: String,
        /// client, cc_operator, marketer, senior_employee, director or administrator.
        #[arg(long)]
        role: String,
    },
}

fn merchant(id: &str, name: Option<String>, time_zone: String, required_fields: &str) -> anyhow::Result<Merchant> {
    if !merchants::valid_tenant(id) {
        bail!("merchant id {id:?} must be 1 to 64 of a-z, 0-9, _ and -");
    }
    if time_zone.parse::<chrono_tz::Tz>().is_err() {
        bail!("unknown time zone {time_zone:?}: use an IANA name such as Europe/Moscow");
    }
    let required_contact_fields: Vec<String> =
        required_fields.split(',').map(str::trim).filter(|f| !f.is_empty()).map(str::to_owned).collect();
    if let Some(unknown) = required_contact_fields.iter().find(|f| !CONTACT_FIELDS.contains(&f.as_str())) {
        bail!("unknown contact field {unknown:?}; known: {}", CONTACT_FIELDS.join(","));
    }
    Ok(Merchant {
        tenant: id.to_owned(),
        name: name.unwrap_or_else(|| id.to_owned()),
        time_zone,
        required_contact_fields,
    })
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info,sqlx=warn".into()),
        )
        .init();
    let cli = Cli::parse();
    let url = cli.database_url;
    let kafka = cli.kafka;
    // Without a verb, `serve` with its defaults and environment variables.
    let serve_default = || Verb::Serve(ServeOnly::parse_from(["tally"]).args);
    match cli.command.unwrap_or_else(serve_default) {
        Verb::Serve(args) => {
            let server = SmtpServer { url: args.smtp_url.as_deref(), ca_file: args.smtp_ca_file.as_deref() };
            let mail = MailSettings::parse(server, args.outbox.clone(), &args.mail_from).map_err(anyhow::Error::msg)?;
            server::serve(Settings {
                app: app::Settings {
                    database_url: url,
                    kafka: kafka.settings(),
                    vending: args.vending.settings(),
                    tokens: TokenSettings {
                        access_ttl: Duration::from_secs(args.token_ttl_secs.max(1)),
                        refresh_ttl: Duration::from_secs(args.refresh_token_ttl_secs.max(1)),
                    },
                    mail: Some(mail),
                },
                listen: args.listen,
                log_requests: args.log_requests,
                expiry_interval: Duration::from_secs(args.expiry_interval_secs.max(1)),
            })
            .await
        }
        Verb::Migrate => {
            Db::connect(&url).await?;
            println!("migrations applied");
            Ok(())
        }
        Verb::Projections { action: ProjectionAction::Rebuild } => rebuild(&url).await,
        Verb::Projections { action: ProjectionAction::Follow { group, keys_database_url } } => {
            let db = Db::connect(&url).await?;
            let keys = match keys_database_url {
                Some(url) => Some(Db::connect(&url).await?),
                None => None,
            };
            tracing::info!(%group, "following the Kafka topics into this database's read models");
            Ok(follow::follow(&db, &kafka.required()?, &group, keys.as_ref()).await?)
        }
        Verb::Merchants { action: MerchantAction::Create { id, name, time_zone, required_fields } } => {
            create_merchant(&url, &id, name, time_zone, &required_fields).await
        }
        Verb::Clients { action: ClientAction::Create { merchant, role } } => {
            create_client(&url, &merchant, &role).await
        }
        Verb::Staff { action } => tally::admin::staff(&url, action).await,
        Verb::Leads { action } => tally::admin::leads(&url, action).await,
        Verb::Loyalty { action } => tally::admin::loyalty(&url, action).await,
        Verb::Report { action: ReportAction::Daily { date, merchant } } => {
            let db = Db::connect(&url).await?;
            let rows = tally_projections::tally::replay(&db.read, date, merchant.as_deref()).await?;
            print!("{}", tally_projections::tally::csv(date, &rows));
            Ok(())
        }
        Verb::Tail { from_beginning, families, limit } => {
            let settings = kafka.required()?;
            let topics = consume::topics_of(&settings, &families)?;
            Ok(consume::tail(&settings, &topics, from_beginning, limit, &mut std::io::stdout().lock()).await?)
        }
        Verb::Replay { source } => replay(&url, source, &kafka).await,
        Verb::Expire => {
            let app = App::start(&app::Settings { database_url: url, kafka: None, ..Default::default() }).await?;
            println!("{} lots burnt", jobs::expire_due(&app).await?);
            Ok(())
        }
        Verb::Bench(args) => tally::bench::run(args, &url, kafka.settings()).await,
        Verb::VendingSimulator(args) => tally::simulator::run(args).await,
    }
}

async fn rebuild(url: &str) -> anyhow::Result<()> {
    let db = Db::connect(url).await?;
    let started = std::time::Instant::now();
    let report = db.rebuild_views().await?;
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "rebuilt {} rows from {} events in {seconds:.2}s ({:.0} events/s)",
        report.rows,
        report.events,
        report.events as f64 / seconds.max(1e-9)
    );
    Ok(())
}

async fn create_merchant(
    url: &str,
    id: &str,
    name: Option<String>,
    time_zone: String,
    required_fields: &str,
) -> anyhow::Result<()> {
    let db = Db::connect(url).await?;
    let merchant = merchant(id, name, time_zone, required_fields)?;
    if !merchants::create(&db.write, &merchant).await? {
        bail!("merchant {id} exists already");
    }
    println!("merchant {id} created");
    Ok(())
}

async fn create_client(url: &str, id: &str, role: &str) -> anyhow::Result<()> {
    let role = Role::parse(role).filter(|r| *r != Role::System).with_context(|| {
        format!("unknown role {role:?}: client, cc_operator, marketer, senior_employee, director, administrator")
    })?;
    let db = Db::connect(url).await?;
    if merchants::get(&db.read, id).await?.is_none() {
        merchants::create(&db.write, &merchant(id, None, "UTC".into(), "name,mobile_number")?).await?;
        eprintln!("merchant {id} did not exist and was created with default settings");
    }
    let (client_id, secret) = merchants::new_credentials();
    merchants::create_client(&db.write, &client_id, &secret, id, role).await?;
    println!("client_id: {client_id}\nsecret:    {secret}\n(the secret is stored hashed and cannot be shown again)");
    Ok(())
}

/// Folds the read models from Kafka or the ledger and compares them with the live projection.
async fn replay(url: &str, source: ReplaySource, kafka: &KafkaArgs) -> anyhow::Result<()> {
    let db = Db::connect(url).await?;
    let started = std::time::Instant::now();
    // The keys of the customers not erased, to open what the views keep of them.
    let keys = KeyRing::all(&mut *db.read.acquire().await?).await?;
    let (views, read, events) = match source {
        ReplaySource::Ledger => {
            let (views, events, _) = tally_projections::rebuild::fold_ledger(&db.read, &keys).await?;
            (views, events, events)
        }
        ReplaySource::Kafka => consume::replay(&kafka.required()?, &keys).await?,
    };
    println!("replayed {events} events ({read} read) in {:.2}s", started.elapsed().as_secs_f64());
    let live = Views::load_live(&mut *db.read.acquire().await?).await?;
    let mut differ = 0;
    for (table, rows, equal) in views.compare(&live) {
        println!(
            "{table:<18} {rows:>9} rows  {}",
            if equal { "equal to the live projection" } else { "DIFFER from the live projection" }
        );
        differ += usize::from(!equal);
    }
    if differ > 0 {
        bail!("{differ} read models differ from the live projection");
    }
    Ok(())
}

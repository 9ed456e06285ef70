//! The application core, without HTTP: the database, the command writer, authentication of API clients, the read
//! cache and the billing switch. Every surface (the HTTP dialects, the CLI, jobs and subscribers) works through an
//! [`App`].

use std::sync::Arc;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::{
    auth::{tokens::TokenSettings, Authenticator},
    billing::Billing,
    commands::Executor,
    erasure,
    kafka::{relay, KafkaSettings},
    notifications::{MailSettings, Notifications},
    queries::ReadCache,
    store::{Db, StoreError},
    subscriber,
    vault::Vault,
    vending::{self, Vending, VendingSettings},
};

/// What the core needs to start.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// `sqlite://path` (the embedded default) or `postgres://…`.
    pub database_url: String,
    /// Publish the ledger to Kafka (off in the embedded default).
    pub kafka: Option<KafkaSettings>,
    /// The vending platform and payment gateway (vending is off without a platform).
    pub vending: VendingSettings,
    /// How long access and refresh tokens live.
    pub tokens: TokenSettings,
    /// Where e-mail notifications go (they wait, queued, without).
    pub mail: Option<MailSettings>,
}

/// The running core.
pub struct App {
    pub db: Db,
    pub executor: Executor,
    pub auth: Authenticator,
    pub reads: ReadCache,
    pub billing: Billing,
    pub vending: Vending,
    pub tokens: TokenSettings,
    pub vault: Vault,
    pub metrics: PrometheusHandle,
}

impl App {
    /// Connects, migrates and starts the writer and the erasures subscriber (and the Kafka relay when brokers are
    /// configured, and the vending calls and timers when a platform is).
    pub async fn start(settings: &Settings) -> Result<Arc<App>, StoreError> {
        let metrics = metrics_handle();
        let db = Db::connect(&settings.database_url).await?;
        db.checkpoint_in_background().await?;
        let executor = Executor::start(db.clone());
        if let Some(kafka) = &settings.kafka {
            tokio::spawn(relay::run(db.clone(), kafka.clone()));
        }
        let app = Arc::new(App {
            db,
            executor,
            auth: Authenticator::default(),
            reads: ReadCache::default(),
            billing: Billing::default(),
            vending: Vending::new(&settings.vending),
            tokens: settings.tokens,
            vault: Vault::default(),
            metrics,
        });
        let erasures = erasure::Erasures(app.clone());
        tokio::spawn(subscriber::run(app.db.clone(), erasures, subscriber::Options::default()));
        if let Some(mail) = &settings.mail {
            let notifications = Notifications::new(app.clone(), mail);
            tokio::spawn(subscriber::run(app.db.clone(), notifications, subscriber::Options::default()));
        }
        if settings.vending.platform.is_some() {
            let calls = vending::calls::VendingCalls::new(app.clone());
            let options = subscriber::Options {
                pages_in_flight: vending::calls::PAGES_IN_FLIGHT,
                ..subscriber::Options::default()
            };
            tokio::spawn(subscriber::run(app.db.clone(), calls, options));
            tokio::spawn(vending::timers::run(app.clone(), settings.vending.timings.interval));
        }
        Ok(app)
    }
}

/// Bounds (seconds) of the relay's delivery lag histogram.
const LAG_BUCKETS: [f64; 14] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0];

/// The process-wide Prometheus recorder (installed once; tests start several apps in one process).
fn metrics_handle() -> PrometheusHandle {
    static HANDLE: std::sync::OnceLock<PrometheusHandle> = std::sync::OnceLock::new();
    HANDLE
        .get_or_init(|| {
            // The relay's lag is a histogram (cumulative buckets add up across instances and over any period);
            // the rest are summaries.
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Full("tally_relay_delivery_lag_seconds".into()), &LAG_BUCKETS)
                .expect("the buckets are not empty")
                .build_recorder();
            let handle = recorder.handle();
            // Another recorder may be installed already (an embedding program's); ours still renders its own.
            let _ = metrics::set_global_recorder(recorder);
            handle
        })
        .clone()
}

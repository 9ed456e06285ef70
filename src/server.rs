//! Starting Tally: the database, the command writer, the HTTP surfaces, the expiry job, and the demo data of a
//! first embedded start.

use std::{sync::Arc, time::Duration};

use chrono::{Duration as Days, Utc};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use rust_decimal::Decimal;
use tally_events::{
    Actor, BonusType, BusinessRegistered, CardCategory, CardType, ContactDetails, PromotionPublished, Role,
};
use tokio::net::TcpListener;
use uuid::Uuid;

use crate::{
    commands::{Command, Executor, Outcome, Target},
    domain::{account::AccountCommand, card::CardCommand, contact::ContactCommand, promotion::PromotionCommand},
    http::{self, auth::Authenticator, App, Shared},
    kafka::{relay, KafkaSettings},
    store::{
        merchants::{self, Merchant},
        Db, Dialect, StoreError,
    },
};

/// How the server runs.
#[derive(Debug, Clone)]
pub struct Settings {
    pub database_url: String,
    pub listen: String,
    pub log_requests: bool,
    pub expiry_interval: Duration,
    /// Publish the ledger to Kafka (off in the embedded default).
    pub kafka: Option<KafkaSettings>,
}

/// Bounds (seconds) of the relay's delivery lag histogram.
const LAG_BUCKETS: [f64; 14] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0];

/// The process-wide Prometheus recorder (installed once; tests start several apps in one process).
pub fn metrics_handle() -> PrometheusHandle {
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

/// Connects, migrates and starts the writer (and the Kafka relay when brokers are configured); the app is ready to
/// serve.
pub async fn app(settings: &Settings) -> Result<Shared, StoreError> {
    let db = Db::connect(&settings.database_url).await?;
    db.checkpoint_in_background().await?;
    let executor = Executor::start(db.clone());
    if let Some(kafka) = &settings.kafka {
        tokio::spawn(relay::run(db.clone(), kafka.clone()));
    }
    Ok(Arc::new(App {
        db,
        executor,
        auth: Authenticator::default(),
        reads: Default::default(),
        log_requests: settings.log_requests,
        metrics: metrics_handle(),
    }))
}

/// Serves until ctrl-c or SIGTERM, then drains in-flight requests.
pub async fn serve(settings: Settings) -> anyhow::Result<()> {
    let app = app(&settings).await?;
    if app.db.dialect == Dialect::Sqlite {
        seed_demo(&app).await?;
    }
    tokio::spawn(expiry_job(app.clone(), settings.expiry_interval));
    let listener = TcpListener::bind(&settings.listen).await?;
    tracing::info!(address = %listener.local_addr()?, dialect = ?app.db.dialect, "Tally is serving");
    axum::serve(listener, http::router(app)).with_graceful_shutdown(shutdown_signal()).await?;
    Ok(())
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = interrupt => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down");
}

fn system(principal: &str) -> Actor {
    Actor { principal: principal.to_owned(), role: Role::System }
}

/// Burns expired lots: every account with a lot past its expiry gets an `ExpireDue` command.
pub async fn expire_due(app: &App) -> Result<usize, StoreError> {
    let due = tally_projections::accounts_due(&mut *app.db.read.acquire().await?, Utc::now(), 1000).await?;
    let mut burnt = 0;
    for (tenant, contact_id) in due {
        let target = Target::Account { contact_id, command: AccountCommand::ExpireDue };
        if let Outcome::Executed { result: Ok(events), .. } =
            app.executor.execute(Command::new(&tenant, system("expiry-job"), target)).await?
        {
            burnt += events.len();
        }
    }
    Ok(burnt)
}

async fn expiry_job(app: Shared, interval: Duration) {
    let mut ticks = tokio::time::interval(interval);
    loop {
        ticks.tick().await;
        match expire_due(&app).await {
            Ok(0) => {}
            Ok(burnt) => tracing::info!(burnt, "expired bonus lots burnt"),
            Err(error) => tracing::error!(%error, "expiry job failed; it will try again"),
        }
    }
}

/// The demo merchant's well-known credentials, printed on the first embedded start so the README's examples work.
pub const DEMO_CLIENTS: [(&str, &str, Role); 3] = [
    ("demo-admin", "demo-admin-secret", Role::Administrator),
    ("demo-cashier", "demo-cashier-secret", Role::CcOperator),
    ("demo-customer", "demo-customer-secret", Role::Client),
];

/// On a first embedded start (no merchant yet): a demo merchant, its clients, and a few cards and contacts.
async fn seed_demo(app: &App) -> anyhow::Result<()> {
    let demo = Merchant {
        tenant: "demo".into(),
        name: "Demo Store".into(),
        time_zone: "UTC".into(),
        required_contact_fields: vec!["name".into(), "mobile_number".into()],
    };
    let any_merchant: Option<(String,)> =
        sqlx::query_as("SELECT tenant FROM merchants LIMIT 1").fetch_optional(&app.db.read).await?;
    if any_merchant.is_some() {
        return Ok(());
    }
    merchants::create(&app.db.write, &demo).await?;
    for (client_id, secret, role) in DEMO_CLIENTS {
        merchants::create_client(&app.db.write, client_id, secret, &demo.tenant, role).await?;
    }
    let run = |target| async {
        match app.executor.execute(Command::new("demo", system("demo-seed"), target)).await? {
            Outcome::Executed { result: Ok(_), .. } => Ok(()),
            other => Err(anyhow::anyhow!("demo seeding was refused: {other:?}")),
        }
    };
    let cards = (1..=5)
        .chain([10])
        .map(|n| CardCommand::Register {
            number: format!("70000000000{n:02}"),
            category: CardCategory::Plastic,
            card_type: CardType::BonusDiscount,
        })
        .collect();
    run(Target::RegisterCards(cards)).await?;
    let anna = Uuid::now_v7();
    for (contact_id, code, name, mobile) in
        [(anna, "DEMO-1", "Anna Petrova", "+79990000001"), (Uuid::now_v7(), "DEMO-2", "Boris Ivanov", "+79990000002")]
    {
        let details =
            ContactDetails { name: Some(name.into()), mobile_number: Some(mobile.into()), ..Default::default() };
        run(Target::Contact {
            contact_id,
            command: ContactCommand::Register { contact_id, code: code.into(), details },
        })
        .await?;
    }
    let card = |command| Target::Card { number: "7000000000010".into(), command };
    run(card(CardCommand::Issue)).await?;
    run(card(CardCommand::BindTo { contact_id: anna, contact_live_card: None })).await?;
    run(card(CardCommand::Activate { contact_data_sufficient: true })).await?;
    for (amount, bonus_type) in [(Decimal::new(50000, 2), BonusType::Cash), (Decimal::from(100), BonusType::Status)] {
        let command = AccountCommand::Accrue {
            lot_id: Uuid::now_v7(),
            amount,
            bonus_type,
            active_from: None,
            expires_at: Some(Utc::now() + Days::days(365)),
            reference: Some("welcome bonus".into()),
        };
        run(Target::Account { contact_id: anna, command }).await?;
    }
    let business = BusinessRegistered { business_id: "CB-1001".into(), name: "Demo Coffee".into() };
    run(Target::Business { business_id: "CB-1001".into(), command: business }).await?;
    let promotion =
        |command| Target::Promotion { business_id: "CB-1001".into(), promotion_id: "ITEM-77".into(), command };
    run(promotion(PromotionCommand::Publish(PromotionPublished {
        business_id: "CB-1001".into(),
        promotion_id: "ITEM-77".into(),
        title: "Second coffee free".into(),
        cap: 500,
        ends_at: Utc::now() + Days::days(365),
        price_per_use: Decimal::new(150, 2),
        price_per_clip: Decimal::new(10, 2),
    })))
    .await?;
    let clip = PromotionCommand::Clip {
        wallet_item_id: "W-9001".into(),
        customer_key: Some("CUST-42".into()),
        billed: true,
        business_day: Utc::now().date_naive(),
    };
    run(promotion(clip)).await?;
    println!("First start: created the demo merchant `demo` with these API clients (Basic auth):");
    for (client_id, secret, role) in DEMO_CLIENTS {
        println!("  {client_id}:{secret}  (role {})", role.as_str());
    }
    println!("Demo cards 7000000000001..05 are New; 7000000000010 is Active for Anna (+79990000001, code DEMO-1).");
    println!("Demo business CB-1001 has promotion ITEM-77 (cap 500); wallet item W-9001 is a clip of it.");
    Ok(())
}

//! `tally bench`: drives mixed card and bonus commands over HTTP against a Tally server on SQLite with durable
//! commits, and the same load against a bare axum endpoint, printing throughput, p50/p99/p999 and the ratio; then
//! rebuilds the projections from a ledger of generated events and prints the rate. `--scenario scans` runs the
//! ScanTrack figures instead (see [`scans`]), `--scenario names` Enactor's customer name search (see [`names`]),
//! `--scenario tills` Enactor's balance updates at the till (see [`tills`]), `--scenario leads` Footprints' lead updates
//! and the pipeline's query time (see [`leads`]), `--scenario loyalty` tills racing to redeem loyalty codes (see
//! [`loyalty`]).
//! Figures only, no assertions.

mod leads;
mod loyalty;
mod names;
mod open_loop;
mod scans;
mod serve;
mod tills;
mod vending;

use std::{
    collections::BTreeMap,
    net::SocketAddr,
    sync::Arc,
    time::{Duration, Instant},
};

use axum::{routing::any, Router};
use base64::{engine::general_purpose::STANDARD, Engine};
use chrono::Utc;
use http_body_util::{BodyExt, Full};
use hyper::{body::Bytes, Request};
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use rust_decimal::Decimal;
use tally_events::{Actor, BonusType, CardCategory, CardType, ContactDetails, Event, Role};
use tokio::net::TcpListener;
use uuid::Uuid;

use crate::{
    app::{self, App},
    commands::{Command, Outcome, Stream, Target},
    contacts,
    domain::{
        account::{Account, AccountAggregate, AccountCommand},
        card::{CardAggregate, CardCommand},
        contact::ContactAggregate,
        Aggregate, Context,
    },
    kafka::{relay, KafkaSettings},
    store::{
        ledger::{self, CommandMeta},
        subscriptions, Db,
    },
};

#[derive(clap::Args, Debug, Clone)]
pub struct BenchArgs {
    /// Seconds of load per target.
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
    /// Concurrent client connections.
    #[arg(long, default_value_t = 64)]
    pub connections: usize,
    /// Customers (each with a card and an account) the load is spread over.
    #[arg(long, default_value_t = 2000)]
    pub customers: usize,
    /// Events in the generated ledger for the rebuild benchmark (0 skips it).
    #[arg(long, default_value_t = 1_000_000)]
    pub rebuild_events: usize,
    /// `cards` (card and bonus commands, then the rebuild), `scans` (ScanTrack caps and mixed scans), `names`
    /// (Enactor's customer name search; run it with `--customers 100000`), `tills` (Enactor balance updates) or
    /// `vending` (purchases at simulated vending machines), `leads` (Footprints lead updates, then the pipeline's
    /// query time) or `loyalty` (tills racing to redeem loyalty codes; `--codes`).
    #[arg(long, default_value = "cards")]
    pub scenario: String,
    /// When `--database-url` names PostgreSQL (`cards`, `scans`, `tills`): how many `tally serve` processes share the
    /// database.
    #[arg(long, default_value_t = 2)]
    pub instances: usize,
    /// For `scans`: the cap of the promotion all scanners race for.
    #[arg(long, default_value_t = 10_000)]
    pub cap: u32,
    /// For `cards`: after the closed loop, run an open loop (a fixed arrival rate, latency from each request's
    /// scheduled start) at 25%, 50% and 75% of the closed loop's throughput, each on customers of its own.
    #[arg(long)]
    pub open_loop: bool,
    /// For `vending`: how many simulated machines (one member buying at each).
    #[arg(long, default_value_t = 200)]
    pub machines: usize,
    /// For `leads`: how many leads the pipeline's query time is measured over (0 skips it).
    #[arg(long, default_value_t = 1_000_000)]
    pub pipeline_leads: usize,
    /// For `loyalty`: how many codes the tills race to redeem (8 tills at once on each).
    #[arg(long, default_value_t = 1_000)]
    pub codes: usize,
}

const TENANT: &str = "bench";
const CLIENT: (&str, &str) = ("bench-operator", "bench-secret");

type HttpClient = Client<HttpConnector, Full<Bytes>>;

/// One customer the load acts on.
#[derive(Clone)]
struct Customer {
    contact_id: Uuid,
    card: String,
}

/// Runs the benchmark. The `cards`, `scans` and `tills` scenarios use `database_url` when it names PostgreSQL (the
/// rebuild figures stay on SQLite); every other run works on a temporary SQLite file and leaves `./data` alone.
pub async fn run(args: BenchArgs, database_url: &str, kafka: Option<KafkaSettings>) -> anyhow::Result<()> {
    let postgres = database_url.starts_with("postgres").then(|| database_url.to_owned());
    match args.scenario.as_str() {
        "cards" => {}
        "scans" => return scans::run(&args, postgres).await,
        "names" => return names::run(&args).await,
        "tills" => return tills::run(&args, postgres).await,
        "vending" => return vending::run(&args).await,
        "leads" => return leads::run(&args).await,
        "loyalty" => return loyalty::run(&args).await,
        other => anyhow::bail!("unknown scenario {other:?}: use cards, scans, names, tills, vending, leads or loyalty"),
    }
    let dir = std::env::temp_dir().join(format!("tally-bench-{}", Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir)?;
    // Fresh topics per run, so that a run's figures and read-backs never mix with an earlier run's.
    let kafka = kafka.map(|kafka| KafkaSettings {
        topic_prefix: format!("{}bench-{}.", kafka.topic_prefix, serve::run_id()),
        ..kafka
    });
    let result = run_in(&dir, &args, kafka, postgres).await;
    if std::env::var_os("TALLY_BENCH_KEEP").is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    } else {
        println!("kept {}", dir.display());
    }
    result
}

async fn run_in(
    dir: &std::path::Path,
    args: &BenchArgs,
    kafka: Option<KafkaSettings>,
    postgres: Option<String>,
) -> anyhow::Result<()> {
    let url = postgres.clone().unwrap_or_else(|| format!("sqlite://{}", dir.join("bench.db").display()));
    let app =
        App::start(&app::Settings { database_url: url.clone(), kafka: kafka.clone(), ..Default::default() }).await?;
    let runs = if args.open_loop { 1 + open_loop::SHARES.len() } else { 1 };
    // On PostgreSQL a merchant of its own per run, so that runs against one database do not collide.
    let tenant = match &postgres {
        Some(_) => format!("cards-{}", serve::run_id()),
        None => TENANT.to_owned(),
    };
    let client = (if postgres.is_some() { tenant.as_str() } else { CLIENT.0 }, CLIENT.1);
    let auth = basic(client);
    let prepared = prepare(&app, &tenant, client, args.customers * runs).await?;
    let customers = prepared[..args.customers].to_vec();
    let lag_before = match kafka {
        Some(_) => {
            caught_up(&app.db).await?;
            lag_buckets(&app.metrics.render())
        }
        None => Vec::new(),
    };
    let (instances, tally_addrs, where_) = serve::targets(&app, &url, postgres.is_some(), args.instances).await?;
    let bare_addr =
        spawn(Router::new().route("/{*path}", any(|| async { r#"{"Status":true,"Key":"OK","Value":""}"# }))).await?;

    println!(
        "load: {} connections x {} s, mixed commands over {} customers ({where_})",
        args.connections,
        args.seconds,
        customers.len()
    );
    let load = |addrs: &[SocketAddr], customers| card_requests(addrs, &auth, customers, args.connections);
    let tally = drive(load(&tally_addrs, customers.clone()), args.connections, args.seconds).await;
    tally.print("tally ");
    if postgres.is_none() {
        print_writer_figures(&app.metrics.render());
    }
    if kafka.is_some() {
        let behind = Instant::now();
        caught_up(&app.db).await?;
        let catch_up = behind.elapsed().as_secs_f64();
        let during: Vec<(f64, u64)> = lag_buckets(&app.metrics.render())
            .into_iter()
            .zip(&lag_before)
            .map(|((bound, after), (_, before))| (bound, after - before))
            .collect();
        let total = during.last().map_or(0, |(_, count)| *count);
        let within = |share: f64| during.iter().find(|(_, count)| *count as f64 >= share * total as f64).map(|b| b.0);
        let ms = |bound: Option<f64>| bound.map_or("> 60 s".to_owned(), |b| format!("<= {:.0} ms", b * 1000.0));
        println!(
            "       Kafka relay during the load: {total} events published, lag (commit to broker ack) p50 {}, \
             p99 {}; caught up {catch_up:.2} s after the load",
            ms(within(0.5)),
            ms(within(0.99))
        );
    }
    if args.open_loop {
        let slice = |run: usize| prepared[(run + 1) * args.customers..(run + 2) * args.customers].to_vec();
        let make = |run| load(&tally_addrs, slice(run));
        open_loop::report(make, args.connections, tally.throughput(), args.seconds).await;
    }
    drop(instances);
    let bare = drive(load(&[bare_addr], customers.clone()), args.connections, args.seconds).await;
    bare.print("bare  ");
    print_ratio(&tally, &bare);
    if args.rebuild_events > 0 {
        let db = rebuild_bench(dir, args.rebuild_events).await?;
        if let Some(kafka) = kafka {
            relay_bench(&db, kafka).await?;
        }
    }
    Ok(())
}

/// A quantile of a summary in rendered metrics (NaN when absent).
fn metric(metrics: &str, name: &str, quantile: &str) -> f64 {
    metrics
        .lines()
        .find(|line| line.starts_with(name) && line.contains(&format!("quantile=\"{quantile}\"")))
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|value| value.parse::<f64>().ok())
        .unwrap_or(f64::NAN)
}

/// The relay's delivery lag histogram: (bucket bound in seconds, cumulative count), the `+Inf` bucket last.
fn lag_buckets(metrics: &str) -> Vec<(f64, u64)> {
    metrics
        .lines()
        .filter_map(|line| line.strip_prefix("tally_relay_delivery_lag_seconds_bucket{le=\""))
        .filter_map(|rest| {
            let (bound, count) = rest.split_once("\"} ")?;
            Some((bound.parse().unwrap_or(f64::INFINITY), count.parse().ok()?))
        })
        .collect()
}

/// Waits until the relay has published the whole ledger; returns the checkpoint.
async fn caught_up(db: &Db) -> anyhow::Result<i64> {
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let (checkpoint, last) = subscriptions::progress(db, relay::NAME).await?;
        if checkpoint >= last {
            return Ok(checkpoint);
        }
        anyhow::ensure!(Instant::now() < deadline, "the relay did not catch up ({checkpoint} of {last})");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Publishes the generated ledger from its start and prints the relay's rate.
async fn relay_bench(db: &Db, kafka: KafkaSettings) -> anyhow::Result<()> {
    let started = Instant::now();
    let publishing = tokio::spawn(relay::run(db.clone(), kafka));
    let published = caught_up(db).await;
    publishing.abort();
    let published = published?;
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "relay: published {published} events to Kafka in {seconds:.2}s = {:.0} events/s",
        published as f64 / seconds
    );
    Ok(())
}

/// The writer's group-commit figures from the metrics: commands per group and seconds per group commit.
fn print_writer_figures(metrics: &str) {
    let figure = |name: &str, quantile: &str| metric(metrics, name, quantile);
    println!(
        "       group commit: {:.0} commands per group (p50), {:.2} ms per group p50, {:.2} ms p99",
        figure("tally_commit_batch_size", "0.5"),
        figure("tally_commit_batch_seconds", "0.5") * 1000.0,
        figure("tally_commit_batch_seconds", "0.99") * 1000.0
    );
}

async fn spawn(router: Router) -> anyhow::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, router).await });
    Ok(addr)
}

/// The merchant `tenant`, its administrator `client`, and customers with a bound, active card and some bonuses.
async fn prepare(app: &App, tenant: &str, client: (&str, &str), count: usize) -> anyhow::Result<Vec<Customer>> {
    serve::merchant(&app.db, tenant, client, &["name"]).await?;
    let actor = Actor { principal: "bench-setup".into(), role: Role::System };
    let customers: Vec<Customer> =
        (0..count).map(|i| Customer { contact_id: Uuid::now_v7(), card: format!("9{:012}", i) }).collect();
    let registrations = customers.iter().map(|c| {
        let command = CardCommand::Register {
            number: c.card.clone(),
            category: CardCategory::Virtual,
            card_type: CardType::Bonus,
        };
        CardAggregate::target(c.card.clone(), command)
    });
    let setup = |target| Command::new(tenant, actor.clone(), target);
    // Phases: within one phase no two commands touch the same stream, so they may run in any order.
    let mut phase = vec![setup(Target::all(registrations))];
    for (i, customer) in customers.iter().enumerate() {
        let contact_id = customer.contact_id;
        let details = ContactDetails { name: Some(format!("Customer {i}")), ..Default::default() };
        let command = contacts::register(app, tenant, contact_id, format!("B{i}"), &details).await?;
        phase.push(setup(ContactAggregate::target(contact_id, command)));
    }
    run_phase(app, phase).await?;
    let card = |customer: &Customer, command| setup(CardAggregate::target(customer.card.clone(), command));
    run_phase(app, customers.iter().map(|c| card(c, CardCommand::Issue)).collect()).await?;
    let bind = |c: &Customer| card(c, CardCommand::BindTo { contact_id: c.contact_id, contact_live_card: None });
    run_phase(app, customers.iter().map(bind).collect()).await?;
    let activate = |c: &Customer| card(c, CardCommand::Activate { contact_data_sufficient: true });
    run_phase(app, customers.iter().map(activate).collect()).await?;
    let accrue = |c: &Customer| {
        let command = AccountCommand::Accrue {
            lot_id: Uuid::now_v7(),
            amount: Decimal::from(1000),
            bonus_type: BonusType::Cash,
            active_from: None,
            expires_at: None,
            reference: None,
            sale: None,
        };
        setup(AccountAggregate::target(c.contact_id, command))
    };
    run_phase(app, customers.iter().map(accrue).collect()).await?;
    Ok(customers)
}

/// Runs commands concurrently and fails on the first refusal.
async fn run_phase(app: &App, commands: Vec<Command>) -> anyhow::Result<()> {
    let handles: Vec<_> = commands
        .into_iter()
        .map(|command| {
            let executor = app.executor.clone();
            tokio::spawn(async move { executor.execute(command).await })
        })
        .collect();
    for handle in handles {
        match handle.await?? {
            Outcome::Executed { result: Ok(_), .. } => {}
            other => anyhow::bail!("bench setup was refused: {other:?}"),
        }
    }
    Ok(())
}

/// Latencies of one run.
struct Figures {
    elapsed: Duration,
    latencies: Vec<Duration>,
    errors: usize,
    /// Answers by their `result` field or `outcome` name, where they have one.
    results: BTreeMap<String, usize>,
}

impl Figures {
    fn throughput(&self) -> f64 {
        self.latencies.len() as f64 / self.elapsed.as_secs_f64()
    }

    fn percentile(&self, p: f64) -> Duration {
        if self.latencies.is_empty() {
            return Duration::ZERO;
        }
        let index = ((self.latencies.len() as f64 * p).ceil() as usize).clamp(1, self.latencies.len()) - 1;
        self.latencies[index]
    }

    fn print(&self, label: &str) {
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        println!(
            "{label} {:>9.0} commands/s  p50 {:>6.2} ms  p99 {:>6.2} ms  p999 {:>6.2} ms  ({} ok, {} failed)",
            self.throughput(),
            ms(self.percentile(0.50)),
            ms(self.percentile(0.99)),
            ms(self.percentile(0.999)),
            self.latencies.len(),
            self.errors
        );
    }
}

/// The same load's figures against Tally and against bare axum, side by side.
fn print_ratio(tally: &Figures, bare: &Figures) {
    println!(
        "ratio tally/bare: throughput {:.3}, p99 {:.1}x",
        tally.throughput() / bare.throughput(),
        tally.percentile(0.99).as_secs_f64() / bare.percentile(0.99).as_secs_f64().max(1e-9)
    );
}

/// Runs `run` with a fresh temporary directory for its databases, removed afterwards.
async fn in_temp_dir<F>(run: impl FnOnce(std::path::PathBuf) -> F) -> anyhow::Result<()>
where
    F: std::future::Future<Output = anyhow::Result<()>>,
{
    let dir = std::env::temp_dir().join(format!("tally-bench-{}", Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir)?;
    let result = run(dir.clone()).await;
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// Builds a worker's n-th request.
type RequestMaker = Arc<dyn Fn(usize, usize) -> Request<Full<Bytes>> + Send + Sync>;

/// The `Authorization` header of a bench client.
fn basic(client: (&str, &str)) -> String {
    format!("Basic {}", STANDARD.encode(format!("{}:{}", client.0, client.1)))
}

/// Card and bonus commands: accruals, redemptions, and block/unblock cycles through CashDesk. Each worker owns a
/// disjoint slice of customers and counts its visits to each, so its block/unblock cycle starts with a block.
fn card_requests(addrs: &[SocketAddr], auth: &str, customers: Vec<Customer>, connections: usize) -> RequestMaker {
    let (addrs, auth) = (addrs.to_vec(), auth.to_owned());
    let per_worker = (customers.len() / connections).max(1);
    Arc::new(move |worker, n| {
        let (round, visit) = ((n / 4) % per_worker, (n / 4) / per_worker);
        let customer = &customers[(worker * per_worker + round) % customers.len()];
        let (path, body) = match n % 4 {
            0 | 1 => (
                format!("/v1/accounts/{}/accruals", customer.contact_id),
                r#"{"amount":"1.50","bonus_type":"cash","reference":"bench"}"#.to_owned(),
            ),
            2 => (format!("/v1/accounts/{}/redemptions", customer.contact_id), r#"{"amount":"1.25"}"#.to_owned()),
            _ if visit.is_multiple_of(2) => {
                ("/api/card/block".to_owned(), format!(r#"{{"Number":"{}","BlockReasonCode":"0"}}"#, customer.card))
            }
            _ => {
                ("/api/card/unblock".to_owned(), format!(r#"{{"Number":"{}","UnBlockReasonCode":"0"}}"#, customer.card))
            }
        };
        json_post(addrs[worker % addrs.len()], &path, &auth, body)
    })
}

/// A JSON POST with a fresh idempotency key.
fn json_post(addr: SocketAddr, path: &str, auth: &str, body: String) -> Request<Full<Bytes>> {
    Request::post(format!("http://{addr}{path}"))
        .header("authorization", auth)
        .header("content-type", "application/json")
        .header("idempotency-key", format!("bench-{}", Uuid::now_v7().simple()))
        .body(Full::new(Bytes::from(body)))
        .expect("a valid request")
}

/// Runs `connections` workers sending `make`'s requests back to back for `seconds`, counting the `result` field (or
/// the `outcome`'s name) of JSON answers that carry one.
async fn drive(make: RequestMaker, connections: usize, seconds: u64) -> Figures {
    let client: HttpClient = Client::builder(hyper_util::rt::TokioExecutor::new()).build_http();
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let mut workers = Vec::new();
    for worker in 0..connections {
        let (client, make) = (client.clone(), make.clone());
        workers.push(tokio::spawn(async move {
            let (mut latencies, mut errors, mut results) = (Vec::new(), 0usize, BTreeMap::new());
            let mut n = 0usize;
            while Instant::now() < deadline {
                let sent = Instant::now();
                let answer = match client.request(make(worker, n)).await {
                    Ok(response) => {
                        let status = response.status();
                        let body = response.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
                        status.is_success().then_some(body)
                    }
                    Err(_) => None,
                };
                match answer {
                    Some(body) => {
                        latencies.push(sent.elapsed());
                        // ScanTrack's `result`, or Enactor's `outcome`.
                        let result = serde_json::from_slice::<serde_json::Value>(&body).ok().and_then(|v| {
                            let result = v.get("result").or_else(|| v.pointer("/outcome/name"));
                            result.and_then(|r| r.as_str()).map(str::to_owned)
                        });
                        if let Some(result) = result {
                            *results.entry(result).or_insert(0) += 1;
                        }
                    }
                    None => errors += 1,
                }
                n += 1;
            }
            (latencies, errors, results)
        }));
    }
    let mut figures = Figures { elapsed: Duration::ZERO, latencies: Vec::new(), errors: 0, results: BTreeMap::new() };
    for worker in workers {
        let (latencies, errors, results) = worker.await.expect("bench worker");
        figures.latencies.extend(latencies);
        figures.errors += errors;
        for (result, count) in results {
            *figures.results.entry(result).or_insert(0) += count;
        }
    }
    figures.elapsed = started.elapsed();
    figures.latencies.sort_unstable();
    figures
}

/// Generates a ledger of `count` valid bonus events (decided by the real decider) and times a rebuild.
async fn rebuild_bench(dir: &std::path::Path, count: usize) -> anyhow::Result<Db> {
    let url = format!("sqlite://{}", dir.join("rebuild.db").display());
    let db = Db::connect(&url).await?;
    let accounts = 10_000usize;
    let mut states: Vec<(Uuid, i64, Account)> =
        (0..accounts).map(|_| (Uuid::now_v7(), 0, Account::default())).collect();
    let context = Context { now: Utc::now(), actor: Actor { principal: "bench".into(), role: Role::System } };
    let generated = Instant::now();
    let mut written = 0usize;
    while written < count {
        let mut tx = db.write.begin().await?;
        for _ in 0..50_000.min(count - written) {
            let slot = written % accounts;
            let (contact_id, version, state) = &mut states[slot];
            let command = if (written / accounts) % 3 == 2 {
                AccountCommand::Redeem {
                    redemption_id: Uuid::now_v7(),
                    amount: Decimal::new(75, 2),
                    bonus_type: BonusType::Cash,
                    reference: None,
                    sale: None,
                }
            } else {
                AccountCommand::Accrue {
                    lot_id: Uuid::now_v7(),
                    amount: Decimal::new(150, 2),
                    bonus_type: BonusType::Cash,
                    active_from: None,
                    expires_at: None,
                    reference: Some("bench".into()),
                    sale: None,
                }
            };
            let events: Vec<Event> =
                AccountAggregate::decide(state, command, &context).map_err(|e| anyhow::anyhow!("{e:?}"))?;
            let meta = CommandMeta {
                tenant: TENANT.into(),
                actor: context.actor.clone(),
                correlation_id: Uuid::now_v7(),
                causation_id: None,
                idempotency_key: None,
                occurred_at: context.now,
                recorded_at: context.now,
            };
            let stream_id = tally_events::stream::account(TENANT, *contact_id);
            ledger::append(&mut tx, &stream_id, *version, &events, &meta).await?;
            *version += events.len() as i64;
            *state = events.iter().fold(std::mem::take(state), AccountAggregate::evolve);
            written += events.len();
        }
        tx.commit().await?;
    }
    println!(
        "rebuild: generated {written} events over {accounts} accounts in {:.1}s",
        generated.elapsed().as_secs_f64()
    );
    let started = Instant::now();
    let report = db.rebuild_views().await?;
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "rebuild: {} events -> {} rows in {seconds:.2}s = {:.0} events/s",
        report.events,
        report.rows,
        report.events as f64 / seconds
    );
    Ok(db)
}

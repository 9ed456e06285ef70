//! `tally bench --scenario vending`: purchases at `--machines` simulated vending machines (the platform simulator,
//! in this process, over loopback HTTP), one member per machine buying back to back: each purchase is started through
//! `/v1`, locked, selected at once by the machine, held, approved, dispensed and charged. One machine in twenty fails
//! its vends (code 5) and one in twenty sends every callback twice. Prints completed purchases per second, the
//! latency from the lock to the settlement (from the ledger's timestamps), and the ratio to bare axum answering the
//! same start requests; then checks that every member's balance is the opening balance less the price of each
//! purchase dispensed, to the minor unit, with nothing left held. SQLite on a temporary file.

use std::{collections::HashMap, sync::Arc, time::Duration};

use axum::{routing::any, Router};
use chrono::{DateTime, Utc};
use http_body_util::BodyExt;
use hyper_util::client::legacy::Client;
use rust_decimal::Decimal;
use tally_events::{stream, Event, MoneyAccountOpened, MoneyAccountType};
use tokio::{
    net::TcpListener,
    sync::{mpsc, Mutex},
    time::Instant,
};
use uuid::Uuid;

use super::{basic, drive, in_temp_dir, json_post, print_ratio, run_phase, serve, BenchArgs, Figures, HttpClient};
use crate::{
    app::{self, App},
    commands::{Command, Stream},
    domain::money::{MoneyAggregate, MoneyCommand},
    jobs::system,
    simulator::{Behaviour, Simulator, SimulatorArgs},
    store::ledger,
    vending::{minor, platform::PlatformSettings, VendingSettings},
};

/// Each member's opening balance.
const OPENING: i64 = 1_000_000;

pub async fn run(args: &BenchArgs) -> anyhow::Result<()> {
    in_temp_dir(|dir| async move { run_in(&dir, args).await }).await
}

/// How one purchase ended, as the ledger says.
#[derive(Debug, Clone)]
struct Settled {
    outcome: &'static str,
    lock_to_settled: Option<Duration>,
}

async fn run_in(dir: &std::path::Path, args: &BenchArgs) -> anyhow::Result<()> {
    let url = format!("sqlite://{}", dir.join("vending.db").display());
    let tenant = format!("vend-{}", serve::run_id());
    let client = (tenant.clone(), "bench-secret".to_owned());
    let (tally_listener, sim_listener) =
        (TcpListener::bind("127.0.0.1:0").await?, TcpListener::bind("127.0.0.1:0").await?);
    let (tally_addr, sim_addr) = (tally_listener.local_addr()?, sim_listener.local_addr()?);
    let platform = PlatformSettings { url: format!("http://{sim_addr}"), key: "bench-platform-key".into() };
    let vending = VendingSettings { platform: Some(platform), ..Default::default() };
    let app = App::start(&app::Settings { database_url: url, kafka: None, vending, ..Default::default() }).await?;
    serve::merchant(&app.db, &tenant, (&client.0, &client.1), &[]).await?;
    let machines = args.machines.max(1);
    let members: Vec<String> = (0..machines).map(|i| format!("MEMBER-{i:04}")).collect();
    open_accounts(&app, &tenant, &members).await?;

    let simulator = Simulator::new(SimulatorArgs {
        listen: sim_addr.to_string(),
        tally_url: format!("http://{tally_addr}/vending"),
        tally_key: format!("{}:{}", client.0, client.1),
        key: "bench-platform-key".into(),
        machines,
        lock_timeout: 60,
        vend_ms: 5,
    });
    for i in 0..machines {
        let behaviour = Behaviour {
            fail_code: (i % 20 == 0).then(|| "5".to_owned()),
            duplicate: i % 20 == 1,
            auto_select: Some(11 + (i % 6) as i64),
            ..Behaviour::default()
        };
        simulator.behave(&vm(i), behaviour).await;
    }
    let sim_router = crate::simulator::router(simulator.clone());
    tokio::spawn(async move { axum::serve(sim_listener, sim_router).await });
    let tally_router = crate::http::router(app.clone(), false);
    tokio::spawn(async move { axum::serve(tally_listener, tally_router).await });

    println!(
        "vending: {machines} machines x {} s, one member each buying back to back (1 machine in 20 fails its vends, \
         1 in 20 sends every callback twice; SQLite, synchronous=FULL, WAL)",
        args.seconds
    );
    let (senders, receivers): (Vec<_>, Vec<_>) = (0..machines).map(|_| mpsc::unbounded_channel()).unzip();
    let observer = tokio::spawn(observe(app.clone(), senders));
    let auth = basic((&client.0, &client.1));
    let started = Instant::now();
    let deadline = started + Duration::from_secs(args.seconds);
    let http: HttpClient = Client::builder(hyper_util::rt::TokioExecutor::new()).build_http();
    let mut workers = Vec::new();
    for (i, mut settled) in receivers.into_iter().enumerate() {
        let (http, auth, member) = (http.clone(), auth.clone(), members[i].clone());
        workers.push(tokio::spawn(async move {
            let mut outcomes = Vec::new();
            while Instant::now() < deadline {
                let body = format!(r#"{{"vm_id":"{}","account_type":"deposit","account_id":"{member}"}}"#, vm(i));
                let response = http.request(json_post(tally_addr, "/v1/vending/purchases", &auth, body)).await;
                let ok = match response {
                    Ok(response) => {
                        let success = response.status().is_success();
                        let _ = response.into_body().collect().await;
                        success
                    }
                    Err(_) => false,
                };
                if !ok {
                    outcomes.push(Settled { outcome: "start failed", lock_to_settled: None });
                    continue;
                }
                match tokio::time::timeout(Duration::from_secs(30), settled.recv()).await {
                    Ok(Some(done)) => outcomes.push(done),
                    _ => outcomes.push(Settled { outcome: "never settled", lock_to_settled: None }),
                }
            }
            outcomes
        }));
    }
    let mut outcomes = Vec::new();
    for worker in workers {
        outcomes.extend(worker.await?);
    }
    let elapsed = started.elapsed();
    observer.abort();
    report(&outcomes, elapsed);
    check_balances(&app, &tenant, &members).await?;

    let bare = super::spawn(Router::new().route("/{*path}", any(|| async { r#"{"txn_ref":"x"}"# }))).await?;
    let body = r#"{"vm_id":"VM0001","account_type":"deposit","account_id":"MEMBER-0000"}"#.to_owned();
    let make = Arc::new(move |_, _| json_post(bare, "/v1/vending/purchases", &auth, body.clone()));
    let bare = drive(make, machines, args.seconds).await;
    bare.print("bare  ");
    let sagas = Figures {
        elapsed,
        latencies: lock_to_settled(&outcomes),
        errors: outcomes.iter().filter(|o| o.lock_to_settled.is_none()).count(),
        results: Default::default(),
    };
    print!("purchases against bare starts: ");
    print_ratio(&sagas, &bare);
    Ok(())
}

fn vm(i: usize) -> String {
    format!("VM{:04}", i + 1)
}

/// Opens each member's deposit account with the opening balance.
async fn open_accounts(app: &App, tenant: &str, members: &[String]) -> anyhow::Result<()> {
    let setup = |member: &String, command| {
        Command::new(
            tenant,
            system("bench-setup"),
            MoneyAggregate::target((MoneyAccountType::Deposit, member.clone()), command),
        )
    };
    let open = |member: &String| {
        let opened = MoneyAccountOpened {
            account_type: MoneyAccountType::Deposit,
            account_id: member.clone(),
            contact_id: None,
            currency: "EUR".into(),
            credit_limit: None,
            allowance: None,
            period: None,
        };
        setup(member, MoneyCommand::Open(opened))
    };
    run_phase(app, members.iter().map(open).collect()).await?;
    let pay_in = |member: &String| {
        let amount = crate::vending::money(OPENING, "EUR");
        setup(member, MoneyCommand::PayIn { movement_id: Uuid::now_v7(), amount, reference: None, sale: None })
    };
    run_phase(app, members.iter().map(pay_in).collect()).await
}

/// Follows the ledger and tells each machine's worker how its purchase ended, with the time from its lock.
async fn observe(app: Arc<App>, machines: Vec<mpsc::UnboundedSender<Settled>>) {
    let mut position = 0;
    let mut locked: HashMap<String, DateTime<Utc>> = HashMap::new();
    let mut machine_of: HashMap<String, usize> = HashMap::new();
    let machines = Mutex::new(machines);
    loop {
        let page = match app.db.read.acquire().await {
            Ok(mut conn) => ledger::read_after(&mut conn, position, 1000).await.unwrap_or_default(),
            Err(_) => Vec::new(),
        };
        if page.is_empty() {
            tokio::time::sleep(Duration::from_millis(2)).await;
            continue;
        }
        for envelope in &page {
            position = envelope.global_position;
            let Some(txn_ref) = stream::entity_id(&envelope.stream_id, "vend") else { continue };
            let outcome = match envelope.event() {
                Ok(Event::VendStarted(started)) => {
                    let number: usize = started.vm_id[2..].parse().unwrap_or(1);
                    machine_of.insert(txn_ref.to_owned(), number - 1);
                    continue;
                }
                Ok(Event::VendLocked(_)) => {
                    locked.insert(txn_ref.to_owned(), envelope.recorded_at);
                    continue;
                }
                Ok(Event::VendDispensed(_)) => "dispensed",
                Ok(Event::VendFailed(_)) => "failed",
                Ok(Event::VendDeclined(_)) => "declined",
                Ok(Event::VendCancelled(_)) => "cancelled",
                Ok(Event::VendLockRefused(_)) => "lock refused",
                _ => continue,
            };
            let lock_to_settled = locked.remove(txn_ref).and_then(|at| (envelope.recorded_at - at).to_std().ok());
            if let Some(machine) = machine_of.remove(txn_ref) {
                let _ = machines.lock().await[machine].send(Settled { outcome, lock_to_settled });
            }
        }
    }
}

fn lock_to_settled(outcomes: &[Settled]) -> Vec<Duration> {
    let mut latencies: Vec<Duration> = outcomes.iter().filter_map(|o| o.lock_to_settled).collect();
    latencies.sort_unstable();
    latencies
}

fn report(outcomes: &[Settled], elapsed: Duration) {
    let mut counts: std::collections::BTreeMap<&str, usize> = Default::default();
    for outcome in outcomes {
        *counts.entry(outcome.outcome).or_default() += 1;
    }
    let latencies = lock_to_settled(outcomes);
    let at = |p: f64| {
        let index = ((latencies.len() as f64 * p).ceil() as usize).clamp(1, latencies.len().max(1)) - 1;
        latencies.get(index).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    println!(
        "tally  {:>9.0} purchases/s settled  lock to settled: p50 {:>6.2} ms  p99 {:>6.2} ms  p999 {:>6.2} ms",
        latencies.len() as f64 / elapsed.as_secs_f64(),
        at(0.50),
        at(0.99),
        at(0.999)
    );
    println!("       outcomes {counts:?}");
}

/// Every member's balance is the opening balance less what each dispensed purchase charged, and nothing is held.
async fn check_balances(app: &App, tenant: &str, members: &[String]) -> anyhow::Result<()> {
    let mut conn = app.db.read.acquire().await?;
    let (mut dispensed, mut charged_total) = (0usize, 0i64);
    for member in members {
        let purchases =
            tally_projections::vends_of(&mut conn, tenant, (MoneyAccountType::Deposit, member), None, i64::MAX).await?;
        let charged: i64 = purchases
            .iter()
            .filter(|p| p.status == tally_projections::VendStatus::Dispensed)
            .map(|p| p.charged_minor.unwrap_or_default())
            .sum();
        dispensed += purchases.iter().filter(|p| p.status == tally_projections::VendStatus::Dispensed).count();
        charged_total += charged;
        let account = tally_projections::load_money_account(&mut conn, tenant, MoneyAccountType::Deposit, member)
            .await?
            .ok_or_else(|| anyhow::anyhow!("{member} has no account"))?;
        let balance = minor(account.balance, &account.currency);
        if balance != OPENING - charged || account.held() != Decimal::ZERO {
            anyhow::bail!(
                "{member}: balance {balance} minor units, held {}, but the opening {OPENING} less {charged} charged \
                 for dispensed purchases is {}",
                account.held(),
                OPENING - charged
            );
        }
    }
    println!(
        "       balances check: OK — {} members, each at the opening balance less its {dispensed} dispensed \
         purchases' prices ({charged_total} minor units in all), nothing held",
        members.len()
    );
    Ok(())
}

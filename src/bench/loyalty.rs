//! `tally bench --scenario loyalty`: tills racing to redeem loyalty codes. `--codes` codes (1,000 by default) are
//! handed to as many clients; then `--connections` tills, each signed in with a token of its own, send Footprints'
//! `POST /api/loyaltyCode/change` for every code eight times over, the eight attempts on a code at once. Exactly one
//! attempt per code must win (200) and the other seven be refused (409 `code_already_redeemed`); the bench checks
//! that, and the campaign's counters, and prints the attempts' rate and latency beside the same requests answered by
//! a bare axum endpoint. On a temporary SQLite file (synchronous=FULL, WAL).

use std::{
    collections::BTreeMap,
    net::SocketAddr,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use axum::{routing::any, Router};
use chrono::Utc;
use http_body_util::{BodyExt, Full};
use hyper::{body::Bytes, Request};
use hyper_util::client::legacy::Client;
use tally_events::{Actor, Event, LoyaltyCampaignDeclared, LoyaltySettings, PrizeType, Role};
use uuid::Uuid;

use super::{in_temp_dir, leads::staff_tokens, print_ratio, spawn, BenchArgs, Figures, HttpClient};
use crate::{
    app::{self, App},
    commands::{Command, Outcome, Stream, Target},
    domain::loyalty::{CampaignAggregate, CampaignCommand},
    leads, loyalty,
};

/// Attempts on each code, sent at once.
const TILLS_PER_CODE: usize = 8;
const CAMPAIGN: &str = "race";
const PRIZE: &str = "000000000000000000000001";

pub async fn run(args: &BenchArgs) -> anyhow::Result<()> {
    in_temp_dir(|dir| async move {
        let url = format!("sqlite://{}", dir.join("loyalty.db").display());
        let app = App::start(&app::Settings { database_url: url, ..Default::default() }).await?;
        let tenant = "loyalty";
        let tokens = staff_tokens(&app, tenant, ("loyalty-app", "bench-secret"), args.connections).await?;
        let held = hand_out(&app, tenant, args.codes).await?;
        let attempts: Vec<(usize, String)> = held
            .iter()
            .enumerate()
            .flat_map(|(client, code)| (0..TILLS_PER_CODE).map(move |_| (client, code.clone())))
            .collect();
        let tally = spawn(crate::http::router(app.clone(), false)).await?;
        let bare = spawn(Router::new().route("/{*path}", any(|| async { r#"{"status":"success"}"# }))).await?;
        println!(
            "loyalty: {} tills with tokens, {} codes each redeemed by {TILLS_PER_CODE} tills at once ({} attempts; \
             SQLite, synchronous=FULL, WAL)",
            args.connections,
            held.len(),
            attempts.len()
        );
        let (figures, winners) = race(tally, &tokens, &attempts, args.connections).await;
        figures.print("tally ");
        let redeemed = loyalty::campaign(&app.db, tenant, CAMPAIGN).await?.map(|c| c.totals().redeemed);
        let once = winners.values().all(|won| *won == 1) && winners.len() == held.len();
        let refused = figures.results.get("409 code_already_redeemed").copied().unwrap_or(0);
        println!(
            "       {} winners over {} codes, each code won exactly once: {once}; {refused} refused as redeemed \
             already; the campaign counts {} redeemed",
            winners.values().sum::<usize>(),
            held.len(),
            redeemed.unwrap_or(0)
        );
        let (bare, _) = race(bare, &tokens, &attempts, args.connections).await;
        bare.print("bare  ");
        print_ratio(&figures, &bare);
        let expected = held.len() * (TILLS_PER_CODE - 1);
        anyhow::ensure!(
            once && refused == expected && redeemed == Some(held.len() as u64),
            "the race went wrong: {:?}",
            figures.results
        );
        Ok(())
    })
    .await
}

/// Declares the campaign, issues `count` codes and hands one to each of `count` clients (through the writer);
/// returns each client's code.
async fn hand_out(app: &Arc<App>, tenant: &str, count: usize) -> anyhow::Result<Vec<String>> {
    let now = Utc::now();
    let declared = LoyaltyCampaignDeclared {
        id: "00000000000000000000000a".into(),
        name: "Race".into(),
        campaign_type: "drive_loyalty".into(),
        starts_at: now - chrono::Duration::days(1),
        ends_at: now + chrono::Duration::days(1),
        codes_expire_at: now + chrono::Duration::days(2),
        location: None,
        settings: LoyaltySettings {
            kind: "standard".into(),
            allowed_chars: loyalty::DEFAULT_CHARS.into(),
            code_length: 10,
            prize_types: vec![PrizeType { id: PRIZE.into(), name: "Coffee".into(), points_value: 10 }],
        },
        landing_page_url: None,
    };
    let declare = CampaignAggregate::target(CAMPAIGN.into(), CampaignCommand::Declare(declared));
    execute(app, tenant, declare).await?;
    let issue = loyalty::issue(CAMPAIGN, PRIZE.into(), loyalty::Issue::Generated(count))
        .map_err(|problem| anyhow::anyhow!("{problem}"))?;
    execute(app, tenant, issue).await?;
    let mut pending = Vec::new();
    for client in 0..count {
        let (email, phone) = person(client);
        let holder = leads::contact_identity(app, tenant, &email, &phone).await?;
        let command =
            CampaignCommand::Allocate { holder, customer_id: Uuid::now_v7(), prize_id: None, by: "bench".into() };
        let (app, tenant) = (app.clone(), tenant.to_owned());
        let target = CampaignAggregate::target(CAMPAIGN.into(), command);
        pending.push(tokio::spawn(async move { execute(&app, &tenant, target).await }));
    }
    let mut held = Vec::with_capacity(count);
    for handed in pending {
        let code = handed.await??.into_iter().find_map(|event| match event {
            Event::LoyaltyCodeAllocated(e) => Some(e.code),
            _ => None,
        });
        held.push(code.ok_or_else(|| anyhow::anyhow!("no code was handed out"))?);
    }
    Ok(held)
}

async fn execute(app: &App, tenant: &str, target: Target) -> anyhow::Result<Vec<Event>> {
    let actor = Actor { principal: "bench-setup".into(), role: Role::System };
    match app.executor.execute(Command::new(tenant, actor, target)).await? {
        Outcome::Executed { result: Ok(envelopes), .. } => {
            Ok(envelopes.iter().filter_map(|envelope| envelope.event().ok()).collect())
        }
        Outcome::Executed { result: Err(refusal), .. } => anyhow::bail!("refused: {refusal:?}"),
        Outcome::Replayed(_) | Outcome::KeyReused => anyhow::bail!("a setup command was not decided"),
    }
}

/// Sends every attempt from `tills` workers taking them in order (so the attempts on a code go out together);
/// returns the figures (answers counted by status and error) and the winners per code.
async fn race(
    addr: SocketAddr,
    tokens: &[String],
    attempts: &[(usize, String)],
    tills: usize,
) -> (Figures, BTreeMap<String, usize>) {
    let client: HttpClient = Client::builder(hyper_util::rt::TokioExecutor::new()).build_http();
    let next = Arc::new(AtomicUsize::new(0));
    let attempts = Arc::new(attempts.to_vec());
    let started = Instant::now();
    let mut workers = Vec::new();
    for token in &tokens[..tills] {
        let (client, next, attempts, token) = (client.clone(), next.clone(), attempts.clone(), token.clone());
        workers.push(tokio::spawn(async move {
            let mut seen = (Vec::new(), BTreeMap::new(), BTreeMap::new());
            while let Some((client_no, code)) = attempts.get(next.fetch_add(1, Ordering::Relaxed)) {
                let (email, phone) = person(*client_no);
                let form = format!("userEmail={email}&userPhone={phone}&campaignInternalId={CAMPAIGN}&code={code}");
                let request = Request::post(format!("http://{addr}/api/loyaltyCode/change?access_token={token}"))
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(Full::new(Bytes::from(form)))
                    .expect("a valid request");
                let sent = Instant::now();
                let Ok(response) = client.request(request).await else { continue };
                let status = response.status();
                let body = response.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
                seen.0.push(sent.elapsed());
                let error = serde_json::from_slice::<serde_json::Value>(&body)
                    .ok()
                    .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_owned));
                let answer = format!("{} {}", status.as_u16(), error.unwrap_or_default()).trim().to_owned();
                *seen.1.entry(answer).or_insert(0) += 1;
                if status.is_success() {
                    *seen.2.entry(code.clone()).or_insert(0) += 1;
                }
            }
            seen
        }));
    }
    let mut figures = Figures { elapsed: Duration::ZERO, latencies: Vec::new(), errors: 0, results: BTreeMap::new() };
    let mut winners = BTreeMap::new();
    for worker in workers {
        let (latencies, answers, won) = worker.await.expect("bench till");
        figures.latencies.extend(latencies);
        for (answer, count) in answers {
            *figures.results.entry(answer).or_insert(0) += count;
        }
        for (code, count) in won {
            *winners.entry(code).or_insert(0) += count;
        }
    }
    figures.elapsed = started.elapsed();
    figures.latencies.sort_unstable();
    (figures, winners)
}

/// Client `n`'s e-mail address and phone.
fn person(n: usize) -> (String, String) {
    (format!("c{n}@bench.example"), format!("07{n:08}"))
}

//! `tally bench --scenario scans`: 64 (`--connections`) scanners race over ScanTrack for one promotion with cap
//! `--cap`, then scan a mix of 1,000 promotions. On a temporary SQLite file by default; with `tally --database-url
//! postgres://… bench --scenario scans` against `--instances` `tally serve` processes sharing that database. Prints scans/s, p50/p99 and
//! how many scans were accepted — exactly the cap, when more were sent.

use std::{net::SocketAddr, sync::Arc};

use chrono::Utc;
use hyper_util::client::legacy::Client;

use super::{basic, drive, json_post, serve, BenchArgs, Figures, HttpClient, RequestMaker, TENANT};
use crate::app::{self, App};

/// Promotions in the mixed run.
const PROMOTIONS: usize = 1000;

pub async fn run(args: &BenchArgs, postgres: Option<String>) -> anyhow::Result<()> {
    super::in_temp_dir(|dir| async move { run_in(&dir, args, postgres).await }).await
}

async fn run_in(dir: &std::path::Path, args: &BenchArgs, postgres: Option<String>) -> anyhow::Result<()> {
    let url = postgres.clone().unwrap_or_else(|| format!("sqlite://{}", dir.join("scans.db").display()));
    // Each run has its own client and business, so runs against one PostgreSQL database do not collide.
    let run = serve::run_id();
    let client = (format!("bench-{run}"), "bench-secret".to_owned());
    let app = App::start(&app::Settings { database_url: url.clone(), kafka: None, ..Default::default() }).await?;
    serve::merchant(&app.db, TENANT, (&client.0, &client.1), &[]).await?;
    let (instances, addrs, where_) = serve::targets(&app, &url, postgres.is_some(), args.instances).await?;
    let auth = basic((&client.0, &client.1));
    let business = format!("BENCH-{run}");
    let http: HttpClient = Client::builder(hyper_util::rt::TokioExecutor::new()).build_http();
    setup(&http, addrs[0], &auth, &business, args.cap).await?;

    println!(
        "scans: {} connections x {} s against one promotion with cap {} ({where_})",
        args.connections, args.seconds, args.cap
    );
    let race = drive(scans(&addrs, &auth, &business, |_, _| "CAP".to_owned()), args.connections, args.seconds).await;
    print_scans(&race);
    let accepted = race.results.get("accepted").copied().unwrap_or(0);
    let sent = race.latencies.len();
    let expected = (args.cap as usize).min(sent);
    println!(
        "       accepted {accepted} of {sent} scans: {}",
        if accepted == expected { "exactly the cap" } else { "NOT the cap" }
    );

    println!("scans: {} connections x {} s over {PROMOTIONS} promotions ({where_})", args.connections, args.seconds);
    let mixed = drive(
        scans(&addrs, &auth, &business, |worker, n| format!("P{}", (worker * 7919 + n * 31) % PROMOTIONS)),
        args.connections,
        args.seconds,
    )
    .await;
    print_scans(&mixed);
    drop(instances);
    Ok(())
}

fn print_scans(figures: &Figures) {
    let ms = |p| figures.percentile(p).as_secs_f64() * 1000.0;
    println!(
        "       {:>9.0} scans/s  p50 {:>6.2} ms  p99 {:>6.2} ms  results {:?}  ({} failed)",
        figures.throughput(),
        ms(0.50),
        ms(0.99),
        figures.results,
        figures.errors
    );
}

/// ScanTrack JSON scans with a distinct customer each, spread over the instances by worker.
fn scans(
    addrs: &[SocketAddr],
    auth: &str,
    business: &str,
    promotion: impl Fn(usize, usize) -> String + Send + Sync + 'static,
) -> RequestMaker {
    let (addrs, auth, business) = (addrs.to_vec(), auth.to_owned(), business.to_owned());
    Arc::new(move |worker, n| {
        let body = serde_json::json!({"barcode": {"src": business, "id": promotion(worker, n), "key": format!("k{worker}-{n}")}});
        json_post(addrs[worker % addrs.len()], "/scantrack", &auth, body.to_string())
    })
}

/// The business, the capped promotion and the 1,000 mixed ones, through the native API.
async fn setup(http: &HttpClient, addr: SocketAddr, auth: &str, business: &str, cap: u32) -> anyhow::Result<()> {
    let post = |path: &str, body: serde_json::Value| {
        let request = json_post(addr, path, auth, body.to_string());
        let http = http.clone();
        async move {
            let response = http.request(request).await?;
            anyhow::ensure!(response.status().is_success(), "bench setup was refused: {}", response.status());
            Ok::<_, anyhow::Error>(())
        }
    };
    post("/v1/businesses", serde_json::json!({"business_id": business, "name": "Bench"})).await?;
    let ends_at = (Utc::now() + chrono::Duration::days(1)).to_rfc3339();
    let promotion = |id: String, cap: u32| {
        serde_json::json!({"business_id": business, "promotion_id": id, "title": "bench", "cap": cap,
            "ends_at": ends_at, "price_per_use": "1.50", "price_per_clip": "0.10"})
    };
    post("/v1/promotions", promotion("CAP".into(), cap)).await?;
    for p in 0..PROMOTIONS {
        post("/v1/promotions", promotion(format!("P{p}"), 1_000_000)).await?;
    }
    Ok(())
}

//! `tally bench --scenario tills`: Enactor tills posting balance updates at the end of sales: points earned and
//! points spent as a tender, alternately, keyed by till transaction, one in ten a retry of the till's previous
//! update (which must apply nothing), over `--customers` customers with cards and points, from `--connections`
//! tills, against the same load on a bare axum endpoint. SQLite. Figures only.

use std::{net::SocketAddr, sync::Arc};

use axum::{routing::any, Router};

use super::{
    basic, drive, in_temp_dir, json_post, prepare, print_ratio, spawn, BenchArgs, Customer, RequestMaker, CLIENT,
};
use crate::app::{self, App};

pub async fn run(args: &BenchArgs) -> anyhow::Result<()> {
    in_temp_dir(|dir| async move { run_in(&dir, args).await }).await
}

async fn run_in(dir: &std::path::Path, args: &BenchArgs) -> anyhow::Result<()> {
    let url = format!("sqlite://{}", dir.join("tills.db").display());
    let app = App::start(&app::Settings { database_url: url, kafka: None }).await?;
    let customers = prepare(&app, args.customers).await?;
    let tally = spawn(crate::http::router(app.clone(), false)).await?;
    let bare = spawn(Router::new().route("/{*path}", any(|| async { r#"{"outcome":{"name":"Success"}}"# }))).await?;
    println!(
        "tills: {} tills x {} s, balance updates (earn and tender alternately, 1 in 10 a retry) over {} customers \
         (SQLite, synchronous=FULL, WAL)",
        args.connections,
        args.seconds,
        customers.len()
    );
    let tally = drive(updates(tally, customers.clone(), args.connections), args.connections, args.seconds).await;
    tally.print("tally ");
    let bare = drive(updates(bare, customers, args.connections), args.connections, args.seconds).await;
    bare.print("bare  ");
    print_ratio(&tally, &bare);
    Ok(())
}

/// Each till owns a slice of the customers; its n-th update is transaction `n` (the previous one again, every
/// tenth).
fn updates(addr: SocketAddr, customers: Vec<Customer>, tills: usize) -> RequestMaker {
    let auth = basic(CLIENT);
    let per_till = (customers.len() / tills).max(1);
    Arc::new(move |till, n| {
        let transaction = if n % 10 == 9 { n - 1 } else { n };
        let customer = &customers[(till * per_till + transaction % per_till) % customers.len()];
        let amount = if transaction % 2 == 0 { "2.5" } else { "-1.25" };
        let body = format!(
            r#"{{"@type":"accountBalanceUpdate","transactionId":"T{transaction}","deviceId":{{"@type":"deviceKey","id":"pos{till}@0001.bench"}},"locationId":"0001","cardNumber":"{}","updateAmount":"{amount}"}}"#,
            customer.card
        );
        json_post(addr, "/WebRestApi/rest/accountBalances/update", &auth, body)
    })
}

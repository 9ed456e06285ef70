//! `tally bench --scenario tills`: Enactor tills posting balance updates at the end of sales, over `--customers`
//! customers with cards and points, from `--connections` tills, against the same load on a bare axum endpoint.
//! A sale earns points and spends some as a tender (two updates, keyed by the till's transaction); one sale in ten
//! is a refund of the till's previous sale instead (taking back part of what it earned, giving back what it spent);
//! one request in ten is a retry of the till's previous one, which must be answered as the first time and apply
//! nothing. Every answer must be `Success`: the figures count the outcomes. On a temporary SQLite file, or with
//! `tally --database-url postgres://… bench --scenario tills` against `--instances` `tally serve` processes sharing
//! that database. Figures only.

use std::{net::SocketAddr, sync::Arc};

use axum::{routing::any, Router};

use super::{
    basic, drive, in_temp_dir, json_post, prepare, print_ratio, serve, spawn, BenchArgs, Customer, RequestMaker,
};
use crate::app::{self, App};

pub async fn run(args: &BenchArgs, postgres: Option<String>) -> anyhow::Result<()> {
    in_temp_dir(|dir| async move { run_in(&dir, args, postgres).await }).await
}

async fn run_in(dir: &std::path::Path, args: &BenchArgs, postgres: Option<String>) -> anyhow::Result<()> {
    let url = postgres.clone().unwrap_or_else(|| format!("sqlite://{}", dir.join("tills.db").display()));
    // A merchant of its own per run, so that runs against one PostgreSQL database do not collide.
    let tenant = format!("tills-{}", serve::run_id());
    let client = (tenant.clone(), "bench-secret".to_owned());
    let app = App::start(&app::Settings { database_url: url.clone(), kafka: None, ..Default::default() }).await?;
    let customers = prepare(&app, &tenant, (&client.0, &client.1), args.customers).await?;
    let (instances, tally, where_) = serve::targets(&app, &url, postgres.is_some(), args.instances).await?;
    let bare = spawn(Router::new().route("/{*path}", any(|| async { r#"{"outcome":{"name":"Success"}}"# }))).await?;
    println!(
        "tills: {} tills x {} s, balance updates (a sale earns and tenders; 1 sale in 10 a refund; 1 request in 10 \
         a retry) over {} customers ({where_})",
        args.connections,
        args.seconds,
        customers.len()
    );
    let auth = basic((&client.0, &client.1));
    let load = drive(updates(&tally, &auth, customers.clone(), args.connections), args.connections, args.seconds).await;
    load.print("tally ");
    println!("       outcomes {:?}", load.results);
    drop(instances);
    let bare = drive(updates(&[bare], &auth, customers, args.connections), args.connections, args.seconds).await;
    bare.print("bare  ");
    print_ratio(&load, &bare);
    Ok(())
}

/// Each till owns a slice of the customers and works through its sales in order, spread over `addrs` by till.
/// Requests are numbered per till: every tenth repeats the one before it; the others are, in pairs, a sale's earn
/// and tender, or — every tenth sale — the refund of the sale before it.
fn updates(addrs: &[SocketAddr], auth: &str, customers: Vec<Customer>, tills: usize) -> RequestMaker {
    let (addrs, auth) = (addrs.to_vec(), auth.to_owned());
    let per_till = (customers.len() / tills).max(1);
    Arc::new(move |till, n| {
        let n = if n % 10 == 9 { n - 1 } else { n };
        let update = n - n / 10;
        let (sale, second) = (update / 2, update % 2 == 1);
        let refund = sale % 10 == 9;
        // A refund is of the sale before it, so it goes to that sale's customer.
        let of = if refund { sale - 1 } else { sale };
        let customer = &customers[(till * per_till + of % per_till) % customers.len()];
        let device = format!("pos{till}@0001.bench");
        let (transaction, amount, original) = match (refund, second) {
            (false, false) => (format!("S{sale}"), "2.5", String::new()),
            (false, true) => (format!("S{sale}"), "-1.25", String::new()),
            (true, false) => (format!("R{sale}"), "-1", refund_of(&device, of)),
            (true, true) => (format!("R{sale}"), "1.25", refund_of(&device, of)),
        };
        let body = format!(
            r#"{{"@type":"accountBalanceUpdate","transactionId":"{transaction}","deviceId":{{"@type":"deviceKey","id":"{device}"}},"locationId":"0001","cardNumber":"{}","updateAmount":"{amount}"{original}}}"#,
            customer.card
        );
        json_post(addrs[till % addrs.len()], "/WebRestApi/rest/accountBalances/update", &auth, body)
    })
}

fn refund_of(device: &str, sale: usize) -> String {
    format!(r#","originalTransactionId":"S{sale}","originalTransactionDeviceId":"{device}""#)
}

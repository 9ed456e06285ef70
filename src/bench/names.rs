//! `tally bench --scenario names --customers 100000`: Enactor's customer searches over a merchant with that many
//! customers: the POS's searches by the first letters of a name or surname, then by a postcode's outward code or
//! whole postcode, a page of 20 each, from `--connections` tills, against the same load on a bare axum endpoint.
//! Figures only.

use std::{net::SocketAddr, sync::Arc};

use axum::{routing::any, Router};
use tally_events::{Actor, Address, ContactDetails, Role};
use uuid::Uuid;

use super::{
    basic, drive, in_temp_dir, json_post, print_ratio, run_phase, spawn, BenchArgs, RequestMaker, CLIENT, TENANT,
};
use crate::{
    app::{self, App},
    commands::{Command, Stream},
    contacts,
    domain::contact::ContactAggregate,
};

const GIVEN: [&str; 12] =
    ["Anna", "Boris", "Daria", "Elena", "Igor", "Maria", "Nikolai", "Olga", "Pavel", "Sofia", "Viktor", "Yana"];
const STEMS: [&str; 20] = [
    "Ivan", "Petr", "Smirn", "Kuznets", "Popov", "Sokol", "Lebed", "Kozl", "Novik", "Moroz", "Volk", "Zaits", "Pavl",
    "Semen", "Golub", "Vinogr", "Bogdan", "Vorob", "Fedor", "Miha",
];
const ENDINGS: [&str; 5] = ["ov", "ova", "in", "enko", "sky"];

/// The i-th customer's name: one of 12 given names and one of 100 surnames (420 distinct full names in all).
fn name(i: usize) -> String {
    let surname = format!("{}{}", STEMS[(i / 7) % STEMS.len()], ENDINGS[(i / 3) % ENDINGS.len()]);
    format!("{} {surname}", GIVEN[i % GIVEN.len()])
}

/// The i-th customer's postcode: one of 400 outward codes (`AB1` to `TW20`), each with about 250 customers.
fn postcode(i: usize) -> String {
    let area = [
        "AB", "BS", "CF", "DN", "EH", "GL", "KT", "LS", "NW", "SE", "SW", "TW", "WC", "YO", "BT", "CM", "E", "N", "W",
        "M",
    ][i % 20];
    format!(
        "{area}{} {}{}{}",
        1 + (i / 20) % 20,
        i % 10,
        (b'A' + (i / 400 % 26) as u8) as char,
        (b'A' + (i % 26) as u8) as char
    )
}

pub async fn run(args: &BenchArgs) -> anyhow::Result<()> {
    in_temp_dir(|dir| async move { run_in(&dir, args).await }).await
}

async fn run_in(dir: &std::path::Path, args: &BenchArgs) -> anyhow::Result<()> {
    let url = format!("sqlite://{}", dir.join("names.db").display());
    let app = App::start(&app::Settings { database_url: url, kafka: None, ..Default::default() }).await?;
    let count = args.customers;
    register(&app, count).await?;
    let tally = spawn(crate::http::router(app.clone(), false)).await?;
    let bare = spawn(Router::new().route("/{*path}", any(|| async { r#"{"pagedArrayList":{}}"# }))).await?;
    for by_postcode in [false, true] {
        let what = if by_postcode { "postcode (outward code or whole)" } else { "name (2 to 4 letters)" };
        println!(
            "names: {} connections x {} s, searches by {what}, 20 rows a page, over {count} customers (SQLite)",
            args.connections, args.seconds
        );
        let found = drive(searches(tally, count, by_postcode), args.connections, args.seconds).await;
        found.print("tally ");
        let bare = drive(searches(bare, count, by_postcode), args.connections, args.seconds).await;
        bare.print("bare  ");
        print_ratio(&found, &bare);
    }
    Ok(())
}

/// The merchant, its till, and `count` customers registered through the writer.
async fn register(app: &Arc<App>, count: usize) -> anyhow::Result<()> {
    super::serve::merchant(&app.db, TENANT, CLIENT, &[]).await?;
    let actor = Actor { principal: "bench-setup".into(), role: Role::System };
    for chunk in (0..count).collect::<Vec<_>>().chunks(10_000) {
        let mut commands = Vec::with_capacity(chunk.len());
        for &i in chunk {
            let contact_id = Uuid::now_v7();
            let address = Address { postcode: Some(postcode(i)), ..Default::default() };
            let details = ContactDetails { name: Some(name(i)), address: Some(address), ..Default::default() };
            let command = contacts::register(app, TENANT, contact_id, format!("N{i}"), &details).await?;
            commands.push(Command::new(TENANT, actor.clone(), ContactAggregate::target(contact_id, command)));
        }
        run_phase(app, commands).await?;
    }
    Ok(())
}

/// Searches by the first 2 to 4 letters of a customer's given name or surname; or by the outward code of their
/// postcode (about 250 customers) or the whole of it.
fn searches(addr: SocketAddr, count: usize, by_postcode: bool) -> RequestMaker {
    let auth = basic(CLIENT);
    Arc::new(move |worker, n| {
        let i = (worker * 7919 + n * 104_729) % count.max(1);
        if by_postcode {
            let code = postcode(i);
            let term = if n % 2 == 0 { code.split(' ').next().unwrap_or_default() } else { code.as_str() };
            let body = format!(r#"{{"postcode":"{term}","pageInfo":{{"rowOffset":0,"rowCount":20}}}}"#);
            return json_post(addr, "/WebRestApi/rest/customers/postcodeSearch", &auth, body);
        }
        let name = name(i);
        let word = if n % 2 == 0 { name.split(' ').next_back() } else { name.split(' ').next() }.unwrap_or_default();
        let letters = 2 + n % 3;
        let term: String = word.chars().take(letters).collect();
        let body = format!(r#"{{"searchName":"{term}","pageInfo":{{"rowOffset":0,"rowCount":20}}}}"#);
        json_post(addr, "/WebRestApi/rest/customers/nameSearch", &auth, body)
    })
}

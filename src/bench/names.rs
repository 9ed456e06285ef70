//! `tally bench --scenario names --customers 100000`: Enactor's customer name search over a merchant with that many
//! customers: the POS's searches by the first letters of a name or surname, a page of
//! 20 each, from `--connections` tills, against the same load on a bare axum endpoint. Figures only.

use std::{net::SocketAddr, sync::Arc};

use axum::{routing::any, Router};
use tally_events::{Actor, ContactDetails, Role};
use uuid::Uuid;

use super::{
    basic, drive, in_temp_dir, json_post, print_ratio, run_phase, spawn, BenchArgs, RequestMaker, CLIENT, TENANT,
};
use crate::{
    app::{self, App},
    commands::{Command, Stream},
    domain::contact::{ContactAggregate, ContactCommand},
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

pub async fn run(args: &BenchArgs) -> anyhow::Result<()> {
    in_temp_dir(|dir| async move { run_in(&dir, args).await }).await
}

async fn run_in(dir: &std::path::Path, args: &BenchArgs) -> anyhow::Result<()> {
    let url = format!("sqlite://{}", dir.join("names.db").display());
    let app = App::start(&app::Settings { database_url: url, kafka: None }).await?;
    let count = args.customers;
    register(&app, count).await?;
    let tally = spawn(crate::http::router(app.clone(), false)).await?;
    let bare = spawn(Router::new().route("/{*path}", any(|| async { r#"{"pagedArrayList":{}}"# }))).await?;
    println!(
        "names: {} connections x {} s, name searches (2 to 4 letters, 20 rows a page) over {count} customers (SQLite)",
        args.connections, args.seconds
    );
    let tally = drive(searches(tally, count), args.connections, args.seconds).await;
    tally.print("tally ");
    let bare = drive(searches(bare, count), args.connections, args.seconds).await;
    bare.print("bare  ");
    print_ratio(&tally, &bare);
    Ok(())
}

/// The merchant, its till, and `count` customers registered through the writer.
async fn register(app: &Arc<App>, count: usize) -> anyhow::Result<()> {
    super::serve::merchant(&app.db, TENANT, CLIENT, &[]).await?;
    let actor = Actor { principal: "bench-setup".into(), role: Role::System };
    for chunk in (0..count).collect::<Vec<_>>().chunks(10_000) {
        let commands = chunk.iter().map(|&i| {
            let contact_id = Uuid::now_v7();
            let details = ContactDetails { name: Some(name(i)), ..Default::default() };
            let command = ContactCommand::Register { contact_id, code: format!("N{i}"), details };
            Command::new(TENANT, actor.clone(), ContactAggregate::target(contact_id, command))
        });
        run_phase(app, commands.collect()).await?;
    }
    Ok(())
}

/// Searches by the first 2 to 4 letters of a customer's given name or surname.
fn searches(addr: SocketAddr, count: usize) -> RequestMaker {
    let auth = basic(CLIENT);
    Arc::new(move |worker, n| {
        let i = (worker * 7919 + n * 104_729) % count.max(1);
        let name = name(i);
        let word = if n % 2 == 0 { name.split(' ').next_back() } else { name.split(' ').next() }.unwrap_or_default();
        let letters = 2 + n % 3;
        let term: String = word.chars().take(letters).collect();
        let body = format!(r#"{{"searchName":"{term}","pageInfo":{{"rowOffset":0,"rowCount":20}}}}"#);
        json_post(addr, "/WebRestApi/rest/customers/nameSearch", &auth, body)
    })
}

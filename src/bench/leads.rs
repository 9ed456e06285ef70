//! `tally bench --scenario leads`: Footprints lead updates (`PUT /api/lead/{id}?access_token=…`) from
//! `--connections` clients, each signed in as a staff member with a token of its own, against the same load on a
//! bare axum endpoint; then the pipeline's query time over a ledger of `--pipeline-leads` leads. On temporary SQLite
//! files. Figures only.
//!
//! An update is, in turn, a move in the pipeline, a change to the person's data (sealed with their key) or new tags;
//! every answer is the lead as it is now, opened, as Footprints answers.

use std::{
    net::SocketAddr,
    sync::Arc,
    time::{Duration, Instant},
};

use axum::{routing::any, Router};
use chrono::Utc;
use http_body_util::Full;
use hyper::{body::Bytes, Request};
use tally_events::{
    stream, Actor, Agreements, Event, LeadAdded, LeadPlacement, LeadStatus, LeadStatusChanged, LostReason, Role,
};
use tally_projections::{
    apply_batch,
    pipeline::{Dimension, Filter},
    NoKeys, Source,
};
use uuid::Uuid;

use super::{drive, in_temp_dir, print_ratio, serve, spawn, BenchArgs, RequestMaker};
use crate::{
    app::{self, App},
    auth::{tokens::GrantRequest, Principal},
    commands::{Command, Outcome, Stream},
    domain::lead::{LeadAggregate, LeadCommand},
    leads,
    store::{
        ledger::{self, Append, CommandMeta},
        object_id,
        staff::{self, SignIn},
        Db,
    },
};

/// Leads each client works on.
const LEADS_PER_CLIENT: usize = 32;
const LOCATIONS: usize = 20;
const CONSULTANTS: usize = 50;
const CHANNELS: usize = 5;
const OFFERS: usize = 10;

pub async fn run(args: &BenchArgs) -> anyhow::Result<()> {
    in_temp_dir(|dir| async move {
        updates(&dir, args).await?;
        if args.pipeline_leads > 0 {
            pipeline(&dir, args.pipeline_leads).await?;
        }
        Ok(())
    })
    .await
}

async fn updates(dir: &std::path::Path, args: &BenchArgs) -> anyhow::Result<()> {
    let url = format!("sqlite://{}", dir.join("leads.db").display());
    let app = App::start(&app::Settings { database_url: url, ..Default::default() }).await?;
    let tenant = "leads";
    let tokens = staff_tokens(&app, tenant, ("leads-app", "bench-secret"), args.connections).await?;
    let lead_ids = add_leads(&app, tenant, args.connections * LEADS_PER_CLIENT).await?;
    let tally = spawn(crate::http::router(app.clone(), false)).await?;
    let answer = r#"{"_id":"01a230630264fef3191b1603","status":"sale_lead","userFirstName":"Bench"}"#;
    let bare = spawn(Router::new().route("/{*path}", any(move || async move { answer }))).await?;
    println!(
        "leads: {} clients with tokens x {} s, lead updates (a move, a sealed change, tags) over {} leads \
         (SQLite, synchronous=FULL, WAL)",
        args.connections,
        args.seconds,
        lead_ids.len()
    );
    let load = drive(lead_updates(tally, &tokens, &lead_ids), args.connections, args.seconds).await;
    load.print("tally ");
    let bare = drive(lead_updates(bare, &tokens, &lead_ids), args.connections, args.seconds).await;
    bare.print("bare  ");
    print_ratio(&load, &bare);
    Ok(())
}

/// The merchant `tenant` with its application `client`, a staff member, and `count` access tokens of theirs (one
/// per bench client).
pub(super) async fn staff_tokens(
    app: &App,
    tenant: &str,
    client: (&str, &str),
    count: usize,
) -> anyhow::Result<Vec<String>> {
    serve::merchant(&app.db, tenant, client, &[]).await?;
    let sign_in = SignIn { username: Some("hostess"), password: Some("hostess-password"), pin: None };
    staff::create(&app.db.write, tenant, "Bench Hostess", Role::Marketer, sign_in).await?;
    let principal =
        Principal { client_id: client.0.into(), tenant: tenant.into(), role: Role::Administrator, staff_id: None };
    let mut tokens = Vec::new();
    for _ in 0..count {
        let request = GrantRequest::Password { username: "hostess".into(), password: "hostess-password".into() };
        tokens.push(app.auth.grant(&app.db, &principal, request, &app.tokens).await?.issued.access_token);
    }
    Ok(tokens)
}

/// Takes `count` leads through the writer, each with sealed personal data.
async fn add_leads(app: &Arc<App>, tenant: &str, count: usize) -> anyhow::Result<Vec<String>> {
    let actor = Actor { principal: "bench-setup".into(), role: Role::System };
    let mut ids = Vec::new();
    for chunk in (0..count).collect::<Vec<_>>().chunks(256) {
        let mut pending = Vec::new();
        for n in chunk {
            let customer_id = Uuid::now_v7();
            let person =
                serde_json::json!({"userFirstName": format!("Bench {n}"), "userEmail": format!("b{n}@example.com")});
            let personal = leads::seal(app, tenant, customer_id, person).await?;
            let lead_id = object_id();
            let added = LeadAdded { customer_id, personal, ..lead(*n) };
            let target = LeadAggregate::target(lead_id.clone(), LeadCommand::Add(Box::new(added)));
            let (executor, command) = (app.executor.clone(), Command::new(tenant, actor.clone(), target));
            pending.push(tokio::spawn(async move { executor.execute(command).await }));
            ids.push(lead_id);
        }
        for outcome in pending {
            match outcome.await?? {
                Outcome::Executed { result: Ok(_), .. } => {}
                other => anyhow::bail!("a bench lead was not taken: {other:?}"),
            }
        }
    }
    Ok(ids)
}

/// The `n`-th generated lead, spread over the catalogue's dimensions.
fn lead(n: usize) -> LeadAdded {
    LeadAdded {
        customer_id: Uuid::nil(),
        identity: None,
        status: LeadStatus::Lead,
        placement: LeadPlacement {
            location_id: Some(format!("L{}", n % LOCATIONS)),
            consultant_id: Some(format!("C{}", n % CONSULTANTS)),
            channel_id: Some(format!("CH{}", n % CHANNELS)),
            offer_id: Some(format!("O{}", n % OFFERS)),
            offer_category_id: Some("OC1".into()),
            ..LeadPlacement::default()
        },
        personal: None,
        tags: vec![],
        marketing_channels: vec![],
        agreements: Agreements::default(),
        nps: None,
        timezone: None,
    }
}

/// Each client works on leads of its own, in turn moving one, changing its person's city and its tags.
fn lead_updates(addr: SocketAddr, tokens: &[String], lead_ids: &[String]) -> RequestMaker {
    let (tokens, lead_ids) = (tokens.to_vec(), lead_ids.to_vec());
    Arc::new(move |client, n| {
        let lead = &lead_ids[client * LEADS_PER_CLIENT + n % LEADS_PER_CLIENT];
        let body = match (n / LEADS_PER_CLIENT) % 3 {
            0 => ["status=sale_lead", "status=opportunity", "status=lead"][n % 3].to_owned(),
            1 => format!("userCity=City+{n}"),
            _ => format!("tags[]=t{}&tags[]=bench", n % 7),
        };
        Request::put(format!("http://{addr}/api/lead/{lead}?access_token={}", tokens[client]))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Full::new(Bytes::from(body)))
            .expect("a valid request")
    })
}

/// Writes a ledger of `count` leads (a third of them moved on, one in ten lost) with their views, then times the
/// pipeline's queries.
async fn pipeline(dir: &std::path::Path, count: usize) -> anyhow::Result<()> {
    let db = Db::connect(&format!("sqlite://{}", dir.join("pipeline.db").display())).await?;
    let tenant = "pipeline";
    let started = Instant::now();
    let actor = Actor { principal: "bench".into(), role: Role::System };
    let sealed = tally_events::Sealed { subject: Uuid::nil(), sealed: "A".repeat(96) };
    let mut written = 0;
    while written < count {
        let chunk = 10_000.min(count - written);
        let now = Utc::now();
        let metas: Vec<CommandMeta> = (0..chunk)
            .map(|n| CommandMeta {
                tenant: tenant.into(),
                actor: actor.clone(),
                correlation_id: Uuid::now_v7(),
                causation_id: None,
                idempotency_key: None,
                // Spread over the last 90 days.
                occurred_at: now - chrono::Duration::minutes(((written + n) % (90 * 24 * 60)) as i64),
                recorded_at: now,
            })
            .collect();
        let streams: Vec<String> = (0..chunk).map(|_| stream::lead(tenant, &object_id())).collect();
        let events: Vec<Vec<Event>> = (0..chunk)
            .map(|n| {
                let n = written + n;
                let added = LeadAdded { customer_id: Uuid::now_v7(), personal: Some(sealed.clone()), ..lead(n) };
                let mut events = vec![Event::LeadAdded(added)];
                match n % 10 {
                    0 => events.push(Event::LeadLost(tally_events::LeadLost {
                        from: LeadStatus::Lead,
                        reason: LostReason::ALL[n % LostReason::ALL.len()],
                        comment: None,
                    })),
                    1..=3 => events.push(Event::LeadStatusChanged(LeadStatusChanged {
                        from: LeadStatus::Lead,
                        to: [LeadStatus::SaleLead, LeadStatus::Opportunity, LeadStatus::Customer][n % 3],
                        contract: None,
                    })),
                    _ => {}
                }
                events
            })
            .collect();
        let items: Vec<Append<'_>> = (0..chunk)
            .map(|n| Append { stream_id: &streams[n], expected_version: 0, events: &events[n], meta: &metas[n] })
            .collect();
        let mut tx = db.write.begin().await?;
        ledger::append_batch(&mut tx, &items).await?;
        let sources: Vec<(Source<'_>, &[Event])> = items
            .iter()
            .map(|a| {
                (Source { tenant, stream_id: a.stream_id, occurred_at: a.meta.occurred_at, keys: &NoKeys }, a.events)
            })
            .collect();
        apply_batch(&mut tx, &sources).await?;
        tx.commit().await?;
        written += chunk;
    }
    println!("pipeline: wrote {count} leads with their views in {:.1} s", started.elapsed().as_secs_f64());
    let period = (Utc::now() - chrono::Duration::days(30), Utc::now());
    let cases: [(&str, Filter, Option<Dimension>); 4] = [
        ("whole pipeline", Filter::default(), None),
        ("one location", Filter { equal: vec![(Dimension::Location, "L7".into())] }, None),
        ("split by consultant", Filter::default(), Some(Dimension::Consultant)),
        (
            "one offer, split by channel",
            Filter { equal: vec![(Dimension::Offer, "O3".into())] },
            Some(Dimension::Channel),
        ),
    ];
    for (label, filter, split) in cases {
        let mut times = Vec::new();
        let mut figures = None;
        for _ in 0..5 {
            let started = Instant::now();
            figures = Some(leads::pipeline(&db, tenant, &filter, split, period).await?);
            times.push(started.elapsed());
        }
        times.sort();
        let figures = figures.expect("ran");
        let counted: i64 = figures.stages.iter().map(|stage| stage.leads).sum();
        println!(
            "pipeline: {label:<28} median {:>8.1} ms (best {:.1} ms) over {counted} leads, {} rows, {} added in 30 days",
            ms(times[2]),
            ms(times[0]),
            figures.stages.len(),
            figures.period.added
        );
    }
    Ok(())
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

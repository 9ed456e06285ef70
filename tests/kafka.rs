//! Every ledger event on Kafka, against a real broker (tansu, started per test): exactly once after de-duplication
//! by `event_id`, in stream order per key, through a broker outage, a killed relay, and a relay that moves between
//! two processes on PostgreSQL; replay from Kafka equals replay from the ledger equals the live projection.

mod common;

use std::{
    collections::{HashMap, HashSet},
    sync::{
        atomic::{AtomicBool, AtomicUsize, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use common::{Broker, Instance, TestApp};
use rdkafka::message::{Headers, Message};
use reqwest::StatusCode;
use serde_json::json;
use tally::{
    commands::{Command, Outcome, Stream, Target},
    domain::card::{CardAggregate, CardCommand},
    kafka::{consume, follow, relay, KafkaSettings},
    store::{subscriptions, Db},
};
use tally_events::{Actor, CardCategory, CardType, Envelope, Role};
use tally_projections::rebuild::Views;

/// A message as it came off a partition.
struct Published {
    topic: String,
    key: String,
    headers: HashMap<String, String>,
    envelope: Envelope,
}

/// Every message on the topics, in partition order.
async fn published(settings: &KafkaSettings) -> Vec<Published> {
    let mut all = Vec::new();
    consume::read_topics(settings, |message| {
        let headers = message.headers().map_or_else(HashMap::new, |headers| {
            headers
                .iter()
                .map(|h| (h.key.to_owned(), String::from_utf8_lossy(h.value.unwrap_or_default()).into_owned()))
                .collect()
        });
        all.push(Published {
            topic: message.topic().to_owned(),
            key: String::from_utf8_lossy(message.key().unwrap_or_default()).into_owned(),
            headers,
            envelope: consume::envelope_of(message)?,
        });
        Ok(())
    })
    .await
    .expect("the topics are readable");
    all
}

/// The relay's checkpoint and the ledger's last position.
async fn progress(db: &Db) -> (i64, i64) {
    subscriptions::progress(db, relay::NAME).await.expect("the relay's progress reads")
}

/// Waits until the relay has published the whole ledger.
async fn wait_published(db: &Db, within: Duration) {
    let deadline = Instant::now() + within;
    loop {
        let (checkpoint, last) = progress(db).await;
        if checkpoint == last {
            return;
        }
        assert!(Instant::now() < deadline, "the relay is stuck at {checkpoint} of {last}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Asserts the topics hold every ledger event, each once after de-duplication by `event_id`, on its family's topic
/// with the stream as key and the contract's headers, and each stream's events in order. Returns how many messages
/// were read (duplicates included).
async fn assert_exactly_the_ledger(db: &Db, settings: &KafkaSettings) -> usize {
    let messages = published(settings).await;
    let ledger: Vec<(String, String, i64)> =
        sqlx::query_as("SELECT event_id, stream_id, stream_version FROM events ORDER BY global_position")
            .fetch_all(&db.read)
            .await
            .unwrap();
    let mut seen = HashSet::new();
    let mut versions: HashMap<String, Vec<i64>> = HashMap::new();
    for message in &messages {
        let envelope = &message.envelope;
        let family = tally_events::family_of(&envelope.event_type).expect("a known event type");
        assert_eq!(message.topic, settings.topic(family));
        assert_eq!(message.key, envelope.stream_id);
        let id = envelope.event_id.to_string();
        assert_eq!(message.headers.get("event_id"), Some(&id));
        assert_eq!(message.headers.get("event_type"), Some(&envelope.event_type));
        assert_eq!(message.headers.get("schema_version"), Some(&envelope.schema_version.to_string()));
        assert_eq!(message.headers.get("tenant"), Some(&envelope.tenant));
        assert_eq!(message.headers.get("correlation_id"), Some(&envelope.correlation_id.to_string()));
        if seen.insert(id) {
            versions.entry(envelope.stream_id.clone()).or_default().push(envelope.stream_version);
        }
    }
    let expected: HashSet<String> = ledger.iter().map(|(id, _, _)| id.clone()).collect();
    assert_eq!(seen.len(), expected.len(), "distinct events on Kafka vs in the ledger");
    assert_eq!(seen, expected, "the same events");
    let mut streams: HashMap<String, i64> = HashMap::new();
    for (_, stream, version) in &ledger {
        streams.entry(stream.clone()).and_modify(|v| *v = (*v).max(*version)).or_insert(*version);
    }
    for (stream, last) in streams {
        assert_eq!(versions[&stream], (1..=last).collect::<Vec<_>>(), "{stream} arrives in order");
    }
    messages.len()
}

/// Concurrent accruals and redemptions through `/v1` on `contacts`, by `workers` until `stop`; returns how many
/// succeeded, and panics on any failure.
fn load(app: &TestApp, contacts: &[String], workers: usize, stop: Arc<AtomicBool>) -> tokio::task::JoinHandle<usize> {
    let done = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..workers)
        .map(|worker| {
            let (http, base, contacts, stop, done) =
                (app.http.clone(), app.base.clone(), contacts.to_vec(), stop.clone(), done.clone());
            tokio::spawn(async move {
                let (id, secret) = common::credentials("administrator");
                let mut n = worker;
                while !stop.load(Ordering::Relaxed) {
                    let contact = &contacts[n % contacts.len()];
                    // Every third visit to a contact redeems half of what one accrual gives.
                    let (path, body) = if (n / contacts.len()) % 3 == 2 {
                        (format!("/v1/accounts/{contact}/redemptions"), json!({"amount": "0.50"}))
                    } else {
                        (format!("/v1/accounts/{contact}/accruals"), json!({"amount": "1.00", "bonus_type": "cash"}))
                    };
                    let response = http
                        .post(format!("{base}{path}"))
                        .basic_auth(&id, Some(&secret))
                        .header("Idempotency-Key", uuid::Uuid::new_v4().to_string())
                        .json(&body)
                        .send()
                        .await
                        .expect("the command is answered");
                    let status = response.status();
                    assert_eq!(status, StatusCode::CREATED, "{}", response.text().await.unwrap_or_default());
                    done.fetch_add(1, Ordering::Relaxed);
                    n += workers;
                }
            })
        })
        .collect();
    tokio::spawn(async move {
        for task in tasks {
            task.await.expect("no command failed");
        }
        done.load(Ordering::Relaxed)
    })
}

/// [`load`] for `duration`; returns how many commands succeeded.
async fn load_for(app: &TestApp, contacts: &[String], workers: usize, duration: Duration) -> usize {
    let stop = Arc::new(AtomicBool::new(false));
    let running = load(app, contacts, workers, stop.clone());
    tokio::time::sleep(duration).await;
    stop.store(true, Ordering::Relaxed);
    running.await.expect("no command failed")
}

/// A broker, and Tally publishing to it.
async fn served() -> (Broker, KafkaSettings, TestApp) {
    let broker = Broker::start().await;
    let settings = broker.settings();
    let app = common::spawn_app_with(Some(settings.clone())).await;
    app.with_catalogue().await;
    (broker, settings, app)
}

/// Contacts with 100 bonuses each, so that the load's redemptions are covered.
async fn contacts(app: &TestApp, count: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for n in 0..count {
        let id =
            app.register_contact(json!({"name": format!("Kafka {n}"), "mobile_number": format!("+7999100{n:04}")}));
        let id = id.await;
        let reply = app
            .post(
                "administrator",
                &format!("/v1/accounts/{id}/accruals"),
                json!({"amount": "100", "bonus_type": "cash"}),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
        ids.push(id);
    }
    ids
}

/// Some promotions traffic (a clip and scans up to the cap and past it), so that the promotions topic, the wallet
/// items and the daily tally take part.
async fn scans(app: &TestApp) {
    let reply = app.post("administrator", "/v1/businesses", json!({"business_id": "KB-1", "name": "Kafka Cafe"})).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    let ends_at = (chrono::Utc::now() + chrono::Duration::days(1)).to_rfc3339();
    let promotion = json!({"business_id": "KB-1", "promotion_id": "P1", "title": "Kafka", "cap": 5,
        "ends_at": ends_at, "price_per_use": "0.75", "price_per_clip": "0.05"});
    let reply = app.post("administrator", "/v1/promotions", promotion).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    let clip = app.post("administrator", "/v1/promotions/KB-1/P1/clips", json!({"wallet_item_id": "KW-1"})).await;
    assert_eq!(clip.status, StatusCode::CREATED, "{:?}", clip.body);
    for n in 0..8 {
        let barcode = json!({"barcode": {"src": "KB-1", "id": "P1", "key": format!("C{n}")}});
        let reply = app.post("cc_operator", "/scantrack", barcode).await;
        assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    }
}

/// A deposit account paid into and out of, so that the money topic and view take part.
async fn money(app: &TestApp) {
    let opened = json!({"account_type": "deposit", "account_id": "KD-1", "currency": "EUR"});
    assert_eq!(app.post("administrator", "/v1/money-accounts", opened).await.status, StatusCode::CREATED);
    for direction in ["in", "out"] {
        let path = format!("/v1/money-accounts/deposit/KD-1/payments-{direction}");
        assert_eq!(app.post("administrator", &path, json!({"amount": "5"})).await.status, StatusCode::CREATED);
    }
    vending(app).await;
}

/// A purchase at a vending machine paid from `KD-1` (its steps taken through the core: the platform is not part
/// of this test), and a machine's alert through the feed.
async fn vending(app: &TestApp) {
    use tally::{
        commands::{Command, Stream},
        domain::vend::{Selection, VendAggregate, VendCommand},
        vending::{self, By},
    };
    let path = "/v1/money-accounts/deposit/KD-1/payments-in";
    assert_eq!(app.post("administrator", path, json!({"amount": "3"})).await.status, StatusCode::CREATED);
    let started = tally_events::VendStarted {
        vm_id: "VM-K".into(),
        account_type: tally_events::MoneyAccountType::Deposit,
        account_id: "KD-1".into(),
        payment_reference: None,
        balance_minor: 300,
        answer_due: chrono::Utc::now() + chrono::Duration::seconds(30),
    };
    let actor = tally::jobs::system("kafka-test");
    let start = VendAggregate::target("k1".into(), VendCommand::Start(started));
    app.app.executor.execute(Command::new(common::TENANT, actor.clone(), start)).await.unwrap();
    let by = By { tenant: common::TENANT, actor, cause: None };
    let selection = Selection { selection: "11".into(), price_minor: 120, new_txn_ref: Some("k1-r".into()) };
    assert_eq!(vending::select(&app.app, &by, "k1", selection).await.unwrap(), vending::Selected::Approved);
    vending::vended(&app.app, &by, "k1", true, String::new()).await.unwrap();
    let alert = json!({"vm_id": "VM-K", "time": 1764590000, "message": "Door open", "level": "High"});
    let reply = app.post("administrator", "/vending/feed/alerts", alert).await;
    assert_eq!(reply.body["success"], true, "{:?}", reply.body);
}

/// A lead taken, worked on and lost through Footprints, so that the leads topic and views take part.
async fn leads(app: &TestApp) {
    let token = app.app_token("marketer").await;
    let lead = app
        .add_lead(
            &token,
            "userFirstName=Forgettable&userEmail=kafka@example.com&userPhone=0700000009&locationId=K1&offerId=O1",
        )
        .await;
    let action = format!("leadId={lead}&leadActionTypeId=000000000000000000000001&date=2026-05-01 10:00:00");
    let reply = app.footprints(&token, reqwest::Method::POST, "/api/lead/action", Some(&action)).await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    let path = format!("/api/lead/{lead}/leadLost");
    let reply =
        app.footprints(&token, reqwest::Method::PUT, &path, Some("reasonLost=need&comment=Forgettable+moved")).await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    // The person asks to be forgotten.
    let reply = app
        .footprints(
            &token,
            reqwest::Method::DELETE,
            "/api/client?userEmail=kafka@example.com&userPhone=0700000009",
            None,
        )
        .await;
    assert_eq!(reply.body["status"], "success", "{:?}", reply.body);
}

/// A template and a notification (it stays queued: this app sends no mail), so that the notifications topic and
/// views take part.
async fn notification(app: &TestApp) {
    let text = json!({"subject": "Hello {{firstName}}", "body": "Welcome"});
    let path = "/v1/notification-templates/kafka";
    let reply = app.send("administrator", reqwest::Method::PUT, path, Some(text), Some("template-kafka")).await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    let token = app.app_token("marketer").await;
    let form = "templateKey=kafka&email=note%40example.com&firstName=Noted";
    let reply = app.footprints(&token, reqwest::Method::POST, "/api/notifications/send", Some(form)).await;
    assert_eq!(reply.body["status"], "success", "{:?}", reply.body);
}

/// A loyalty campaign with codes, one handed out and redeemed, so that the loyalty topic and views take part.
async fn loyalty(app: &TestApp) {
    let now = chrono::Utc::now();
    let campaign = json!({
        "name": "Kafka",
        "start_date": now - chrono::Duration::days(1),
        "end_date": now + chrono::Duration::days(1),
        "expire_codes_date": now + chrono::Duration::days(2),
        "loyalty_settings": {"prize_types": [{"name": "Coffee", "points_value": 5}]},
    });
    let path = "/v1/loyalty-campaigns/kafka";
    let reply = app.send("administrator", reqwest::Method::PUT, path, Some(campaign), Some("campaign-kafka")).await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    let prize = app.get("administrator", path).await.body["loyalty_settings"]["prize_types"][0]["id"].clone();
    let reply =
        app.post("administrator", "/v1/loyalty-campaigns/kafka/codes", json!({"prize_id": prize, "count": 3})).await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    let token = app.app_token("marketer").await;
    let client = "userEmail=loyal%40example.com&userPhone=0700000042&campaignInternalId=kafka";
    let given = app.footprints(&token, reqwest::Method::POST, "/api/loyaltyCode/allocate", Some(client)).await;
    assert_eq!(given.status, StatusCode::OK, "{:?}", given.body);
    let redeem = format!("{client}&code={}", given.body["code"].as_str().unwrap());
    let reply = app.footprints(&token, reqwest::Method::POST, "/api/loyaltyCode/change", Some(&redeem)).await;
    assert_eq!(reply.body["status"], "success", "{:?}", reply.body);
}

/// After the erasures (the Footprints customer's and `contact`'s), the topics hold nothing of those people that can
/// be read: no field in the clear, and every sealed value of theirs fails to open.
async fn assert_forgotten_on_kafka(app: &TestApp, settings: &KafkaSettings, contact: &str) {
    fn sealed_values(value: &serde_json::Value, found: &mut Vec<tally_events::Sealed>) {
        match value {
            serde_json::Value::Object(map) if map.contains_key("sealed") => {
                found.push(serde_json::from_value(value.clone()).expect("a sealed value"))
            }
            serde_json::Value::Object(map) => map.values().for_each(|v| sealed_values(v, found)),
            serde_json::Value::Array(items) => items.iter().for_each(|v| sealed_values(v, found)),
            _ => {}
        }
    }
    let erased: Vec<(String,)> = sqlx::query_as("SELECT subject_id FROM subject_keys WHERE key IS NULL")
        .fetch_all(&app.app.db.read)
        .await
        .unwrap();
    let erased: Vec<uuid::Uuid> = erased.iter().map(|(id,)| id.parse().unwrap()).collect();
    assert!(erased.contains(&contact.parse().unwrap()) && erased.len() == 2, "{erased:?}");
    let mut sealed = Vec::new();
    for message in published(settings).await {
        let text = message.envelope.payload.to_string();
        assert!(!text.contains("kafka@example.com") && !text.contains("Forgettable"), "in the clear on Kafka: {text}");
        assert!(!text.contains("+7999100"), "a contact's number in the clear on Kafka: {text}");
        assert!(!text.contains("note@example.com"), "a recipient in the clear on Kafka: {text}");
        sealed_values(&message.envelope.payload, &mut sealed);
    }
    sealed.retain(|value| erased.contains(&value.subject));
    assert!(sealed.len() >= 3, "the lead, the comment and the contact were sealed ({})", sealed.len());
    let refs: Vec<&tally_events::Sealed> = sealed.iter().collect();
    let opened = app.app.vault.open_all(&app.app.db, common::TENANT, &refs).await.unwrap();
    assert!(opened.iter().all(Option::is_none), "an erased customer's data opens no more");
}

#[tokio::test]
async fn every_event_arrives_once_in_stream_order_and_replays_to_the_live_projection() {
    let (_broker, settings, app) = served().await;
    let contacts = contacts(&app, 12).await;
    app.bound_card("7100000000001", "+79991009999", true).await;
    scans(&app).await;
    money(&app).await;
    leads(&app).await;
    notification(&app).await;
    loyalty(&app).await;
    // A contact asks to be forgotten too; their account goes on.
    let path = format!("/v1/contacts/{}", contacts[0]);
    let erased = app.send("administrator", reqwest::Method::DELETE, &path, None, Some("erase-kafka")).await;
    assert_eq!(erased.status, StatusCode::OK, "{:?}", erased.body);
    let commands = load_for(&app, &contacts, 16, Duration::from_secs(3)).await;
    assert!(commands > 100, "the load ran ({commands} commands)");
    wait_published(&app.app.db, Duration::from_secs(30)).await;
    assert_exactly_the_ledger(&app.app.db, &settings).await;

    let keys = tally::vault::KeyRing::all(&mut app.app.db.read.acquire().await.unwrap()).await.unwrap();
    let (from_kafka, _, events) = consume::replay(&settings, &keys).await.expect("replay from Kafka");
    let (from_ledger, ledger_events, _) = common::fold_ledger(&app.app.db).await;
    let live = Views::load_live(&mut app.app.db.read.acquire().await.unwrap()).await.unwrap();
    assert_eq!(events, ledger_events);
    assert_eq!(from_kafka, from_ledger, "replay from Kafka equals replay from the ledger");
    assert_eq!(from_kafka, live, "and both equal the live projection");
    assert!(from_kafka.compare(&live).iter().all(|(_, rows, equal)| *rows > 0 && *equal), "every view has rows");
    assert_forgotten_on_kafka(&app, &settings, &contacts[0]).await;

    // `tally tail` prints the published envelopes of the families asked for.
    let tail = std::process::Command::new(env!("CARGO_BIN_EXE_tally"))
        .args(["--kafka-brokers", &settings.brokers, "tail", "--from-beginning", "--family", "promotions"])
        .args(["--limit", "5"])
        .output()
        .expect("tally tail runs");
    assert!(tail.status.success(), "{}", String::from_utf8_lossy(&tail.stderr));
    let lines: Vec<Envelope> =
        String::from_utf8(tail.stdout).unwrap().lines().map(|line| serde_json::from_str(line).unwrap()).collect();
    assert_eq!(lines.len(), 5);
    assert!(lines.iter().all(|e| tally_events::family_of(&e.event_type) == Some("promotions")));
}

#[tokio::test]
async fn a_broker_outage_fails_no_command_and_loses_nothing() {
    let (mut broker, settings, app) = served().await;
    let contacts = contacts(&app, 8).await;
    wait_published(&app.app.db, Duration::from_secs(30)).await;
    let stop = Arc::new(AtomicBool::new(false));
    let running = load(&app, &contacts, 8, stop.clone());
    tokio::time::sleep(Duration::from_secs(1)).await;
    broker.stop();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (stalled_at, during) = progress(&app.app.db).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (still_at, after) = progress(&app.app.db).await;
    assert_eq!(stalled_at, still_at, "nothing is published while the broker is away");
    assert!(after > during, "commands go on while the broker is away ({during} -> {after})");
    broker.resume().await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    stop.store(true, Ordering::Relaxed);
    running.await.expect("no command failed during the outage");
    wait_published(&app.app.db, Duration::from_secs(60)).await;
    assert_exactly_the_ledger(&app.app.db, &settings).await;
}

/// Registers `count` cards numbered from `first`, in batches of 1,000 (one event each), straight through the writer.
async fn register_cards(app: &common::Core, first: usize, count: usize) {
    let actor = Actor { principal: "kafka-test".into(), role: Role::System };
    for batch in (first..first + count).step_by(1000) {
        let cards = (batch..(batch + 1000).min(first + count)).map(|n| {
            let number = format!("5{n:012}");
            let command = CardCommand::Register {
                number: number.clone(),
                category: CardCategory::Virtual,
                card_type: CardType::Bonus,
            };
            CardAggregate::target(number, command)
        });
        let command = Command::new(common::TENANT, actor.clone(), Target::all(cards));
        assert!(matches!(app.executor.execute(command).await.unwrap(), Outcome::Executed { result: Ok(_), .. }));
    }
}

#[tokio::test]
async fn a_relay_killed_mid_batch_loses_nothing_when_started_again() {
    let broker = Broker::start().await;
    let settings = broker.settings();
    let (app, database_url) = common::core_app().await;
    common::seed_principals(&app.db).await;
    register_cards(&app, 0, 2_000).await;
    let kafka = ["--kafka-brokers", &settings.brokers, "--kafka-partitions", "3"];
    let mut relay = Instance::start(&database_url, &kafka).await;
    wait_published(&app.db, Duration::from_secs(60)).await;
    // With the broker frozen, the next events are handed to the producer and never acknowledged: the relay is
    // mid-batch when it is killed. The broker may still write what reached its socket before the kill.
    broker.freeze(true);
    register_cards(&app, 2_000, 3_000).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    relay.kill();
    broker.freeze(false);
    let (checkpoint, last) = progress(&app.db).await;
    assert_eq!(checkpoint, 2_000, "the unacknowledged batch left the checkpoint where it was");
    assert_eq!(last, 5_000);
    let _relay = Instance::start(&database_url, &kafka).await;
    wait_published(&app.db, Duration::from_secs(60)).await;
    assert_exactly_the_ledger(&app.db, &settings).await;
}

/// The lease holder a process reports in its metrics, if it holds the lease.
fn holds_lease(metrics: &str) -> bool {
    metrics.lines().any(|line| line.starts_with("tally_relay_lease_held{") && line.ends_with(" 1"))
}

#[tokio::test]
#[ignore = "needs TALLY_TEST_DATABASE_URL; scripts/test.sh runs it against PostgreSQL"]
async fn one_relay_publishes_across_two_processes_and_the_other_takes_over() {
    assert!(std::env::var("TALLY_TEST_DATABASE_URL").is_ok(), "set TALLY_TEST_DATABASE_URL to a PostgreSQL server");
    let broker = Broker::start().await;
    let settings = broker.settings();
    let (app, database_url) = common::core_app().await;
    common::seed_principals(&app.db).await;
    let kafka = ["--kafka-brokers", &settings.brokers, "--kafka-partitions", "3"];
    let a = Instance::start(&database_url, &kafka).await;
    let b = Instance::start(&database_url, &kafka).await;
    let mut ids = Vec::new();
    for n in 0..20 {
        let base = if n % 2 == 0 { &a.base } else { &b.base };
        let (status, body) = common::post_to(
            base,
            "/v1/contacts",
            json!({"name": format!("Lease {n}"), "mobile_number": format!("+7999200{n:04}")}),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        ids.push(body["contact_id"].as_str().unwrap().to_owned());
    }
    wait_published(&app.db, Duration::from_secs(30)).await;
    let (a_holds, b_holds) = (holds_lease(&a.metrics().await), holds_lease(&b.metrics().await));
    assert!(a_holds != b_holds, "exactly one process holds the lease (a: {a_holds}, b: {b_holds})");
    let (mut holder, survivor) = if a_holds { (a, b) } else { (b, a) };
    holder.kill();
    for id in &ids {
        let (status, body) =
            common::post_to(&survivor.base, &format!("/v1/accounts/{id}/accruals"), json!({"amount": "2.00"})).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    wait_published(&app.db, Duration::from_secs(30)).await;
    assert!(holds_lease(&survivor.metrics().await), "the survivor took the lease over");
    assert_exactly_the_ledger(&app.db, &settings).await;
}

/// Waits until the read models of `follower` equal the live projection of `primary`.
async fn wait_equal(primary: &Db, follower: &Db, within: Duration) {
    let deadline = Instant::now() + within;
    loop {
        let live = Views::load_live(&mut primary.read.acquire().await.unwrap()).await.unwrap();
        let followed = Views::load_live(&mut follower.read.acquire().await.unwrap()).await.unwrap();
        if live == followed {
            return;
        }
        assert!(Instant::now() < deadline, "the runner's read models never matched: {:?}", followed.compare(&live));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_projection_runner_follows_into_its_own_database_and_resumes_without_skipping_or_double_applying() {
    let (_broker, settings, app) = served().await;
    let contacts = contacts(&app, 6).await;
    // Scans add up in the daily tally: applying one twice would show.
    scans(&app).await;
    let (follower_url, _dir) = common::fresh_database().await;
    let follower = Db::connect(&follower_url).await.unwrap();
    let own_ledger = follow::follow(&app.app.db, &settings, "refused", None).await;
    assert!(matches!(own_ledger, Err(follow::FollowError::HasLedger)), "{own_ledger:?}");

    let runner = tokio::spawn({
        // The runner reads the customers' keys from the ledger's database, to open the contacts' personal data.
        let (follower, settings, primary) = (follower.clone(), settings.clone(), app.app.db.clone());
        async move { follow::follow(&follower, &settings, "runner-a", Some(&primary)).await }
    });
    load_for(&app, &contacts, 6, Duration::from_secs(2)).await;
    wait_published(&app.app.db, Duration::from_secs(30)).await;
    wait_equal(&app.app.db, &follower, Duration::from_secs(60)).await;
    runner.abort();

    // More events while no runner runs; then a runner in a new group, which Kafka starts from the beginning of every
    // partition: the offsets stored with the read models skip what was applied, and the rest is applied once.
    load_for(&app, &contacts, 6, Duration::from_secs(1)).await;
    wait_published(&app.app.db, Duration::from_secs(30)).await;
    let runner = tokio::spawn({
        let (follower, settings, primary) = (follower.clone(), settings.clone(), app.app.db.clone());
        async move { follow::follow(&follower, &settings, "runner-b", Some(&primary)).await }
    });
    wait_equal(&app.app.db, &follower, Duration::from_secs(60)).await;
    runner.abort();
    let (streams,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM follow_streams").fetch_one(&follower.read).await.unwrap();
    let (ledger_streams,): (i64,) =
        sqlx::query_as("SELECT COUNT(DISTINCT stream_id) FROM events").fetch_one(&app.app.db.read).await.unwrap();
    assert_eq!(streams, ledger_streams, "every stream is followed");
}

//! The integration-test harness: `spawn_app()` starts Tally on port 0 with its own database — a fresh SQLite file,
//! or, when `TALLY_TEST_DATABASE_URL` names a PostgreSQL server, a fresh database created on it — with merchant
//! `acme` (required contact fields: name, mobile_number), merchant `other`, and one API client per role.
#![allow(dead_code)]

pub mod enactor;
pub mod footprints;
pub mod mail;
pub mod vending;

use std::{
    net::TcpListener,
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use reqwest::{header::HeaderMap, Method, StatusCode};
use serde_json::Value;
use tally::{
    app::{self, App},
    kafka::KafkaSettings,
    store::merchants::{self, Merchant},
};
use tally_events::Role;

pub const TENANT: &str = "acme";
pub const OTHER_TENANT: &str = "other";

/// The running core, without HTTP.
pub type Core = std::sync::Arc<App>;

pub struct TestApp {
    pub base: String,
    pub app: Core,
    pub database_url: String,
    pub http: reqwest::Client,
}

/// A response: status, JSON body (Null when not JSON) and headers.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub body: Value,
    pub headers: HeaderMap,
}

/// The whole ledger folded into fresh views, with the keys of the customers not erased (as `tally replay` does):
/// the views, the events folded and the last position.
pub async fn fold_ledger(db: &tally::store::Db) -> (tally_projections::rebuild::Views, u64, i64) {
    let keys = tally::vault::KeyRing::all(&mut db.read.acquire().await.unwrap()).await.unwrap();
    tally_projections::rebuild::fold_ledger(&db.read, &keys).await.unwrap()
}

/// The credentials of the test client with `role` in `acme`: `acme-<role>` / `secret-<role>`.
pub fn credentials(role: &str) -> (String, String) {
    (format!("{TENANT}-{role}"), format!("secret-{role}"))
}

/// A database URL for a new test: a temp SQLite file, or a new database on the PostgreSQL server under test.
pub async fn fresh_database() -> (String, Option<tempfile::TempDir>) {
    match std::env::var("TALLY_TEST_DATABASE_URL") {
        Ok(admin_url) => {
            let name = format!("tally_test_{}", uuid::Uuid::new_v4().simple());
            sqlx::any::install_default_drivers();
            let mut admin = <sqlx::AnyConnection as sqlx::Connection>::connect(&admin_url).await.expect("postgres");
            sqlx::Executor::execute(&mut admin, format!("CREATE DATABASE {name}").as_str()).await.expect("create db");
            let base = admin_url.rsplit_once('/').expect("a database in the URL").0;
            (format!("{base}/{name}"), None)
        }
        Err(_) => {
            let dir = tempfile::tempdir().expect("temp dir");
            (format!("sqlite://{}", dir.path().join("tally.db").display()), Some(dir))
        }
    }
}

/// Creates the test merchants and one client per role in `acme`, plus `other-administrator` in `other`.
pub async fn seed_principals(db: &tally::store::Db) {
    for tenant in [TENANT, OTHER_TENANT] {
        let merchant = Merchant {
            tenant: tenant.into(),
            name: tenant.into(),
            time_zone: "Europe/Moscow".into(),
            required_contact_fields: vec!["name".into(), "mobile_number".into()],
        };
        merchants::create(&db.write, &merchant).await.expect("merchant");
    }
    for role in Role::ALL.into_iter().filter(|r| *r != Role::System) {
        let (id, secret) = credentials(role.as_str());
        merchants::create_client(&db.write, &id, &secret, TENANT, role).await.expect("client");
    }
    merchants::create_client(
        &db.write,
        "other-administrator",
        "secret-administrator",
        OTHER_TENANT,
        Role::Administrator,
    )
    .await
    .expect("client");
}

/// The core without HTTP on a fresh database: the command writer and the pools. The database (a temp file on
/// SQLite) lives as long as the test process.
pub async fn core_app() -> (Core, String) {
    core_app_with(None).await
}

/// [`core_app`], publishing to Kafka when `kafka` is given.
pub async fn core_app_with(kafka: Option<KafkaSettings>) -> (Core, String) {
    core_app_from(app::Settings { kafka, ..Default::default() }).await
}

/// [`core_app`] started with `settings` (on a fresh database, whatever their `database_url`).
pub async fn core_app_from(settings: app::Settings) -> (Core, String) {
    let (database_url, dir) = fresh_database().await;
    std::mem::forget(dir);
    let settings = app::Settings { database_url: database_url.clone(), ..settings };
    (App::start(&settings).await.expect("app starts"), database_url)
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(None).await
}

/// [`spawn_app`], publishing to Kafka when `kafka` is given.
pub async fn spawn_app_with(kafka: Option<KafkaSettings>) -> TestApp {
    spawn_app_from(app::Settings { kafka, ..Default::default() }).await
}

/// [`spawn_app`] started with `settings` (on a fresh database, whatever their `database_url`).
pub async fn spawn_app_from(settings: app::Settings) -> TestApp {
    let (app, database_url) = core_app_from(settings).await;
    seed_principals(&app.db).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().unwrap());
    let router = tally::http::router(app.clone(), false);
    tokio::spawn(async move { axum::serve(listener, router).await });
    TestApp { base, app, database_url, http: reqwest::Client::new() }
}

impl TestApp {
    /// Sends a request as the `acme` client with `role`; `body` as JSON when given.
    pub async fn send(&self, role: &str, method: Method, path: &str, body: Option<Value>, key: Option<&str>) -> Reply {
        let (id, secret) = credentials(role);
        self.send_as(&id, &secret, method, path, body, key).await
    }

    pub async fn send_as(
        &self,
        id: &str,
        secret: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
        key: Option<&str>,
    ) -> Reply {
        let mut request = self.http.request(method, format!("{}{path}", self.base)).basic_auth(id, Some(secret));
        if let Some(body) = body {
            request = request.json(&body);
        }
        if let Some(key) = key {
            request = request.header("Idempotency-Key", key);
        }
        let response = request.send().await.expect("request sent");
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.expect("body");
        Reply { status, body: serde_json::from_str(&text).unwrap_or(Value::Null), headers }
    }

    pub async fn get(&self, role: &str, path: &str) -> Reply {
        self.send(role, Method::GET, path, None, None).await
    }

    pub async fn post(&self, role: &str, path: &str, body: Value) -> Reply {
        let key = uuid::Uuid::new_v4().to_string();
        self.send(role, Method::POST, path, Some(body), Some(&key)).await
    }

    /// Registers a card (status New) through `/v1`.
    pub async fn register_card(&self, number: &str) {
        let reply = self
            .post(
                "administrator",
                "/v1/cards",
                serde_json::json!({"number": number, "category": "Plastic", "card_type": "Bonus"}),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    }

    /// Registers a contact through `/v1` and returns its id.
    pub async fn register_contact(&self, fields: Value) -> String {
        let reply = self.post("administrator", "/v1/contacts", fields).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
        reply.body["contact_id"].as_str().expect("contact_id").to_owned()
    }

    /// A card issued and bound (and activated when the contact's data suffices) to a new contact with `mobile`.
    pub async fn bound_card(&self, number: &str, mobile: &str, activate: bool) -> String {
        self.register_card(number).await;
        let contact_id =
            self.register_contact(serde_json::json!({"name": "Test Person", "mobile_number": mobile})).await;
        let issue = self.get("cc_operator", &format!("/api/card/issue?Number={number}")).await;
        assert_eq!(issue.body["Status"], true, "{:?}", issue.body);
        let bind = self
            .post("cc_operator", "/api/card/bindto", serde_json::json!({"Number": number, "MobileNumber": mobile}))
            .await;
        assert_eq!(bind.body["Status"], true, "{:?}", bind.body);
        if activate {
            let active = self.get("cc_operator", &format!("/api/card/active?Number={number}")).await;
            assert_eq!(active.body["Status"], true, "{:?}", active.body);
        }
        contact_id
    }

    /// The number of events in the ledger.
    pub async fn event_count(&self) -> i64 {
        let row: (i64,) = sqlx::query_as("SELECT COUNT(*) FROM events").fetch_one(&self.app.db.read).await.unwrap();
        row.0
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A `tally serve` child process, killed when dropped.
pub struct Instance {
    pub child: Child,
    pub base: String,
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Instance {
    /// Starts `tally serve` on `database_url` with `extra` global arguments, and waits until it is ready.
    pub async fn start(database_url: &str, extra: &[&str]) -> Instance {
        Instance::launch(database_url, free_port(), extra, &[]).await
    }

    /// `tally serve` on `port` with `serve` arguments.
    pub async fn serve_on(database_url: &str, port: u16, serve: &[&str]) -> Instance {
        Instance::launch(database_url, port, &[], serve).await
    }

    async fn launch(database_url: &str, port: u16, extra: &[&str], serve: &[&str]) -> Instance {
        let child = Command::new(env!("CARGO_BIN_EXE_tally"))
            .args(["--database-url", database_url])
            .args(extra)
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .args(serve)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .spawn()
            .expect("tally starts");
        let base = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(30);
        while reqwest::get(format!("{base}/readyz")).await.map(|r| r.status() != StatusCode::OK).unwrap_or(true) {
            assert!(Instant::now() < deadline, "tally on {port} did not become ready");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Instance { child, base }
    }

    /// Kills the process at once (SIGKILL): no shutdown, whatever it was doing.
    pub fn kill(&mut self) {
        self.child.kill().expect("kill");
        self.child.wait().expect("reaped");
    }

    /// The process's Prometheus metrics.
    pub async fn metrics(&self) -> String {
        reqwest::get(format!("{}/metrics", self.base)).await.expect("metrics").text().await.expect("text")
    }
}

/// A POST as `acme-administrator` with a fresh idempotency key to a process at `base`.
pub async fn post_to(base: &str, path: &str, body: Value) -> (StatusCode, Value) {
    let (id, secret) = credentials("administrator");
    let response = reqwest::Client::new()
        .post(format!("{base}{path}"))
        .basic_auth(id, Some(secret))
        .header("Idempotency-Key", uuid::Uuid::new_v4().to_string())
        .json(&body)
        .send()
        .await
        .expect("request");
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// A GET to `base` as the `acme` administrator: the JSON answer.
pub async fn get_from(base: &str, path: &str) -> Value {
    let (id, secret) = credentials("administrator");
    let response = reqwest::Client::new().get(format!("{base}{path}")).basic_auth(id, Some(secret)).send().await;
    response.expect("request").json().await.unwrap_or(Value::Null)
}

/// The `tansu` binary: `TALLY_TEST_TANSU`, else on PATH, else in ~/.cargo/bin.
fn tansu() -> PathBuf {
    if let Some(path) = std::env::var_os("TALLY_TEST_TANSU") {
        return path.into();
    }
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .chain(std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo/bin")))
        .map(|dir| dir.join("tansu"))
        .find(|path| path.is_file());
    on_path.expect("the tansu broker is needed: cargo install tansu --locked --features dynostore,libsql")
}

/// A real Kafka-protocol broker (tansu) on loopback, storing its log in a temp SQLite file, so that it can be
/// stopped and started again without losing what it acknowledged. Killed when dropped.
pub struct Broker {
    pub port: u16,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

impl Broker {
    pub async fn start() -> Broker {
        let mut broker = Broker { port: free_port(), dir: tempfile::tempdir().expect("temp dir"), child: None };
        broker.resume().await;
        broker
    }

    /// Starts the broker again on the same port and storage.
    pub async fn resume(&mut self) {
        assert!(self.child.is_none(), "the broker is running");
        let url = format!("tcp://127.0.0.1:{}", self.port);
        let log = std::fs::File::options().create(true).append(true).open(self.dir.path().join("tansu.log")).unwrap();
        let child = Command::new(tansu())
            .args(["broker", "--listener-url", &url, "--advertised-listener-url", &url, "--storage-engine"])
            // tansu reads the path of a sqlite:// URL relative to its working directory.
            .arg("sqlite://tansu.db")
            .current_dir(self.dir.path())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("tansu starts");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while tokio::net::TcpStream::connect(("127.0.0.1", self.port)).await.is_err() {
            assert!(Instant::now() < deadline, "tansu did not listen on {}", self.port);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Kills the broker (SIGKILL).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Freezes (SIGSTOP) or thaws (SIGCONT) the broker: connections stay open, nothing is answered meanwhile.
    pub fn freeze(&self, frozen: bool) {
        let pid = self.child.as_ref().expect("the broker is running").id().to_string();
        let signal = if frozen { "-STOP" } else { "-CONT" };
        assert!(Command::new("kill").args([signal, &pid]).status().expect("kill runs").success());
    }

    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Client settings for this broker: topics `<prefix><family>` with 3 partitions.
    pub fn settings(&self) -> KafkaSettings {
        KafkaSettings { brokers: self.address(), topic_prefix: "tally.".into(), partitions: 3 }
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        self.stop();
    }
}

//! The vending rig: a real `tally serve` process and a real `tally vending-simulator` process, on loopback, calling
//! each other over HTTP as Tally and the Vending on Track platform do.

use std::{
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use reqwest::StatusCode;
use serde_json::{json, Value};

use super::{credentials, free_port, fresh_database, post_to, seed_principals, Instance};

/// The key Tally calls the simulator with.
pub const PLATFORM_KEY: &str = "platform-key";

/// The simulator process, killed when dropped.
pub struct Simulator {
    child: Child,
    pub base: String,
}

impl Drop for Simulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Simulator {
    /// Starts the simulator with `machines` machines, calling Tally's callbacks at `tally_port` as
    /// `acme-administrator`.
    pub async fn start(port: u16, tally_port: u16, machines: usize) -> Simulator {
        let (id, secret) = credentials("administrator");
        let child = Command::new(env!("CARGO_BIN_EXE_tally"))
            .args(["vending-simulator", "--listen", &format!("127.0.0.1:{port}")])
            .args(["--tally-url", &format!("http://127.0.0.1:{tally_port}/vending")])
            .args(["--tally-key", &format!("{id}:{secret}"), "--key", PLATFORM_KEY])
            .args(["--machines", &machines.to_string(), "--vend-ms", "5"])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .spawn()
            .expect("the simulator starts");
        let deadline = Instant::now() + Duration::from_secs(20);
        while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
            assert!(Instant::now() < deadline, "the simulator did not listen on {port}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Simulator { child, base: format!("http://127.0.0.1:{port}") }
    }

    pub async fn get(&self, path: &str) -> Value {
        reqwest::get(format!("{}{path}", self.base)).await.expect("simulator").json().await.expect("json")
    }

    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        let response = reqwest::Client::new().post(format!("{}{path}", self.base)).json(&body).send().await.unwrap();
        (response.status(), response.json().await.unwrap_or(Value::Null))
    }

    /// Tells a machine how to behave.
    pub async fn behave(&self, vm_id: &str, behaviour: Value) {
        let (status, body) = self.post(&format!("/sim/machines/{vm_id}/behaviour"), behaviour).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }

    /// Waits until the machine is locked for a transaction, and returns it.
    pub async fn locked(&self, vm_id: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let machine = self.get(&format!("/sim/machines/{vm_id}")).await;
            if !machine["txn"].is_null() {
                return machine["txn"].clone();
            }
            assert!(Instant::now() < deadline, "{vm_id} was never locked: {machine}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits until the machine is locked for nothing (Tally unlocked it, or its purchase ended).
    pub async fn idle(&self, vm_id: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !self.get(&format!("/sim/machines/{vm_id}")).await["txn"].is_null() {
            assert!(Instant::now() < deadline, "{vm_id} stayed locked");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// A customer selects coil `code` at the machine; Tally's answer to `/txn/request`.
    pub async fn select(&self, vm_id: &str, code: i64) -> Value {
        let (status, body) = self.post(&format!("/sim/machines/{vm_id}/select"), json!({"code": code})).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }
}

/// Tally and the simulator, calling each other; a database of its own with the test principals.
pub struct Rig {
    pub tally: Instance,
    pub simulator: Simulator,
    pub database_url: String,
    _dir: Option<tempfile::TempDir>,
}

impl Rig {
    /// Starts the simulator and `tally serve` configured for it, with `serve` arguments besides.
    pub async fn start(machines: usize, serve: &[&str]) -> Rig {
        let (database_url, dir) = fresh_database().await;
        {
            let db = tally::store::Db::connect(&database_url).await.expect("database");
            seed_principals(&db).await;
            db.write.close().await;
            db.read.close().await;
        }
        let (tally_port, simulator_port) = (free_port(), free_port());
        let simulator = Simulator::start(simulator_port, tally_port, machines).await;
        let tally = Rig::serve(&database_url, tally_port, simulator_port, serve).await;
        Rig { tally, simulator, database_url, _dir: dir }
    }

    /// `tally serve` on `port`, with the simulator as its platform and gateway.
    pub async fn serve(database_url: &str, port: u16, simulator_port: u16, serve: &[&str]) -> Instance {
        let simulator = format!("http://127.0.0.1:{simulator_port}");
        let gateway = format!("{simulator}/gateway");
        let mut args = vec!["--vending-platform-url", &simulator, "--vending-platform-key", PLATFORM_KEY];
        args.extend(["--payment-gateway-url", &gateway]);
        args.extend(serve);
        Instance::serve_on(database_url, port, &args).await
    }

    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        post_to(&self.tally.base, path, body).await
    }

    pub async fn get(&self, path: &str) -> Value {
        let (id, secret) = credentials("administrator");
        let response = reqwest::Client::new()
            .get(format!("{}{path}", self.tally.base))
            .basic_auth(id, Some(secret))
            .send()
            .await
            .expect("request");
        response.json().await.unwrap_or(Value::Null)
    }

    /// Opens a deposit account `id` with `amount` paid in.
    pub async fn deposit(&self, id: &str, amount: &str) {
        let (status, body) = self
            .post("/v1/money-accounts", json!({"account_type": "deposit", "account_id": id, "currency": "GBP"}))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let (status, body) =
            self.post(&format!("/v1/money-accounts/deposit/{id}/payments-in"), json!({"amount": amount})).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }

    /// The account's balance, held amount and what may be paid out, as text.
    pub async fn account(&self, id: &str) -> (String, String, String) {
        let account = self.get(&format!("/v1/money-accounts/deposit/{id}")).await;
        let text = |field: &str| {
            account[field]
                .as_str()
                .unwrap_or_default()
                .parse::<rust_decimal::Decimal>()
                .unwrap()
                .normalize()
                .to_string()
        };
        (text("balance"), text("held"), text("available"))
    }

    /// Starts a purchase at `vm_id` paid from deposit `account`; its transaction reference.
    pub async fn purchase(&self, vm_id: &str, account: &str, reference: Option<&str>) -> String {
        let body = json!({"vm_id": vm_id, "account_type": "deposit", "account_id": account,
            "payment_reference": reference});
        let (status, body) = self.post("/v1/vending/purchases", body).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["txn_ref"].as_str().expect("txn_ref").to_owned()
    }

    /// Waits until the purchase reaches `status`, and returns it.
    pub async fn settled(&self, txn_ref: &str, status: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let purchase = self.get(&format!("/v1/vending/purchases/{txn_ref}")).await;
            if purchase["status"] == status {
                return purchase;
            }
            assert!(Instant::now() < deadline, "the purchase never became {status}: {purchase}");
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// The event types of a stream, in order.
    pub async fn events_of(&self, stream_id: &str) -> Vec<String> {
        let db = tally::store::Db::connect(&self.database_url).await.expect("database");
        let rows: Vec<(String,)> =
            sqlx::query_as("SELECT event_type FROM events WHERE stream_id = $1 ORDER BY stream_version")
                .bind(stream_id)
                .fetch_all(&db.read)
                .await
                .unwrap();
        db.read.close().await;
        db.write.close().await;
        rows.into_iter().map(|(event_type,)| event_type).collect()
    }
}

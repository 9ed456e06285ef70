//! What the bench scenarios share beyond the load itself: the merchant a run acts for, and the Tally endpoints the
//! load goes to — the in-process server on SQLite, or `tally serve` processes sharing a PostgreSQL database.

use std::{
    net::{SocketAddr, TcpListener},
    process::{Child, Command, Stdio},
    sync::Arc,
    time::Duration,
};

use tally_events::Role;

use super::spawn;
use crate::{
    app::App,
    store::{
        merchants::{self, Merchant},
        Db,
    },
};

/// A short random id for one run's names (merchant, business, topics), so that runs against one database or broker
/// do not collide.
pub fn run_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..8].to_owned()
}

/// Creates the merchant `tenant` (when new) and its administrator client.
pub async fn merchant(db: &Db, tenant: &str, client: (&str, &str), required: &[&str]) -> anyhow::Result<()> {
    let merchant = Merchant {
        tenant: tenant.into(),
        name: "Bench".into(),
        time_zone: "UTC".into(),
        required_contact_fields: required.iter().map(|field| (*field).to_owned()).collect(),
    };
    merchants::create(&db.write, &merchant).await?;
    merchants::create_client(&db.write, client.0, client.1, tenant, Role::Administrator).await?;
    Ok(())
}

/// A `tally serve` child process, stopped when dropped.
pub struct Instance(Child);

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Where the load goes: the in-process `app` on SQLite; on PostgreSQL, `instances` `tally serve` processes on
/// `url` (kept running while the returned instances live). With a description for the figures' heading.
pub async fn targets(
    app: &Arc<App>,
    url: &str,
    postgres: bool,
    instances: usize,
) -> anyhow::Result<(Vec<Instance>, Vec<SocketAddr>, String)> {
    if !postgres {
        let addr = spawn(crate::http::router(app.clone(), false)).await?;
        return Ok((Vec::new(), vec![addr], "SQLite, synchronous=FULL, WAL".to_owned()));
    }
    let (mut started, mut addrs) = (Vec::new(), Vec::new());
    for _ in 0..instances.max(1) {
        let (instance, addr) = start_instance(url).await?;
        started.push(instance);
        addrs.push(addr);
    }
    let label = format!("PostgreSQL, {} tally serve processes", addrs.len());
    Ok((started, addrs, label))
}

/// Starts `tally serve` on a free loopback port and waits until it is ready.
async fn start_instance(url: &str) -> anyhow::Result<(Instance, SocketAddr)> {
    let addr = TcpListener::bind("127.0.0.1:0")?.local_addr()?;
    let child = Command::new(std::env::current_exe()?)
        .args(["--database-url", url, "serve", "--listen", &addr.to_string()])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()?;
    let instance = Instance(child);
    for _ in 0..300 {
        if tokio::net::TcpStream::connect(addr).await.is_ok() {
            return Ok((instance, addr));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    anyhow::bail!("tally serve on {addr} did not start")
}

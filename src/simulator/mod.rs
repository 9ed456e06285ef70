//! `tally vending-simulator`: a stand-in for the Vending on Track platform (and for a payment gateway), for the
//! demo, the integration tests and the benchmark. It serves the platform's inbound API as the vendor documents it
//! (`/api/lock`, `/api/paid`, `/api/unlock`, `/api/vmc_search`, `/api/vmc_bulk_search`, `/api/vmc_user_keys`),
//! and calls Tally's callbacks (`/txn/*`, `/feed/*`) as the platform does, over HTTP with `X-API-Key`.
//!
//! Its machines are driven through a control API under `/sim` (no authentication; bind it to loopback): a customer
//! selects at a machine, the machine aborts, sells for cash, raises an alert; and each machine can be told to fail
//! its vends with a vendor code, never report a vend (a time-out), go offline, rename its transactions, send its
//! callbacks twice, or report the vend before it answers `/api/paid`. A simulated gateway answers `/gateway/charges`
//! and `/gateway/refunds` (tokens starting `tok_decline` are declined).

mod control;
mod gateway;
mod machines;
mod platform;

use std::{collections::BTreeMap, sync::Arc, time::Duration};

use axum::Router;
use tokio::{net::TcpListener, sync::Mutex};

use crate::outbound::JsonClient;
pub use machines::Behaviour;
use machines::Machine;

/// How the simulator runs.
#[derive(clap::Args, Debug, Clone)]
pub struct SimulatorArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:9090")]
    pub listen: String,
    /// Tally's callback base URL (where the platform sends `/txn/*` and `/feed/*`).
    #[arg(long, env = "TALLY_SIMULATOR_TALLY_URL", default_value = "http://127.0.0.1:8080/vending")]
    pub tally_url: String,
    /// The key the platform sends Tally as `X-API-Key`: a Tally API client's `id:secret`.
    #[arg(long, env = "TALLY_SIMULATOR_TALLY_KEY")]
    pub tally_key: String,
    /// The key Tally must send the platform as `X-API-Key`.
    #[arg(long, env = "TALLY_SIMULATOR_KEY", default_value = "simulator-key")]
    pub key: String,
    /// Machines VM0001 … VMnnnn, each with six coils (codes 11 to 16).
    #[arg(long, default_value_t = 3)]
    pub machines: usize,
    /// Seconds a lock lasts (the `timeout` of `/api/lock`).
    #[arg(long, default_value_t = 60)]
    pub lock_timeout: u32,
    /// Milliseconds between `/api/paid` and the dispense result.
    #[arg(long, default_value_t = 20)]
    pub vend_ms: u64,
}

/// The simulator's state, shared by its handlers.
pub struct Simulator {
    pub args: SimulatorArgs,
    pub machines: Mutex<BTreeMap<String, Machine>>,
    pub gateway: Mutex<gateway::Ledger>,
    /// Tally's callbacks.
    pub tally: JsonClient,
}

pub type Shared = Arc<Simulator>;

impl Simulator {
    pub fn new(args: SimulatorArgs) -> Shared {
        let machines =
            (1..=args.machines).map(|n| format!("VM{n:04}")).map(|id| (id.clone(), Machine::new(&id))).collect();
        let auth = (hyper::header::HeaderName::from_static("x-api-key"), args.tally_key.clone());
        let tally = JsonClient::new(&args.tally_url, Some(auth), Duration::from_secs(10));
        Arc::new(Simulator { args, machines: Mutex::new(machines), gateway: Mutex::default(), tally })
    }

    /// Tells machine `vm_id` how to behave (as `POST /sim/machines/{vm_id}/behaviour` does).
    pub async fn behave(&self, vm_id: &str, behaviour: Behaviour) {
        if let Some(machine) = self.machines.lock().await.get_mut(vm_id) {
            machine.behaviour = behaviour;
        }
    }
}

/// Every route of the simulator.
pub fn router(simulator: Shared) -> Router {
    platform::routes().merge(control::routes()).merge(gateway::routes()).with_state(simulator)
}

/// Serves the simulator until the process ends.
pub async fn run(args: SimulatorArgs) -> anyhow::Result<()> {
    let listener = TcpListener::bind(&args.listen).await?;
    tracing::info!(address = %listener.local_addr()?, machines = args.machines, "the vending simulator is serving");
    axum::serve(listener, router(Simulator::new(args))).await?;
    Ok(())
}

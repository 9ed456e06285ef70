//! The Vending on Track platform's inbound API, as Tally calls it (`/api/lock`, `/api/paid`, `/api/unlock`,
//! `/api/vmc_search`): the wire types with the vendor's field names, and the client. Every call is a POST with
//! `X-API-Key`; a business failure is an HTTP 200 with `"success": false` and a message.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::outbound::{CallError, JsonClient};

/// Where the platform is and the key Tally calls it with.
#[derive(Debug, Clone)]
pub struct PlatformSettings {
    /// The platform's base URL, e.g. `https://api.connectivity.eu.vendingontrack.com/connectivity-platform`.
    pub url: String,
    /// The API key the platform gave the member business.
    pub key: String,
}

/// What the machine may show when the balance is unknown (the platform reads 65535 so).
pub const UNKNOWN_BALANCE: i64 = 65535;

#[derive(Debug, Serialize, Deserialize)]
pub struct LockRequest {
    /// `id` is the platform's deprecated name of it.
    #[serde(alias = "id")]
    pub vm_id: String,
    #[serde(rename = "txnRef")]
    pub txn_ref: String,
    pub balance: i64,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct PaidRequest {
    #[serde(rename = "txnRef")]
    pub txn_ref: String,
    pub price: i64,
    pub surcharge: i64,
    pub discount: i64,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct UnlockRequest {
    #[serde(alias = "id")]
    pub vm_id: String,
    #[serde(rename = "txnRef")]
    pub txn_ref: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct SearchRequest {
    pub vm_id: String,
}

/// The answer of every call: `success`, `message`, and the call's own fields.
#[derive(Debug, Serialize, Deserialize)]
pub struct Answer {
    pub success: bool,
    #[serde(default)]
    pub message: Option<String>,
    /// `/api/lock`: seconds the machine stays locked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<u32>,
    /// `/api/vmc_search`: the machine.
    #[serde(default, rename = "vendingMachine", skip_serializing_if = "Option::is_none")]
    pub vending_machine: Option<MachineStatus>,
}

impl Answer {
    /// A refusal's message, or a generic one when the platform gave none.
    pub fn refusal(&self) -> String {
        self.message.clone().filter(|m| !m.is_empty()).unwrap_or_else(|| "refused by the vending platform".into())
    }
}

/// What `/api/vmc_search` says about a machine (the fields Tally reads; the platform sends more).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MachineStatus {
    pub id: String,
    pub online: bool,
    pub busy: bool,
    #[serde(default)]
    pub address: Option<String>,
    #[serde(default)]
    pub operator_name: Option<String>,
}

/// The platform's inbound API.
#[derive(Clone)]
pub struct Platform {
    client: JsonClient,
}

/// How long Tally waits for one answer of the platform.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

impl Platform {
    pub fn new(settings: &PlatformSettings) -> Platform {
        let auth = (hyper::header::HeaderName::from_static("x-api-key"), settings.key.clone());
        Platform { client: JsonClient::new(&settings.url, Some(auth), CALL_TIMEOUT) }
    }

    pub async fn lock(&self, request: &LockRequest) -> Result<Answer, CallError> {
        self.client.post("/api/lock", request).await
    }

    pub async fn paid(&self, request: &PaidRequest) -> Result<Answer, CallError> {
        self.client.post("/api/paid", request).await
    }

    pub async fn unlock(&self, request: &UnlockRequest) -> Result<Answer, CallError> {
        self.client.post("/api/unlock", request).await
    }

    pub async fn search(&self, vm_id: &str) -> Result<Answer, CallError> {
        self.client.post("/api/vmc_search", &SearchRequest { vm_id: vm_id.to_owned() }).await
    }
}

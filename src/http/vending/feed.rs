//! The machines' feed (`/feed/transactions`, `/feed/refills`, `/feed/alerts`, `/feed/button_actions`): recorded on
//! each machine's stream, also for sales that did not go through Tally. A report sent again (the same body to the
//! same path) is answered as the first time and recorded once; the feed has no id of its own, and two reports of
//! one machine in one second differ at least in their planogram's stock.

use axum::{
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use blake2::{Blake2s256, Digest};
use chrono::{DateTime, Utc};
use serde::{de::DeserializeOwned, Deserialize};
use tally_events::{
    AlertLevel, Coil, MachineAlerted, MachineButtonPressed, MachineDispensed, MachineRefilled, RefillDetail,
};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{admit, parse, Answer, Invalid, Vending};
use crate::{
    commands::{Command, Stream},
    domain::machine::{MachineAggregate, MachineReport},
    http::{ingress, ingress::Incoming, json_stored, Shared},
    vending::valid_vm_id,
};

pub fn routes() -> OpenApiRouter<Shared> {
    OpenApiRouter::new()
        .routes(routes!(transactions))
        .routes(routes!(refills))
        .routes(routes!(alerts))
        .routes(routes!(button_actions))
}

/// Largest quantity one report may carry.
const MAX_QUANTITY: i64 = 10_000;
/// Largest value (minor units) one report may carry.
const MAX_VALUE: i64 = 1_000_000_000;

/// What every feed report carries.
trait Report: DeserializeOwned {
    fn vm_id(&self) -> &str;
    fn time(&self) -> i64;
    fn report(self, time: DateTime<Utc>) -> MachineReport;
    /// What is wrong with the report's own fields.
    fn invalid(&self) -> Option<&'static str> {
        None
    }
}

/// `/feed/transactions`: a machine dispensed.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = vending::FeedTransaction)]
pub struct FeedTransaction {
    #[schema(pattern = r"^[!-.0-~]{1,64}$")]
    vm_id: String,
    /// Unix seconds.
    #[schema(minimum = 0)]
    time: i64,
    #[schema(minimum = 0, maximum = 10000)]
    dispense_quantity: i64,
    /// Minor units.
    #[serde(default)]
    #[schema(minimum = 0, maximum = 1000000000)]
    cash_value: i64,
    #[serde(default)]
    #[schema(minimum = 0, maximum = 1000000000)]
    cashless_value: i64,
    /// The raw coil code.
    #[serde(deserialize_with = "super::text")]
    #[schema(schema_with = super::text_schema)]
    code: String,
    #[serde(default)]
    planogram: Vec<Coil>,
}

impl Report for FeedTransaction {
    fn vm_id(&self) -> &str {
        &self.vm_id
    }
    fn time(&self) -> i64 {
        self.time
    }
    fn invalid(&self) -> Option<&'static str> {
        if !(0..=MAX_QUANTITY).contains(&self.dispense_quantity) {
            return Some("dispense_quantity must be 0 to 10000");
        }
        [self.cash_value, self.cashless_value]
            .iter()
            .any(|value| !(0..=MAX_VALUE).contains(value))
            .then_some("cash_value and cashless_value must be 0 to 1000000000 minor units")
    }
    fn report(self, time: DateTime<Utc>) -> MachineReport {
        MachineReport::Dispensed(MachineDispensed {
            time,
            dispense_quantity: self.dispense_quantity,
            cash_value: self.cash_value,
            cashless_value: self.cashless_value,
            code: self.code,
            planogram: self.planogram,
        })
    }
}

/// One coil's refill, as the feed sends it.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = vending::RefillDetail)]
pub struct Refill {
    #[schema(minimum = 0, maximum = 10000)]
    refill_quantity: i64,
    #[serde(deserialize_with = "super::text")]
    #[schema(schema_with = super::text_schema)]
    code: String,
}

/// `/feed/refills`: a machine was refilled.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = vending::FeedRefill)]
pub struct FeedRefill {
    #[schema(pattern = r"^[!-.0-~]{1,64}$")]
    vm_id: String,
    /// Unix seconds.
    #[schema(minimum = 0)]
    time: i64,
    refill_detail: Vec<Refill>,
    #[serde(default)]
    planogram: Vec<Coil>,
}

impl Report for FeedRefill {
    fn vm_id(&self) -> &str {
        &self.vm_id
    }
    fn time(&self) -> i64 {
        self.time
    }
    fn invalid(&self) -> Option<&'static str> {
        self.refill_detail
            .iter()
            .any(|r| !(0..=MAX_QUANTITY).contains(&r.refill_quantity))
            .then_some("refill_quantity must be 0 to 10000")
    }
    fn report(self, time: DateTime<Utc>) -> MachineReport {
        let refill_detail = self
            .refill_detail
            .into_iter()
            .map(|r| RefillDetail { refill_quantity: r.refill_quantity, code: r.code })
            .collect();
        MachineReport::Refilled(MachineRefilled { time, refill_detail, planogram: self.planogram })
    }
}

/// `/feed/alerts`: a machine raised an alert.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = vending::FeedAlert)]
pub struct FeedAlert {
    #[schema(pattern = r"^[!-.0-~]{1,64}$")]
    vm_id: String,
    /// Unix seconds.
    #[schema(minimum = 0)]
    time: i64,
    #[schema(max_length = 1000)]
    message: String,
    level: AlertLevel,
}

impl Report for FeedAlert {
    fn vm_id(&self) -> &str {
        &self.vm_id
    }
    fn time(&self) -> i64 {
        self.time
    }
    fn invalid(&self) -> Option<&'static str> {
        (self.message.chars().count() > 1000).then_some("message is longer than 1000 characters")
    }
    fn report(self, time: DateTime<Utc>) -> MachineReport {
        MachineReport::Alerted(MachineAlerted { time, message: self.message, level: self.level })
    }
}

/// `/feed/button_actions`: a button of the telemetry box was pressed.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = vending::FeedButton)]
pub struct FeedButton {
    #[schema(pattern = r"^[!-.0-~]{1,64}$")]
    vm_id: String,
    /// Unix seconds.
    #[schema(minimum = 0)]
    time: i64,
    #[schema(minimum = 1, maximum = 3)]
    button: u8,
}

impl Report for FeedButton {
    fn vm_id(&self) -> &str {
        &self.vm_id
    }
    fn time(&self) -> i64 {
        self.time
    }
    fn invalid(&self) -> Option<&'static str> {
        (!(1..=3).contains(&self.button)).then_some("button must be 1, 2 or 3")
    }
    fn report(self, time: DateTime<Utc>) -> MachineReport {
        MachineReport::ButtonPressed(MachineButtonPressed { time, button: self.button })
    }
}

/// What every report's problems are, before anything is written.
fn problem<T: Report>(report: &T) -> Option<&'static str> {
    if !valid_vm_id(report.vm_id()) {
        return Some("vm_id must be 1 to 64 visible characters without /");
    }
    if DateTime::<Utc>::from_timestamp(report.time(), 0).is_none_or(|t| t.timestamp() < 0) {
        return Some("time must be unix seconds from 1970");
    }
    report.invalid()
}

/// Records a report on its machine's stream, keyed so that a repeat is recorded once.
async fn record<T: Report>(app: Shared, incoming: Incoming, path: &str) -> Response {
    let admitted = match admit(&app, &incoming).await {
        Ok(admitted) => admitted,
        Err(response) => return response,
    };
    let report: T = match parse(&admitted.body) {
        Ok(report) => report,
        Err(invalid) => return invalid.into_response(),
    };
    if let Some(problem) = problem(&report) {
        return Invalid(problem.into()).into_response();
    }
    let vm_id = report.vm_id().to_owned();
    let digest: [u8; 32] = Blake2s256::digest(&admitted.body).into();
    let key = format!("feed/{path}:{}", crate::store::hex(&digest));
    let at = DateTime::<Utc>::from_timestamp(report.time(), 0).unwrap_or_default();
    let target = MachineAggregate::target(vm_id, report.report(at));
    let principal = &admitted.principal;
    let mut command = Command::new(&principal.tenant, principal.actor(), target);
    command.occurred_at = Some(at);
    command.idempotency = Some(incoming.scoped_key(principal, &key, &admitted.body));
    command.render = Some(Box::new(|_| json_stored(StatusCode::OK, &Answer::ok())));
    ingress::execute(&app, command, &Vending).await
}

/// A machine dispensed (also a sale that did not go through Tally).
#[utoipa::path(post, path = "/feed/transactions", tag = "vending", request_body = FeedTransaction, responses(
    (status = 200, description = "Recorded", body = Answer),
    (status = 400, description = "Not a report the vendor's schema allows", body = Answer),
    (status = 403, description = "A customer's credentials (role client)", body = Answer),
))]
async fn transactions(State(app): State<Shared>, incoming: Incoming) -> Response {
    record::<FeedTransaction>(app, incoming, "transactions").await
}

/// A machine was refilled.
#[utoipa::path(post, path = "/feed/refills", tag = "vending", request_body = FeedRefill, responses(
    (status = 200, description = "Recorded", body = Answer),
    (status = 400, description = "Not a report the vendor's schema allows", body = Answer),
    (status = 403, description = "A customer's credentials (role client)", body = Answer),
))]
async fn refills(State(app): State<Shared>, incoming: Incoming) -> Response {
    record::<FeedRefill>(app, incoming, "refills").await
}

/// A machine raised an alert.
#[utoipa::path(post, path = "/feed/alerts", tag = "vending", request_body = FeedAlert, responses(
    (status = 200, description = "Recorded", body = Answer),
    (status = 400, description = "Not a report the vendor's schema allows", body = Answer),
    (status = 403, description = "A customer's credentials (role client)", body = Answer),
))]
async fn alerts(State(app): State<Shared>, incoming: Incoming) -> Response {
    record::<FeedAlert>(app, incoming, "alerts").await
}

/// A button of a machine's telemetry box was pressed.
#[utoipa::path(post, path = "/feed/button_actions", tag = "vending", request_body = FeedButton, responses(
    (status = 200, description = "Recorded", body = Answer),
    (status = 400, description = "Not a report the vendor's schema allows", body = Answer),
    (status = 403, description = "A customer's credentials (role client)", body = Answer),
))]
async fn button_actions(State(app): State<Shared>, incoming: Incoming) -> Response {
    record::<FeedButton>(app, incoming, "button_actions").await
}

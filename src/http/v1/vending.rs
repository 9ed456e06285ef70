//! `/v1/vending`: a member starts a purchase at a vending machine from an app, and follows it; the feed of a
//! machine; and the payment references (card-on-file tokens) a member's account keeps for reference payment.

use axum::{extract::State, http::StatusCode, response::Response, Json};
use serde::{Deserialize, Serialize};
use tally_events::{CancelReason, Coil, DeclineReason, MoneyAccountType};
use tally_projections::{AlertView, MachineView, VendStatus, VendView};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::{events, write, ApiError, ErrorBody, EventRef, V1Caller, V1Path};
use crate::{
    app::App,
    auth::Principal,
    commands::Stream,
    domain::money::{MoneyAggregate, MoneyCommand},
    http::{ingress::Incoming, Shared},
    queries,
    vending::{self, valid_vm_id, NewPurchase, StartError},
};

pub fn routes() -> OpenApiRouter<Shared> {
    OpenApiRouter::new()
        .routes(routes!(start))
        .routes(routes!(get_purchase))
        .routes(routes!(get_machine))
        .routes(routes!(store_reference))
}

/// A purchase the member starts in the app: Tally locks the machine for them.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPurchaseBody {
    /// The platform's machine id.
    #[schema(pattern = r"^[!-.0-~]{1,64}$")]
    vm_id: String,
    /// The member's deposit or credit account: it pays (post billing), or keeps the payment reference.
    account_type: MoneyAccountType,
    #[schema(pattern = r"^[A-Za-z0-9_-]{1,64}$")]
    account_id: String,
    /// Reference payment: the id of a payment reference stored on the account, charged before the machine
    /// dispenses. Post billing when absent.
    payment_reference: Option<String>,
}

/// The answer to a start.
#[derive(Serialize, ToSchema)]
pub struct Started {
    /// The transaction reference of the purchase (the platform's `txnRef`).
    txn_ref: String,
    events: Vec<EventRef>,
}

/// A purchase as it stands.
#[derive(Serialize, ToSchema)]
pub struct PurchaseBody {
    txn_ref: String,
    /// The reference the platform uses now (another one after it renamed the transaction).
    platform_ref: String,
    vm_id: String,
    account_type: MoneyAccountType,
    account_id: String,
    payment_reference: Option<String>,
    #[schema(value_type = String, example = "approved")]
    status: VendStatus,
    selection: Option<String>,
    /// In minor units of the account's currency.
    price_minor: Option<i64>,
    charged_minor: Option<i64>,
    decline_reason: Option<DeclineReason>,
    cancel_reason: Option<CancelReason>,
    /// The platform's failure code or message.
    detail: Option<String>,
    refunded: bool,
}

impl From<VendView> for PurchaseBody {
    fn from(view: VendView) -> PurchaseBody {
        PurchaseBody {
            txn_ref: view.txn_ref,
            platform_ref: view.platform_ref,
            vm_id: view.vm_id,
            account_type: view.account_type,
            account_id: view.account_id,
            payment_reference: view.payment_reference,
            status: view.status,
            selection: view.selection,
            price_minor: view.price_minor,
            charged_minor: view.charged_minor,
            decline_reason: view.decline_reason,
            cancel_reason: view.cancel_reason,
            detail: view.detail,
            refunded: view.refunded,
        }
    }
}

fn start_error(error: StartError) -> ApiError {
    let conflict = |code, message: &str| ApiError::new(StatusCode::CONFLICT, code, message);
    match error {
        StartError::PlatformOff => conflict("VendingOff", "no vending platform is configured"),
        StartError::GatewayOff => conflict("ReferencePaymentOff", "no payment gateway is configured"),
        StartError::AccountNotFound => ApiError::not_found("MoneyAccountNotFound", "no such money account"),
        StartError::AccountNotForVending => {
            conflict("AccountNotForVending", "only deposit and credit accounts pay at vending machines")
        }
        StartError::PaymentReferenceNotFound => {
            ApiError::not_found("PaymentReferenceNotFound", "no such payment reference on this account")
        }
    }
}

/// Start a purchase at a machine: Tally locks it for the member, the member selects at the machine, and Tally
/// approves or declines; follow it with `GET /vending/purchases/{txn_ref}`.
#[utoipa::path(post, path = "/vending/purchases", tag = "v1", request_body = NewPurchaseBody, responses(
    (status = 201, description = "Started: the machine is being locked", body = Started),
    (status = 404, description = "No such money account or payment reference", body = ErrorBody),
    (status = 409, description = "Vending or reference payment is not configured, or the account does not pay at \\
        machines", body = ErrorBody),
    (status = 422, description = "Invalid request", body = ErrorBody),
))]
async fn start(State(app): State<Shared>, incoming: Incoming) -> Response {
    let plan = async move |app: &App, principal: &Principal, body: NewPurchaseBody| {
        if !valid_vm_id(&body.vm_id) {
            return Err(ApiError::invalid("vm_id must be 1 to 64 visible characters without /"));
        }
        let new = NewPurchase {
            account_id: super::identifier(&body.account_id, "account_id")?,
            vm_id: body.vm_id,
            account_type: body.account_type,
            payment_reference: body.payment_reference,
        };
        let (_, target) = vending::start(app, &principal.tenant, new).await?.map_err(start_error)?;
        Ok(target)
    };
    write(&app, incoming, plan, |envelopes| {
        let txn_ref = envelopes
            .first()
            .and_then(|e| tally_events::stream::entity_id(&e.stream_id, "vend"))
            .unwrap_or_default()
            .to_owned();
        (StatusCode::CREATED, Started { txn_ref, events: events(envelopes) })
    })
    .await
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct PurchasePath {
    #[param(pattern = "^[0-9a-f]{32}$")]
    txn_ref: String,
}

/// A purchase, with where it stands.
#[utoipa::path(get, path = "/vending/purchases/{txn_ref}", tag = "v1", params(PurchasePath), responses(
    (status = 200, description = "The purchase", body = PurchaseBody),
    (status = 404, description = "No such purchase", body = ErrorBody),
))]
async fn get_purchase(
    State(app): State<Shared>,
    V1Caller { 0: principal, .. }: V1Caller,
    V1Path { 0: path, .. }: V1Path<PurchasePath>,
) -> Result<Json<PurchaseBody>, ApiError> {
    let view = queries::vend(&app.db, &principal.tenant, &path.txn_ref)
        .await?
        .ok_or_else(|| ApiError::not_found("PurchaseNotFound", "no such purchase"))?;
    Ok(Json(view.into()))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct MachinePath {
    #[param(pattern = r"^[!-.0-~]{1,64}$")]
    vm_id: String,
}

/// What a machine's feed says.
#[derive(Serialize, ToSchema)]
pub struct MachineBody {
    vm_id: String,
    /// The latest planogram.
    coils: Vec<Coil>,
    dispenses: i64,
    cash_value: i64,
    cashless_value: i64,
    last_dispense: Option<chrono::DateTime<chrono::Utc>>,
    last_refill: Option<chrono::DateTime<chrono::Utc>>,
    last_alert: Option<Alert>,
    last_button: Option<u8>,
}

#[derive(Serialize, ToSchema)]
pub struct Alert {
    time: chrono::DateTime<chrono::Utc>,
    message: String,
    level: tally_events::AlertLevel,
}

impl From<MachineView> for MachineBody {
    fn from(view: MachineView) -> MachineBody {
        MachineBody {
            vm_id: view.vm_id,
            coils: view.coils.into_values().collect(),
            dispenses: view.dispenses,
            cash_value: view.cash_value,
            cashless_value: view.cashless_value,
            last_dispense: view.last_dispense,
            last_refill: view.last_refill,
            last_alert: view.last_alert.map(|AlertView { time, message, level }| Alert { time, message, level }),
            last_button: view.last_button,
        }
    }
}

/// A machine's stock by coil, its last alert and button, and its dispenses, from the platform's feed.
#[utoipa::path(get, path = "/vending/machines/{vm_id}", tag = "v1", params(MachinePath), responses(
    (status = 200, description = "The machine", body = MachineBody),
    (status = 404, description = "The feed never reported this machine", body = ErrorBody),
))]
async fn get_machine(
    State(app): State<Shared>,
    V1Caller { 0: principal, .. }: V1Caller,
    V1Path { 0: path, .. }: V1Path<MachinePath>,
) -> Result<Json<MachineBody>, ApiError> {
    let view = queries::machine(&app.db, &principal.tenant, &path.vm_id)
        .await?
        .ok_or_else(|| ApiError::not_found("MachineNotFound", "the feed never reported this machine"))?;
    Ok(Json(view.into()))
}

/// A payment reference to store: the payment gateway's token for the member's card, never the card number.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPaymentReference {
    /// The reference's id on the account; generated when absent.
    #[schema(pattern = r"^[A-Za-z0-9_-]{1,64}$")]
    reference_id: Option<String>,
    /// The gateway's token.
    #[schema(min_length = 1, max_length = 200)]
    token: String,
    /// What the member sees, e.g. `Visa 4242`.
    #[serde(default, deserialize_with = "super::text")]
    #[schema(max_length = 200)]
    label: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct StoredReference {
    reference_id: String,
    events: Vec<EventRef>,
}

/// Store a payment reference on a deposit or credit account, for reference payment at vending machines.
#[utoipa::path(post, path = "/money-accounts/{account_type}/{account_id}/payment-references", tag = "v1",
    params(super::money::MoneyAccountPath), request_body = NewPaymentReference, responses(
        (status = 201, description = "Stored", body = StoredReference),
        (status = 404, description = "No such money account", body = ErrorBody),
        (status = 409, description = "The id is taken, or the account does not pay at machines", body = ErrorBody),
        (status = 422, description = "Invalid request, or a card number instead of a token", body = ErrorBody),
    )
)]
async fn store_reference(
    State(app): State<Shared>,
    V1Path { 0: path, .. }: V1Path<super::money::MoneyAccountPath>,
    incoming: Incoming,
) -> Response {
    let plan = async move |_: &App, _: &Principal, body: NewPaymentReference| {
        let account_id = super::identifier(&path.account_id, "account_id")?;
        let reference_id = match &body.reference_id {
            Some(id) => super::identifier(id, "reference_id")?,
            None => format!("R{}", &Uuid::new_v4().simple().to_string()[..16].to_uppercase()),
        };
        super::required_text(&body.token, "token")?;
        let command = MoneyCommand::StorePaymentReference { reference_id, token: body.token, label: body.label };
        Ok(MoneyAggregate::target((path.account_type, account_id), command))
    };
    write(&app, incoming, plan, |envelopes| {
        let reference_id = envelopes
            .iter()
            .find_map(|e| match e.event() {
                Ok(tally_events::Event::PaymentReferenceStored(stored)) => Some(stored.reference_id),
                _ => None,
            })
            .unwrap_or_default();
        (StatusCode::CREATED, StoredReference { reference_id, events: events(envelopes) })
    })
    .await
}

//! `/v1/cards`: registering cards (one, or a batch all or none) and reading one.

use axum::{extract::State, http::StatusCode, response::Response, Json};
use serde::{Deserialize, Serialize};
use tally_events::{CardCategory, CardStatus, CardType};
use tally_projections::CardView;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::{events, write, ApiError, ErrorBody, EventRef, V1Caller, V1Path, Written};
use crate::{
    app::App,
    auth::Principal,
    commands::{Stream, Target},
    domain::{
        card::{CardAggregate, CardCommand},
        ids::CardNumber,
    },
    http::{ingress::Incoming, Shared},
    queries,
};

/// Cards registered by one batch at most.
const MAX_BATCH_CARDS: usize = 1000;

pub fn routes() -> OpenApiRouter<Shared> {
    OpenApiRouter::new().routes(routes!(register_card)).routes(routes!(register_cards)).routes(routes!(get_card))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterCard {
    /// 6 to 19 digits.
    #[schema(pattern = r"^[0-9]{6,19}$")]
    pub number: String,
    pub category: CardCategory,
    pub card_type: CardType,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterCards {
    /// 1 to 1000 cards, registered all or none.
    #[schema(min_items = 1, max_items = 1000)]
    pub cards: Vec<RegisterCard>,
}

/// The answer to a batch: how many cards it registered, and their events.
#[derive(Serialize, ToSchema)]
pub struct Registered {
    registered: usize,
    events: Vec<EventRef>,
}

/// A card's path.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct CardPath {
    /// The card number: 6 to 19 digits.
    #[param(pattern = r"^[0-9]{6,19}$")]
    number: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CardBody {
    pub number: String,
    pub status: CardStatus,
    pub category: CardCategory,
    pub card_type: CardType,
    pub contact_id: Option<Uuid>,
    pub block_reason: Option<tally_events::BlockReason>,
}

impl From<CardView> for CardBody {
    fn from(card: CardView) -> CardBody {
        CardBody {
            number: card.number,
            status: card.status,
            category: card.category,
            card_type: card.card_type,
            contact_id: card.contact_id,
            block_reason: card.block_reason,
        }
    }
}

/// The registration of one card, as a target of its own.
fn registration(card: RegisterCard) -> Result<(String, Target), ApiError> {
    let number = CardNumber::parse(&card.number)
        .ok_or_else(|| ApiError::invalid(format!("card number {:?} must be 6 to 19 digits", card.number)))?;
    let number = number.as_str().to_owned();
    let command = CardCommand::Register { number: number.clone(), category: card.category, card_type: card.card_type };
    Ok((number.clone(), CardAggregate::target(number, command)))
}

/// Register a card (status New).
#[utoipa::path(post, path = "/cards", tag = "v1", request_body = RegisterCard, responses(
    (status = 201, description = "Registered", body = Written),
    (status = 409, description = "A card with this number exists", body = ErrorBody),
    (status = 422, description = "Invalid card", body = ErrorBody),
))]
async fn register_card(State(app): State<Shared>, incoming: Incoming) -> Response {
    let plan = async |_: &App, _: &Principal, card: RegisterCard| Ok(registration(card)?.1);
    write(&app, incoming, plan, |envelopes| (StatusCode::CREATED, Written::of(envelopes))).await
}

/// Register up to 1000 cards, all or none.
#[utoipa::path(post, path = "/cards/batch", tag = "v1", request_body = RegisterCards, responses(
    (status = 201, description = "Every card registered", body = Registered),
    (status = 409, description = "A card of the batch exists; none was registered", body = ErrorBody),
    (status = 422, description = "Invalid batch", body = ErrorBody),
))]
async fn register_cards(State(app): State<Shared>, incoming: Incoming) -> Response {
    let plan = async |_: &App, _: &Principal, batch: RegisterCards| {
        if batch.cards.is_empty() || batch.cards.len() > MAX_BATCH_CARDS {
            return Err(ApiError::invalid(format!("a batch holds 1 to {MAX_BATCH_CARDS} cards")));
        }
        let registrations = batch.cards.into_iter().map(registration).collect::<Result<Vec<_>, _>>()?;
        let mut seen = std::collections::HashSet::new();
        for (number, _) in &registrations {
            if !seen.insert(number) {
                return Err(ApiError::invalid(format!("card {number} appears twice in the batch")));
            }
        }
        Ok(Target::all(registrations.into_iter().map(|(_, target)| target)))
    };
    write(&app, incoming, plan, |envelopes| {
        (StatusCode::CREATED, Registered { registered: envelopes.len(), events: events(envelopes) })
    })
    .await
}

/// A card.
#[utoipa::path(get, path = "/cards/{number}", tag = "v1", params(CardPath), responses(
    (status = 200, description = "The card", body = CardBody),
    (status = 404, description = "No card with this number", body = ErrorBody),
))]
async fn get_card(
    State(app): State<Shared>,
    V1Caller { 0: principal, .. }: V1Caller,
    V1Path { 0: CardPath { number }, .. }: V1Path<CardPath>,
) -> Result<Json<CardBody>, ApiError> {
    let card = queries::card(&app.db, &principal.tenant, &number)
        .await?
        .ok_or_else(|| ApiError::not_found("CardNotFound", "no card with this number"))?;
    Ok(Json(card.into()))
}

//! `/v1/cards`: registering cards (one, or a batch all or none) and reading one.

use axum::{
    extract::State,
    http::StatusCode,
    response::Response,
    routing::{get, post},
    Json, Router,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tally_events::{CardCategory, CardStatus, CardType};
use tally_projections::CardView;
use uuid::Uuid;

use super::{events_json, write, ApiError, V1Caller, V1Path};
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

pub fn routes() -> axum::Router<Shared> {
    Router::new()
        .route("/cards", post(register_card))
        .route("/cards/batch", post(register_cards))
        .route("/cards/{number}", get(get_card))
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterCard {
    /// 6 to 19 digits.
    pub number: String,
    pub category: CardCategory,
    pub card_type: CardType,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterCards {
    /// 1 to 1000 cards, registered all or none.
    pub cards: Vec<RegisterCard>,
}

#[derive(Debug, Serialize, JsonSchema)]
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

async fn register_card(State(app): State<Shared>, incoming: Incoming) -> Response {
    let plan = async |_: &App, _: &Principal, card: RegisterCard| Ok(registration(card)?.1);
    write(&app, incoming, plan, |envelopes| {
        (StatusCode::CREATED, serde_json::json!({ "events": events_json(envelopes) }))
    })
    .await
}

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
        (StatusCode::CREATED, serde_json::json!({ "registered": envelopes.len(), "events": events_json(envelopes) }))
    })
    .await
}

async fn get_card(
    State(app): State<Shared>,
    V1Caller { 0: principal, .. }: V1Caller,
    V1Path { 0: number, .. }: V1Path<String>,
) -> Result<Json<CardBody>, ApiError> {
    let card = queries::card(&app.db, &principal.tenant, &number)
        .await?
        .ok_or_else(|| ApiError::not_found("CardNotFound", "no card with this number"))?;
    Ok(Json(card.into()))
}

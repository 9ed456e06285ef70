//! The card methods: issue, bindto, active, block and unblock, each under every spelling the seed uses and served
//! by GET and by POST alike.

use std::collections::HashMap;

use axum::{
    extract::{Query, State},
    http::{StatusCode, Uri},
    response::Response,
};
use serde_json::{Map, Value};
use tally_events::{BlockReason, Envelope as EventEnvelope, UnblockReason};
use tally_projections::CardView;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{balance::find_card, balance::Lookup, log::log_response, CashDesk, Envelope, Fault};
use crate::{
    app::App,
    commands::{Command, Stream, Target},
    domain::{
        card::{CardAggregate, CardCommand},
        ids::{CardNumber, MobileNumber},
        roles::{BLOCK_REASONS, UNBLOCK_REASONS},
        Refusal,
    },
    http::{
        ingress::{self, Incoming, KeyPolicy, Responder},
        json_stored, stored, Shared, Surface,
    },
    queries,
    store::idempotency::StoredResponse,
};

/// Declares the handlers of the card methods, one per spelling the seed uses, each served by GET and by POST, and
/// their router.
macro_rules! card_methods {
    ($($method:ident $summary:literal params $params:tt: $($handler:ident $path:literal),+;)+) => {
        $($(
            #[doc = $summary]
            #[utoipa::path(method(get, post), path = $path, tag = "cashdesk", params $params, responses(
                (status = 200, description = "Done: `Status` true, `Key` \"OK\"", body = Envelope),
                (status = 400, description = "A parameter is missing or malformed, or the body is not a JSON object", body = Envelope),
                (status = 403, description = "The reason code is not allowed", body = Envelope),
                (status = 404, description = "No card or contact found", body = Envelope),
                (status = 409, description = "The card's status or binding does not allow it", body = Envelope),
                (status = 422, description = "Refused by a rule of the ledger, or the Idempotency-Key was used with another request", body = Envelope),
            ))]
            async fn $handler(State(app): State<Shared>, incoming: Incoming) -> Response {
                card_method(&app, CardMethod::$method, incoming).await
            }
        )+)+

        pub fn routes() -> OpenApiRouter<Shared> {
            OpenApiRouter::new()$($(.routes(routes!($handler)))+)+
        }
    };
}

card_methods! {
    Issue "Issue a card: New to Issued. Parameters come in the query string or a JSON object body."
        params(("Number" = String, Query, pattern = r"^[0-9]{6,19}$", description = "The card number")):
        issue "/issue", issue_capitalized "/Issue";
    BindTo "Bind a card to the contact with a mobile number. Parameters come in the query string or a JSON object body."
        params(
            ("Number" = String, Query, pattern = r"^[0-9]{6,19}$", description = "The card number"),
            ("MobileNumber" = String, Query, pattern = r"^\+?[1-9][0-9]{9,14}$", description = "The contact's mobile number"),
        ):
        bindto "/bindto", bindto_capitalized "/BindTo", bindto_misspelt "/binto";
    Active "Activate a bound card whose contact's data is sufficient. Parameters come in the query string or a JSON object body."
        params(("Number" = String, Query, pattern = r"^[0-9]{6,19}$", description = "The card number")):
        active "/active", active_capitalized "/Active";
    Block "Block a card named by Number or by ContactMobileNumber (one is required). Parameters come in the query string or a JSON object body."
        params(
            ("Number" = Option<String>, Query, pattern = r"^[0-9]{6,19}$", description = "The card number"),
            ("ContactMobileNumber" = Option<String>, Query, pattern = r"^\+?[1-9][0-9]{9,14}$", description = "The mobile number of the card's contact"),
            ("BlockReasonCode" = u8, Query, minimum = 0, maximum = 4, description = "0 lost, 1 stolen, 2 damaged, 3 replaced, 4 other"),
        ):
        block "/block", block_capitalized "/Block";
    Unblock "Unblock a card named by Number or by ContactMobileNumber (one is required). Parameters come in the query string or a JSON object body."
        params(
            ("Number" = Option<String>, Query, pattern = r"^[0-9]{6,19}$", description = "The card number"),
            ("ContactMobileNumber" = Option<String>, Query, pattern = r"^\+?[1-9][0-9]{9,14}$", description = "The mobile number of the card's contact"),
            ("UnBlockReasonCode" = u8, Query, minimum = 0, maximum = 3, description = "0 to 3, as the seed codes them"),
        ):
        unblock "/unblock", unblock_capitalized "/UnBlock";
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum CardMethod {
    Issue,
    BindTo,
    Active,
    Block,
    Unblock,
}

impl CardMethod {
    /// The parameters the method reads; others are refused, so that a misspelt name is not silently ignored.
    fn parameters(self) -> &'static [&'static str] {
        match self {
            CardMethod::Issue | CardMethod::Active => &["Number"],
            CardMethod::BindTo => &["Number", "MobileNumber"],
            CardMethod::Block => &["Number", "ContactMobileNumber", "BlockReasonCode"],
            CardMethod::Unblock => &["Number", "ContactMobileNumber", "UnBlockReasonCode"],
        }
    }

    fn name(self) -> &'static str {
        match self {
            CardMethod::Issue => "issue",
            CardMethod::BindTo => "bindto",
            CardMethod::Active => "active",
            CardMethod::Block => "block",
            CardMethod::Unblock => "unblock",
        }
    }
}

/// The request's parameters: the query string overlaid by the JSON body's fields.
struct Params(Map<String, Value>);

impl Params {
    fn read(uri: &Uri, body: &[u8], known: &[&str]) -> Result<Params, Fault> {
        let mut params = Map::new();
        if let Ok(Query(query)) = Query::<HashMap<String, String>>::try_from_uri(uri) {
            params.extend(query.into_iter().map(|(k, v)| (k, Value::String(v))));
        }
        if !body.iter().all(u8::is_ascii_whitespace) {
            match serde_json::from_slice::<Value>(body) {
                Ok(Value::Object(fields)) => params.extend(fields),
                Ok(_) => return Err(Fault::InvalidRequestFormat("The body must be a JSON object".into())),
                Err(error) => return Err(Fault::InvalidRequestFormat(format!("The body is not valid JSON: {error}"))),
            }
        }
        if let Some(unknown) = params.keys().find(|name| !known.iter().any(|k| k.eq_ignore_ascii_case(name))) {
            let known = known.join(", ");
            return Err(Fault::InvalidRequestFormat(format!(
                "Unknown parameter {unknown:?}: the method takes {known}"
            )));
        }
        Ok(Params(params))
    }

    /// A parameter's text, by case-insensitive name; empty and null count as absent.
    fn get(&self, name: &str) -> Option<String> {
        let value = self.0.iter().find(|(key, _)| key.eq_ignore_ascii_case(name)).map(|(_, value)| value)?;
        let text = match value {
            Value::String(text) => text.trim().to_owned(),
            Value::Number(number) => number.to_string(),
            _ => return None,
        };
        (!text.is_empty()).then_some(text)
    }
}

/// Names every missing parameter at once, as the seed asks.
fn require(params: &Params, names: &[&'static str]) -> Result<Vec<String>, Fault> {
    let values: Vec<Option<String>> = names.iter().map(|name| params.get(name)).collect();
    let missing: Vec<&'static str> =
        names.iter().zip(&values).filter(|(_, value)| value.is_none()).map(|(name, _)| *name).collect();
    if !missing.is_empty() {
        return Err(Fault::RequiredParameterNotSpecified(missing));
    }
    Ok(values.into_iter().flatten().collect())
}

fn reason_code(text: &str, count: usize) -> Option<usize> {
    text.parse::<usize>().ok().filter(|code| *code < count)
}

/// Finds the card a block or unblock names: by `Number`, else by the contact's `ContactMobileNumber`.
async fn card_by_number_or_mobile(
    app: &App,
    tenant: &str,
    params: &Params,
    reason: &'static str,
) -> Result<(CardView, String), Fault> {
    let number = params.get("Number");
    let mobile = params.get("ContactMobileNumber");
    let reason_text = params.get(reason);
    let mut missing = Vec::new();
    if number.is_none() && mobile.is_none() {
        missing.push("Number or ContactMobileNumber");
    }
    if reason_text.is_none() {
        missing.push(reason);
    }
    if !missing.is_empty() {
        return Err(Fault::RequiredParameterNotSpecified(missing));
    }
    let card = match (number, mobile) {
        (Some(number), _) => find_card(app, tenant, Lookup::Number(number)).await?,
        (None, Some(mobile)) => {
            let mobile = MobileNumber::parse(&mobile).ok_or(Fault::InvalidMobileNumber)?;
            let contact =
                queries::contact_by_mobile(&app.db, tenant, mobile.as_str()).await?.ok_or(Fault::CannotFindMobile)?;
            queries::live_card(&app.db, tenant, contact.contact_id).await?.ok_or(Fault::CannotFindCardNumber)?
        }
        (None, None) => unreachable!("checked above"),
    };
    Ok((card, reason_text.unwrap_or_default()))
}

/// Whether the card's contact has the personal data the merchant requires.
async fn sufficient(app: &App, tenant: &str, card: &CardView) -> Result<bool, Fault> {
    let Some(contact_id) = card.contact_id else {
        return Ok(false);
    };
    match queries::contact(&app.db, tenant, contact_id).await? {
        Some(contact) => Ok(app.reads.data_sufficient(&app.db, &contact).await?),
        None => Ok(false),
    }
}

/// Validates the parameters, looks up what the decision needs, and names the command.
async fn plan(app: &App, tenant: &str, method: CardMethod, params: &Params) -> Result<Target, Fault> {
    let card_target = |number: String, command| CardAggregate::target(number, command);
    match method {
        CardMethod::Issue => {
            let [number] = <[String; 1]>::try_from(require(params, &["Number"])?).expect("one value");
            let card = find_card(app, tenant, Lookup::Number(number)).await?;
            Ok(card_target(card.number, CardCommand::Issue))
        }
        CardMethod::BindTo => {
            let [number, mobile] =
                <[String; 2]>::try_from(require(params, &["Number", "MobileNumber"])?).expect("two values");
            let number = CardNumber::parse(&number).ok_or(Fault::InvalidCardNumber)?;
            let mobile = MobileNumber::parse(&mobile).ok_or(Fault::InvalidMobileNumber)?;
            let card = queries::card(&app.db, tenant, number.as_str()).await?.ok_or(Fault::CannotFindCardNumber)?;
            let contact =
                queries::contact_by_mobile(&app.db, tenant, mobile.as_str()).await?.ok_or(Fault::CannotFindMobile)?;
            let live = queries::live_card(&app.db, tenant, contact.contact_id).await?;
            let command =
                CardCommand::BindTo { contact_id: contact.contact_id, contact_live_card: live.map(|c| c.number) };
            Ok(card_target(card.number, command))
        }
        CardMethod::Active => {
            let [number] = <[String; 1]>::try_from(require(params, &["Number"])?).expect("one value");
            let card = find_card(app, tenant, Lookup::Number(number)).await?;
            let contact_data_sufficient = sufficient(app, tenant, &card).await?;
            Ok(card_target(card.number, CardCommand::Activate { contact_data_sufficient }))
        }
        CardMethod::Block => {
            let (card, code) = card_by_number_or_mobile(app, tenant, params, "BlockReasonCode").await?;
            let reason: BlockReason = reason_code(&code, BLOCK_REASONS.len())
                .map(|code| BLOCK_REASONS[code])
                .ok_or_else(|| Fault::BlockReasonError(format!("Unknown BlockReasonCode {code:?}: use 0 to 4")))?;
            Ok(card_target(card.number, CardCommand::Block { reason }))
        }
        CardMethod::Unblock => {
            let (card, code) = card_by_number_or_mobile(app, tenant, params, "UnBlockReasonCode").await?;
            let reason: UnblockReason = reason_code(&code, UNBLOCK_REASONS.len())
                .map(|code| UNBLOCK_REASONS[code])
                .ok_or_else(|| Fault::UnBlockReasonError(format!("Unknown UnBlockReasonCode {code:?}: use 0 to 3")))?;
            let contact_data_sufficient = sufficient(app, tenant, &card).await?;
            Ok(card_target(card.number, CardCommand::Unblock { reason, contact_data_sufficient }))
        }
    }
}

/// Renders a decided card command: the bare envelope on success, the mapped fault otherwise.
fn render(result: &Result<Vec<EventEnvelope>, Refusal>) -> StoredResponse {
    match result {
        Ok(_) => json_stored(StatusCode::OK, &Envelope::ok()),
        Err(refusal) => Fault::from(refusal.clone()).stored(),
    }
}

async fn card_method(app: &Surface, method: CardMethod, incoming: Incoming) -> Response {
    let admitted = match incoming.admitted(app, CashDesk.surface(), KeyPolicy::Optional).await {
        Ok(admitted) => admitted,
        Err(fault) => return answer(app, method, &Map::new(), fault.into()),
    };
    let params = match Params::read(&incoming.uri, &admitted.body, method.parameters()) {
        Ok(params) => params,
        Err(fault) => return answer(app, method, &Map::new(), fault),
    };
    let principal = admitted.principal;
    let target = match plan(app, &principal.tenant, method, &params).await {
        Ok(target) => target,
        Err(fault) => return answer(app, method, &params.0, fault),
    };
    let mut command = Command::new(&principal.tenant, principal.actor(), target);
    command.idempotency = admitted.key;
    let (log_method, log_params, log_enabled) = (method.name(), params.0, app.log_requests);
    command.render = Some(Box::new(move |result| {
        let response = render(result);
        log_response(log_enabled, log_method, &log_params, &response);
        response
    }));
    ingress::execute(app, command, &CashDesk).await
}

/// Answers a refusal found before any command, logged as the seed asks.
fn answer(app: &Surface, method: CardMethod, params: &Map<String, Value>, fault: Fault) -> Response {
    let response = fault.stored();
    log_response(app.log_requests, method.name(), params, &response);
    stored(&response, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_missing_parameter_is_named() {
        let params = Params(Map::new());
        assert_eq!(
            require(&params, &["Number", "MobileNumber"]),
            Err(Fault::RequiredParameterNotSpecified(vec!["Number", "MobileNumber"]))
        );
    }
}

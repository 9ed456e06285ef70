//! Footprints, the marketing platform's API, served under `/api`: the token endpoint (`/api/token`), leads and
//! their actions, documents, prospects, NPS and lost leads. Callers sign in at `/api/token` with their application's
//! key and secret (an API client's id and secret, in HTTP Basic) and send the access token as `?access_token=` (as
//! the seed does) or as `Authorization: Bearer`. Bodies are forms with PHP's bracket notation, or JSON objects.
//!
//! The seed documents no error shape. Every refusal is `{"status": "error", "error": <code>, "message": <text>}`
//! with an HTTP status that agrees: the success answers carry `"status": "success"`, and `error` holds the OAuth
//! error codes (`invalid_request`, `invalid_client`, `invalid_grant`, `unsupported_grant_type`, `invalid_token`)
//! that token clients look for, and snake-case codes of Tally's own for the rest.

mod actions;
mod answer;
mod catalogue;
mod customers;
mod documents;
mod fields;
mod form;
mod intake;
mod leads;
mod loyalty;
mod notifications;
mod person;
mod token;

use axum::{
    body::Bytes,
    http::{Method, StatusCode},
    response::{IntoResponse, Response},
};
use serde::Serialize;
use serde_json::Value;
use tally_events::{Envelope, Role};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;

use super::{
    ingress::{self, Caller, Fault, Incoming, KeyPolicy, PathParams, QueryParams, Responder, Scheme},
    json_stored, wording, Shared,
};
use crate::{
    app::App,
    auth::Principal,
    commands::{Command, Target},
    domain::{lead::LeadError, Refusal},
    store::{idempotency::StoredResponse, StoreError},
    vault::VaultError,
};
use fields::Fields;

pub fn routes() -> OpenApiRouter<Shared> {
    OpenApiRouter::new()
        .merge(token::routes())
        .merge(leads::routes())
        .merge(actions::routes())
        .merge(customers::routes())
        .merge(documents::routes())
        .merge(notifications::routes())
        .merge(loyalty::routes())
        .merge(catalogue::routes())
}

/// The answer to a method a path does not serve: 405 in Footprints' envelope (axum adds `Allow`).
pub async fn method_not_allowed(method: Method) -> Response {
    Footprints.respond(&Fault::MethodNotAllowed(method))
}

/// Footprints' error envelope.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = footprints::Error)]
pub struct ErrorBody {
    /// Always `error`.
    status: &'static str,
    /// A stable code: an OAuth error code (`invalid_request`, `invalid_token`, …) or one of Tally's
    /// (`not_found`, `forbidden`, `lead_already_customer`, …).
    error: &'static str,
    /// What went wrong, in English.
    message: String,
}

/// A refusal in Footprints' envelope.
#[derive(Debug, Clone, PartialEq)]
pub struct Refused {
    status: StatusCode,
    error: &'static str,
    message: String,
}

impl Refused {
    pub fn new(status: StatusCode, error: &'static str, message: impl Into<String>) -> Refused {
        Refused { status, error, message: message.into() }
    }

    /// A request the seed's rules do not allow: 400 `invalid_request`.
    pub fn invalid(message: impl Into<String>) -> Refused {
        Refused::new(StatusCode::BAD_REQUEST, "invalid_request", message)
    }

    pub fn not_found(message: impl Into<String>) -> Refused {
        Refused::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    fn stored(&self) -> StoredResponse {
        json_stored(self.status, &ErrorBody { status: "error", error: self.error, message: self.message.clone() })
    }
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        super::stored(&self.stored(), false)
    }
}

impl From<Fault> for Refused {
    fn from(fault: Fault) -> Refused {
        let (status, _, message) = wording::fault(&fault);
        let (error, message) = match fault {
            Fault::Unauthenticated => {
                ("invalid_token", "an access token is required: ?access_token=… or Authorization: Bearer …".into())
            }
            Fault::BadCredentials => ("invalid_token", "the access token is not known".into()),
            Fault::TokenExpired => ("invalid_token", message),
            Fault::BodyTooLarge => ("payload_too_large", message),
            Fault::BodyUnreadable(_)
            | Fault::InvalidParameter(_)
            | Fault::IdempotencyKeyRequired
            | Fault::InvalidIdempotencyKey => ("invalid_request", message),
            Fault::IdempotencyKeyReused => ("idempotency_key_reused", message),
            Fault::Unavailable => ("temporarily_unavailable", message),
            Fault::MethodNotAllowed(_) => ("method_not_allowed", message),
        };
        Refused::new(status, error, message)
    }
}

impl From<StoreError> for Refused {
    fn from(error: StoreError) -> Refused {
        Refused::from(ingress::outage(&error, Footprints.surface()))
    }
}

impl From<Refusal> for Refused {
    fn from(refusal: Refusal) -> Refused {
        let status = match &refusal {
            Refusal::Lead(LeadError::NotFound | LeadError::ActionNotFound) => StatusCode::NOT_FOUND,
            Refusal::Lead(LeadError::ContractWithoutCustomer) => StatusCode::BAD_REQUEST,
            Refusal::Loyalty(error) => loyalty::refused(error).0,
            _ => StatusCode::CONFLICT,
        };
        let error = match &refusal {
            Refusal::Lead(LeadError::NotFound | LeadError::ActionNotFound) => "not_found",
            Refusal::Lead(LeadError::ContractWithoutCustomer) => "invalid_request",
            Refusal::Lead(LeadError::AlreadyCustomer) => "lead_already_customer",
            Refusal::Lead(LeadError::AlreadyLost { .. }) => "lead_already_lost",
            Refusal::Loyalty(error) => loyalty::refused(error).1,
            _ => "conflict",
        };
        Refused::new(status, error, wording::message(&refusal))
    }
}

impl From<VaultError> for Refused {
    fn from(error: VaultError) -> Refused {
        match error {
            VaultError::Erased => {
                Refused::new(StatusCode::GONE, "customer_erased", "the customer was erased: nothing is kept of them")
            }
            VaultError::Store(error) => Refused::from(error),
        }
    }
}

/// Footprints' responder: its envelope, and bearer tokens.
#[derive(Default)]
struct Footprints;

impl Responder for Footprints {
    fn surface(&self) -> &'static str {
        "footprints"
    }

    fn fault(&self, fault: &Fault) -> StoredResponse {
        Refused::from(fault.clone()).stored()
    }

    fn scheme(&self) -> Scheme {
        Scheme::Bearer
    }
}

/// The authenticated caller of a read.
type FpCaller = Caller<Footprints>;
/// Path parameters, refused in Footprints' envelope.
type FpPath<T> = PathParams<T, Footprints>;
/// Query parameters, refused in Footprints' envelope.
type FpQuery<T> = QueryParams<T, Footprints>;

/// Who may do what: a customer's application (role `client`) may take leads, prospects and scores; reading leads,
/// working on them and reading customers is for the merchant's staff.
fn staff(principal: &Principal) -> Result<(), Refused> {
    if principal.role == Role::Client {
        return Err(Refused::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "role client may only add leads, prospects and scores",
        ));
    }
    Ok(())
}

/// Who may do a write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Allowed {
    Anyone,
    Staff,
}

/// A write's command: its streams, and when it happened if the caller says.
struct Planned {
    target: Target,
    occurred_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl From<Target> for Planned {
    fn from(target: Target) -> Planned {
        Planned { target, occurred_at: None }
    }
}

/// Runs a write: the ingress (body, token, idempotency key), the role, the body's fields, the look-ups in `plan`,
/// then the command, answered by `render` from the appended events (the answer a retry with the same
/// `Idempotency-Key` gets again: it never holds personal data).
async fn write<P, R>(app: &App, incoming: Incoming, allowed: Allowed, plan: P, render: R, then: Then) -> Response
where
    P: AsyncFnOnce(&App, &Principal, Fields) -> Result<Planned, Refused>,
    R: Fn(&[Envelope]) -> (StatusCode, Value) + Send + Sync + 'static,
{
    let read =
        |content_type: Option<&str>, body: &Bytes| form::read(content_type, body).map(Fields).map_err(Refused::invalid);
    write_with(app, incoming, allowed, read, plan, render, then).await
}

/// [`write`], with the body read by `read` (from its content type and bytes) instead of as fields.
async fn write_with<B, P, R>(
    app: &App,
    incoming: Incoming,
    allowed: Allowed,
    read: impl FnOnce(Option<&str>, &Bytes) -> Result<B, Refused>,
    plan: P,
    render: R,
    then: Then,
) -> Response
where
    P: AsyncFnOnce(&App, &Principal, B) -> Result<Planned, Refused>,
    R: Fn(&[Envelope]) -> (StatusCode, Value) + Send + Sync + 'static,
{
    let admitted = match incoming.admit(app, &Footprints, KeyPolicy::Optional).await {
        Ok(admitted) => admitted,
        Err(response) => return response,
    };
    let principal = admitted.principal;
    let planned = async {
        if allowed == Allowed::Staff {
            staff(&principal)?;
        }
        let content_type = incoming.headers.get(axum::http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
        let body = read(content_type, &admitted.body)?;
        plan(app, &principal, body).await
    };
    let planned = match planned.await {
        Ok(planned) => planned,
        Err(refused) => return refused.into_response(),
    };
    let mut command = Command::new(&principal.tenant, principal.actor(), planned.target);
    command.occurred_at = planned.occurred_at;
    command.idempotency = admitted.key;
    command.render = Some(Box::new(move |result| match result {
        Ok(envelopes) => {
            let (status, body) = render(envelopes);
            json_stored(status, &body)
        }
        Err(refusal) => Refused::from(refusal.clone()).stored(),
    }));
    let written = ingress::execute(app, command, &Footprints).await;
    match then {
        Then::Rendered => written,
        Then::Lead(lead_id) => leads::with_lead(app, &principal.tenant, &lead_id, written).await,
        Then::Notification(id) => notifications::settled(app, &principal.tenant, id, written).await,
        Then::Upload { stored, .. } if written.status() != StatusCode::OK => {
            // Refused: what was stored for it goes.
            let removed = crate::store::documents::remove(&app.db.write, &principal.tenant, &stored);
            if let Err(error) = removed.await {
                tracing::error!(%error, "the contents of a refused upload could not be removed");
            }
            written
        }
        Then::Upload { lead_id, stored } => {
            documents::uploaded(app, &principal.tenant, &lead_id, &stored, written).await
        }
    }
}

/// Runs a read whose question comes as a body (the seed's POST reads, such as `/api/loyaltyCode/check`): the
/// ingress (body, token), the role, the body's fields, then `answer`. Nothing is written.
async fn ask<A>(app: &App, incoming: Incoming, allowed: Allowed, answer: A) -> Response
where
    A: AsyncFnOnce(&App, &Principal, Fields) -> Result<Value, Refused>,
{
    let admitted = match incoming.admit(app, &Footprints, KeyPolicy::Optional).await {
        Ok(admitted) => admitted,
        Err(response) => return response,
    };
    let result = async {
        if allowed == Allowed::Staff {
            staff(&admitted.principal)?;
        }
        let content_type = incoming.headers.get(axum::http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
        let fields = form::read(content_type, &admitted.body).map(Fields).map_err(Refused::invalid)?;
        answer(app, &admitted.principal, fields).await
    };
    answered(result.await)
}

/// A read's answer: the JSON, or the refusal.
fn answered(answer: Result<Value, Refused>) -> Response {
    match answer {
        Ok(value) => axum::Json(value).into_response(),
        Err(refused) => refused.into_response(),
    }
}

/// Where a page of a list is: Footprints says so in `X-Total-Pages`, `X-Records` and `X-Current-Page`.
struct Paging {
    page: i64,
    size: i64,
    total: i64,
}

impl Paging {
    /// `response` with the paging headers (exposed to scripts of other origins, as the seed's are).
    fn headers(&self, mut response: Response) -> Response {
        let pages = (self.total + self.size - 1) / self.size;
        let headers = response.headers_mut();
        headers.insert(
            "access-control-expose-headers",
            axum::http::HeaderValue::from_static("X-Total-Pages, X-Records, X-Current-Page"),
        );
        for (name, value) in [("x-total-pages", pages), ("x-records", self.total), ("x-current-page", self.page)] {
            headers.insert(name, axum::http::HeaderValue::from(value));
        }
        response
    }
}

/// What a write answers once it went through.
enum Then {
    /// What its render made of the events.
    Rendered,
    /// The lead as it is now (it holds personal data, which a stored answer never does).
    Lead(String),
    /// What its render made, once what was kept for notification `id` is forgotten if it was not recorded.
    Notification(uuid::Uuid),
    /// The documents uploaded to the lead, named; those stored for it are removed if it was refused.
    Upload { lead_id: String, stored: Vec<String> },
}

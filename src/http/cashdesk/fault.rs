//! What the CashDesk surface refuses, with the seed's keys, and how core refusals and ingress faults map to them.

use axum::{
    http::{Method, StatusCode},
    response::Response,
};

use super::{CashDesk, Envelope};
use crate::{
    domain::{card::CardError, contact::ContactError, Refusal},
    http::{
        ingress::{self, Fault as IngressFault, Responder},
        json_stored, stored, wording, MAX_BODY_BYTES,
    },
    store::{idempotency::StoredResponse, StoreError},
};

/// A CashDesk refusal: its HTTP status, `Key` and `Value`.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Fault {
    RequiredParameterNotSpecified(Vec<&'static str>),
    InvalidCardNumber,
    InvalidMobileNumber,
    InvalidContactCode,
    CannotFindCardNumber,
    CannotFindMobileNumber,
    CannotFindContactCode,
    CannotFindMobile,
    StatusError(String),
    CardNumberBindToAnotherContact,
    ContactBindToAnotherCardNumber(String),
    BlockReasonError(String),
    UnBlockReasonError(String),
    Unauthorized,
    InvalidRequestFormat(String),
    RequestTooLarge,
    InvalidIdempotencyKey,
    IdempotencyKeyReused,
    Rejected(String),
    ServiceUnavailable,
    MethodNotAllowed(Method),
    UnknownMethod,
}

impl Fault {
    fn parts(&self) -> (StatusCode, &'static str, String) {
        use Fault::*;
        match self {
            RequiredParameterNotSpecified(names) => {
                (StatusCode::BAD_REQUEST, "RequiredParameterNotSpecified", names.join(","))
            }
            InvalidCardNumber => {
                (StatusCode::BAD_REQUEST, "InvalidCardNumber", "The card number was sent in the wrong format".into())
            }
            InvalidMobileNumber => {
                (StatusCode::BAD_REQUEST, "InvalidMobileNumber", "The mobile phone was sent in the wrong format".into())
            }
            InvalidContactCode => {
                (StatusCode::BAD_REQUEST, "InvalidContactCode", "The contact code was sent in the wrong format".into())
            }
            CannotFindCardNumber => {
                (StatusCode::NOT_FOUND, "CannotFindCardNumber", "No card found for the Number parameter".into())
            }
            CannotFindMobileNumber => {
                (StatusCode::NOT_FOUND, "CannotFindMobileNumber", "No card found for the MobileNumber parameter".into())
            }
            CannotFindContactCode => {
                (StatusCode::NOT_FOUND, "CannotFindContactCode", "No card found for the Code parameter".into())
            }
            CannotFindMobile => {
                (StatusCode::NOT_FOUND, "CannotFindMobile", "No contact found for the specified mobile phone".into())
            }
            StatusError(detail) => (StatusCode::CONFLICT, "StatusError", format!("Card status mismatch: {detail}")),
            CardNumberBindToAnotherContact => {
                (StatusCode::CONFLICT, "CardNumberBindToAnotherContact", "The card is bound to another contact".into())
            }
            ContactBindToAnotherCardNumber(card) => (
                StatusCode::CONFLICT,
                "ContactBindToAnotherCardNumber",
                format!(
                    "The contact is bound to {card}; a new card can be bound only after it is blocked for replacement"
                ),
            ),
            BlockReasonError(detail) => (StatusCode::FORBIDDEN, "BlockReasonError", detail.clone()),
            UnBlockReasonError(detail) => (StatusCode::FORBIDDEN, "UnBlockReasonError", detail.clone()),
            Unauthorized => (
                StatusCode::UNAUTHORIZED,
                "Unauthorized",
                "Authorization: Basic base64(login:password) is missing or wrong".into(),
            ),
            InvalidRequestFormat(detail) => (StatusCode::BAD_REQUEST, "InvalidRequestFormat", detail.clone()),
            RequestTooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "RequestTooLarge",
                format!("The request body exceeds {} bytes", MAX_BODY_BYTES),
            ),
            InvalidIdempotencyKey => (
                StatusCode::BAD_REQUEST,
                "InvalidIdempotencyKey",
                "Idempotency-Key must be 1 to 255 visible characters".into(),
            ),
            IdempotencyKeyReused => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "IdempotencyKeyReused",
                "This Idempotency-Key was used with a different request".into(),
            ),
            Rejected(detail) => (StatusCode::UNPROCESSABLE_ENTITY, "Rejected", detail.clone()),
            MethodNotAllowed(method) => (
                StatusCode::METHOD_NOT_ALLOWED,
                "MethodNotAllowed",
                format!("{method} is not served here; the Allow header lists the methods that are"),
            ),
            UnknownMethod => (
                StatusCode::NOT_FOUND,
                "UnknownMethod",
                "No such card service method: use balance/by/…, issue, bindto, active, block or unblock".into(),
            ),
            ServiceUnavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                "ServiceUnavailable",
                "The service cannot answer now; retry with the same Idempotency-Key".into(),
            ),
        }
    }

    pub(super) fn stored(&self) -> StoredResponse {
        let (status, key, value) = self.parts();
        json_stored(status, &Envelope { status: false, key, value })
    }

    pub(super) fn response(&self) -> Response {
        stored(&self.stored(), false)
    }
}

impl From<Refusal> for Fault {
    fn from(refusal: Refusal) -> Fault {
        match &refusal {
            Refusal::Card(CardError::NotFound) => return Fault::CannotFindCardNumber,
            Refusal::Contact(ContactError::NotFound) => return Fault::CannotFindMobile,
            Refusal::Card(CardError::BoundToAnotherContact) => return Fault::CardNumberBindToAnotherContact,
            Refusal::Card(CardError::ContactHasAnotherCard { card }) => {
                return Fault::ContactBindToAnotherCardNumber(card.clone().unwrap_or_else(|| "another card".into()))
            }
            Refusal::Card(CardError::BlockReasonNotAllowed { .. }) => {
                return Fault::BlockReasonError(wording::message(&refusal))
            }
            Refusal::Card(error) => {
                if let Some(detail) = wording::card_status_detail(error) {
                    return Fault::StatusError(detail);
                }
                if let Some(detail) = wording::unblock_detail(error) {
                    return Fault::UnBlockReasonError(detail);
                }
            }
            _ => {}
        }
        Fault::Rejected(wording::message(&refusal))
    }
}

impl From<StoreError> for Fault {
    fn from(error: StoreError) -> Fault {
        Fault::from(ingress::outage(&error, CashDesk.surface()))
    }
}

impl From<IngressFault> for Fault {
    fn from(fault: IngressFault) -> Fault {
        match fault {
            IngressFault::BodyTooLarge => Fault::RequestTooLarge,
            IngressFault::BodyUnreadable(detail) | IngressFault::InvalidParameter(detail) => {
                Fault::InvalidRequestFormat(detail)
            }
            IngressFault::Unauthenticated | IngressFault::BadCredentials | IngressFault::TokenExpired => {
                Fault::Unauthorized
            }
            IngressFault::InvalidIdempotencyKey | IngressFault::IdempotencyKeyRequired => Fault::InvalidIdempotencyKey,
            IngressFault::IdempotencyKeyReused => Fault::IdempotencyKeyReused,
            IngressFault::Unavailable => Fault::ServiceUnavailable,
            IngressFault::MethodNotAllowed(method) => Fault::MethodNotAllowed(method),
        }
    }
}

//! The English wording of refusals, shared by the dialects that answer in English sentences (each may word a
//! refusal its own way first, and fall back to this), and the HTTP status the native API gives each refusal.

use axum::http::StatusCode;
use tally_events::{CardStatus, DeclineReason, ReleaseReason};

use super::{ingress::Fault, MAX_BODY_BYTES};
use crate::{
    domain::{
        account::{AccountError, AmountProblem, ReservationStatus, MAX_AMOUNT, MAX_SCALE},
        card::{CardAction, CardError},
        catalogue::CatalogueError,
        contact::ContactError,
        customer::CustomerError,
        lead::LeadError,
        loyalty::LoyaltyError,
        money::{MoneyError, MONEY_SCALE},
        promotion::{BusinessError, PriceField, PromotionError, TermsProblem, MAX_CAP},
        roles,
        till::TillError,
        vend::VendError,
        Refusal,
    },
    scans::ScanError,
};

fn lead(error: &LeadError) -> String {
    match error {
        LeadError::AlreadyExists => "a lead with this id exists already".into(),
        LeadError::NotFound => "no lead with this id".into(),
        LeadError::AlreadyCustomer => "the lead became a customer: its status no longer changes".into(),
        LeadError::AlreadyLost { reason } => format!("the lead was lost already, for the reason {}", reason.as_str()),
        LeadError::ContractWithoutCustomer => "contract details go with the status customer only".into(),
        LeadError::ActionNotFound => "the lead has no action with this id".into(),
        LeadError::ActionExists => "the lead has an action with this id already".into(),
    }
}

fn loyalty(error: &LoyaltyError) -> String {
    match error {
        LoyaltyError::CampaignNotFound => "no loyalty campaign with this internal id".into(),
        LoyaltyError::PrizeTypeInUse { prize_id } => {
            format!("prize type {prize_id} has codes: it stays in the campaign")
        }
        LoyaltyError::UnknownPrize { prize_id } => format!("the campaign has no prize type {prize_id}"),
        LoyaltyError::CodeAlreadyIssued { code } => format!("code {code} is issued already (or given twice)"),
        LoyaltyError::NotEnoughCodes { possible } => {
            format!("the campaign's characters and code length make {possible} codes: at most half are issued")
        }
        LoyaltyError::CampaignNotRunning => "the campaign is not running: codes are handed out from its start \
            until its end"
            .into(),
        LoyaltyError::ClientHoldsCode { code } => {
            format!("the client holds code {code} of this campaign, not yet redeemed or blocked")
        }
        LoyaltyError::NoCodesLeft => "the campaign has no free code left (of this prize type)".into(),
        LoyaltyError::UnknownCode => "the campaign has no such code".into(),
        LoyaltyError::CodeNotHeld => "the code is not allocated to this client".into(),
        LoyaltyError::AlreadyRedeemed => "the code was redeemed already".into(),
        LoyaltyError::CodeBlocked => "the code is blocked".into(),
        LoyaltyError::CodesExpired => "the campaign's codes expired".into(),
    }
}

/// A sentence saying why the command was refused.
pub fn message(refusal: &Refusal) -> String {
    match refusal {
        Refusal::Card(error) => card(error),
        Refusal::Contact(error) => contact(error).into(),
        Refusal::Account(error) => account(error),
        Refusal::Money(error) => money(error),
        Refusal::Promotion(error) => promotion(error),
        Refusal::Business(BusinessError::AlreadyRegistered) => "this business id is registered already".into(),
        Refusal::Vend(error) => vend(error).into(),
        Refusal::Lead(error) => lead(error),
        Refusal::Customer(CustomerError::Erased) => "the customer was erased: nothing is kept of them".into(),
        Refusal::Loyalty(error) => loyalty(error),
        Refusal::Catalogue(CatalogueError::NotFound) => "no catalogue item with this id".into(),
        Refusal::Catalogue(CatalogueError::KindChanged { kind }) => {
            format!("this id names a {kind} of the catalogue: an item keeps its kind")
        }
    }
}

/// The native API's status of a refusal: 404 for what does not exist, 403 for what the role may not do, 422 for
/// values no state could accept, 409 for what the current state refuses.
pub fn status(refusal: &Refusal) -> StatusCode {
    match refusal {
        Refusal::Card(CardError::NotFound)
        | Refusal::Contact(ContactError::NotFound)
        | Refusal::Account(AccountError::NothingToReverse { .. })
        | Refusal::Money(MoneyError::NotFound)
        | Refusal::Promotion(PromotionError::NotFound)
        | Refusal::Vend(VendError::NotFound)
        | Refusal::Lead(LeadError::NotFound | LeadError::ActionNotFound)
        | Refusal::Loyalty(LoyaltyError::CampaignNotFound | LoyaltyError::UnknownCode)
        | Refusal::Catalogue(CatalogueError::NotFound) => StatusCode::NOT_FOUND,
        Refusal::Customer(CustomerError::Erased) => StatusCode::GONE,
        Refusal::Card(
            CardError::BlockReasonNotAllowed { .. }
            | CardError::UnblockReasonNotAllowed { .. }
            | CardError::BlockedForReplacement
            | CardError::BlockedByAdministrator
            | CardError::ReasonDoesNotUndoBlock { .. },
        ) => StatusCode::FORBIDDEN,
        Refusal::Account(AccountError::InvalidAmount(_) | AccountError::ExpiryNotAfterActivation)
        | Refusal::Money(MoneyError::InvalidAmount(_) | MoneyError::InvalidTerms | MoneyError::CardNumberNotAllowed)
        | Refusal::Vend(VendError::InvalidPrice)
        | Refusal::Promotion(PromotionError::InvalidTerms(_))
        | Refusal::Lead(LeadError::ContractWithoutCustomer)
        | Refusal::Loyalty(LoyaltyError::UnknownPrize { .. } | LoyaltyError::NotEnoughCodes { .. }) => {
            StatusCode::UNPROCESSABLE_ENTITY
        }
        _ => StatusCode::CONFLICT,
    }
}

/// What a card's status does not allow, for the refusals that are status mismatches.
pub fn card_status_detail(error: &CardError) -> Option<String> {
    let detail = match error {
        CardError::StatusMismatch { status, action } => {
            let card = match status {
                CardStatus::New => "a card in the New status",
                CardStatus::Issued => "an Issued card",
                CardStatus::Active => "an Active card",
                CardStatus::Blocked => "a Blocked card",
            };
            match (action, status) {
                (CardAction::Block, CardStatus::Blocked) => "the card is already Blocked".to_owned(),
                (CardAction::Issue, _) => format!("{card} cannot be changed to Issued"),
                (CardAction::BindTo, _) => format!("{card} cannot be bound to a contact"),
                (CardAction::Activate, CardStatus::Blocked) => format!("{card} cannot become Active by this method"),
                (CardAction::Activate, _) => format!("{card} cannot become Active"),
                (CardAction::Block, _) => format!("{card} cannot be Blocked"),
            }
        }
        CardError::NotBound { action: CardAction::Block } => {
            "a card that is not bound to a contact cannot be Blocked".to_owned()
        }
        CardError::NotBound { .. } => "the card is not bound to a contact yet".to_owned(),
        CardError::ContactDataInsufficient => {
            "the contact's personal data is not sufficient to activate the card".to_owned()
        }
        CardError::NotBlocked => "the card is not Blocked".to_owned(),
        _ => return None,
    };
    Some(detail)
}

/// Why a card may not be unblocked, for the refusals of an unblock.
pub fn unblock_detail(error: &CardError) -> Option<String> {
    Some(match error {
        CardError::UnblockReasonNotAllowed { role, reason } => {
            format!("role {} may not unblock a card for reason {}", role.as_str(), roles::unblock_code(*reason))
        }
        CardError::BlockedForReplacement => "the card was blocked for replacement, which is permanent".into(),
        CardError::BlockedByAdministrator => {
            "a card blocked by an administrator can be unblocked only by an administrator".into()
        }
        CardError::ReasonDoesNotUndoBlock { reason, block_reason } => format!(
            "unblock reason {} does not undo block reason {}",
            roles::unblock_code(*reason),
            roles::block_code(*block_reason)
        ),
        _ => return None,
    })
}

fn card(error: &CardError) -> String {
    if let Some(detail) = card_status_detail(error) {
        return format!("card status mismatch: {detail}");
    }
    if let Some(detail) = unblock_detail(error) {
        return detail;
    }
    match error {
        CardError::AlreadyRegistered => "the card is already registered".into(),
        CardError::NotFound => "no card with this number".into(),
        CardError::BlockReasonNotAllowed { role, reason } => {
            format!("role {} may not block a card for reason {}", role.as_str(), roles::block_code(*reason))
        }
        CardError::BoundToAnotherContact => "the card is bound to another contact".into(),
        CardError::ContactHasAnotherCard { card } => format!(
            "the contact is bound to card {}; a new card can be bound only after that one is blocked for replacement",
            card.as_deref().unwrap_or("(bound concurrently)")
        ),
        _ => unreachable!("status and unblock refusals are worded above"),
    }
}

fn contact(error: &ContactError) -> &'static str {
    match error {
        ContactError::AlreadyRegistered => "the contact already exists",
        ContactError::NotFound => "no such contact",
        ContactError::MobileNumberTaken => "another contact already has this mobile number",
        ContactError::CodeTaken => "another contact already has this contact code",
    }
}

fn account(error: &AccountError) -> String {
    match error {
        AccountError::InvalidAmount(problem) => amount(*problem, MAX_SCALE),
        AccountError::ExpiryNotAfterActivation => {
            "the expiry must be after the activation date (or now, without one)".into()
        }
        AccountError::Frozen => "the account's bonuses are frozen".into(),
        AccountError::NotFrozen => "the account's bonuses are not frozen".into(),
        AccountError::InsufficientBonuses { requested, available, bonus_type } => {
            format!("requested {requested} but only {available} {bonus_type:?} bonuses are active")
        }
        AccountError::NothingToReverse { event_id } => {
            format!("event {event_id} is not an accrual or redemption of this account")
        }
        AccountError::AlreadyReversed => "that movement was already reversed".into(),
        AccountError::AccrualPartlySpent { original, remaining } => format!(
            "the accrual was partly spent or burnt ({remaining} of {original} left); reverse the redemptions first"
        ),
        AccountError::Till(error) => till(error),
        AccountError::TillMovement => {
            "that movement came from a till: a refund from the till undoes it, within its sale".into()
        }
        AccountError::NoReservation => "this till transaction reserved no points on this account".into(),
        AccountError::ReservationClosed { status } => format!(
            "the reservation was {} already",
            match status {
                ReservationStatus::Open => "open",
                ReservationStatus::Completed => "completed",
                ReservationStatus::Released(ReleaseReason::Cancelled) => "cancelled",
                ReservationStatus::Released(ReleaseReason::Lapsed) => "lapsed",
            }
        ),
        AccountError::ReservationExpired => "the reservation expired: it can no longer be completed".into(),
        AccountError::ReservationMismatch { reserved } => {
            format!("the update amount differs from the reservation's ({reserved} points)")
        }
    }
}

fn amount(problem: AmountProblem, scale: u32) -> String {
    match problem {
        AmountProblem::NotPositive => "amount must be positive".into(),
        AmountProblem::TooLarge => format!("amount may be at most {MAX_AMOUNT}"),
        AmountProblem::TooPrecise => format!("amount may have at most {scale} decimal places"),
    }
}

fn money(error: &MoneyError) -> String {
    match error {
        MoneyError::InvalidAmount(problem) => amount(*problem, MONEY_SCALE),
        MoneyError::InvalidTerms => "a credit limit is for credit accounts, an allowance with its period for \
            employee accounts (and required there), and the currency is three capital letters"
            .into(),
        MoneyError::AlreadyOpened => "this money account exists already".into(),
        MoneyError::NotFound => "no such money account".into(),
        MoneyError::CreditNoteIssued => "a credit note is paid into once, when it is issued".into(),
        MoneyError::InsufficientFunds { requested, available } => {
            format!("requested {requested} but only {available} may be paid out of this account now")
        }
        MoneyError::AllowanceExceeded { restorable } => {
            format!("at most {restorable} was spent from the allowance this period and may be paid back")
        }
        MoneyError::Till(error) => till(error),
        MoneyError::HoldsNotAllowed => {
            "only deposit and credit accounts pay at vending machines and keep payment references".into()
        }
        MoneyError::HoldConflict => "this hold exists already with another amount".into(),
        MoneyError::NoSuchHold => "no open hold of that id".into(),
        MoneyError::PaymentReferenceExists => "a payment reference of that id is stored already".into(),
        MoneyError::CardNumberNotAllowed => {
            "that looks like a card number: store the payment gateway's token, never the card number".into()
        }
    }
}

/// Why a selection at a vending machine was declined.
pub fn decline(reason: DeclineReason) -> &'static str {
    match reason {
        DeclineReason::InsufficientFunds => "the member's balance does not cover the price",
        DeclineReason::PaymentDeclined => "the payment was declined",
        DeclineReason::AccountUnavailable => "the member's account cannot pay at vending machines",
    }
}

fn vend(error: &VendError) -> &'static str {
    match error {
        VendError::NotFound => "no such transaction",
        VendError::AlreadyStarted => "a purchase with this transaction reference exists already",
        VendError::Stale => "the transaction changed meanwhile; try again",
        VendError::Ended { .. } => "the transaction is over",
        VendError::AlreadySelected { .. } => "a selection was made for this transaction already",
        VendError::NotApproved => "the transaction was never approved",
        VendError::InvalidPrice => "the price must be a whole number of minor units, not below zero",
    }
}

/// A till's movement refused, on any kind of account.
fn till(error: &TillError) -> String {
    match error {
        TillError::Repeated { added: true } => "this till transaction already added to this account".into(),
        TillError::Repeated { added: false } => "this till transaction already took from this account".into(),
        TillError::SaleNotFound { added: true } => "the refunded sale added nothing to this account".into(),
        TillError::SaleNotFound { added: false } => "the refunded sale took nothing from this account".into(),
        TillError::RefundExceedsSale { refundable } => {
            format!("the refund exceeds its sale: at most {refundable} is left to refund")
        }
    }
}

fn promotion(error: &PromotionError) -> String {
    match error {
        PromotionError::AlreadyPublished => "this promotion is published already".into(),
        PromotionError::NotFound => "no such promotion".into(),
        PromotionError::InvalidTerms(TermsProblem::CapOutOfRange) => format!("cap must be 1 to {MAX_CAP}"),
        PromotionError::InvalidTerms(TermsProblem::EndsInThePast) => "ends_at must be in the future".into(),
        PromotionError::InvalidTerms(TermsProblem::PriceOutOfRange(field)) => {
            let name = match field {
                PriceField::PerUse => "price_per_use",
                PriceField::PerClip => "price_per_clip",
            };
            format!("{name} must be 0 to {MAX_AMOUNT} with at most 4 decimal places")
        }
        PromotionError::InvalidTerms(TermsProblem::CapBelowUses { used }) => {
            format!("cap may not go below the {used} uses counted")
        }
        PromotionError::Ended => "the promotion has ended".into(),
        PromotionError::UseNotFound => "no counted use with this id".into(),
    }
}

/// The HTTP status and stable code ScanTrack and the native API report a scan's rejection with (each in its own
/// envelope). Store failures are not rejections: the caller answers them as an outage.
pub fn scan_status(error: &ScanError) -> (StatusCode, &'static str) {
    match error {
        ScanError::Invalid(_) => (StatusCode::BAD_REQUEST, "InvalidRequest"),
        ScanError::UnknownBusiness => (StatusCode::NOT_FOUND, "UnknownBusiness"),
        ScanError::NotYourBusiness => (StatusCode::FORBIDDEN, "NotYourBusiness"),
        ScanError::UnknownPromotion => (StatusCode::NOT_FOUND, "UnknownPromotion"),
        ScanError::UnknownWalletItem => (StatusCode::NOT_FOUND, "UnknownWalletItem"),
        ScanError::WalletItemMismatch => (StatusCode::UNPROCESSABLE_ENTITY, "WalletItemMismatch"),
        ScanError::Store(_) => (StatusCode::SERVICE_UNAVAILABLE, "Unavailable"),
    }
}

/// The status, code and English message of an ingress fault, as the native API answers it; other dialects that
/// answer in English start from it.
pub fn fault(fault: &Fault) -> (StatusCode, &'static str, String) {
    match fault {
        Fault::BodyTooLarge => {
            (StatusCode::PAYLOAD_TOO_LARGE, "InvalidBody", format!("the body exceeds {MAX_BODY_BYTES} bytes"))
        }
        Fault::BodyUnreadable(detail) => (StatusCode::BAD_REQUEST, "InvalidBody", detail.clone()),
        Fault::Unauthenticated => (
            StatusCode::UNAUTHORIZED,
            "Unauthorized",
            "missing or malformed Authorization header: use Basic base64(client_id:secret)".into(),
        ),
        Fault::BadCredentials => (StatusCode::UNAUTHORIZED, "Unauthorized", "unknown client or wrong secret".into()),
        Fault::TokenExpired => (
            StatusCode::UNAUTHORIZED,
            "Unauthorized",
            "the access token has expired: refresh it or ask for another".into(),
        ),
        Fault::InvalidParameter(detail) => (StatusCode::BAD_REQUEST, "InvalidParameter", detail.clone()),
        Fault::InvalidIdempotencyKey => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "InvalidRequest",
            "Idempotency-Key must be 1 to 255 visible characters".into(),
        ),
        Fault::IdempotencyKeyRequired => {
            (StatusCode::BAD_REQUEST, "IdempotencyKeyRequired", "an Idempotency-Key header is required".into())
        }
        Fault::IdempotencyKeyReused => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "IdempotencyKeyReused",
            "this Idempotency-Key was used with a different request".into(),
        ),
        Fault::Unavailable => {
            (StatusCode::SERVICE_UNAVAILABLE, "Unavailable", "the service cannot answer now; retry".into())
        }
        Fault::MethodNotAllowed(method) => (
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            format!("{method} is not served here; the Allow header lists the methods that are"),
        ),
    }
}

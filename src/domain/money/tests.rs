//! Given/when/then tests of the money account decider.

use chrono::{Duration, TimeZone};
use tally_events::{AllowancePeriod, TillTransaction};

use super::*;
use crate::domain::given::{context_as, given, Then};

fn dec(text: &str) -> Decimal {
    text.parse().unwrap()
}

fn opened(account_type: MoneyAccountType) -> MoneyAccountOpened {
    let employee = account_type == MoneyAccountType::Employee;
    MoneyAccountOpened {
        account_type,
        account_id: "A-1".into(),
        contact_id: None,
        currency: "GBP".into(),
        credit_limit: (account_type == MoneyAccountType::Credit).then(|| dec("100")),
        allowance: employee.then(|| dec("150")),
        period: employee.then_some(AllowancePeriod::Monthly),
    }
}

fn pay_in(amount: &str, sale: Option<TillSale>) -> MoneyCommand {
    MoneyCommand::PayIn { movement_id: Uuid::from_u128(1), amount: dec(amount), reference: None, sale }
}

fn pay_out(amount: &str, sale: Option<TillSale>) -> MoneyCommand {
    MoneyCommand::PayOut { movement_id: Uuid::from_u128(2), amount: dec(amount), reference: None, sale }
}

fn issue_note(amount: &str) -> MoneyCommand {
    MoneyCommand::IssueCreditNote {
        opened: opened(MoneyAccountType::CreditNote),
        movement_id: Uuid::from_u128(3),
        amount: dec(amount),
        reference: None,
        sale: None,
    }
}

/// Till transaction `transaction` of device `pos1`, refunding `refund_of` when given.
fn sale(transaction: &str, refund_of: Option<&str>) -> TillSale {
    TillSale {
        device_id: "pos1".into(),
        location_id: None,
        transaction_id: transaction.into(),
        refund_of: refund_of.map(|id| TillTransaction { device_id: "pos1".into(), transaction_id: id.into() }),
    }
}

/// The events after `history` and each command in turn, all decided at `now` (failing on a refusal).
fn after(history: Vec<Event>, commands: Vec<MoneyCommand>) -> Vec<Event> {
    commands.into_iter().fold(history, |mut events, command| {
        let decided = given::<MoneyAggregate>(&events).when(command).unwrap();
        events.extend(decided);
        events
    })
}

#[test]
fn a_deposit_never_goes_below_zero_and_a_credit_account_never_below_its_limit() {
    let deposit = after(vec![Event::MoneyAccountOpened(opened(MoneyAccountType::Deposit))], vec![pay_in("30", None)]);
    given::<MoneyAggregate>(&deposit)
        .when(pay_out("30.01", None))
        .then_err(MoneyError::InsufficientFunds { requested: dec("30.01"), available: dec("30") });
    let credit = after(vec![Event::MoneyAccountOpened(opened(MoneyAccountType::Credit))], vec![pay_out("60", None)]);
    given::<MoneyAggregate>(&credit)
        .when(pay_out("40.01", None))
        .then_err(MoneyError::InsufficientFunds { requested: dec("40.01"), available: dec("40") });
    assert_eq!(given::<MoneyAggregate>(&credit).when(pay_out("40", None)).unwrap().len(), 1);
    given::<MoneyAggregate>(&deposit)
        .when(pay_in("1.001", None))
        .then_err(MoneyError::InvalidAmount(AmountProblem::TooPrecise));
    given::<MoneyAggregate>(&[]).when(pay_in("1", None)).then_err(MoneyError::NotFound);
    let mut bad = opened(MoneyAccountType::Deposit);
    bad.credit_limit = Some(dec("5"));
    given::<MoneyAggregate>(&[]).when(MoneyCommand::Open(bad)).then_err(MoneyError::InvalidTerms);
}

#[test]
fn a_credit_note_is_issued_once_and_redeemed_down_to_zero() {
    let issue = issue_note("25");
    let note = after(vec![], vec![issue.clone(), pay_out("20", None)]);
    given::<MoneyAggregate>(&note).when(issue).then_err(MoneyError::AlreadyOpened);
    given::<MoneyAggregate>(&note).when(pay_in("5", None)).then_err(MoneyError::CreditNoteIssued);
    given::<MoneyAggregate>(&note)
        .when(pay_out("5.01", None))
        .then_err(MoneyError::InsufficientFunds { requested: dec("5.01"), available: dec("5") });
}

#[test]
fn an_employee_allowance_is_spent_per_period_and_starts_afresh() {
    let now = context_as(tally_events::Role::System).now;
    let spent = after(vec![Event::MoneyAccountOpened(opened(MoneyAccountType::Employee))], vec![pay_out("100", None)]);
    given::<MoneyAggregate>(&spent)
        .when(pay_out("50.01", None))
        .then_err(MoneyError::InsufficientFunds { requested: dec("50.01"), available: dec("50") });
    // Paying back restores this period's allowance, never beyond what was spent.
    given::<MoneyAggregate>(&spent)
        .when(pay_in("100.01", None))
        .then_err(MoneyError::AllowanceExceeded { restorable: dec("100") });
    let next_month = Utc.with_ymd_and_hms(2026, 7, 1, 0, 0, 0).unwrap();
    assert!(next_month > now + Duration::days(29));
    let fresh = given::<MoneyAggregate>(&spent).at(next_month).when(pay_out("150", None)).unwrap();
    assert!(matches!(&fresh[0], Event::MoneyPaidOut(e) if e.period.as_deref() == Some("2026-07")));
    given::<MoneyAggregate>(&spent)
        .at(next_month)
        .when(pay_in("1", None))
        .then_err(MoneyError::AllowanceExceeded { restorable: dec("0") });
}

#[test]
fn a_refund_restores_the_allowance_of_its_own_period_only() {
    let (s1, refund) = (sale("S-1", None), sale("R-1", Some("S-1")));
    // June: the whole allowance spent by sale S-1. July: spent again; S-1 refunded.
    let june =
        after(vec![Event::MoneyAccountOpened(opened(MoneyAccountType::Employee))], vec![pay_out("150", Some(s1))]);
    let july = Utc.with_ymd_and_hms(2026, 7, 2, 0, 0, 0).unwrap();
    let spent_in_july = given::<MoneyAggregate>(&june).at(july).when(pay_out("150", None)).unwrap();
    let history = [june, spent_in_july].concat();
    let refunded = given::<MoneyAggregate>(&history).at(july).when(pay_in("150", Some(refund))).unwrap();
    assert!(matches!(&refunded[0], Event::MoneyPaidIn(e) if e.period.is_none()), "{refunded:?}");
    // July's allowance stays spent: the June refund does not make room for another July purchase.
    let history = [history, refunded].concat();
    given::<MoneyAggregate>(&history)
        .at(july)
        .when(pay_out("0.01", None))
        .then_err(MoneyError::InsufficientFunds { requested: dec("0.01"), available: dec("0") });
}

#[test]
fn a_refund_gives_back_to_a_credit_note_what_its_sale_took() {
    let issue = issue_note("25");
    let (s1, refund) = (sale("S-1", None), sale("R-1", Some("S-1")));
    let spent = after(vec![], vec![issue, pay_out("20", Some(s1))]);
    given::<MoneyAggregate>(&spent)
        .when(pay_in("20.01", Some(refund.clone())))
        .then_err(MoneyError::Till(TillError::RefundExceedsSale { refundable: dec("20") }));
    assert_eq!(given::<MoneyAggregate>(&spent).when(pay_in("20", Some(refund))).unwrap().len(), 1);
    given::<MoneyAggregate>(&[])
        .when(MoneyCommand::Open(opened(MoneyAccountType::CreditNote)))
        .then_err(MoneyError::InvalidTerms);
}

#[test]
fn a_refund_gives_back_at_most_what_its_sale_paid_out() {
    let history = after(
        vec![Event::MoneyAccountOpened(opened(MoneyAccountType::Deposit))],
        vec![pay_in("50", None), pay_out("20", Some(sale("S-1", None)))],
    );
    given::<MoneyAggregate>(&history)
        .when(pay_out("1", Some(sale("S-1", None))))
        .then_err(MoneyError::Till(TillError::Repeated { added: false }));
    given::<MoneyAggregate>(&history)
        .when(pay_in("20.01", Some(sale("R-1", Some("S-1")))))
        .then_err(MoneyError::Till(TillError::RefundExceedsSale { refundable: dec("20") }));
    let refunded = after(history, vec![pay_in("20", Some(sale("R-1", Some("S-1"))))]);
    given::<MoneyAggregate>(&refunded)
        .when(pay_in("1", Some(sale("R-2", Some("S-1")))))
        .then_err(MoneyError::Till(TillError::RefundExceedsSale { refundable: dec("0") }));
}

fn hold(id: &str, amount: &str) -> MoneyCommand {
    MoneyCommand::Hold { hold_id: id.into(), amount: dec(amount), reference: None }
}

#[test]
fn a_hold_counts_against_every_payment_until_it_is_captured_or_released() {
    let deposit = after(vec![], vec![MoneyCommand::Open(opened(MoneyAccountType::Deposit)), pay_in("10", None)]);
    let held = after(deposit.clone(), vec![hold("v1", "6")]);
    given::<MoneyAggregate>(&held)
        .when(hold("v2", "5"))
        .then_err(MoneyError::InsufficientFunds { requested: dec("5"), available: dec("4") });
    given::<MoneyAggregate>(&held)
        .when(pay_out("5", None))
        .then_err(MoneyError::InsufficientFunds { requested: dec("5"), available: dec("4") });
    // Holding again under the same id and amount changes nothing; another amount is a conflict.
    given::<MoneyAggregate>(&held).when(hold("v1", "6")).then(&[]);
    given::<MoneyAggregate>(&held).when(hold("v1", "7")).then_err(MoneyError::HoldConflict);
    let captured =
        after(held.clone(), vec![MoneyCommand::CaptureHold { hold_id: "v1".into(), movement_id: Uuid::from_u128(9) }]);
    let state = captured.iter().fold(MoneyAccount::default(), MoneyAggregate::evolve);
    assert_eq!((state.balance, state.available(context_as(tally_events::Role::System).now)), (dec("4"), dec("4")));
    given::<MoneyAggregate>(&captured)
        .when(MoneyCommand::CaptureHold { hold_id: "v1".into(), movement_id: Uuid::from_u128(9) })
        .then_err(MoneyError::NoSuchHold);
    let released = after(held, vec![MoneyCommand::ReleaseHold { hold_id: "v1".into() }]);
    let state = released.iter().fold(MoneyAccount::default(), MoneyAggregate::evolve);
    assert_eq!((state.balance, state.available(context_as(tally_events::Role::System).now)), (dec("10"), dec("10")));
}

#[test]
fn a_credit_account_holds_down_to_its_limit_and_allowances_hold_nothing() {
    let credit = after(vec![], vec![MoneyCommand::Open(opened(MoneyAccountType::Credit))]);
    given::<MoneyAggregate>(&credit).when(hold("v1", "100")).then(&[Event::MoneyHeld(tally_events::MoneyHeld {
        hold_id: "v1".into(),
        amount: dec("100"),
        reference: None,
    })]);
    given::<MoneyAggregate>(&credit)
        .when(hold("v1", "100.01"))
        .then_err(MoneyError::InsufficientFunds { requested: dec("100.01"), available: dec("100") });
    let employee = after(vec![], vec![MoneyCommand::Open(opened(MoneyAccountType::Employee))]);
    given::<MoneyAggregate>(&employee).when(hold("v1", "1")).then_err(MoneyError::HoldsNotAllowed);
}

#[test]
fn payment_references_keep_gateway_tokens_and_never_card_numbers() {
    let deposit = after(vec![], vec![MoneyCommand::Open(opened(MoneyAccountType::Deposit))]);
    let store = |id: &str, token: &str| MoneyCommand::StorePaymentReference {
        reference_id: id.into(),
        token: token.into(),
        label: None,
    };
    given::<MoneyAggregate>(&deposit)
        .when(store("r1", "4242 4242 4242 4242"))
        .then_err(MoneyError::CardNumberNotAllowed);
    given::<MoneyAggregate>(&deposit)
        .when(store("r1", "4242-4242-4242-4242"))
        .then_err(MoneyError::CardNumberNotAllowed);
    let stored = after(deposit, vec![store("r1", "tok_visa_4242")]);
    given::<MoneyAggregate>(&stored).when(store("r1", "tok_other")).then_err(MoneyError::PaymentReferenceExists);
    assert!(!holds::looks_like_card_number("4242 4242 4242 4241"), "fails the Luhn check");
    assert!(!holds::looks_like_card_number("tok_4242424242424242"));
}

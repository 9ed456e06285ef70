//! Coupons and promotions (ScanTrack): a promotion accepts exactly `cap` uses until its end date. The use that
//! reaches the cap turns it off; later scans are refused and recorded; a void gives a use back and turns a promotion
//! that its cap turned off back on. Businesses belong to one merchant; a merchant is billed per clip until it
//! reports uses through ScanTrack, per use from then on.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use tally_events::{
    BillingMode, BillingModeChanged, BusinessRegistered, CouponClipped, CouponScanRefused, CouponUseVoided, CouponUsed,
    Event, PromotionChanged, PromotionPublished, PromotionTerms, PromotionTurnedOff, PromotionTurnedOn, RefusalReason,
    ScanChannel,
};

use super::{account::MAX_AMOUNT, Aggregate, Context};

/// The largest cap a promotion may have.
pub const MAX_CAP: u32 = 10_000_000;

#[derive(Debug, Clone, PartialEq)]
pub struct Promotion {
    pub terms: PromotionTerms,
    /// Uses counted and not voided, by identity, with what each added to the merchant's bill.
    pub uses: HashMap<String, Decimal>,
    pub clips: HashMap<String, Option<String>>,
}

impl Promotion {
    pub fn used(&self) -> u32 {
        self.uses.len() as u32
    }
}

/// A use as a scan reports it: its identity (see the README) and what the scan carried.
#[derive(Debug, Clone, PartialEq)]
pub struct Scan {
    pub use_id: String,
    pub channel: ScanChannel,
    pub wallet_item_id: Option<String>,
    pub customer_key: Option<String>,
    pub internal_id: Option<String>,
    /// Whether the merchant is billed per use (looked up by the handler).
    pub billed: bool,
    pub business_day: NaiveDate,
}

#[derive(Debug, Clone, PartialEq)]
pub enum PromotionCommand {
    Publish(PromotionPublished),
    Change(PromotionChanged),
    Clip { wallet_item_id: String, customer_key: Option<String>, billed: bool, business_day: NaiveDate },
    Use(Scan),
    Void { use_id: String, reason: Option<String>, business_day: NaiveDate },
}

pub struct PromotionAggregate;

/// A price of a promotion's terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PriceField {
    PerUse,
    PerClip,
}

/// Terms a promotion cannot have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TermsProblem {
    /// The cap is 0 or above [`MAX_CAP`].
    CapOutOfRange,
    /// The end date is not in the future.
    EndsInThePast,
    /// A price below 0, above the largest amount, or with more than 4 decimal places.
    PriceOutOfRange(PriceField),
    /// A new cap below the uses already counted.
    CapBelowUses { used: u32 },
}

/// Why a promotion command is refused, in precedence order.
#[derive(Debug, Clone, PartialEq)]
pub enum PromotionError {
    AlreadyPublished,
    NotFound,
    InvalidTerms(TermsProblem),
    /// The promotion's end date has passed.
    Ended,
    /// No counted use with this identity.
    UseNotFound,
}

impl PromotionError {
    /// The stable name of the refusal.
    pub fn code(&self) -> &'static str {
        match self {
            PromotionError::AlreadyPublished => "PromotionAlreadyPublished",
            PromotionError::NotFound => "PromotionNotFound",
            PromotionError::InvalidTerms(_) => "InvalidPromotion",
            PromotionError::Ended => "PromotionEnded",
            PromotionError::UseNotFound => "UseNotFound",
        }
    }
}

fn check_terms(p: &PromotionTerms, now: DateTime<Utc>) -> Result<(), PromotionError> {
    let invalid = |problem| Err(PromotionError::InvalidTerms(problem));
    if p.cap == 0 || p.cap > MAX_CAP {
        return invalid(TermsProblem::CapOutOfRange);
    }
    if p.ends_at <= now {
        return invalid(TermsProblem::EndsInThePast);
    }
    for (field, price) in [(PriceField::PerUse, p.price_per_use), (PriceField::PerClip, p.price_per_clip)] {
        if price < Decimal::ZERO || price > MAX_AMOUNT || price.normalize().scale() > 4 {
            return invalid(TermsProblem::PriceOutOfRange(field));
        }
    }
    Ok(())
}

impl Aggregate for PromotionAggregate {
    type State = Option<Promotion>;
    type Command = PromotionCommand;
    type Error = PromotionError;

    fn decide(
        state: &Option<Promotion>,
        command: PromotionCommand,
        context: &Context,
    ) -> Result<Vec<Event>, PromotionError> {
        let promotion = match (state, command) {
            (None, PromotionCommand::Publish(publication)) => {
                check_terms(&publication.terms(), context.now)?;
                return Ok(vec![Event::PromotionPublished(publication)]);
            }
            (Some(_), PromotionCommand::Publish(_)) => return Err(PromotionError::AlreadyPublished),
            (None, _) => return Err(PromotionError::NotFound),
            (Some(promotion), command) => (promotion, command),
        };
        match promotion {
            (promotion, PromotionCommand::Clip { wallet_item_id, customer_key, billed, business_day }) => {
                if promotion.clips.contains_key(&wallet_item_id) {
                    return Ok(vec![]);
                }
                if context.now >= promotion.terms.ends_at {
                    return Err(PromotionError::Ended);
                }
                let price = promotion.terms.price_per_clip;
                let receivable = if billed { price } else { Decimal::ZERO };
                Ok(vec![Event::CouponClipped(CouponClipped {
                    wallet_item_id,
                    customer_key,
                    business_day,
                    price,
                    receivable,
                })])
            }
            (promotion, PromotionCommand::Use(scan)) => Ok(use_coupon(promotion, scan, context.now)),
            (promotion, PromotionCommand::Change(change)) => change_terms(promotion, change, context.now),
            (promotion, PromotionCommand::Void { use_id, reason, business_day }) => {
                let billed = *promotion.uses.get(&use_id).ok_or(PromotionError::UseNotFound)?;
                let voided = CouponUseVoided { use_id, reason, business_day, receivable: -billed };
                let mut events = vec![Event::CouponUseVoided(voided)];
                if promotion.used() == promotion.terms.cap && context.now < promotion.terms.ends_at {
                    events.push(Event::PromotionTurnedOn(PromotionTurnedOn {
                        used: promotion.used() - 1,
                        cap: promotion.terms.cap,
                    }));
                }
                Ok(events)
            }
            (_, PromotionCommand::Publish(_)) => unreachable!("handled above"),
        }
    }

    fn evolve(state: Option<Promotion>, event: &Event) -> Option<Promotion> {
        match (state, event) {
            (None, Event::PromotionPublished(e)) => {
                Some(Promotion { terms: e.terms(), uses: HashMap::new(), clips: HashMap::new() })
            }
            (Some(mut promotion), Event::PromotionChanged(e)) => {
                promotion.terms = e.overlay(&promotion.terms);
                Some(promotion)
            }
            (Some(mut promotion), Event::CouponClipped(e)) => {
                promotion.clips.insert(e.wallet_item_id.clone(), e.customer_key.clone());
                Some(promotion)
            }
            (Some(mut promotion), Event::CouponUsed(e)) => {
                promotion.uses.insert(e.use_id.clone(), e.receivable);
                Some(promotion)
            }
            (Some(mut promotion), Event::CouponUseVoided(e)) => {
                promotion.uses.remove(&e.use_id);
                Some(promotion)
            }
            (state, _) => state,
        }
    }
}

/// New terms: checked like a publication's; a cap below the uses counted is refused. A change that frees room turns a
/// capped promotion on, one that meets the count turns it off.
fn change_terms(
    promotion: &Promotion,
    change: PromotionChanged,
    now: DateTime<Utc>,
) -> Result<Vec<Event>, PromotionError> {
    let terms = change.overlay(&promotion.terms);
    check_terms(&terms, now)?;
    if terms.cap < promotion.used() {
        return Err(PromotionError::InvalidTerms(TermsProblem::CapBelowUses { used: promotion.used() }));
    }
    let was_capped = promotion.used() >= promotion.terms.cap;
    let capped = promotion.used() >= terms.cap;
    let mut events = vec![Event::PromotionChanged(change)];
    match (was_capped, capped) {
        (true, false) => {
            events.push(Event::PromotionTurnedOn(PromotionTurnedOn { used: promotion.used(), cap: terms.cap }))
        }
        (false, true) => {
            events.push(Event::PromotionTurnedOff(PromotionTurnedOff { reason: RefusalReason::CapReached }))
        }
        _ => {}
    }
    Ok(events)
}

/// A use is counted once: a report of a use already counted (the other channel, or a retry) changes nothing.
fn use_coupon(promotion: &Promotion, scan: Scan, now: DateTime<Utc>) -> Vec<Event> {
    if promotion.uses.contains_key(&scan.use_id) {
        return vec![];
    }
    let Scan { use_id, channel, wallet_item_id, customer_key, internal_id, billed, business_day } = scan;
    let refusal = if now >= promotion.terms.ends_at {
        Some(RefusalReason::Ended)
    } else if promotion.used() >= promotion.terms.cap {
        Some(RefusalReason::CapReached)
    } else {
        None
    };
    if let Some(reason) = refusal {
        let refused = CouponScanRefused { channel, reason, wallet_item_id, customer_key, internal_id, business_day };
        return vec![Event::CouponScanRefused(refused)];
    }
    let price = promotion.terms.price_per_use;
    let receivable = if billed { price } else { Decimal::ZERO };
    let used =
        CouponUsed { use_id, channel, wallet_item_id, customer_key, internal_id, business_day, price, receivable };
    let mut events = vec![Event::CouponUsed(used)];
    if promotion.used() + 1 == promotion.terms.cap {
        events.push(Event::PromotionTurnedOff(PromotionTurnedOff { reason: RefusalReason::CapReached }));
    }
    events
}

/// A business id, unique in the network, registered once to one merchant.
#[derive(Debug, Clone, PartialEq)]
pub struct Business {
    pub name: String,
}

pub struct BusinessAggregate;

/// Why a business registration is refused.
#[derive(Debug, Clone, PartialEq)]
pub enum BusinessError {
    /// The business id is registered already (to this or another merchant).
    AlreadyRegistered,
}

impl Aggregate for BusinessAggregate {
    type State = Option<Business>;
    type Command = BusinessRegistered;
    type Error = BusinessError;

    fn decide(state: &Option<Business>, command: BusinessRegistered, _: &Context) -> Result<Vec<Event>, BusinessError> {
        match state {
            Some(_) => Err(BusinessError::AlreadyRegistered),
            None => Ok(vec![Event::BusinessRegistered(command)]),
        }
    }

    fn evolve(state: Option<Business>, event: &Event) -> Option<Business> {
        match (state, event) {
            (None, Event::BusinessRegistered(e)) => Some(Business { name: e.name.clone() }),
            (state, _) => state,
        }
    }
}

/// The merchant's billing mode: per clip until it reports a use through ScanTrack.
pub struct BillingAggregate;

/// The merchant reported a use through ScanTrack.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportedThroughScanTrack;

impl Aggregate for BillingAggregate {
    type State = Option<BillingMode>;
    type Command = ReportedThroughScanTrack;
    type Error = std::convert::Infallible;

    fn decide(
        state: &Option<BillingMode>,
        _: ReportedThroughScanTrack,
        _: &Context,
    ) -> Result<Vec<Event>, Self::Error> {
        match state {
            Some(BillingMode::PayPerUse) => Ok(vec![]),
            _ => Ok(vec![Event::BillingModeChanged(BillingModeChanged { mode: BillingMode::PayPerUse })]),
        }
    }

    fn evolve(state: Option<BillingMode>, event: &Event) -> Option<BillingMode> {
        match event {
            Event::BillingModeChanged(e) => Some(e.mode),
            _ => state,
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;
    use crate::domain::given::{context_as, given, Then};

    fn now() -> DateTime<Utc> {
        context_as(tally_events::Role::System).now
    }

    fn published(cap: u32) -> Event {
        Event::PromotionPublished(PromotionPublished {
            business_id: "B1".into(),
            promotion_id: "P1".into(),
            title: "2 for 1".into(),
            cap,
            ends_at: now() + Duration::days(7),
            price_per_use: Decimal::new(150, 2),
            price_per_clip: Decimal::new(10, 2),
        })
    }

    fn day() -> NaiveDate {
        now().date_naive()
    }

    fn scan(use_id: &str, channel: ScanChannel) -> Scan {
        Scan {
            use_id: use_id.into(),
            channel,
            wallet_item_id: None,
            customer_key: None,
            internal_id: None,
            billed: true,
            business_day: day(),
        }
    }

    fn used(use_id: &str, channel: ScanChannel) -> Event {
        Event::CouponUsed(CouponUsed {
            use_id: use_id.into(),
            channel,
            wallet_item_id: None,
            customer_key: None,
            internal_id: None,
            business_day: day(),
            price: Decimal::new(150, 2),
            receivable: Decimal::new(150, 2),
        })
    }

    fn refused(reason: RefusalReason) -> Event {
        Event::CouponScanRefused(CouponScanRefused {
            channel: ScanChannel::Pos,
            reason,
            wallet_item_id: None,
            customer_key: None,
            internal_id: None,
            business_day: day(),
        })
    }

    fn off() -> Event {
        Event::PromotionTurnedOff(PromotionTurnedOff { reason: RefusalReason::CapReached })
    }

    #[test]
    fn a_promotion_is_published_once_with_sane_terms() {
        let Event::PromotionPublished(publication) = published(2) else { unreachable!() };
        given::<PromotionAggregate>(&[]).when(PromotionCommand::Publish(publication.clone())).then(&[published(2)]);
        given::<PromotionAggregate>(&[published(2)])
            .when(PromotionCommand::Publish(publication.clone()))
            .then_err(PromotionError::AlreadyPublished);
        given::<PromotionAggregate>(&[])
            .when(PromotionCommand::Publish(PromotionPublished { cap: 0, ..publication.clone() }))
            .then_err(PromotionError::InvalidTerms(TermsProblem::CapOutOfRange));
        given::<PromotionAggregate>(&[])
            .when(PromotionCommand::Publish(PromotionPublished { ends_at: now(), ..publication }))
            .then_err(PromotionError::InvalidTerms(TermsProblem::EndsInThePast));
    }

    #[test]
    fn the_use_that_reaches_the_cap_turns_the_promotion_off_and_later_scans_are_refused() {
        given::<PromotionAggregate>(&[published(2)])
            .when(PromotionCommand::Use(scan("u1", ScanChannel::Pos)))
            .then(&[used("u1", ScanChannel::Pos)]);
        given::<PromotionAggregate>(&[published(2), used("u1", ScanChannel::Pos)])
            .when(PromotionCommand::Use(scan("u2", ScanChannel::Pos)))
            .then(&[used("u2", ScanChannel::Pos), off()]);
        given::<PromotionAggregate>(&[published(2), used("u1", ScanChannel::Pos), used("u2", ScanChannel::Pos), off()])
            .when(PromotionCommand::Use(scan("u3", ScanChannel::Pos)))
            .then(&[refused(RefusalReason::CapReached)]);
    }

    #[test]
    fn a_use_not_billed_per_use_owes_nothing_and_its_void_takes_nothing_back() {
        let unbilled = Scan { billed: false, ..scan("u1", ScanChannel::Mobile) };
        let events = given::<PromotionAggregate>(&[published(3)]).when(PromotionCommand::Use(unbilled)).unwrap();
        let Event::CouponUsed(used) = &events[0] else { panic!("{events:?}") };
        assert_eq!(used.receivable, Decimal::ZERO);
        let history = [published(3), events[0].clone()];
        let voided = given::<PromotionAggregate>(&history)
            .when(PromotionCommand::Void { use_id: "u1".into(), reason: None, business_day: day() })
            .unwrap();
        assert!(matches!(&voided[0], Event::CouponUseVoided(v) if v.receivable == Decimal::ZERO), "{voided:?}");
    }

    #[test]
    fn changing_the_cap_turns_the_promotion_on_or_off_and_never_below_the_uses() {
        let change = |cap| {
            PromotionCommand::Change(PromotionChanged {
                cap: Some(cap),
                ends_at: None,
                price_per_use: None,
                price_per_clip: None,
            })
        };
        let changed = |cap| {
            Event::PromotionChanged(PromotionChanged {
                cap: Some(cap),
                ends_at: None,
                price_per_use: None,
                price_per_clip: None,
            })
        };
        let capped = [published(1), used("u1", ScanChannel::Pos), off()];
        given::<PromotionAggregate>(&capped)
            .when(change(3))
            .then(&[changed(3), Event::PromotionTurnedOn(PromotionTurnedOn { used: 1, cap: 3 })]);
        given::<PromotionAggregate>(&[published(5), used("u1", ScanChannel::Pos)])
            .when(change(1))
            .then(&[changed(1), off()]);
        given::<PromotionAggregate>(&[published(5), used("u1", ScanChannel::Pos), used("u2", ScanChannel::Pos)])
            .when(change(1))
            .then_err(PromotionError::InvalidTerms(TermsProblem::CapBelowUses { used: 2 }));
        given::<PromotionAggregate>(&[]).when(change(1)).then_err(PromotionError::NotFound);
    }

    #[test]
    fn a_use_reported_by_both_channels_counts_once() {
        given::<PromotionAggregate>(&[published(5), used("wallet:W1", ScanChannel::Mobile)])
            .when(PromotionCommand::Use(scan("wallet:W1", ScanChannel::Pos)))
            .then(&[]);
    }

    #[test]
    fn scans_after_the_end_date_are_refused() {
        given::<PromotionAggregate>(&[published(5)])
            .at(now() + Duration::days(8))
            .when(PromotionCommand::Use(scan("u1", ScanChannel::Pos)))
            .then(&[refused(RefusalReason::Ended)]);
    }

    #[test]
    fn a_void_gives_the_use_back_and_turns_a_capped_promotion_on() {
        let history = [published(1), used("u1", ScanChannel::Pos), off()];
        let void = |use_id: &str| PromotionCommand::Void { use_id: use_id.into(), reason: None, business_day: day() };
        let voided = Event::CouponUseVoided(CouponUseVoided {
            use_id: "u1".into(),
            reason: None,
            business_day: day(),
            receivable: Decimal::new(-150, 2),
        });
        given::<PromotionAggregate>(&history)
            .when(void("u1"))
            .then(&[voided.clone(), Event::PromotionTurnedOn(PromotionTurnedOn { used: 0, cap: 1 })]);
        given::<PromotionAggregate>(&history).when(void("nope")).then_err(PromotionError::UseNotFound);
        // After the end date a void still leaves the tally, but the promotion stays off.
        given::<PromotionAggregate>(&history).at(now() + Duration::days(8)).when(void("u1")).then(&[voided]);
    }

    #[test]
    fn clips_are_recorded_once_and_not_after_the_end() {
        let clip = PromotionCommand::Clip {
            wallet_item_id: "W1".into(),
            customer_key: Some("C1".into()),
            billed: true,
            business_day: day(),
        };
        let clipped = Event::CouponClipped(CouponClipped {
            wallet_item_id: "W1".into(),
            customer_key: Some("C1".into()),
            business_day: day(),
            price: Decimal::new(10, 2),
            receivable: Decimal::new(10, 2),
        });
        given::<PromotionAggregate>(&[published(1)]).when(clip.clone()).then(std::slice::from_ref(&clipped));
        given::<PromotionAggregate>(&[published(1), clipped]).when(clip.clone()).then(&[]);
        given::<PromotionAggregate>(&[published(1)])
            .at(now() + Duration::days(8))
            .when(clip.clone())
            .then_err(PromotionError::Ended);
        given::<PromotionAggregate>(&[]).when(clip).then_err(PromotionError::NotFound);
    }

    #[test]
    fn a_business_is_registered_once_and_billing_switches_to_pay_per_use_once() {
        let business = BusinessRegistered { business_id: "B1".into(), name: "Corner shop".into() };
        given::<BusinessAggregate>(&[]).when(business.clone()).then(&[Event::BusinessRegistered(business.clone())]);
        given::<BusinessAggregate>(&[Event::BusinessRegistered(business.clone())])
            .when(business)
            .then_err(BusinessError::AlreadyRegistered);
        let switched = Event::BillingModeChanged(BillingModeChanged { mode: BillingMode::PayPerUse });
        given::<BillingAggregate>(&[]).when(ReportedThroughScanTrack).then(std::slice::from_ref(&switched));
        given::<BillingAggregate>(&[switched]).when(ReportedThroughScanTrack).then(&[]);
    }
}

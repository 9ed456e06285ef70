//! The bonus account view: what is left of every lot, whether the account is frozen, and what was burnt. Balances by
//! bucket (active, inactive, burnt, frozen, nearest expiry) are computed from it for a given moment.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use tally_events::{stream, BonusType, Event, LotAllocation};
use uuid::Uuid;

use crate::{Source, View};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LotView {
    pub bonus_type: BonusType,
    pub remaining: Decimal,
    pub active_from: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccountView {
    pub tenant: String,
    pub contact_id: Uuid,
    pub frozen: bool,
    /// The lots with something left. An emptied lot is let go, so the document stays as small as the live
    /// balance; a reversed redemption brings its lots back from the dates its allocations carry.
    pub lots: BTreeMap<Uuid, LotView>,
    /// Burnt by expiry, per bonus type.
    pub burnt: BTreeMap<BonusType, Decimal>,
    /// The open reservations of tills, with their expiries: their points are out of the lots until they are
    /// completed, cancelled or lapse.
    #[serde(default)]
    pub reservations: BTreeMap<Uuid, DateTime<Utc>>,
}

/// The CashDesk bonus statuses: active 0, inactive 1, burnt 2, frozen 3, with the nearest expiry 4.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum BucketStatus {
    Active,
    Inactive,
    Burnt,
    Frozen,
    NearestExpiry,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BonusBucket {
    pub bonus_type: BonusType,
    pub status: BucketStatus,
    pub amount: Decimal,
    /// Only for [`BucketStatus::NearestExpiry`].
    pub expire_date: Option<DateTime<Utc>>,
}

impl AccountView {
    /// The balance buckets at `now`. Cash buckets are always listed; status buckets when the account has any.
    /// A lot past its expiry but not yet burnt by the expiry job counts as burnt already, so the figures do not
    /// depend on when the job last ran.
    pub fn buckets(&self, now: DateTime<Utc>) -> Vec<BonusBucket> {
        let mut types = vec![BonusType::Cash];
        if self.lots.values().any(|lot| lot.bonus_type == BonusType::Status)
            || self.burnt.contains_key(&BonusType::Status)
        {
            types.push(BonusType::Status);
        }
        types.into_iter().flat_map(|bonus_type| self.buckets_of(bonus_type, now)).collect()
    }

    fn buckets_of(&self, bonus_type: BonusType, now: DateTime<Utc>) -> Vec<BonusBucket> {
        let (mut live, mut inactive) = (Decimal::ZERO, Decimal::ZERO);
        let mut burnt = self.burnt.get(&bonus_type).copied().unwrap_or_default();
        let mut nearest: Option<(DateTime<Utc>, Decimal)> = None;
        for lot in self.lots.values().filter(|lot| lot.bonus_type == bonus_type) {
            if lot.expires_at.is_some_and(|until| until <= now) {
                burnt += lot.remaining;
            } else if lot.active_from.is_some_and(|from| from > now) {
                inactive += lot.remaining;
            } else {
                live += lot.remaining;
                if let Some(until) = lot.expires_at.filter(|_| lot.remaining > Decimal::ZERO) {
                    nearest = match nearest {
                        Some((date, amount)) if date == until => Some((date, amount + lot.remaining)),
                        Some((date, amount)) if date < until => Some((date, amount)),
                        _ => Some((until, lot.remaining)),
                    };
                }
            }
        }
        let (active, frozen) = if self.frozen { (Decimal::ZERO, live) } else { (live, Decimal::ZERO) };
        let bucket = |status, amount, expire_date| BonusBucket { bonus_type, status, amount, expire_date };
        let mut buckets = vec![
            bucket(BucketStatus::Active, active, None),
            bucket(BucketStatus::Inactive, inactive, None),
            bucket(BucketStatus::Burnt, burnt, None),
            bucket(BucketStatus::Frozen, frozen, None),
        ];
        if let Some((date, amount)) = nearest {
            buckets.push(bucket(BucketStatus::NearestExpiry, amount, Some(date)));
        }
        buckets
    }

    /// The earliest expiry among lots with something left and open reservations: when the expiry job has work on
    /// this account.
    pub fn next_expiry(&self) -> Option<DateTime<Utc>> {
        let lots = self.lots.values().filter(|lot| lot.remaining > Decimal::ZERO).filter_map(|lot| lot.expires_at);
        lots.chain(self.reservations.values().copied()).min()
    }

    fn spend(&mut self, allocations: &[LotAllocation]) {
        for allocation in allocations {
            self.take(allocation.lot_id, allocation.amount);
        }
    }

    fn refill(&mut self, bonus_type: BonusType, allocations: &[LotAllocation]) {
        for allocation in allocations {
            let lot = self.lots.entry(allocation.lot_id).or_insert_with(|| LotView {
                bonus_type,
                remaining: Decimal::ZERO,
                active_from: allocation.active_from,
                expires_at: allocation.expires_at,
            });
            lot.remaining += allocation.amount;
        }
    }

    /// Takes `amount` from a lot, letting the lot go once it is empty.
    fn take(&mut self, lot_id: Uuid, amount: Decimal) -> Option<BonusType> {
        let lot = self.lots.get_mut(&lot_id)?;
        lot.remaining -= amount;
        let bonus_type = lot.bonus_type;
        if lot.remaining <= Decimal::ZERO {
            self.lots.remove(&lot_id);
        }
        Some(bonus_type)
    }
}

impl View for AccountView {
    fn key(source: &Source<'_>, event: &Event) -> Option<Vec<String>> {
        match event {
            Event::BonusAccrued(_)
            | Event::BonusRedeemed(_)
            | Event::BonusesFrozen(_)
            | Event::BonusesUnfrozen(_)
            | Event::BonusExpired(_)
            | Event::AccrualReversed(_)
            | Event::RedemptionReversed(_)
            | Event::BonusReserved(_)
            | Event::ReservationCompleted(_)
            | Event::ReservationReleased(_) => {
                let contact_id = stream::entity_id(source.stream_id, "account")?;
                Some(vec![source.tenant.to_owned(), contact_id.to_owned()])
            }
            _ => None,
        }
    }

    fn apply(row: Option<Self>, source: &Source<'_>, event: &Event) -> Option<Self> {
        let mut account = row.or_else(|| {
            let contact_id = stream::entity_id(source.stream_id, "account")?.parse().ok()?;
            Some(AccountView {
                tenant: source.tenant.to_owned(),
                contact_id,
                frozen: false,
                lots: BTreeMap::new(),
                burnt: BTreeMap::new(),
                reservations: BTreeMap::new(),
            })
        })?;
        match event {
            Event::BonusAccrued(e) => {
                let lot = LotView {
                    bonus_type: e.bonus_type,
                    remaining: e.amount,
                    active_from: e.active_from,
                    expires_at: e.expires_at,
                };
                account.lots.insert(e.lot_id, lot);
            }
            Event::BonusRedeemed(e) => account.spend(&e.allocations),
            Event::RedemptionReversed(e) => account.refill(e.bonus_type, &e.allocations),
            Event::BonusReserved(e) => {
                account.spend(&e.allocations);
                account.reservations.insert(e.reservation_id, e.expires_at);
            }
            Event::ReservationCompleted(e) => {
                account.reservations.remove(&e.reservation_id);
            }
            Event::ReservationReleased(e) => {
                account.reservations.remove(&e.reservation_id);
                account.refill(e.bonus_type, &e.allocations);
            }
            Event::BonusesFrozen(_) => account.frozen = true,
            Event::BonusesUnfrozen(_) => account.frozen = false,
            Event::BonusExpired(e) => {
                if let Some(bonus_type) = account.take(e.lot_id, e.amount) {
                    *account.burnt.entry(bonus_type).or_default() += e.amount;
                }
            }
            Event::AccrualReversed(e) => {
                account.take(e.lot_id, e.amount);
            }
            _ => {}
        }
        Some(account)
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use tally_events::{BonusAccrued, BonusRedeemed, RedemptionReversed};

    use super::*;

    #[test]
    fn an_emptied_lot_is_let_go_and_comes_back_whole_when_its_redemption_is_reversed() {
        let (lot_id, expires_at) = (Uuid::from_u128(1), Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap());
        let contact = Uuid::from_u128(9);
        let stream_id = stream::account("shop", contact);
        let source =
            Source { tenant: "shop", stream_id: &stream_id, occurred_at: chrono::Utc::now(), keys: &crate::NoKeys };
        let amount = Decimal::new(1000, 2);
        let allocations = vec![LotAllocation { lot_id, amount, active_from: None, expires_at: Some(expires_at) }];
        let events = [
            Event::BonusAccrued(BonusAccrued {
                lot_id,
                amount,
                bonus_type: BonusType::Cash,
                active_from: None,
                expires_at: Some(expires_at),
                reference: None,
                sale: None,
            }),
            Event::BonusRedeemed(BonusRedeemed {
                redemption_id: Uuid::from_u128(2),
                bonus_type: BonusType::Cash,
                amount,
                allocations: allocations.clone(),
                reference: None,
                sale: None,
            }),
        ];
        let spent = events.iter().fold(None, |view, event| AccountView::apply(view, &source, event)).unwrap();
        assert!(spent.lots.is_empty(), "the emptied lot is let go: {spent:?}");
        let reversed = Event::RedemptionReversed(RedemptionReversed {
            redemption_id: Uuid::from_u128(2),
            original_event_id: Uuid::from_u128(3),
            bonus_type: BonusType::Cash,
            amount,
            allocations,
            reason: None,
        });
        let back = AccountView::apply(Some(spent), &source, &reversed).unwrap();
        let now = Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap();
        assert_eq!(back.next_expiry(), Some(expires_at));
        let nearest = back.buckets(now).into_iter().find(|b| b.status == BucketStatus::NearestExpiry).unwrap();
        assert_eq!((nearest.amount, nearest.expire_date), (amount, Some(expires_at)));
    }
}

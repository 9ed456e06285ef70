//! Promotion read models: a promotion's live counters (cap, used, remaining, refused, voided, clips, state), who
//! owns a business, and which promotion a wallet item belongs to.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tally_events::{stream, Event, PromotionTerms, RefusalReason};

use crate::{Source, View};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PromotionView {
    pub tenant: String,
    pub business_id: String,
    pub promotion_id: String,
    pub title: String,
    pub terms: PromotionTerms,
    /// Uses counted and not voided.
    pub used: u32,
    pub voided: u32,
    pub refused: u32,
    pub clips: u32,
    /// Turned off by its cap (and not turned on again).
    pub capped: bool,
}

/// Whether a promotion accepts uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PromotionState {
    On,
    Off,
    Ended,
}

impl PromotionView {
    pub fn remaining(&self) -> u32 {
        self.terms.cap.saturating_sub(self.used)
    }

    pub fn state(&self, now: DateTime<Utc>) -> PromotionState {
        if now >= self.terms.ends_at {
            PromotionState::Ended
        } else if self.capped {
            PromotionState::Off
        } else {
            PromotionState::On
        }
    }
}

impl View for PromotionView {
    fn key(source: &Source<'_>, event: &Event) -> Option<Vec<String>> {
        match event {
            Event::PromotionPublished(_)
            | Event::PromotionChanged(_)
            | Event::CouponClipped(_)
            | Event::CouponUsed(_)
            | Event::CouponScanRefused(_)
            | Event::CouponUseVoided(_)
            | Event::PromotionTurnedOff(_)
            | Event::PromotionTurnedOn(_) => {
                let (business_id, promotion_id) = stream::promotion_ids(source.stream_id)?;
                Some(vec![business_id.to_owned(), promotion_id.to_owned()])
            }
            _ => None,
        }
    }

    fn apply(row: Option<Self>, source: &Source<'_>, event: &Event) -> Option<Self> {
        match (row, event) {
            (None, Event::PromotionPublished(e)) => Some(PromotionView {
                tenant: source.tenant.to_owned(),
                business_id: e.business_id.clone(),
                promotion_id: e.promotion_id.clone(),
                title: e.title.clone(),
                terms: e.terms(),
                used: 0,
                voided: 0,
                refused: 0,
                clips: 0,
                capped: false,
            }),
            (Some(mut p), event) => {
                match event {
                    Event::PromotionChanged(e) => p.terms = e.overlay(&p.terms),
                    Event::CouponClipped(_) => p.clips += 1,
                    Event::CouponUsed(_) => p.used += 1,
                    Event::CouponScanRefused(_) => p.refused += 1,
                    Event::CouponUseVoided(_) => {
                        p.used -= 1;
                        p.voided += 1;
                    }
                    Event::PromotionTurnedOff(e) => p.capped = e.reason == RefusalReason::CapReached,
                    Event::PromotionTurnedOn(_) => p.capped = false,
                    _ => {}
                }
                Some(p)
            }
            (None, _) => None,
        }
    }
}

/// Who owns a business id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BusinessView {
    pub tenant: String,
    pub business_id: String,
    pub name: String,
}

impl View for BusinessView {
    fn key(_: &Source<'_>, event: &Event) -> Option<Vec<String>> {
        match event {
            Event::BusinessRegistered(e) => Some(vec![e.business_id.clone()]),
            _ => None,
        }
    }

    fn apply(row: Option<Self>, source: &Source<'_>, event: &Event) -> Option<Self> {
        match (row, event) {
            (None, Event::BusinessRegistered(e)) => Some(BusinessView {
                tenant: source.tenant.to_owned(),
                business_id: e.business_id.clone(),
                name: e.name.clone(),
            }),
            (row, _) => row,
        }
    }
}

/// The promotion a wallet item (a clipped coupon, ScanTrack `aid`) belongs to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WalletItemView {
    pub wallet_item_id: String,
    pub business_id: String,
    pub promotion_id: String,
    pub customer_key: Option<String>,
}

impl View for WalletItemView {
    fn key(_: &Source<'_>, event: &Event) -> Option<Vec<String>> {
        match event {
            Event::CouponClipped(e) => Some(vec![e.wallet_item_id.clone()]),
            _ => None,
        }
    }

    fn apply(row: Option<Self>, source: &Source<'_>, event: &Event) -> Option<Self> {
        match (row, event) {
            (None, Event::CouponClipped(e)) => {
                let (business_id, promotion_id) = stream::promotion_ids(source.stream_id)?;
                Some(WalletItemView {
                    wallet_item_id: e.wallet_item_id.clone(),
                    business_id: business_id.to_owned(),
                    promotion_id: promotion_id.to_owned(),
                    customer_key: e.customer_key.clone(),
                })
            }
            (row, _) => row,
        }
    }
}

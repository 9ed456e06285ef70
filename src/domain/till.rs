//! What till transactions did to an account, for every kind of account a till touches: each transaction adds to an
//! account once and takes from it once; a refund names its original sale and undoes at most what that sale did,
//! counting every refund before it, and one refund transaction applies each of its parts once.

use std::collections::{BTreeMap, BTreeSet};

use rust_decimal::Decimal;
use tally_events::{TillSale, TillTransaction};
use uuid::Uuid;

/// What one till transaction did to the account.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sale {
    /// Added: points earned, money paid in.
    pub added: Option<Decimal>,
    /// Taken as a tender: directly, or by completing its reservation.
    pub taken: Option<Decimal>,
    /// A tender reserved during the sale (loyalty points).
    pub reservation: Option<Uuid>,
    /// Taken back from what it added, by refunds.
    pub taken_back: Decimal,
    /// Given back from what it took, by refunds.
    pub given_back: Decimal,
}

/// The two things a refund can do to its sale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum RefundPart {
    TakeBack,
    GiveBack,
}

/// Why a till's movement is refused.
#[derive(Debug, Clone, PartialEq)]
pub enum TillError {
    /// This till transaction already added to (or took from, or refunded this part on) the account.
    Repeated { added: bool },
    /// A refund names a sale that added (or took) nothing on this account.
    SaleNotFound { added: bool },
    /// A refund would take back more than its sale added, or give back more than it took, counting the refunds
    /// before it.
    RefundExceedsSale { refundable: Decimal },
}

impl TillError {
    pub fn code(&self) -> &'static str {
        match self {
            TillError::Repeated { .. } => "TillTransactionRepeated",
            TillError::SaleNotFound { .. } => "SaleNotFound",
            TillError::RefundExceedsSale { .. } => "RefundExceedsSale",
        }
    }
}

/// The till transactions of one account.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sales {
    sales: BTreeMap<TillTransaction, Sale>,
    /// The refund transactions applied, per part.
    refunds: BTreeSet<(TillTransaction, RefundPart)>,
}

impl Sales {
    pub fn get(&self, transaction: &TillTransaction) -> Option<&Sale> {
        self.sales.get(transaction)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&TillTransaction, &Sale)> {
        self.sales.iter()
    }

    /// Whether `sale` may add (`added`) or take `amount`: once per transaction, and for a refund within what its
    /// original sale took or added. A refund that adds gives back what its sale took; one that takes, takes back
    /// what it added.
    pub fn check(&self, sale: &TillSale, added: bool, amount: Decimal) -> Result<(), TillError> {
        let Some(original) = &sale.refund_of else {
            let repeated = self.sales.get(&sale.transaction()).is_some_and(|done| {
                if added {
                    done.added.is_some()
                } else {
                    done.taken.is_some() || done.reservation.is_some()
                }
            });
            return if repeated { Err(TillError::Repeated { added }) } else { Ok(()) };
        };
        let part = if added { RefundPart::GiveBack } else { RefundPart::TakeBack };
        if self.refunds.contains(&(sale.transaction(), part)) {
            return Err(TillError::Repeated { added });
        }
        let (total, refunded) = match (part, self.sales.get(original)) {
            (RefundPart::GiveBack, Some(Sale { taken: Some(taken), given_back, .. })) => (*taken, *given_back),
            (RefundPart::TakeBack, Some(Sale { added: Some(added), taken_back, .. })) => (*added, *taken_back),
            _ => return Err(TillError::SaleNotFound { added: part == RefundPart::TakeBack }),
        };
        let refundable = total - refunded;
        if amount > refundable {
            return Err(TillError::RefundExceedsSale { refundable });
        }
        Ok(())
    }

    /// Records what `sale` added (`added`) or took.
    pub fn record(&mut self, sale: &TillSale, added: bool, amount: Decimal) {
        match &sale.refund_of {
            None => {
                let done = self.sales.entry(sale.transaction()).or_default();
                let total = if added { &mut done.added } else { &mut done.taken };
                *total = Some(total.unwrap_or_default() + amount);
            }
            Some(original) => {
                let part = if added { RefundPart::GiveBack } else { RefundPart::TakeBack };
                self.refunds.insert((sale.transaction(), part));
                let done = self.sales.entry(original.clone()).or_default();
                *(if added { &mut done.given_back } else { &mut done.taken_back }) += amount;
            }
        }
    }

    /// Records a reserved tender of `transaction` completed: `amount` taken.
    pub fn complete(&mut self, transaction: &TillTransaction, amount: Decimal) {
        let done = self.sales.entry(transaction.clone()).or_default();
        done.taken = Some(done.taken.unwrap_or_default() + amount);
    }

    /// Records a tender reserved by `transaction`.
    pub fn reserve(&mut self, transaction: TillTransaction, reservation_id: Uuid) {
        self.sales.entry(transaction).or_default().reservation = Some(reservation_id);
    }
}

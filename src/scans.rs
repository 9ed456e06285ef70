//! Coupon scans, whichever surface reports them: the ScanTrack POS dialect and the mobile device's native
//! endpoint. Resolves a report to its promotion, checks the business is the caller's, and gives the use its
//! identity, so that one use reported by both channels is counted once.
//!
//! The identity of a use, from the fields the seed gives:
//! - scanned from a wallet (`aid`): `wallet:{aid}` — a clipped coupon is used once;
//! - else with a customer (`key`): `customer:{key}:{day}` — one use per customer and coupon per business day of the
//!   merchant (cut in its IANA time zone);
//! - else (no `aid`, no `key`): nothing ties two reports together, so each report is a use of its own.

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use tally_events::ScanChannel;
use tally_projections::{load_business, load_promotion, load_wallet_item, PromotionView};
use uuid::Uuid;

use crate::{
    app::App,
    commands::{Stream, Target},
    domain::promotion::{PromotionAggregate, PromotionCommand, Scan},
    store::StoreError,
};

/// Longest id, key or reference a scan may carry.
const MAX_FIELD: usize = 128;

/// What a scan reports: the seed's `src`, `aid`, `id`, `iid` and `key`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScanReport {
    pub src: Option<String>,
    pub aid: Option<String>,
    pub id: Option<String>,
    pub iid: Option<String>,
    pub key: Option<String>,
}

/// Why a scan cannot be recorded at all (as opposed to refused and recorded).
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error("{0}")]
    Invalid(String),
    #[error("no business with this id")]
    UnknownBusiness,
    #[error("this business belongs to another merchant")]
    NotYourBusiness,
    #[error("no such promotion for this business")]
    UnknownPromotion,
    #[error("no wallet item with this id")]
    UnknownWalletItem,
    #[error("the wallet item belongs to another promotion or business")]
    WalletItemMismatch,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A network id: 1 to 64 of `A-Z a-z 0-9 _ . -` (it sits inside stream ids).
pub fn valid_id(text: &str) -> bool {
    (1..=64).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
}

fn field(value: &Option<String>, name: &str, id: bool) -> Result<Option<String>, ScanError> {
    let Some(text) = value.as_deref().map(str::trim).filter(|t| !t.is_empty()) else { return Ok(None) };
    let ok = if id { valid_id(text) } else { text.chars().count() <= MAX_FIELD && !text.chars().any(char::is_control) };
    if !ok {
        return Err(ScanError::Invalid(format!("{name} is not a valid id")));
    }
    Ok(Some(text.to_owned()))
}

/// The promotion a report is for, after checking the business is the caller's.
pub async fn resolve(app: &App, tenant: &str, report: &ScanReport) -> Result<(PromotionView, Scan), ScanError> {
    let src = field(&report.src, "src", true)?.ok_or_else(|| ScanError::Invalid("src is required".into()))?;
    let aid = field(&report.aid, "aid", true)?;
    let id = field(&report.id, "id", true)?;
    let iid = field(&report.iid, "iid", false)?;
    let key = field(&report.key, "key", false)?;
    let mut conn = app.db.read.acquire().await.map_err(StoreError::from)?;
    let business = load_business(&mut conn, &src).await.map_err(StoreError::from)?.ok_or(ScanError::UnknownBusiness)?;
    if business.tenant != tenant {
        return Err(ScanError::NotYourBusiness);
    }
    let promotion_id = match (&aid, &id) {
        (Some(aid), id) => {
            let item = load_wallet_item(&mut conn, aid)
                .await
                .map_err(StoreError::from)?
                .ok_or(ScanError::UnknownWalletItem)?;
            if item.business_id != src || id.as_ref().is_some_and(|id| *id != item.promotion_id) {
                return Err(ScanError::WalletItemMismatch);
            }
            item.promotion_id
        }
        (None, Some(id)) => id.clone(),
        (None, None) => return Err(ScanError::Invalid("one of aid and id is required".into())),
    };
    let promotion = load_promotion(&mut conn, &src, &promotion_id)
        .await
        .map_err(StoreError::from)?
        .ok_or(ScanError::UnknownPromotion)?;
    // Give the connection back before anything else waits on the pool.
    drop(conn);
    let business_day = business_day(app, tenant, Utc::now()).await?;
    let use_id = match (&aid, &key) {
        (Some(aid), _) => format!("wallet:{aid}"),
        (None, Some(key)) => format!("customer:{key}:{business_day}"),
        (None, None) => format!("scan:{}", Uuid::now_v7()),
    };
    let scan = Scan {
        use_id,
        channel: ScanChannel::Pos,
        wallet_item_id: aid,
        customer_key: key,
        internal_id: iid,
        billed: false,
        business_day,
    };
    Ok((promotion, scan))
}

/// The merchant's business day of `at`, in its time zone.
pub async fn business_day(app: &App, tenant: &str, at: DateTime<Utc>) -> Result<NaiveDate, StoreError> {
    let zone = app.reads.merchant(&app.db, tenant).await?.map(|m| m.time_zone).unwrap_or_default();
    Ok(day_in_zone(at, &zone))
}

/// The calendar day of `at` in the IANA time zone `zone` (UTC when the zone is unknown; merchants are created with
/// a checked zone).
pub fn day_in_zone(at: DateTime<Utc>, zone: &str) -> NaiveDate {
    let zone: Tz = zone.parse().unwrap_or(Tz::UTC);
    at.with_timezone(&zone).date_naive()
}

/// A use to record: its promotion, its identity, and the command.
pub struct UseCommand {
    pub promotion: PromotionView,
    pub use_id: String,
    pub target: Target,
}

/// The command that records a use reported by `channel`. A report through ScanTrack first switches the merchant
/// to pay-per-use billing (once; later reports find it switched).
pub async fn use_command(
    app: &App,
    tenant: &str,
    report: &ScanReport,
    channel: ScanChannel,
) -> Result<UseCommand, ScanError> {
    let (promotion, scan) = resolve(app, tenant, report).await?;
    if channel == ScanChannel::Pos {
        app.billing.switch_to_pay_per_use(&app.executor, tenant).await?;
    }
    let billed = app.billing.bills_per_use(&app.db, tenant).await?;
    let use_id = scan.use_id.clone();
    let key = (promotion.business_id.clone(), promotion.promotion_id.clone());
    let target = PromotionAggregate::target(key, PromotionCommand::Use(Scan { channel, billed, ..scan }));
    Ok(UseCommand { promotion, use_id, target })
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn business_days_are_cut_in_the_merchants_zone() {
        let at = |h, m| Utc.with_ymd_and_hms(2026, 10, 31, h, m, 0).unwrap();
        let day = |d| NaiveDate::from_ymd_opt(2026, 10, d).unwrap();
        // Moscow is UTC+3 all year: 20:59 UTC is still the 31st there, 21:00 is the 1st of November.
        assert_eq!(day_in_zone(at(20, 59), "Europe/Moscow"), day(31));
        assert_eq!(day_in_zone(at(21, 0), "Europe/Moscow"), NaiveDate::from_ymd_opt(2026, 11, 1).unwrap());
        // New York leaves daylight saving time on 1 November 2026: midnight is 04:00 UTC before, 05:00 after.
        assert_eq!(day_in_zone(at(3, 59), "America/New_York"), day(30));
        assert_eq!(day_in_zone(at(4, 0), "America/New_York"), day(31));
        let after = Utc.with_ymd_and_hms(2026, 11, 2, 4, 30, 0).unwrap();
        assert_eq!(day_in_zone(after, "America/New_York"), NaiveDate::from_ymd_opt(2026, 11, 1).unwrap());
        assert_eq!(day_in_zone(at(23, 0), "No/Such_Zone"), day(31));
    }
}

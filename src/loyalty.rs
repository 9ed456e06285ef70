//! Loyalty campaigns, as every surface works with them: the reads of the loyalty views, the codes' form, and the
//! commands that issue codes (the native API and `tally loyalty issue` share them).

use chrono::{DateTime, Utc};
use tally_projections::{LoyaltyCampaignView, LoyaltyCodeView};

use crate::{
    commands::{Stream, Target},
    domain::loyalty::{CampaignAggregate, CampaignCommand},
    store::{Db, StoreError},
};

/// The most codes one call issues (all or none).
pub const MAX_CODES_PER_CALL: usize = 100_000;
/// The longest code.
pub const MAX_CODE_LENGTH: usize = 32;
/// The characters of generated codes when a campaign names none: capitals and digits, without those read alike
/// (0/O, 1/I).
pub const DEFAULT_CHARS: &str = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789";

/// A code as given (a till types it in any case): 1 to 32 letters, digits or `-`, in capitals.
pub fn code(text: &str) -> Option<String> {
    let code = text.trim().to_ascii_uppercase();
    let valid = (1..=MAX_CODE_LENGTH).contains(&code.len())
        && code.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-');
    valid.then_some(code)
}

/// What a call issues: the codes given, or so many generated.
#[derive(Debug, Clone, PartialEq)]
pub enum Issue {
    Codes(Vec<String>),
    Generated(usize),
}

/// Why codes cannot be issued, before the campaign decides.
#[derive(Debug, Clone, PartialEq)]
pub enum IssueProblem {
    /// None, or more than [`MAX_CODES_PER_CALL`].
    Count(usize),
    /// A code that is not 1 to 32 letters, digits or `-`.
    Code(String),
}

impl std::fmt::Display for IssueProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            IssueProblem::Count(count) => {
                write!(f, "{count} codes: a call issues 1 to {MAX_CODES_PER_CALL}")
            }
            IssueProblem::Code(code) => {
                write!(f, "code {code:?} is not 1 to {MAX_CODE_LENGTH} letters, digits or -")
            }
        }
    }
}

/// The command that issues `issue` for `prize_id` to the campaign.
pub fn issue(internal_id: &str, prize_id: String, issue: Issue) -> Result<Target, IssueProblem> {
    let count = match &issue {
        Issue::Codes(codes) => codes.len(),
        Issue::Generated(count) => *count,
    };
    if !(1..=MAX_CODES_PER_CALL).contains(&count) {
        return Err(IssueProblem::Count(count));
    }
    let command = match issue {
        Issue::Codes(codes) => CampaignCommand::Issue {
            prize_id,
            codes: codes
                .iter()
                .map(|text| code(text).ok_or_else(|| IssueProblem::Code(text.clone())))
                .collect::<Result<_, _>>()?,
        },
        Issue::Generated(count) => CampaignCommand::Generate { prize_id, count, seed: rand_seed() },
    };
    Ok(CampaignAggregate::target(internal_id.to_owned(), command))
}

/// A seed for generated codes.
fn rand_seed() -> u64 {
    let bytes = uuid::Uuid::new_v4().into_bytes();
    u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes"))
}

pub async fn campaign(db: &Db, tenant: &str, internal_id: &str) -> Result<Option<LoyaltyCampaignView>, StoreError> {
    Ok(tally_projections::load_loyalty_campaign(&mut *db.read.acquire().await?, tenant, internal_id).await?)
}

/// The tenant's campaigns; those running at `running_at` only, when given.
pub async fn campaigns(
    db: &Db,
    tenant: &str,
    running_at: Option<DateTime<Utc>>,
) -> Result<Vec<LoyaltyCampaignView>, StoreError> {
    Ok(tally_projections::loyalty_campaigns(&mut *db.read.acquire().await?, tenant, running_at).await?)
}

/// The codes a holder was handed, newest first (of one campaign, or of all).
pub async fn codes_of(
    db: &Db,
    tenant: &str,
    holder: &str,
    internal_id: Option<&str>,
) -> Result<Vec<LoyaltyCodeView>, StoreError> {
    Ok(tally_projections::loyalty_codes_of(&mut *db.read.acquire().await?, tenant, holder, internal_id).await?)
}

/// A page of the codes handed out, and how many there are.
pub async fn list(
    db: &Db,
    tenant: &str,
    internal_id: Option<&str>,
    search: &str,
    offset: i64,
    limit: i64,
) -> Result<(Vec<LoyaltyCodeView>, i64), StoreError> {
    let mut conn = db.read.acquire().await?;
    Ok(tally_projections::list_loyalty_codes(&mut conn, tenant, internal_id, search, offset, limit).await?)
}

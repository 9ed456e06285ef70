//! Loyalty campaigns of Footprints: codes issued per prize type, each handed to one client while the campaign runs,
//! then redeemed or blocked once and only once before the codes expire. A client holds one live (allocated, not yet
//! redeemed or blocked) code per campaign. The campaign is one stream, so two tills redeeming the same code are
//! decided one after the other: the first wins, the second is refused.

use std::collections::{HashMap, HashSet, VecDeque};

use tally_events::{
    Event, LoyaltyCampaignDeclared, LoyaltyCodeAllocated, LoyaltyCodeBlocked, LoyaltyCodeRedeemed, LoyaltyCodesIssued,
};
use uuid::Uuid;

use super::{Aggregate, Context};

/// The most codes one event records: a large issue is several events appended together.
pub const CODES_PER_EVENT: usize = 5_000;

/// Where a code is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeState {
    Free,
    Allocated { holder: String },
    Redeemed { holder: String },
    Blocked { holder: String },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Campaign {
    pub declared: LoyaltyCampaignDeclared,
    /// Every code issued, with its prize type and where it is.
    pub codes: HashMap<String, (String, CodeState)>,
    /// The free codes of each prize type, in the order they were issued (allocated first to last).
    pub free: HashMap<String, VecDeque<String>>,
    /// Each client's live code.
    pub live: HashMap<String, String>,
}

/// What a code's holder asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeChange {
    Redeem,
    Block,
}

#[derive(Debug, Clone, PartialEq)]
pub enum CampaignCommand {
    /// Declare the campaign, or change it (`id` is kept from the first declaration).
    Declare(LoyaltyCampaignDeclared),
    /// Issue these codes for a prize type.
    Issue { prize_id: String, codes: Vec<String> },
    /// Issue `count` new codes for a prize type, drawn from the campaign's characters and length by a generator
    /// seeded with `seed` (so that the same state and seed decide the same codes).
    Generate { prize_id: String, count: usize, seed: u64 },
    /// Hand the next free code (of `prize_id`, or of the first prize type with one) to `holder`.
    Allocate { holder: String, customer_id: Uuid, prize_id: Option<String>, by: String },
    /// Redeem or block `holder`'s `code`.
    Change { code: String, holder: String, change: CodeChange, by: String },
}

pub struct CampaignAggregate;

/// Why a campaign command is refused.
#[derive(Debug, Clone, PartialEq)]
pub enum LoyaltyError {
    CampaignNotFound,
    /// A change that removes a prize type which has codes.
    PrizeTypeInUse {
        prize_id: String,
    },
    UnknownPrize {
        prize_id: String,
    },
    /// A code issued already (to this campaign, or twice in one call).
    CodeAlreadyIssued {
        code: String,
    },
    /// The campaign's characters and length do not make enough codes: at most half of those possible are issued.
    NotEnoughCodes {
        possible: u64,
    },
    /// Codes are allocated from the campaign's start until its end.
    CampaignNotRunning,
    /// The client holds a live code of the campaign already.
    ClientHoldsCode {
        code: String,
    },
    NoCodesLeft,
    /// No such code in this campaign.
    UnknownCode,
    /// The code is free, or another client's.
    CodeNotHeld,
    AlreadyRedeemed,
    CodeBlocked,
    /// The campaign's codes expired.
    CodesExpired,
}

impl LoyaltyError {
    /// The stable name of the refusal.
    pub fn code(&self) -> &'static str {
        match self {
            LoyaltyError::CampaignNotFound => "CampaignNotFound",
            LoyaltyError::PrizeTypeInUse { .. } => "PrizeTypeInUse",
            LoyaltyError::UnknownPrize { .. } => "UnknownPrize",
            LoyaltyError::CodeAlreadyIssued { .. } => "CodeAlreadyIssued",
            LoyaltyError::NotEnoughCodes { .. } => "NotEnoughCodes",
            LoyaltyError::CampaignNotRunning => "CampaignNotRunning",
            LoyaltyError::ClientHoldsCode { .. } => "ClientHoldsCode",
            LoyaltyError::NoCodesLeft => "NoCodesLeft",
            LoyaltyError::UnknownCode => "UnknownCode",
            LoyaltyError::CodeNotHeld => "CodeNotHeld",
            LoyaltyError::AlreadyRedeemed => "CodeAlreadyRedeemed",
            LoyaltyError::CodeBlocked => "CodeBlocked",
            LoyaltyError::CodesExpired => "CodesExpired",
        }
    }
}

impl Campaign {
    fn has_prize(&self, prize_id: &str) -> bool {
        self.declared.settings.prize_types.iter().any(|prize| prize.id == prize_id)
    }

    fn declare(&self, mut declared: LoyaltyCampaignDeclared) -> Result<Vec<Event>, LoyaltyError> {
        declared.id = self.declared.id.clone();
        if declared == self.declared {
            return Ok(vec![]);
        }
        let kept: HashSet<&str> = declared.settings.prize_types.iter().map(|prize| prize.id.as_str()).collect();
        if let Some((_, (prize_id, _))) = self.codes.iter().find(|(_, (prize_id, _))| !kept.contains(prize_id.as_str()))
        {
            return Err(LoyaltyError::PrizeTypeInUse { prize_id: prize_id.clone() });
        }
        Ok(vec![Event::LoyaltyCampaignDeclared(declared)])
    }

    fn issue(&self, prize_id: String, codes: Vec<String>) -> Result<Vec<Event>, LoyaltyError> {
        if !self.has_prize(&prize_id) {
            return Err(LoyaltyError::UnknownPrize { prize_id });
        }
        let mut seen = HashSet::with_capacity(codes.len());
        if let Some(code) = codes.iter().find(|code| self.codes.contains_key(*code) || !seen.insert(code.as_str())) {
            return Err(LoyaltyError::CodeAlreadyIssued { code: code.clone() });
        }
        Ok(codes
            .chunks(CODES_PER_EVENT)
            .map(|chunk| {
                Event::LoyaltyCodesIssued(LoyaltyCodesIssued { prize_id: prize_id.clone(), codes: chunk.to_vec() })
            })
            .collect())
    }

    fn generate(&self, prize_id: String, count: usize, seed: u64) -> Result<Vec<Event>, LoyaltyError> {
        let settings = &self.declared.settings;
        let alphabet: Vec<char> = settings.allowed_chars.chars().collect();
        let possible = (alphabet.len() as u64).checked_pow(u32::from(settings.code_length)).unwrap_or(u64::MAX);
        if (self.codes.len() as u64).saturating_add(count as u64) > possible / 2 {
            return Err(LoyaltyError::NotEnoughCodes { possible });
        }
        let mut random = SplitMix64(seed);
        let mut drawn = HashSet::with_capacity(count);
        let mut codes = Vec::with_capacity(count);
        while codes.len() < count {
            let code: String =
                (0..settings.code_length).map(|_| alphabet[(random.next() % alphabet.len() as u64) as usize]).collect();
            if !self.codes.contains_key(&code) && drawn.insert(code.clone()) {
                codes.push(code);
            }
        }
        self.issue(prize_id, codes)
    }

    fn allocate(
        &self,
        holder: String,
        customer_id: Uuid,
        prize_id: Option<String>,
        by: String,
        context: &Context,
    ) -> Result<Vec<Event>, LoyaltyError> {
        if let Some(prize_id) = prize_id.as_ref().filter(|prize_id| !self.has_prize(prize_id)) {
            return Err(LoyaltyError::UnknownPrize { prize_id: prize_id.clone() });
        }
        if context.now < self.declared.starts_at || context.now >= self.declared.ends_at {
            return Err(LoyaltyError::CampaignNotRunning);
        }
        if let Some(code) = self.live.get(&holder) {
            return Err(LoyaltyError::ClientHoldsCode { code: code.clone() });
        }
        let prizes = self.declared.settings.prize_types.iter().map(|prize| &prize.id);
        let (prize_id, code) = prizes
            .filter(|id| prize_id.as_ref().is_none_or(|wanted| wanted == *id))
            .find_map(|id| Some((id.clone(), self.free.get(id)?.front()?.clone())))
            .ok_or(LoyaltyError::NoCodesLeft)?;
        Ok(vec![Event::LoyaltyCodeAllocated(LoyaltyCodeAllocated {
            code,
            prize_id,
            holder,
            customer_id,
            handed_out_by: by,
        })])
    }

    fn change(
        &self,
        code: String,
        holder: String,
        change: CodeChange,
        by: String,
        context: &Context,
    ) -> Result<Vec<Event>, LoyaltyError> {
        let (prize_id, state) = self.codes.get(&code).ok_or(LoyaltyError::UnknownCode)?;
        let prize_id = prize_id.clone();
        let owner = match state {
            CodeState::Free => return Err(LoyaltyError::CodeNotHeld),
            CodeState::Allocated { holder } | CodeState::Redeemed { holder } | CodeState::Blocked { holder } => holder,
        };
        if *owner != holder {
            return Err(LoyaltyError::CodeNotHeld);
        }
        match state {
            CodeState::Redeemed { .. } => return Err(LoyaltyError::AlreadyRedeemed),
            CodeState::Blocked { .. } => return Err(LoyaltyError::CodeBlocked),
            _ => {}
        }
        if context.now >= self.declared.codes_expire_at {
            return Err(LoyaltyError::CodesExpired);
        }
        Ok(vec![match change {
            CodeChange::Redeem => Event::LoyaltyCodeRedeemed(LoyaltyCodeRedeemed { code, prize_id, by }),
            CodeChange::Block => Event::LoyaltyCodeBlocked(LoyaltyCodeBlocked { code, prize_id, by }),
        }])
    }

    /// The code's holder, after it left the allocated state for `next`.
    fn settle(&mut self, code: &str, next: fn(String) -> CodeState) {
        if let Some((_, state)) = self.codes.get_mut(code) {
            if let CodeState::Allocated { holder } = std::mem::replace(state, CodeState::Free) {
                self.live.remove(&holder);
                *state = next(holder);
            }
        }
    }
}

impl Aggregate for CampaignAggregate {
    type State = Option<Campaign>;
    type Command = CampaignCommand;
    type Error = LoyaltyError;

    fn decide(
        state: &Option<Campaign>,
        command: CampaignCommand,
        context: &Context,
    ) -> Result<Vec<Event>, LoyaltyError> {
        let campaign = match (state, command) {
            (None, CampaignCommand::Declare(declared)) => return Ok(vec![Event::LoyaltyCampaignDeclared(declared)]),
            (None, _) => return Err(LoyaltyError::CampaignNotFound),
            (Some(campaign), command) => (campaign, command),
        };
        match campaign {
            (campaign, CampaignCommand::Declare(declared)) => campaign.declare(declared),
            (campaign, CampaignCommand::Issue { prize_id, codes }) => campaign.issue(prize_id, codes),
            (campaign, CampaignCommand::Generate { prize_id, count, seed }) => campaign.generate(prize_id, count, seed),
            (campaign, CampaignCommand::Allocate { holder, customer_id, prize_id, by }) => {
                campaign.allocate(holder, customer_id, prize_id, by, context)
            }
            (campaign, CampaignCommand::Change { code, holder, change, by }) => {
                campaign.change(code, holder, change, by, context)
            }
        }
    }

    fn evolve(state: Option<Campaign>, event: &Event) -> Option<Campaign> {
        let Some(mut campaign) = state else {
            return match event {
                Event::LoyaltyCampaignDeclared(e) => Some(Campaign {
                    declared: e.clone(),
                    codes: HashMap::new(),
                    free: HashMap::new(),
                    live: HashMap::new(),
                }),
                _ => None,
            };
        };
        match event {
            Event::LoyaltyCampaignDeclared(e) => campaign.declared = e.clone(),
            Event::LoyaltyCodesIssued(e) => {
                let free = campaign.free.entry(e.prize_id.clone()).or_default();
                for code in &e.codes {
                    free.push_back(code.clone());
                    campaign.codes.insert(code.clone(), (e.prize_id.clone(), CodeState::Free));
                }
            }
            Event::LoyaltyCodeAllocated(e) => {
                if let Some(free) = campaign.free.get_mut(&e.prize_id) {
                    // The code allocated is the first free one; another only if the ledger says so.
                    match free.front() == Some(&e.code) {
                        true => drop(free.pop_front()),
                        false => free.retain(|code| *code != e.code),
                    }
                }
                campaign
                    .codes
                    .insert(e.code.clone(), (e.prize_id.clone(), CodeState::Allocated { holder: e.holder.clone() }));
                campaign.live.insert(e.holder.clone(), e.code.clone());
            }
            Event::LoyaltyCodeRedeemed(e) => campaign.settle(&e.code, |holder| CodeState::Redeemed { holder }),
            Event::LoyaltyCodeBlocked(e) => campaign.settle(&e.code, |holder| CodeState::Blocked { holder }),
            _ => {}
        }
        Some(campaign)
    }
}

/// The SplitMix64 generator: good enough spread for codes, and the same codes for the same seed.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

#[cfg(test)]
mod tests;

//! The lead: a person's interest in an offer, moved through the pipeline by sales staff. The decider keeps the
//! pipeline's rules — a lead that became a customer stays one (its sale is counted), a lost lead may be taken up
//! again, an update that changes nothing records nothing — and knows its actions by id. The person's data arrives
//! sealed and is never looked into here.

use std::collections::BTreeSet;

use chrono::NaiveDateTime;
use tally_events::{
    Contract, Event, LeadActionAdded, LeadActionUpdated, LeadAdded, LeadDocumentAttached, LeadLost, LeadNpsRecorded,
    LeadPlacement, LeadStatus, LeadStatusChanged, LeadUpdated, LostReason, Sealed,
};

use super::{Aggregate, Context};

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Lead {
    pub status: Option<LeadStatus>,
    pub placement: LeadPlacement,
    pub lost_reason: Option<LostReason>,
    pub actions: BTreeSet<String>,
}

/// A move in the pipeline asked for with an update.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusChange {
    pub to: LeadStatus,
    /// Only with `to` = customer.
    pub contract: Option<Contract>,
}

/// What an update asks to change; absent fields stay as they are.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LeadChanges {
    pub placement: LeadPlacement,
    pub personal: Option<Sealed>,
    pub tags: Option<Vec<String>>,
    pub status: Option<StatusChange>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum LeadCommand {
    /// Take a lead: the handler looked up (or made) its customer and sealed the person's data.
    Add(Box<LeadAdded>),
    Update(Box<LeadChanges>),
    MarkLost {
        reason: LostReason,
        comment: Option<Sealed>,
    },
    RecordNps {
        nps: u8,
        comment: Option<Sealed>,
    },
    AddAction {
        action_id: String,
        action_type_id: String,
        detail: Option<Sealed>,
        date: NaiveDateTime,
    },
    UpdateAction {
        action_id: String,
        action_type_id: Option<String>,
        detail: Option<Sealed>,
        date: Option<NaiveDateTime>,
    },
    /// Attach documents (their contents stored already, outside the ledger).
    AttachDocuments(Vec<LeadDocumentAttached>),
}

pub struct LeadAggregate;

/// Why a lead command is refused, in precedence order.
#[derive(Debug, Clone, PartialEq)]
pub enum LeadError {
    /// A lead with this id exists already.
    AlreadyExists,
    /// No such lead.
    NotFound,
    /// The lead became a customer: its status no longer changes.
    AlreadyCustomer,
    /// The lead was lost for another reason.
    AlreadyLost { reason: LostReason },
    /// A contract goes with the move to customer only.
    ContractWithoutCustomer,
    /// The lead has no action with this id.
    ActionNotFound,
    /// The lead has an action with this id already.
    ActionExists,
}

impl LeadError {
    /// The stable name of the refusal.
    pub fn code(&self) -> &'static str {
        match self {
            LeadError::AlreadyExists => "LeadExists",
            LeadError::NotFound => "LeadNotFound",
            LeadError::AlreadyCustomer => "LeadAlreadyCustomer",
            LeadError::AlreadyLost { .. } => "LeadAlreadyLost",
            LeadError::ContractWithoutCustomer => "ContractWithoutCustomer",
            LeadError::ActionNotFound => "LeadActionNotFound",
            LeadError::ActionExists => "LeadActionExists",
        }
    }
}

impl Aggregate for LeadAggregate {
    type State = Lead;
    type Command = LeadCommand;
    type Error = LeadError;

    fn decide(lead: &Lead, command: LeadCommand, _: &Context) -> Result<Vec<Event>, LeadError> {
        let Some(status) = lead.status else {
            return match command {
                LeadCommand::Add(added) => Ok(vec![Event::LeadAdded(*added)]),
                _ => Err(LeadError::NotFound),
            };
        };
        match command {
            LeadCommand::Add(_) => Err(LeadError::AlreadyExists),
            LeadCommand::Update(changes) => update(lead, status, *changes),
            LeadCommand::MarkLost { reason, comment } => lost(lead, status, reason, comment),
            LeadCommand::RecordNps { nps, comment } => {
                Ok(vec![Event::LeadNpsRecorded(LeadNpsRecorded { nps, comment })])
            }
            LeadCommand::AddAction { action_id, action_type_id, detail, date } => {
                if lead.actions.contains(&action_id) {
                    return Err(LeadError::ActionExists);
                }
                Ok(vec![Event::LeadActionAdded(LeadActionAdded { action_id, action_type_id, detail, date })])
            }
            LeadCommand::UpdateAction { action_id, action_type_id, detail, date } => {
                if !lead.actions.contains(&action_id) {
                    return Err(LeadError::ActionNotFound);
                }
                if action_type_id.is_none() && detail.is_none() && date.is_none() {
                    return Ok(vec![]);
                }
                Ok(vec![Event::LeadActionUpdated(LeadActionUpdated { action_id, action_type_id, detail, date })])
            }
            LeadCommand::AttachDocuments(documents) => {
                let actions = documents.iter().filter_map(|document| document.action_id.as_ref());
                if actions.into_iter().any(|id| !lead.actions.contains(id)) {
                    return Err(LeadError::ActionNotFound);
                }
                Ok(documents.into_iter().map(Event::LeadDocumentAttached).collect())
            }
        }
    }

    fn evolve(mut lead: Lead, event: &Event) -> Lead {
        match event {
            Event::LeadAdded(e) => {
                lead.status = Some(e.status);
                lead.placement = e.placement.clone();
            }
            Event::LeadUpdated(e) => lead.placement = lead.placement.overlay(&e.placement),
            Event::LeadStatusChanged(e) => {
                lead.status = Some(e.to);
                lead.lost_reason = None;
            }
            Event::LeadLost(e) => {
                lead.status = Some(LeadStatus::Lost);
                lead.lost_reason = Some(e.reason);
            }
            Event::LeadActionAdded(e) => {
                lead.actions.insert(e.action_id.clone());
            }
            _ => {}
        }
        lead
    }
}

fn update(lead: &Lead, status: LeadStatus, changes: LeadChanges) -> Result<Vec<Event>, LeadError> {
    let LeadChanges { placement, personal, tags, status: change } = changes;
    let moves = change.as_ref().filter(|change| change.to != status);
    if let Some(change) = &change {
        if change.contract.is_some() && change.to != LeadStatus::Customer {
            return Err(LeadError::ContractWithoutCustomer);
        }
    }
    if moves.is_some() && status == LeadStatus::Customer {
        return Err(LeadError::AlreadyCustomer);
    }
    if let Some(StatusChange { to: LeadStatus::Lost, .. }) = moves {
        if let Some(reason) = lead.lost_reason.filter(|_| status == LeadStatus::Lost) {
            return Err(LeadError::AlreadyLost { reason });
        }
    }
    let mut events = Vec::new();
    // Only the placement fields that really change are recorded.
    let changed = changed_placement(&lead.placement, placement);
    if changed != LeadPlacement::default() || personal.is_some() || tags.is_some() {
        events.push(Event::LeadUpdated(LeadUpdated { placement: changed, personal, tags }));
    }
    match moves {
        // A lost lead taken with an update has no reason given: it is `other`.
        Some(StatusChange { to: LeadStatus::Lost, .. }) => {
            events.push(Event::LeadLost(LeadLost { from: status, reason: LostReason::Other, comment: None }));
        }
        Some(change) => events.push(Event::LeadStatusChanged(LeadStatusChanged {
            from: status,
            to: change.to,
            contract: change.contract.clone(),
        })),
        None => {}
    }
    Ok(events)
}

fn changed_placement(current: &LeadPlacement, asked: LeadPlacement) -> LeadPlacement {
    let keep = |new: Option<String>, old: &Option<String>| new.filter(|value| Some(value) != old.as_ref());
    LeadPlacement {
        offline_campaign_id: keep(asked.offline_campaign_id, &current.offline_campaign_id),
        offer_category_id: keep(asked.offer_category_id, &current.offer_category_id),
        offer_id: keep(asked.offer_id, &current.offer_id),
        location_id: keep(asked.location_id, &current.location_id),
        consultant_id: keep(asked.consultant_id, &current.consultant_id),
        channel_id: keep(asked.channel_id, &current.channel_id),
        sku_id: keep(asked.sku_id, &current.sku_id),
        sku_external_id: keep(asked.sku_external_id, &current.sku_external_id),
    }
}

fn lost(lead: &Lead, status: LeadStatus, reason: LostReason, comment: Option<Sealed>) -> Result<Vec<Event>, LeadError> {
    match (status, lead.lost_reason) {
        (LeadStatus::Customer, _) => Err(LeadError::AlreadyCustomer),
        // Marking a lost lead lost again for the same reason is a retry: nothing more happens.
        (LeadStatus::Lost, Some(lost)) if lost == reason => Ok(vec![]),
        (LeadStatus::Lost, Some(lost)) => Err(LeadError::AlreadyLost { reason: lost }),
        (from, _) => Ok(vec![Event::LeadLost(LeadLost { from, reason, comment })]),
    }
}

#[cfg(test)]
mod tests;

use chrono::NaiveDate;
use tally_events::{Agreements, Contract, Event, LeadAdded, LeadLost, LeadPlacement, LeadStatus, LostReason};
use uuid::Uuid;

use super::*;
use crate::domain::given::{given, Then};

fn placement(location: &str) -> LeadPlacement {
    LeadPlacement { location_id: Some(location.into()), ..Default::default() }
}

fn added(status: LeadStatus) -> Event {
    Event::LeadAdded(LeadAdded {
        customer_id: Uuid::from_u128(7),
        identity: None,
        status,
        placement: placement("L1"),
        personal: None,
        tags: vec![],
        marketing_channels: vec![],
        agreements: Agreements::default(),
        nps: None,
        timezone: None,
    })
}

fn moved(from: LeadStatus, to: LeadStatus) -> Event {
    Event::LeadStatusChanged(LeadStatusChanged { from, to, contract: None })
}

fn to(status: LeadStatus) -> LeadCommand {
    LeadCommand::Update(Box::new(LeadChanges {
        status: Some(StatusChange { to: status, contract: None }),
        ..LeadChanges::default()
    }))
}

fn lost(from: LeadStatus, reason: LostReason) -> Event {
    Event::LeadLost(LeadLost { from, reason, comment: None })
}

#[test]
fn a_lead_is_added_once() {
    let Event::LeadAdded(event) = added(LeadStatus::Lead) else { unreachable!() };
    let add = LeadCommand::Add(Box::new(event));
    given::<LeadAggregate>(&[]).when(add.clone()).then(&[added(LeadStatus::Lead)]);
    given::<LeadAggregate>(&[added(LeadStatus::Lead)]).when(add).then_err(LeadError::AlreadyExists);
}

#[test]
fn commands_on_a_lead_that_does_not_exist_are_refused() {
    given::<LeadAggregate>(&[]).when(to(LeadStatus::SaleLead)).then_err(LeadError::NotFound);
    given::<LeadAggregate>(&[])
        .when(LeadCommand::MarkLost { reason: LostReason::Need, comment: None })
        .then_err(LeadError::NotFound);
    given::<LeadAggregate>(&[]).when(LeadCommand::RecordNps { nps: 9, comment: None }).then_err(LeadError::NotFound);
}

#[test]
fn a_lead_moves_through_the_pipeline_and_a_same_status_records_nothing() {
    given::<LeadAggregate>(&[added(LeadStatus::Lead)])
        .when(to(LeadStatus::SaleLead))
        .then(&[moved(LeadStatus::Lead, LeadStatus::SaleLead)]);
    // Staff may move a lead back a stage.
    given::<LeadAggregate>(&[added(LeadStatus::Lead), moved(LeadStatus::Lead, LeadStatus::Opportunity)])
        .when(to(LeadStatus::Lead))
        .then(&[moved(LeadStatus::Opportunity, LeadStatus::Lead)]);
    given::<LeadAggregate>(&[added(LeadStatus::Lead)]).when(to(LeadStatus::Lead)).then(&[]);
}

#[test]
fn a_customer_stays_a_customer() {
    let won = [added(LeadStatus::Lead), moved(LeadStatus::Lead, LeadStatus::Customer)];
    given::<LeadAggregate>(&won).when(to(LeadStatus::Opportunity)).then_err(LeadError::AlreadyCustomer);
    given::<LeadAggregate>(&won)
        .when(LeadCommand::MarkLost { reason: LostReason::Need, comment: None })
        .then_err(LeadError::AlreadyCustomer);
    // Saying again that it is a customer changes nothing and is not refused.
    given::<LeadAggregate>(&won).when(to(LeadStatus::Customer)).then(&[]);
}

#[test]
fn a_contract_goes_with_the_move_to_customer_only() {
    let contract = Contract {
        number: Some("C-1".into()),
        value: Some("1200.50".parse().unwrap()),
        date: NaiveDate::from_ymd_opt(2026, 5, 1),
        description: None,
    };
    let with_contract = |status| {
        LeadCommand::Update(Box::new(LeadChanges {
            status: Some(StatusChange { to: status, contract: Some(contract.clone()) }),
            ..LeadChanges::default()
        }))
    };
    given::<LeadAggregate>(&[added(LeadStatus::Opportunity)]).when(with_contract(LeadStatus::Customer)).then(&[
        Event::LeadStatusChanged(LeadStatusChanged {
            from: LeadStatus::Opportunity,
            to: LeadStatus::Customer,
            contract: Some(contract.clone()),
        }),
    ]);
    given::<LeadAggregate>(&[added(LeadStatus::Opportunity)])
        .when(with_contract(LeadStatus::SaleLead))
        .then_err(LeadError::ContractWithoutCustomer);
}

#[test]
fn a_lead_is_lost_with_a_reason_once_and_may_be_taken_up_again() {
    let lose = |reason| LeadCommand::MarkLost { reason, comment: None };
    given::<LeadAggregate>(&[added(LeadStatus::SaleLead)])
        .when(lose(LostReason::PriceTooHigh))
        .then(&[lost(LeadStatus::SaleLead, LostReason::PriceTooHigh)]);
    let gone = [added(LeadStatus::SaleLead), lost(LeadStatus::SaleLead, LostReason::PriceTooHigh)];
    given::<LeadAggregate>(&gone).when(lose(LostReason::PriceTooHigh)).then(&[]);
    given::<LeadAggregate>(&gone)
        .when(lose(LostReason::Competition))
        .then_err(LeadError::AlreadyLost { reason: LostReason::PriceTooHigh });
    given::<LeadAggregate>(&gone).when(to(LeadStatus::Lead)).then(&[moved(LeadStatus::Lost, LeadStatus::Lead)]);
    // Lost by an update: no reason was given.
    given::<LeadAggregate>(&[added(LeadStatus::Lead)])
        .when(to(LeadStatus::Lost))
        .then(&[lost(LeadStatus::Lead, LostReason::Other)]);
}

#[test]
fn an_update_records_only_what_changes() {
    let update = |location: &str| {
        LeadCommand::Update(Box::new(LeadChanges { placement: placement(location), ..LeadChanges::default() }))
    };
    given::<LeadAggregate>(&[added(LeadStatus::Lead)]).when(update("L1")).then(&[]);
    given::<LeadAggregate>(&[added(LeadStatus::Lead)]).when(update("L2")).then(&[Event::LeadUpdated(LeadUpdated {
        placement: placement("L2"),
        personal: None,
        tags: None,
    })]);
}

#[test]
fn documents_attach_to_a_lead_and_to_its_actions_only() {
    let document = |action: Option<&str>| tally_events::LeadDocumentAttached {
        document_id: "d1".into(),
        document_type: tally_events::DocumentType::Contracts,
        file_name: Sealed { subject: Uuid::from_u128(7), sealed: "AAAA".into() },
        sha256: "00".into(),
        size_bytes: 10,
        action_id: action.map(str::to_owned),
    };
    let attach = |action| LeadCommand::AttachDocuments(vec![document(action)]);
    given::<LeadAggregate>(&[added(LeadStatus::Lead)])
        .when(attach(None))
        .then(&[Event::LeadDocumentAttached(document(None))]);
    given::<LeadAggregate>(&[added(LeadStatus::Lead)]).when(attach(Some("a9"))).then_err(LeadError::ActionNotFound);
    given::<LeadAggregate>(&[]).when(attach(None)).then_err(LeadError::NotFound);
}

#[test]
fn actions_are_known_by_id() {
    let date = NaiveDate::from_ymd_opt(2026, 6, 2).unwrap().and_hms_opt(10, 0, 0).unwrap();
    let add = LeadCommand::AddAction { action_id: "a1".into(), action_type_id: "t1".into(), detail: None, date };
    let action = Event::LeadActionAdded(LeadActionAdded {
        action_id: "a1".into(),
        action_type_id: "t1".into(),
        detail: None,
        date,
    });
    given::<LeadAggregate>(&[added(LeadStatus::Lead)]).when(add.clone()).then(std::slice::from_ref(&action));
    given::<LeadAggregate>(&[added(LeadStatus::Lead), action.clone()]).when(add).then_err(LeadError::ActionExists);
    let change = |id: &str| LeadCommand::UpdateAction {
        action_id: id.into(),
        action_type_id: Some("t2".into()),
        detail: None,
        date: None,
    };
    given::<LeadAggregate>(&[added(LeadStatus::Lead)]).when(change("a1")).then_err(LeadError::ActionNotFound);
    given::<LeadAggregate>(&[added(LeadStatus::Lead), action]).when(change("a1")).then(&[Event::LeadActionUpdated(
        LeadActionUpdated { action_id: "a1".into(), action_type_id: Some("t2".into()), detail: None, date: None },
    )]);
}

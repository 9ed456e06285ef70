use chrono::{Duration, TimeZone, Utc};
use tally_events::{CampaignLocation, LoyaltySettings, PrizeType};

use super::*;
use crate::domain::given::{context_as, given, Then};

fn declared() -> LoyaltyCampaignDeclared {
    let now = context_as(tally_events::Role::Administrator).now;
    let prize = |id: &str, name: &str| PrizeType { id: id.into(), name: name.into(), points_value: 10 };
    LoyaltyCampaignDeclared {
        id: "5bd2f3b6a651e40b280741ac".into(),
        name: "Summer".into(),
        campaign_type: "drive_loyalty".into(),
        starts_at: now - Duration::days(1),
        ends_at: now + Duration::days(10),
        codes_expire_at: now + Duration::days(20),
        location: Some(CampaignLocation { id: "l1".into(), name: "Mega Mall".into() }),
        settings: LoyaltySettings {
            kind: "standard".into(),
            allowed_chars: "ABC".into(),
            code_length: 8,
            prize_types: vec![prize("p1", "Prize 1"), prize("p2", "Prize 2")],
        },
        landing_page_url: None,
    }
}

fn issued(prize: &str, codes: &[&str]) -> Event {
    Event::LoyaltyCodesIssued(LoyaltyCodesIssued {
        prize_id: prize.into(),
        codes: codes.iter().map(|code| code.to_string()).collect(),
    })
}

fn allocated(code: &str, prize: &str, holder: &str) -> Event {
    Event::LoyaltyCodeAllocated(LoyaltyCodeAllocated {
        code: code.into(),
        prize_id: prize.into(),
        holder: holder.into(),
        customer_id: Uuid::from_u128(1),
        handed_out_by: "till".into(),
    })
}

fn allocate(holder: &str, prize: Option<&str>) -> CampaignCommand {
    CampaignCommand::Allocate {
        holder: holder.into(),
        customer_id: Uuid::from_u128(1),
        prize_id: prize.map(str::to_owned),
        by: "till".into(),
    }
}

fn change(code: &str, holder: &str, change: CodeChange) -> CampaignCommand {
    CampaignCommand::Change { code: code.into(), holder: holder.into(), change, by: "till".into() }
}

fn history() -> Vec<Event> {
    vec![Event::LoyaltyCampaignDeclared(declared()), issued("p1", &["A1", "A2"]), issued("p2", &["B1"])]
}

#[test]
fn codes_are_handed_out_in_issue_order_one_live_code_per_client() {
    given::<CampaignAggregate>(&history()).when(allocate("ann", None)).then(&[allocated("A1", "p1", "ann")]);
    given::<CampaignAggregate>(&history()).when(allocate("ann", Some("p2"))).then(&[allocated("B1", "p2", "ann")]);
    let ann = [history(), vec![allocated("A1", "p1", "ann")]].concat();
    given::<CampaignAggregate>(&ann)
        .when(allocate("ann", None))
        .then_err(LoyaltyError::ClientHoldsCode { code: "A1".into() });
    given::<CampaignAggregate>(&ann).when(allocate("bob", None)).then(&[allocated("A2", "p1", "bob")]);
    let bob = [ann.clone(), vec![allocated("B1", "p2", "bob")]].concat();
    given::<CampaignAggregate>(&bob).when(allocate("cyd", Some("p2"))).then_err(LoyaltyError::NoCodesLeft);
    given::<CampaignAggregate>(&ann)
        .when(allocate("cyd", Some("p9")))
        .then_err(LoyaltyError::UnknownPrize { prize_id: "p9".into() });
    // Once the live code is redeemed, the client may be handed another.
    let redeemed = [
        ann,
        vec![Event::LoyaltyCodeRedeemed(LoyaltyCodeRedeemed {
            code: "A1".into(),
            prize_id: "p1".into(),
            by: "t".into(),
        })],
    ];
    given::<CampaignAggregate>(&redeemed.concat()).when(allocate("ann", None)).then(&[allocated("A2", "p1", "ann")]);
}

#[test]
fn a_code_is_redeemed_or_blocked_once_by_its_holder_before_it_expires() {
    let ann = [history(), vec![allocated("A1", "p1", "ann")]].concat();
    let redeemed =
        Event::LoyaltyCodeRedeemed(LoyaltyCodeRedeemed { code: "A1".into(), prize_id: "p1".into(), by: "till".into() });
    given::<CampaignAggregate>(&ann)
        .when(change("A1", "ann", CodeChange::Redeem))
        .then(std::slice::from_ref(&redeemed));
    given::<CampaignAggregate>(&ann).when(change("A1", "ann", CodeChange::Block)).then(&[Event::LoyaltyCodeBlocked(
        LoyaltyCodeBlocked { code: "A1".into(), prize_id: "p1".into(), by: "till".into() },
    )]);
    given::<CampaignAggregate>(&ann).when(change("A1", "bob", CodeChange::Redeem)).then_err(LoyaltyError::CodeNotHeld);
    given::<CampaignAggregate>(&ann).when(change("A2", "ann", CodeChange::Redeem)).then_err(LoyaltyError::CodeNotHeld);
    given::<CampaignAggregate>(&ann).when(change("Z9", "ann", CodeChange::Redeem)).then_err(LoyaltyError::UnknownCode);
    let after = [ann.clone(), vec![redeemed]].concat();
    given::<CampaignAggregate>(&after)
        .when(change("A1", "ann", CodeChange::Redeem))
        .then_err(LoyaltyError::AlreadyRedeemed);
    let blocked = [
        ann.clone(),
        vec![Event::LoyaltyCodeBlocked(LoyaltyCodeBlocked {
            code: "A1".into(),
            prize_id: "p1".into(),
            by: "t".into(),
        })],
    ];
    given::<CampaignAggregate>(&blocked.concat())
        .when(change("A1", "ann", CodeChange::Redeem))
        .then_err(LoyaltyError::CodeBlocked);
    let late = Utc.with_ymd_and_hms(2026, 6, 30, 0, 0, 0).unwrap();
    given::<CampaignAggregate>(&ann)
        .at(late)
        .when(change("A1", "ann", CodeChange::Redeem))
        .then_err(LoyaltyError::CodesExpired);
}

#[test]
fn codes_are_handed_out_only_while_the_campaign_runs() {
    let after_end = Utc.with_ymd_and_hms(2026, 6, 12, 0, 0, 0).unwrap();
    given::<CampaignAggregate>(&history())
        .at(after_end)
        .when(allocate("ann", None))
        .then_err(LoyaltyError::CampaignNotRunning);
    let before_start = Utc.with_ymd_and_hms(2026, 5, 1, 0, 0, 0).unwrap();
    given::<CampaignAggregate>(&history())
        .at(before_start)
        .when(allocate("ann", None))
        .then_err(LoyaltyError::CampaignNotRunning);
    given::<CampaignAggregate>(&[]).when(allocate("ann", None)).then_err(LoyaltyError::CampaignNotFound);
}

#[test]
fn an_issue_is_all_or_none_and_split_into_events() {
    let codes: Vec<String> = (0..12_000).map(|n| format!("C{n}")).collect();
    let events = given::<CampaignAggregate>(&history())
        .when(CampaignCommand::Issue { prize_id: "p1".into(), codes: codes.clone() })
        .unwrap();
    assert_eq!(events.len(), 3);
    let mut twice = codes.clone();
    twice.push("C7".into());
    given::<CampaignAggregate>(&history())
        .when(CampaignCommand::Issue { prize_id: "p1".into(), codes: twice })
        .then_err(LoyaltyError::CodeAlreadyIssued { code: "C7".into() });
    given::<CampaignAggregate>(&history())
        .when(CampaignCommand::Issue { prize_id: "p1".into(), codes: vec!["X".into(), "B1".into()] })
        .then_err(LoyaltyError::CodeAlreadyIssued { code: "B1".into() });
    given::<CampaignAggregate>(&history())
        .when(CampaignCommand::Issue { prize_id: "p3".into(), codes })
        .then_err(LoyaltyError::UnknownPrize { prize_id: "p3".into() });
}

#[test]
fn a_declaration_keeps_its_id_records_only_changes_and_keeps_prize_types_with_codes() {
    let mut again = declared();
    again.id = "000000000000000000000000".into();
    given::<CampaignAggregate>(&history()).when(CampaignCommand::Declare(again.clone())).then(&[]);
    again.name = "Autumn".into();
    let mut expected = again.clone();
    expected.id = declared().id;
    given::<CampaignAggregate>(&history())
        .when(CampaignCommand::Declare(again.clone()))
        .then(&[Event::LoyaltyCampaignDeclared(expected)]);
    again.settings.prize_types.remove(1);
    given::<CampaignAggregate>(&history())
        .when(CampaignCommand::Declare(again))
        .then_err(LoyaltyError::PrizeTypeInUse { prize_id: "p2".into() });
}

#[test]
fn generated_codes_are_new_distinct_of_the_campaigns_characters_and_the_same_for_the_same_seed() {
    let generate = |count| CampaignCommand::Generate { prize_id: "p1".into(), count, seed: 7 };
    let events = given::<CampaignAggregate>(&history()).when(generate(20)).unwrap();
    let Event::LoyaltyCodesIssued(issued) = &events[0] else { panic!("codes issued") };
    assert_eq!(issued.codes.len(), 20);
    assert!(issued.codes.iter().all(|code| code.len() == 8 && code.chars().all(|c| "ABC".contains(c))));
    assert_eq!(issued.codes.iter().collect::<HashSet<_>>().len(), 20);
    assert_eq!(given::<CampaignAggregate>(&history()).when(generate(20)).unwrap(), events);
    // 3^8 = 6,561 codes are possible: at most half of them are issued.
    given::<CampaignAggregate>(&history())
        .when(generate(3_279))
        .then_err(LoyaltyError::NotEnoughCodes { possible: 6_561 });
}

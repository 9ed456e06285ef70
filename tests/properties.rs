//! Property tests over random command sequences, run through the real command writer and database:
//! (a) the ledger's invariants hold after every step — no lot or balance below zero, money conserved, at most one
//! live card per contact, a card beyond New is Issued before it is bound and bound before it is Active or Blocked,
//! no refund taking back more than its till sale earned or giving back more than it spent, every open reservation
//! in the balance view;
//! (b) dropping the projections and replaying the ledger gives exactly the incrementally maintained ones.

mod common;

use std::collections::BTreeMap;

use chrono::Utc;
use common::Core;
use proptest::prelude::*;
use rust_decimal::Decimal;
use sqlx::Row;
use tally::{
    commands::{Command, Outcome, Stream, Target},
    contacts,
    domain::{
        account::{Account, AccountAggregate, AccountCommand, Original, ReservationStatus},
        card::{CardAggregate, CardCommand},
        contact::{ContactAggregate, ContactError},
        roles::{BLOCK_REASONS, UNBLOCK_REASONS},
        Aggregate, Refusal,
    },
};
use tally_events::{
    Actor, BonusType, CardCategory, CardStatus, CardType, ContactDetails, Event, Role, TillSale, TillTransaction,
};
use tally_projections::{AccountView, CardView};
use uuid::Uuid;

const TENANT: &str = "prop";
const CARDS: usize = 4;
const CONTACTS: usize = 3;
/// Till transactions per contact (and refunds of them).
const SALES: usize = 4;

#[derive(Debug, Clone)]
enum Step {
    Issue(usize),
    Bind(usize, usize),
    Activate(usize, bool),
    Block(usize, usize, Role),
    Unblock(usize, usize, Role, bool),
    Accrue(usize, i64, BonusType, Option<u64>),
    Redeem(usize, i64, BonusType),
    Freeze(usize),
    Unfreeze(usize),
    Expire(usize),
    /// Reverse the n-th accrual or redemption seen so far.
    Reverse(usize, usize),
    /// A till sale `S-n` earns (`true`) or spends points.
    Till(usize, usize, i64, bool),
    /// A till sale `S-n` reserves points for that many milliseconds.
    Reserve(usize, usize, i64, u64),
    /// The till completes (`true`) or cancels the reservation of sale `S-n`, with the amount it reserved.
    Settle(usize, usize, bool),
    /// Refund `R-m` of sale `S-n` gives back (`true`) spent points or takes back earned ones.
    Refund(usize, usize, usize, i64, bool),
}

/// The till transaction `S-n`, or the refund `R-m` of `S-n`.
fn sale(name: String, refund_of: Option<usize>) -> TillSale {
    TillSale {
        device_id: "pos1".into(),
        location_id: None,
        transaction_id: name,
        refund_of: refund_of.map(|n| TillTransaction { device_id: "pos1".into(), transaction_id: format!("S-{n}") }),
    }
}

fn role() -> impl Strategy<Value = Role> {
    prop::sample::select(Role::ALL.into_iter().filter(|r| *r != Role::System).collect::<Vec<_>>())
}

fn bonus_type() -> impl Strategy<Value = BonusType> {
    prop::sample::select(vec![BonusType::Cash, BonusType::Status])
}

fn step() -> impl Strategy<Value = Step> {
    let card = 0..CARDS;
    let contact = 0..CONTACTS;
    prop_oneof![
        1 => card.clone().prop_map(Step::Issue),
        1 => (card.clone(), contact.clone()).prop_map(|(c, p)| Step::Bind(c, p)),
        1 => (card.clone(), any::<bool>()).prop_map(|(c, s)| Step::Activate(c, s)),
        1 => (card.clone(), 0..BLOCK_REASONS.len(), role()).prop_map(|(c, r, by)| Step::Block(c, r, by)),
        1 => (card, 0..UNBLOCK_REASONS.len(), role(), any::<bool>()).prop_map(|(c, r, by, s)| Step::Unblock(c, r, by, s)),
        3 => (contact.clone(), 1..5_000i64, bonus_type(), prop::option::of(1..400u64))
            .prop_map(|(p, cents, t, ms)| Step::Accrue(p, cents, t, ms)),
        3 => (contact.clone(), 1..5_000i64, bonus_type()).prop_map(|(p, cents, t)| Step::Redeem(p, cents, t)),
        1 => contact.clone().prop_map(Step::Freeze),
        1 => contact.clone().prop_map(Step::Unfreeze),
        1 => contact.clone().prop_map(Step::Expire),
        1 => (contact.clone(), 0..8usize).prop_map(|(p, n)| Step::Reverse(p, n)),
        3 => (contact.clone(), 0..SALES, 1..3_000i64, any::<bool>()).prop_map(|(p, n, c, e)| Step::Till(p, n, c, e)),
        1 => (contact.clone(), 0..SALES, 1..3_000i64, 1..400u64).prop_map(|(p, n, c, ms)| Step::Reserve(p, n, c, ms)),
        1 => (contact.clone(), 0..SALES, any::<bool>()).prop_map(|(p, n, c)| Step::Settle(p, n, c)),
        3 => (contact, 0..SALES, 0..SALES, 1..2_000i64, any::<bool>())
            .prop_map(|(p, m, n, c, e)| Step::Refund(p, m, n, c, e)),
    ]
}

struct World {
    app: Core,
    contacts: Vec<Uuid>,
    /// (contact index, event id, original) of every accrual and redemption so far.
    movements: Vec<(usize, Uuid, Original)>,
}

fn card_number(index: usize) -> String {
    format!("50000000{index:02}")
}

fn actor(role: Role) -> Actor {
    Actor { principal: format!("prop-{}", role.as_str()), role }
}

impl World {
    async fn new() -> World {
        let (app, _) = common::core_app().await;
        let contacts: Vec<Uuid> = (0..CONTACTS).map(|_| Uuid::now_v7()).collect();
        let mut world = World { app, contacts, movements: Vec::new() };
        let cards = (0..CARDS).map(|i| {
            let command = CardCommand::Register {
                number: card_number(i),
                category: CardCategory::Plastic,
                card_type: CardType::Bonus,
            };
            CardAggregate::target(card_number(i), command)
        });
        world.run(Role::System, Target::all(cards)).await;
        for (i, contact_id) in world.contacts.clone().into_iter().enumerate() {
            let details = ContactDetails { name: Some(format!("P{i}")), ..Default::default() };
            let command = contacts::register(&world.app, TENANT, contact_id, format!("P{i}"), &details).await.unwrap();
            world.run(Role::System, ContactAggregate::target(contact_id, command)).await;
        }
        world
    }

    async fn run(&mut self, role: Role, target: Target) -> Option<Vec<tally_events::Envelope>> {
        match self.app.executor.execute(Command::new(TENANT, actor(role), target)).await.expect("the store works") {
            Outcome::Executed { result, .. } => result.ok(),
            other => panic!("unexpected outcome {other:?}"),
        }
    }

    /// The contact's current live card, as the handlers look it up.
    async fn live_card(&self, contact: usize) -> Option<String> {
        tally::queries::live_card(&self.app.db, TENANT, self.contacts[contact]).await.unwrap().map(|c| c.number)
    }

    async fn apply(&mut self, step: Step) {
        let card = |i: usize, command| CardAggregate::target(card_number(i), command);
        let account = |contacts: &[Uuid], p: usize, command| AccountAggregate::target(contacts[p], command);
        match step {
            Step::Issue(c) => {
                self.run(Role::CcOperator, card(c, CardCommand::Issue)).await;
            }
            Step::Bind(c, p) => {
                let contact_live_card = self.live_card(p).await;
                let command = CardCommand::BindTo { contact_id: self.contacts[p], contact_live_card };
                self.run(Role::CcOperator, card(c, command)).await;
            }
            Step::Activate(c, sufficient) => {
                self.run(Role::CcOperator, card(c, CardCommand::Activate { contact_data_sufficient: sufficient }))
                    .await;
            }
            Step::Block(c, r, by) => {
                self.run(by, card(c, CardCommand::Block { reason: BLOCK_REASONS[r] })).await;
            }
            Step::Unblock(c, r, by, sufficient) => {
                let command = CardCommand::Unblock { reason: UNBLOCK_REASONS[r], contact_data_sufficient: sufficient };
                self.run(by, card(c, command)).await;
            }
            Step::Accrue(p, cents, bonus_type, expires_in_ms) => {
                let lot_id = Uuid::now_v7();
                let command = AccountCommand::Accrue {
                    lot_id,
                    amount: Decimal::new(cents, 2),
                    bonus_type,
                    active_from: None,
                    expires_at: expires_in_ms.map(|ms| Utc::now() + chrono::Duration::milliseconds(ms as i64)),
                    reference: None,
                    sale: None,
                };
                if let Some(events) = self.run(Role::CcOperator, account(&self.contacts, p, command)).await {
                    self.movements.push((p, events[0].event_id, Original::Accrual { lot_id }));
                }
            }
            Step::Redeem(p, cents, bonus_type) => {
                let redemption_id = Uuid::now_v7();
                let command = AccountCommand::Redeem {
                    redemption_id,
                    amount: Decimal::new(cents, 2),
                    bonus_type,
                    reference: None,
                    sale: None,
                };
                if let Some(events) = self.run(Role::CcOperator, account(&self.contacts, p, command)).await {
                    self.movements.push((p, events[0].event_id, Original::Redemption { redemption_id }));
                }
            }
            Step::Freeze(p) => {
                self.run(Role::CcOperator, account(&self.contacts, p, AccountCommand::Freeze { reason: None })).await;
            }
            Step::Unfreeze(p) => {
                self.run(Role::CcOperator, account(&self.contacts, p, AccountCommand::Unfreeze { reason: None })).await;
            }
            Step::Expire(p) => {
                self.run(Role::System, account(&self.contacts, p, AccountCommand::ExpireDue)).await;
            }
            Step::Reverse(p, n) => {
                let candidates: Vec<_> = self.movements.iter().filter(|(owner, _, _)| *owner == p).cloned().collect();
                if let Some((_, original_event_id, original)) = candidates.get(n % candidates.len().max(1)).cloned() {
                    let command = AccountCommand::Reverse { original_event_id, original, reason: None };
                    self.run(Role::CcOperator, account(&self.contacts, p, command)).await;
                }
            }
            Step::Till(p, n, cents, earns) | Step::Refund(p, _, n, cents, earns) => {
                let (amount, bonus_type, reference) = (Decimal::new(cents, 2), BonusType::Cash, None);
                let sale = Some(match step {
                    Step::Refund(_, m, ..) => sale(format!("R-{m}"), Some(n)),
                    _ => sale(format!("S-{n}"), None),
                });
                let command = if earns {
                    let lot_id = Uuid::now_v7();
                    let (active_from, expires_at) = (None, None);
                    AccountCommand::Accrue { lot_id, amount, bonus_type, active_from, expires_at, reference, sale }
                } else {
                    AccountCommand::Redeem { redemption_id: Uuid::now_v7(), amount, bonus_type, reference, sale }
                };
                self.run(Role::CcOperator, account(&self.contacts, p, command)).await;
            }
            Step::Reserve(p, n, cents, ms) => {
                let command = AccountCommand::Reserve {
                    reservation_id: Uuid::now_v7(),
                    amount: Decimal::new(cents, 2),
                    bonus_type: BonusType::Cash,
                    expires_at: Utc::now() + chrono::Duration::milliseconds(ms as i64),
                    sale: sale(format!("S-{n}"), None),
                };
                self.run(Role::CcOperator, account(&self.contacts, p, command)).await;
            }
            Step::Settle(p, n, complete) => {
                let transaction = sale(format!("S-{n}"), None).transaction();
                let state = self.account_state(self.contacts[p]).await;
                let reserved = state.till.get(&transaction).and_then(|s| s.reservation);
                let amount = reserved.map_or(Decimal::ONE, |id| state.reservations[&id].amount);
                let command = AccountCommand::Settle { transaction, amount, complete };
                self.run(Role::CcOperator, account(&self.contacts, p, command)).await;
            }
        }
    }

    async fn rows(&self, table: &str, key: &str) -> BTreeMap<String, String> {
        sqlx::query(&format!("SELECT {key}, doc FROM {table} ORDER BY {key}"))
            .fetch_all(&self.app.db.read)
            .await
            .unwrap()
            .iter()
            .map(|row| (row.get::<String, _>(0), row.get::<String, _>(1)))
            .collect()
    }

    async fn snapshot(&self) -> Vec<BTreeMap<String, String>> {
        vec![
            self.rows("card_view", "number").await,
            self.rows("contact_view", "contact_id").await,
            self.rows("account_view", "contact_id").await,
        ]
    }

    /// The invariants, checked against the projections and the ledger.
    async fn check_invariants(&self) {
        let cards: Vec<CardView> =
            self.rows("card_view", "number").await.values().map(|doc| serde_json::from_str(doc).unwrap()).collect();
        let mut live_per_contact = BTreeMap::new();
        for card in &cards {
            if let Some(contact) = card.live_contact_id() {
                *live_per_contact.entry(contact).or_insert(0) += 1;
            }
            match card.status {
                CardStatus::New => assert!(card.contact_id.is_none(), "a New card is bound: {card:?}"),
                CardStatus::Active | CardStatus::Blocked => {
                    assert!(card.contact_id.is_some(), "an Active or Blocked card is unbound: {card:?}")
                }
                CardStatus::Issued => {}
            }
            assert_eq!(card.status == CardStatus::Blocked, card.block_reason.is_some(), "{card:?}");
        }
        assert!(live_per_contact.values().all(|n| *n == 1), "a contact holds two live cards: {live_per_contact:?}");

        let accounts: Vec<AccountView> = self
            .rows("account_view", "contact_id")
            .await
            .values()
            .map(|doc| serde_json::from_str(doc).unwrap())
            .collect();
        let now = Utc::now();
        for account in &accounts {
            for lot in account.lots.values() {
                assert!(lot.remaining >= Decimal::ZERO, "a lot below zero: {account:?}");
            }
            for bucket in account.buckets(now) {
                assert!(bucket.amount >= Decimal::ZERO, "a bucket below zero: {bucket:?}");
            }
            // Conservation: what is left equals what came in minus what went out, by the ledger.
            let left: Decimal = account.lots.values().map(|lot| lot.remaining).sum();
            let history = self.history(account.contact_id).await;
            assert_eq!(left, history.iter().map(net).sum(), "money not conserved for {}", account.contact_id);
            let state = history.iter().fold(Account::default(), AccountAggregate::evolve);
            for (transaction, sale) in state.till.iter() {
                assert!(sale.taken_back <= sale.added.unwrap_or_default(), "{transaction:?} refunded too much");
                assert!(sale.given_back <= sale.taken.unwrap_or_default(), "{transaction:?} refunded too much");
            }
            let open = state.reservations.iter().filter(|(_, r)| r.status == ReservationStatus::Open);
            assert!(open.map(|(id, _)| id).eq(account.reservations.keys()), "the view's reservations: {account:?}");
        }
    }

    /// The account's state as the writer decides on it.
    async fn account_state(&self, contact_id: Uuid) -> Account {
        self.history(contact_id).await.iter().fold(Account::default(), AccountAggregate::evolve)
    }

    async fn history(&self, contact_id: Uuid) -> Vec<Event> {
        let stream_id = tally_events::stream::account(TENANT, contact_id);
        let rows = sqlx::query("SELECT event_type, schema_version, payload FROM events WHERE stream_id = $1")
            .bind(stream_id)
            .fetch_all(&self.app.db.read)
            .await
            .unwrap();
        rows.iter()
            .map(|row| tally_events::decode_str(row.get(0), row.get::<i32, _>(1) as u32, row.get(2)).unwrap())
            .collect()
    }
}

/// What an event added to (or took from) the account's lots.
fn net(event: &Event) -> Decimal {
    match event {
        Event::BonusAccrued(e) => e.amount,
        Event::BonusRedeemed(e) => -e.amount,
        Event::BonusExpired(e) => -e.amount,
        Event::AccrualReversed(e) => -e.amount,
        Event::RedemptionReversed(e) => e.amount,
        Event::BonusReserved(e) => -e.amount,
        Event::ReservationReleased(e) => e.amount,
        _ => Decimal::ZERO,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn invariants_hold_at_every_step_and_rebuild_equals_incremental(steps in prop::collection::vec(step(), 1..60)) {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        runtime.block_on(async {
            let mut world = World::new().await;
            for step in steps {
                world.apply(step).await;
                world.check_invariants().await;
            }
            let incremental = world.snapshot().await;
            world.app.db.rebuild_views().await.expect("rebuild");
            assert_eq!(world.snapshot().await, incremental, "the rebuild differs from the incremental projections");
        });
    }
}

/// Commands submitted at once are committed in groups; a group with refusals, constraint violations (two contacts
/// with one mobile number, two cards for one contact) and a repeated idempotency key falls back to one savepoint per
/// command. The outcome must be what sequential execution allows, and the rebuild must equal the live views.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_groups_keep_the_invariants_and_rebuild_equal() {
    let world = World::new().await;
    let mut handles = Vec::new();
    let submit = |handles: &mut Vec<tokio::task::JoinHandle<_>>, command: Command| {
        let executor = world.app.executor.clone();
        handles.push(tokio::spawn(async move { executor.execute(command).await.expect("the store works") }));
    };
    for i in 0..CARDS {
        submit(
            &mut handles,
            Command::new(TENANT, actor(Role::CcOperator), CardAggregate::target(card_number(i), CardCommand::Issue)),
        );
    }
    for _ in 0..20 {
        for (p, contact_id) in world.contacts.iter().enumerate() {
            let accrue = AccountCommand::Accrue {
                lot_id: Uuid::now_v7(),
                amount: Decimal::new(300 + p as i64, 2),
                bonus_type: BonusType::Cash,
                active_from: None,
                expires_at: None,
                reference: None,
                sale: None,
            };
            let redeem = AccountCommand::Redeem {
                redemption_id: Uuid::now_v7(),
                amount: Decimal::new(500, 2),
                bonus_type: BonusType::Cash,
                reference: None,
                sale: None,
            };
            for command in [accrue, redeem] {
                submit(
                    &mut handles,
                    Command::new(TENANT, actor(Role::CcOperator), AccountAggregate::target(*contact_id, command)),
                );
            }
        }
    }
    // Two new contacts with one mobile number: exactly one may be registered.
    for n in 0..2 {
        let contact_id = Uuid::now_v7();
        let details = ContactDetails { mobile_number: Some("+79995550000".into()), ..Default::default() };
        let command = contacts::register(&world.app, TENANT, contact_id, format!("DUP{n}"), &details).await.unwrap();
        submit(
            &mut handles,
            Command::new(TENANT, actor(Role::CcOperator), ContactAggregate::target(contact_id, command)),
        );
    }
    // One key, one request, sent twice at once: applied once.
    let key = tally::store::idempotency::IdempotencyKey::new("prop", "same-key", "POST", "/x", b"{}");
    for _ in 0..2 {
        let mut command = Command::new(
            TENANT,
            actor(Role::CcOperator),
            AccountAggregate::target(world.contacts[0], AccountCommand::Freeze { reason: None }),
        );
        command.idempotency = Some(key.clone());
        command.render = Some(Box::new(|result| tally::store::idempotency::StoredResponse {
            status: if result.is_ok() { 200 } else { 409 },
            content_type: "text/plain".into(),
            body: format!("{:?}", result.as_ref().map(|events| events.len())),
        }));
        submit(&mut handles, command);
    }
    let mut outcomes = Vec::new();
    for handle in handles {
        outcomes.push(handle.await.unwrap());
    }
    let registered = outcomes
        .iter()
        .filter(|o| matches!(o, Outcome::Executed { result: Ok(events), .. } if events.iter().any(|e| e.event_type == "ContactRegistered")))
        .count();
    let taken = outcomes
        .iter()
        .filter(|o| {
            matches!(o, Outcome::Executed { result: Err(Refusal::Contact(ContactError::MobileNumberTaken)), .. })
        })
        .count();
    assert_eq!((registered, taken), (1, 1), "exactly one of two contacts with one mobile number is registered");
    let frozen: Vec<&Outcome> = outcomes
        .iter()
        .filter(|o| match o {
            Outcome::Replayed(_) => true,
            Outcome::Executed { result: Ok(events), .. } => events.iter().any(|e| e.event_type == "BonusesFrozen"),
            _ => false,
        })
        .collect();
    assert_eq!(frozen.len(), 2, "the keyed freeze is applied once and replayed once: {frozen:?}");
    assert_eq!(frozen.iter().filter(|o| matches!(o, Outcome::Replayed(_))).count(), 1);
    world.check_invariants().await;
    let incremental = world.snapshot().await;
    world.app.db.rebuild_views().await.expect("rebuild");
    assert_eq!(world.snapshot().await, incremental);
}

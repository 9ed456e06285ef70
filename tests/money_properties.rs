//! Property test over random money commands, through the real writer and database: after every step no account
//! breaks its rule (a deposit or credit note below zero, a credit account below minus its limit, an allowance
//! overspent in its period), no refund gives back more than its sale paid out, and dropping the projections and
//! replaying the ledger gives exactly the incrementally maintained money account view.

mod common;

use std::collections::BTreeMap;

use chrono::Utc;
use common::Core;
use proptest::prelude::*;
use rust_decimal::Decimal;
use sqlx::Row;
use tally::{
    commands::{Command, Outcome, Stream},
    domain::{
        money::{MoneyAccount, MoneyAggregate, MoneyCommand},
        Aggregate,
    },
};
use tally_events::{Actor, AllowancePeriod, MoneyAccountOpened, MoneyAccountType, Role, TillSale, TillTransaction};
use tally_projections::MoneyAccountView;
use uuid::Uuid;

const TENANT: &str = "prop";

#[derive(Debug, Clone)]
enum Step {
    /// Pay into (`true`) or out of account n, that many cents, as till sale `S-m` when given.
    Pay(usize, bool, i64, Option<usize>),
    /// Refund `R-r` of sale `S-m` on account n: give back (`true`) what it paid out, or take back what it paid in.
    Refund(usize, usize, usize, i64, bool),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (0..4usize, any::<bool>(), 1..4_000i64, prop::option::of(0..4usize))
            .prop_map(|(n, into, cents, sale)| Step::Pay(n, into, cents, sale)),
        2 => (0..4usize, 0..4usize, 0..4usize, 1..3_000i64, any::<bool>())
            .prop_map(|(n, r, m, cents, back)| Step::Refund(n, r, m, cents, back)),
    ]
}

fn opened(account_type: MoneyAccountType) -> MoneyAccountOpened {
    let employee = account_type == MoneyAccountType::Employee;
    MoneyAccountOpened {
        account_type,
        account_id: format!("P-{}", account_type.as_str()),
        contact_id: None,
        currency: "GBP".into(),
        credit_limit: (account_type == MoneyAccountType::Credit).then(|| Decimal::from(25)),
        allowance: employee.then(|| Decimal::from(30)),
        period: employee.then_some(AllowancePeriod::Weekly),
    }
}

fn sale(name: String, refund_of: Option<usize>) -> TillSale {
    TillSale {
        device_id: "pos1".into(),
        location_id: None,
        transaction_id: name,
        refund_of: refund_of.map(|m| TillTransaction { device_id: "pos1".into(), transaction_id: format!("S-{m}") }),
    }
}

async fn run(app: &Core, account_type: MoneyAccountType, command: MoneyCommand) {
    let actor = Actor { principal: "prop".into(), role: Role::CcOperator };
    let target = MoneyAggregate::target((account_type, format!("P-{}", account_type.as_str())), command);
    match app.executor.execute(Command::new(TENANT, actor, target)).await.expect("the store works") {
        Outcome::Executed { .. } => {}
        other => panic!("unexpected outcome {other:?}"),
    }
}

async fn views(app: &Core) -> BTreeMap<String, String> {
    let rows = sqlx::query("SELECT account_id, doc FROM money_account_view ORDER BY account_id")
        .fetch_all(&app.db.read)
        .await
        .unwrap();
    rows.iter().map(|row| (row.get::<String, _>(0), row.get::<String, _>(1))).collect()
}

/// The account's state as the writer decides on it, from its stream.
async fn state(app: &Core, account_type: MoneyAccountType) -> MoneyAccount {
    let stream_id = tally_events::stream::money(TENANT, account_type.as_str(), &format!("P-{}", account_type.as_str()));
    let rows = sqlx::query(
        "SELECT event_type, schema_version, payload FROM events WHERE stream_id = $1 ORDER BY stream_version",
    )
    .bind(stream_id)
    .fetch_all(&app.db.read)
    .await
    .unwrap();
    rows.iter()
        .map(|row| tally_events::decode_str(row.get(0), row.get::<i32, _>(1) as u32, row.get(2)).unwrap())
        .fold(MoneyAccount::default(), |state, event| MoneyAggregate::evolve(state, &event))
}

async fn check(app: &Core) {
    for account_type in MoneyAccountType::ALL {
        for (transaction, sale) in state(app, account_type).await.till.iter() {
            assert!(sale.taken_back <= sale.added.unwrap_or_default(), "{transaction:?} refunded too much");
            assert!(sale.given_back <= sale.taken.unwrap_or_default(), "{transaction:?} refunded too much");
        }
    }
    let now = Utc::now();
    for doc in views(app).await.values() {
        let account: MoneyAccountView = serde_json::from_str(doc).unwrap();
        match account.account_type {
            MoneyAccountType::Deposit | MoneyAccountType::CreditNote => {
                assert!(account.balance >= Decimal::ZERO, "{account:?}")
            }
            MoneyAccountType::Credit => assert!(account.balance >= -Decimal::from(25), "{account:?}"),
            MoneyAccountType::Employee => {
                let spent = account.spent_in(now);
                assert!(spent >= Decimal::ZERO && spent <= Decimal::from(30), "{account:?}")
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn money_rules_hold_at_every_step_and_rebuild_equals_incremental(steps in prop::collection::vec(step(), 1..50)) {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        runtime.block_on(async {
            let (app, _) = common::core_app().await;
            for account_type in [MoneyAccountType::Deposit, MoneyAccountType::Credit, MoneyAccountType::Employee] {
                run(&app, account_type, MoneyCommand::Open(opened(account_type))).await;
            }
            let note = MoneyCommand::IssueCreditNote {
                opened: opened(MoneyAccountType::CreditNote),
                movement_id: Uuid::now_v7(),
                amount: Decimal::from(20),
                reference: None,
                sale: None,
            };
            run(&app, MoneyAccountType::CreditNote, note).await;
            for step in steps {
                let (n, into, cents, sale) = match step {
                    Step::Pay(n, into, cents, m) => (n, into, cents, m.map(|m| sale(format!("S-{m}"), None))),
                    Step::Refund(n, r, m, cents, back) => (n, back, cents, Some(sale(format!("R-{r}"), Some(m)))),
                };
                let (movement_id, amount, reference) = (Uuid::now_v7(), Decimal::new(cents, 2), None);
                let command = if into {
                    MoneyCommand::PayIn { movement_id, amount, reference, sale }
                } else {
                    MoneyCommand::PayOut { movement_id, amount, reference, sale }
                };
                run(&app, MoneyAccountType::ALL[n], command).await;
                check(&app).await;
            }
            let incremental = views(&app).await;
            app.db.rebuild_views().await.expect("rebuild");
            assert_eq!(views(&app).await, incremental, "the rebuild differs from the incremental view");
        });
    }
}

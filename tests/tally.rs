//! The daily tally: for random workloads across business-day boundaries and time zones (including the end of
//! daylight saving time in New York), the tally replayed from the ledger equals the projected one to the cent, and
//! both equal an independent model kept by the test from the commands' outcomes.

mod common;

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use common::Core;
use proptest::prelude::*;
use rust_decimal::Decimal;
use tally::{
    commands::{Command, Outcome, Stream, Target},
    domain::promotion::{BusinessAggregate, PromotionAggregate, PromotionCommand, Scan},
    scans::day_in_zone,
    store::merchants::{self, Merchant},
};
use tally_events::{Actor, BusinessRegistered, Event, PromotionPublished, Role, ScanChannel};
use tally_projections::tally::{self as daily, TallyRow};

/// (tenant, zone, business, promotion, cap, price per use, price per clip)
const SHOPS: [(&str, &str, &str, &str, u32, i64, i64); 2] =
    [("moscow", "Europe/Moscow", "B-MSK", "P1", 4, 125, 10), ("newyork", "America/New_York", "B-NYC", "P2", 6, 250, 5)];

#[derive(Debug, Clone)]
enum Step {
    Use { shop: usize, minutes: i64, billed: bool, customer: Option<u8> },
    Clip { shop: usize, minutes: i64, billed: bool, item: u8 },
    Void { shop: usize, minutes: i64, nth: usize },
}

fn step() -> impl Strategy<Value = Step> {
    // Up to three days after 2026-10-31 20:00 UTC: across midnights in both zones and New York's DST change.
    let minutes = 0..(3 * 24 * 60i64);
    prop_oneof![
        4 => (0..2usize, minutes.clone(), any::<bool>(), prop::option::of(0..4u8))
            .prop_map(|(shop, minutes, billed, customer)| Step::Use { shop, minutes, billed, customer }),
        2 => (0..2usize, minutes.clone(), any::<bool>(), 0..6u8)
            .prop_map(|(shop, minutes, billed, item)| Step::Clip { shop, minutes, billed, item }),
        1 => (0..2usize, minutes, 0..8usize).prop_map(|(shop, minutes, nth)| Step::Void { shop, minutes, nth }),
    ]
}

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 10, 31, 20, 0, 0).unwrap()
}

type Model = BTreeMap<(String, NaiveDate), TallyRow>;

fn model_row(model: &mut Model, shop: usize, day: NaiveDate) -> &mut TallyRow {
    let (tenant, _, business, promotion, ..) = SHOPS[shop];
    model.entry((tenant.to_owned(), day)).or_insert_with(|| TallyRow {
        tenant: tenant.to_owned(),
        business_day: day,
        business_id: business.to_owned(),
        promotion_id: promotion.to_owned(),
        uses: 0,
        clips: 0,
        voids: 0,
        refused: 0,
        receivable: Decimal::ZERO,
    })
}

async fn run(app: &Core, tenant: &str, target: Target) -> Vec<Event> {
    let actor = Actor { principal: "tally-test".into(), role: Role::System };
    match app.executor.execute(Command::new(tenant, actor, target)).await.expect("the store works") {
        Outcome::Executed { result, .. } => {
            result.map(|e| e.iter().map(|e| e.event().unwrap()).collect()).unwrap_or_default()
        }
        other => panic!("unexpected {other:?}"),
    }
}

async fn setup() -> Core {
    let (app, _) = common::core_app().await;
    for (tenant, zone, business, promotion, cap, per_use, per_clip) in SHOPS {
        let merchant = Merchant {
            tenant: tenant.into(),
            name: tenant.into(),
            time_zone: zone.into(),
            required_contact_fields: vec![],
        };
        merchants::create(&app.db.write, &merchant).await.unwrap();
        let registered = BusinessRegistered { business_id: business.into(), name: tenant.into() };
        run(&app, tenant, BusinessAggregate::target(business.into(), registered)).await;
        let publication = PromotionPublished {
            business_id: business.into(),
            promotion_id: promotion.into(),
            title: "test".into(),
            cap,
            ends_at: Utc::now() + chrono::Duration::days(30),
            price_per_use: Decimal::new(per_use, 2),
            price_per_clip: Decimal::new(per_clip, 2),
        };
        let target =
            PromotionAggregate::target((business.into(), promotion.into()), PromotionCommand::Publish(publication));
        assert_eq!(run(&app, tenant, target).await.len(), 1);
    }
    app
}

async fn check(steps: Vec<Step>) {
    let app = setup().await;
    let mut model = Model::new();
    let mut uses: Vec<Vec<(String, Decimal)>> = vec![vec![], vec![]];
    for (n, step) in steps.into_iter().enumerate() {
        let (shop, minutes) = match &step {
            Step::Use { shop, minutes, .. } | Step::Clip { shop, minutes, .. } | Step::Void { shop, minutes, .. } => {
                (*shop, *minutes)
            }
        };
        let (tenant, zone, business, promotion, ..) = SHOPS[shop];
        let day = day_in_zone(start() + chrono::Duration::minutes(minutes), zone);
        let command = match &step {
            Step::Use { billed, customer, .. } => PromotionCommand::Use(Scan {
                use_id: customer.map(|c| format!("customer:{c}:{day}")).unwrap_or_else(|| format!("scan:{n}")),
                channel: ScanChannel::Pos,
                wallet_item_id: None,
                customer_key: customer.map(|c| c.to_string()),
                internal_id: None,
                billed: *billed,
                business_day: day,
            }),
            Step::Clip { billed, item, .. } => PromotionCommand::Clip {
                wallet_item_id: format!("W{shop}-{item}"),
                customer_key: None,
                billed: *billed,
                business_day: day,
            },
            Step::Void { nth, .. } => match uses[shop].get(*nth % uses[shop].len().max(1)) {
                Some((use_id, _)) => PromotionCommand::Void { use_id: use_id.clone(), reason: None, business_day: day },
                None => continue,
            },
        };
        let target = PromotionAggregate::target((business.into(), promotion.into()), command);
        for event in run(&app, tenant, target).await {
            let row = model_row(&mut model, shop, day);
            match event {
                Event::CouponUsed(e) => {
                    row.uses += 1;
                    row.receivable +=
                        if matches!(step, Step::Use { billed: true, .. }) { e.price } else { Decimal::ZERO };
                    uses[shop].push((e.use_id, e.receivable));
                }
                Event::CouponClipped(e) => {
                    row.clips += 1;
                    row.receivable +=
                        if matches!(step, Step::Clip { billed: true, .. }) { e.price } else { Decimal::ZERO };
                }
                Event::CouponUseVoided(e) => {
                    row.voids += 1;
                    let position = uses[shop].iter().position(|(id, _)| *id == e.use_id).expect("a counted use");
                    row.receivable -= uses[shop].remove(position).1;
                }
                Event::CouponScanRefused(_) => row.refused += 1,
                _ => {}
            }
        }
    }
    for offset in 0..5 {
        let day = NaiveDate::from_ymd_opt(2026, 10, 30).unwrap() + chrono::Duration::days(offset);
        let replayed = daily::replay(&app.db.read, day, None).await.unwrap();
        let projected = daily::projected(&mut app.db.read.acquire().await.unwrap(), day, None).await.unwrap();
        let expected: Vec<TallyRow> =
            model.iter().filter(|((_, d), _)| *d == day).map(|(_, row)| row.clone()).collect();
        assert_eq!(replayed, projected, "replay and projection differ on {day}");
        assert_eq!(projected, expected, "the tally differs from the model on {day}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn replayed_tally_equals_projected_tally_to_the_cent(steps in prop::collection::vec(step(), 1..40)) {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        runtime.block_on(check(steps));
    }
}

#[test]
fn the_csv_lists_each_promotion_and_a_total_per_merchant() {
    let day = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
    let row = |promotion: &str, receivable: i64| TallyRow {
        tenant: "shop".into(),
        business_day: day,
        business_id: "B".into(),
        promotion_id: promotion.into(),
        uses: 2,
        clips: 1,
        voids: 0,
        refused: 3,
        receivable: Decimal::new(receivable, 2),
    };
    assert_eq!(
        daily::csv(day, &[row("P1", 305), row("P2", 1)]),
        "business_day,merchant,business_id,promotion_id,uses,clips,voids,refused,receivable\n\
         2026-11-01,shop,B,P1,2,1,0,3,3.05\n\
         2026-11-01,shop,B,P2,2,1,0,3,0.01\n\
         2026-11-01,shop,TOTAL,,4,2,0,6,3.06\n"
    );
}
